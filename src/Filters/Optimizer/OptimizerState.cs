using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using KdtCapture.Filters.Icode;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// The state of one optimization. The graph is copied into flat arrays indexed by block id
/// (libpcap's numbering: depth-first preorder from the root, true branch first), the passes run
/// on those, and the result is written back to the <see cref="Block"/> objects at the end: the
/// passes then touch a few compact arrays instead of chasing object references, and store no
/// references (no GC write barriers). The passes themselves are in the partial files beside this one.
/// </summary>
/// <remarks>
/// <para>
/// Edges are numbered as libpcap numbers them: block i's true edge is i, its false edge i + n.
/// An edge's successor is therefore block i's <see cref="Node.Jt"/> or <see cref="Node.Jf"/>, and
/// rewriting that field is libpcap's assignment through a <c>struct block **</c>. Block i's
/// statements are the slots <c>[First, End)</c> of <see cref="_stmts"/>, in list order.
/// </para>
/// <para>
/// libpcap recomputes everything in every pass. Here an analysis is redone only when what it is
/// computed from changed since (the successors, or a block's own use-def), and a block whose last
/// optimization changed nothing is skipped while what it reads is the same: the passes then do
/// the same work where something changed, and the results are libpcap's.
/// </para>
/// </remarks>
[SkipLocalsInit]
internal sealed partial class OptimizerState
{
    private const string TooComplex = "filter is too complex to optimize";

    /// <summary>libpcap gives up on a loop after this many passes in a row that only moved branches.</summary>
    private const int BranchMovementPassLimit = 100;

    /// <summary>No successor (the branches of a return), no block, end of a list.</summary>
    private const int None = -1;

    /// <summary>What the passes keep per block, together: one bounds check reaches all of it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Node
    {
        // The branch: opcode, operand, successors (None for returns).
        public int Code;
        public uint K;
        public int Jt;
        public int Jf;
        // Statements: slots [First, End); a dropped list has End == First.
        public int First;
        public int End;
        // Levels: 0 for returns; a level's blocks are chained through LevelNext from _levelHead.
        public int Level;
        public int LevelNext;
        /// <summary>Equal to _visitStamp when reached by the last level walk.</summary>
        public int Visited;
        /// <summary>Head of the in-edge list (chained through _inNext).</summary>
        public int InHead;
        // Use-def: Kill and LocalUse depend on the block alone and are kept up to date as it changes.
        public uint Kill;
        public uint LocalUse;
        public uint InUse;
        public uint OutUse;
        /// <summary>The value the branch compares A with (libpcap's oval).</summary>
        public uint Oval;
        // The block's last optimization, if it changed nothing (see OptimizeBlock).
        public uint MemoOutUse;
        public int MemoJt;
        public int MemoJf;
        public byte Memo;
        public bool Dropped;
    }

    /// <summary>A statement slot.</summary>
    private struct StmtSlot
    {
        public int Code;
        public uint K;
    }

    // The buffers below are kept from one optimization to the next on the same thread (a compiler
    // runs the optimizer once per expression), so only their first n entries belong to the graph.
    [ThreadStatic]
    private static OptimizerState? t_cached;

    private IcodeGraph _ic = null!;
    private int _n;
    private int _root;
    /// <summary>The block objects by id, for writing the result back.</summary>
    private Block[] _blocks = [];
    private Node[] _nodes = [];

    /// <summary>Statement slots; block i's are its list's cells in order, so writing back walks the list again.</summary>
    private StmtSlot[] _stmts = [];

    private int[] _levelHead = [];
    private int _visitStamp;

    /// <summary>Value numbers of M[0..15], A and X on exit: block i's are [i * Atoms, (i + 1) * Atoms).</summary>
    private uint[] _val = [];
    /// <summary>Entry values of each block's last optimization (see OptimizeBlock), laid out as <see cref="_val"/>.</summary>
    private uint[] _entry = [];

    /// <summary>Next edge in an in-edge list (per edge id).</summary>
    private int[] _inNext = [];

    private int _nodeWords;
    /// <summary>Dominators of block i: words [i * _nodeWords, (i + 1) * _nodeWords).</summary>
    private uint[] _dominators = [];
    private int _edgeWords;
    /// <summary>The edges on every path to block i (edge ids as libpcap's): words [i * _edgeWords, (i + 1) * _edgeWords).</summary>
    private uint[] _entryEdgeDominators = [];

    private readonly ValueNumbering _values = new();
    private Block[] _pending = new Block[64];
    private int[] _walk = new int[64];

    /// <summary>Set when the block being optimized had its statements or branch rewritten.</summary>
    private bool _edited;
    /// <summary>Set when a rewrite that only the statement passes make would apply to the block being optimized.</summary>
    private bool _alterable;

    // What each analysis was computed from, so that a pass whose graph (or local use-def) did not
    // change since reuses it instead of computing the same result again. _graphVersion changes with
    // every successor that changes; _levelsGen with every computation of the levels.
    private int _graphVersion;
    private int _levelsVersion;
    private int _levelsGen;
    private int _dominatorsGen;
    private int _useDefGen;
    private int _localVersion;
    private int _useDefLocalVersion;
    private int _inEdgesGen;
    private int _inEdgesVersion;

    /// <summary>Cleared by any change; a pass that leaves it set reached the fixed point.</summary>
    private bool _done;
    /// <summary>Set by changes other than moving branches, to tell progress from branch shuffling.</summary>
    private bool _nonBranchMovementPerformed;

    private OptimizerState() { }

    /// <summary>This thread's optimizer, loaded with <paramref name="ic"/> (libpcap's opt_init).</summary>
    public static OptimizerState For(IcodeGraph ic)
    {
        var state = t_cached ?? new OptimizerState();
        t_cached = null; // not shared while in use, should the optimizer ever be reentered
        state.Load(ic);
        return state;
    }

    /// <summary>Drops the references to the graph and makes the buffers available again.</summary>
    public void Release()
    {
        Array.Clear(_blocks, 0, _n);
        _ic = null!;
        t_cached = this;
    }

    private void Load(IcodeGraph ic)
    {
        _ic = ic;
        Block root = ic.Root
            ?? throw new FilterCompileException("filter has no instructions; please report this as a libpcap issue");

        int n = NumberBlocks(root);
        long edgeCount = 2L * n;
        int nodeWords = BitSet.WordsFor(n);
        int edgeWords = BitSet.WordsFor((int)Math.Min(edgeCount, int.MaxValue));
        if (edgeCount > int.MaxValue || (long)n * nodeWords > int.MaxValue || edgeCount * edgeWords > int.MaxValue
            || (long)n * Block.Atoms > int.MaxValue)
            throw new FilterCompileException(TooComplex);

        // The sets are padded to whole vectors; the extra bits are never set for reachable blocks
        // (the root's sets are empty, and every other set is an intersection of sets derived from it).
        nodeWords = BitSet.VectorWords(nodeWords);
        edgeWords = BitSet.VectorWords(edgeWords);
        if ((long)n * edgeWords > int.MaxValue)
            throw new FilterCompileException(TooComplex);

        _n = n;
        _root = 0;
        _nodeWords = nodeWords;
        _edgeWords = edgeWords;
        if (_nodes.Length < n)
            Grow(n);
        EnsureLength(ref _dominators, n * nodeWords);
        EnsureLength(ref _entryEdgeDominators, n * edgeWords);

        Node[] nodes = _nodes;
        Block[] blocks = _blocks;
        int statements = 0;
        int live = 0;
        for (int i = 0; i < n; i++)
        {
            Block b = blocks[i];
            ref Node node = ref nodes[i];
            node = default;
            node.Code = b.S.Code;
            node.K = b.S.K;
            node.Jt = b.Jt is null ? None : (int)b.Jt.Id;
            node.Jf = b.Jf is null ? None : (int)b.Jf.Id;
            node.First = statements;
            for (Slist? s = b.Stmts; s is not null; s = s.Next)
            {
                if (statements == _stmts.Length)
                    Array.Resize(ref _stmts, Math.Max(64, statements * 2));
                ref StmtSlot slot = ref _stmts[statements];
                slot.Code = s.S.Code;
                slot.K = s.S.K;
                statements++;
                if (slot.Code != Atoms.Nop)
                    live++;
            }
            node.End = statements;
            ComputeLocalUseDef(ref node);
        }
        _visitStamp = 0; // every Visited is 0 now
        _graphVersion = 0;
        _levelsVersion = -1;
        _levelsGen = 0;
        _dominatorsGen = -1;
        _useDefGen = -1;
        _inEdgesGen = -1;

        // libpcap sizes its value table at three values per statement (the branch counting as one).
        _values.EnsureCapacity(3 * (live + n));
    }

    /// <summary>Ids in depth-first preorder, true branch before false branch; returns the count.</summary>
    private int NumberBlocks(Block root)
    {
        IcodeGraph ic = _ic;
        ic.UnmarkAll();
        int mark = ic.CurMark;
        Block[] pending = _pending;
        int n = 0;
        int depth = 0;
        pending[depth++] = root;
        while (depth > 0)
        {
            Block b = pending[--depth];
            if (b.Mark == mark)
                continue;
            b.Mark = mark;
            b.Id = (uint)n;
            if (n == _blocks.Length)
                Array.Resize(ref _blocks, Math.Max(64, n * 2));
            _blocks[n++] = b;
            if (b.Jt is not null)
            {
                if (depth + 2 > pending.Length)
                {
                    Array.Resize(ref _pending, pending.Length * 2);
                    pending = _pending;
                }
                pending[depth++] = b.Jf!;
                pending[depth++] = b.Jt;
            }
        }
        return n;
    }

    private void Grow(int n)
    {
        int size = Math.Max(n, _nodes.Length * 2);
        _nodes = new Node[size];
        _levelHead = new int[size];
        _val = new uint[size * Block.Atoms];
        _entry = new uint[size * Block.Atoms];
        _inNext = new int[size * 2];
    }

    private static void EnsureLength<T>(ref T[] array, int length)
    {
        if (array.Length < length)
            Array.Resize(ref array, Math.Max(length, array.Length * 2));
    }

    /// <summary>Puts the optimized graph back into the block objects (before the root is skipped).</summary>
    public void Store()
    {
        Node[] nodes = _nodes;
        Block[] blocks = _blocks;
        StmtSlot[] stmts = _stmts;
        for (int i = 0; i < _n; i++)
        {
            Block b = blocks[i];
            ref Node node = ref nodes[i];
            b.S.Code = node.Code;
            b.S.K = node.K;
            b.Jt = node.Jt == None ? null : blocks[node.Jt];
            b.Jf = node.Jf == None ? null : blocks[node.Jf];
            if (node.Dropped)
            {
                b.Stmts = null;
                continue;
            }
            // The slots are the list's cells in order (the passes never add or remove cells).
            int slot = node.First;
            for (Slist? cell = b.Stmts; slot < node.End; cell = cell!.Next, slot++)
            {
                Stmt stmt = cell!.S;
                stmt.Code = stmts[slot].Code;
                stmt.K = stmts[slot].K;
            }
        }
        _ic.Root = blocks[_root];
    }

    /// <summary>libpcap's opt_loop: passes until one changes nothing (or only shuffles branches for too long).</summary>
    public void Run(bool doStatements)
    {
        int branchOnlyPasses = 0;
        for (;;)
        {
            _done = true;
            _nonBranchMovementPerformed = false;
            EnsureLevels();
            // Dominators and edge dominators serve only the branch moves, which the statement
            // passes do not make; libpcap computes them anyway (and the backward closure of the
            // graph, which nothing reads at all).
            if (!doStatements && _dominatorsGen != _levelsGen)
            {
                FindDominators();
                _dominatorsGen = _levelsGen;
            }
            if (_useDefGen != _levelsGen || _useDefLocalVersion != _localVersion)
            {
                FindUseDef();
                _useDefGen = _levelsGen;
                _useDefLocalVersion = _localVersion;
            }
            OptimizeBlocks(doStatements);
            if (_done)
                break;

            if (_nonBranchMovementPerformed)
            {
                branchOnlyPasses = 0;
            }
            else if (++branchOnlyPasses >= BranchMovementPassLimit)
            {
                // Probably cycling through the same few graphs; libpcap stops here, and so must we.
                _done = true;
                break;
            }
        }
    }

    /// <summary>A change that counts as progress.</summary>
    private void NoteChange()
    {
        _nonBranchMovementPerformed = true;
        _done = false;
    }

    /// <summary>A change that only moves a branch.</summary>
    private void NoteBranchMovement() => _done = false;

    /// <summary>The block an edge leaves.</summary>
    private int PredOf(int edge) => edge < _n ? edge : edge - _n;

    /// <summary>The block an edge leads to.</summary>
    private int SuccOf(int edge) => edge < _n ? _nodes[edge].Jt : _nodes[edge - _n].Jf;

    private void SetSucc(int edge, int block)
    {
        if (edge < _n)
            SetJt(ref _nodes[edge], block);
        else
            SetJf(ref _nodes[edge - _n], block);
    }

    /// <summary>Every change of a successor goes through here or <see cref="SetJf"/> (it dates the analyses).</summary>
    private void SetJt(ref Node node, int succ)
    {
        if (node.Jt != succ)
        {
            node.Jt = succ;
            _graphVersion++;
        }
    }

    private void SetJf(ref Node node, int succ)
    {
        if (node.Jf != succ)
        {
            node.Jf = succ;
            _graphVersion++;
        }
    }

    /// <summary>The value of <paramref name="atom"/> on exit from block <paramref name="b"/>.</summary>
    private uint ValueOf(int b, int atom) => _val[b * Block.Atoms + atom];

    // ---- Levels ----

    /// <summary>Levels of the current graph: computed unless the graph is the one they were computed for.</summary>
    private void EnsureLevels()
    {
        if (_levelsVersion == _graphVersion)
            return;
        FindLevels();
        _levelsVersion = _graphVersion;
        _levelsGen++;
    }

    /// <summary>
    /// Levels: returns are level 0, any other block is one above the higher of its successors. Each
    /// level's list is in the reverse order of completion of a depth-first walk, true branch first.
    /// </summary>
    private void FindLevels()
    {
        _levelHead.AsSpan(0, _n).Fill(None);
        NextVisit();
        if (RuntimeHelpers.TryEnsureSufficientExecutionStack() && FindLevels(_nodes, _root, depth: 0))
            return;

        // Too deep to recurse safely: start over with an explicit stack.
        _levelHead.AsSpan(0, _n).Fill(None);
        NextVisit();
        FindLevelsWithoutRecursion();
    }

    private void NextVisit()
    {
        if (++_visitStamp == int.MaxValue)
        {
            for (int i = 0; i < _n; i++)
                _nodes[i].Visited = 0;
            _visitStamp = 1;
        }
    }

    /// <summary>
    /// Graphs at most this deep are walked recursively, which is faster than an explicit stack and
    /// needs well under the 128 KiB of stack the runtime promises after its check.
    /// </summary>
    internal const int MaxRecursionDepth = 800;

    /// <summary>The recursive walk; false if the graph is deeper than <see cref="MaxRecursionDepth"/>.</summary>
    private bool FindLevels(Node[] nodes, int b, int depth)
    {
        ref Node node = ref nodes[b];
        if (node.Visited == _visitStamp)
            return true;
        if (depth > MaxRecursionDepth)
            return false;
        node.Visited = _visitStamp;
        int jt = node.Jt;
        int level = 0;
        if (jt != None)
        {
            int jf = node.Jf;
            if (!FindLevels(nodes, jt, depth + 1) || !FindLevels(nodes, jf, depth + 1))
                return false;
            level = Math.Max(nodes[jt].Level, nodes[jf].Level) + 1;
        }
        node.Level = level;
        node.LevelNext = _levelHead[level];
        _levelHead[level] = b;
        return true;
    }

    private void FindLevelsWithoutRecursion()
    {
        // Entries are block ids; a negated entry (~id) means "both successors are done".
        Node[] nodes = _nodes;
        int depth = 0;
        Push(ref depth, _root);
        while (depth > 0)
        {
            int entry = _walk[--depth];
            if (entry < 0)
            {
                int done = ~entry;
                ref Node d = ref nodes[done];
                AddToLevel(ref d, done, Math.Max(nodes[d.Jt].Level, nodes[d.Jf].Level) + 1);
                continue;
            }
            ref Node node = ref nodes[entry];
            if (node.Visited == _visitStamp)
                continue;
            node.Visited = _visitStamp;
            if (node.Jt == None)
            {
                AddToLevel(ref node, entry, 0);
                continue;
            }
            Push(ref depth, ~entry);
            Push(ref depth, node.Jf);
            Push(ref depth, node.Jt);
        }
    }

    private void Push(ref int depth, int entry)
    {
        if (depth == _walk.Length)
            Array.Resize(ref _walk, _walk.Length * 2);
        _walk[depth++] = entry;
    }

    private void AddToLevel(ref Node node, int b, int level)
    {
        node.Level = level;
        node.LevelNext = _levelHead[level];
        _levelHead[level] = b;
    }

    // ---- Dominators ----

    /// <summary>
    /// Block dominators and the edges that dominate each block, from the root down the levels
    /// (assumes the graph is leveled).
    /// </summary>
    /// <remarks>
    /// libpcap keeps a set of dominating edges per edge: the edge itself and the edges on every
    /// path to the block it leaves. Both edges of a block share the latter, so it is kept once per
    /// block (<see cref="_entryEdgeDominators"/>); ThreadJump adds the edge itself.
    /// </remarks>
    private void FindDominators()
    {
        int n = _n;
        int words = _nodeWords;
        int edgeWords = _edgeWords;
        uint[] dom = _dominators;
        uint[] edom = _entryEdgeDominators;
        Node[] nodes = _nodes;
        dom.AsSpan(0, n * words).Fill(uint.MaxValue);
        dom.AsSpan(_root * words, words).Clear();
        edom.AsSpan(0, n * edgeWords).Fill(uint.MaxValue);
        edom.AsSpan(_root * edgeWords, edgeWords).Clear();
        ref uint dom0 = ref MemoryMarshal.GetArrayDataReference(dom);
        ref uint edom0 = ref MemoryMarshal.GetArrayDataReference(edom);
        for (int level = nodes[_root].Level; level >= 0; level--)
        {
            for (int b = _levelHead[level]; b != None;)
            {
                ref Node node = ref nodes[b];
                // The sets of b and of its successors lie inside the arrays: b and its successors are < n.
                ref uint mine = ref Unsafe.Add(ref dom0, b * words);
                Unsafe.Add(ref mine, b >> 5) |= 1u << b;
                int jt = node.Jt;
                if (jt != None)
                {
                    int jf = node.Jf;
                    BitSet.IntersectBoth(ref mine, ref Unsafe.Add(ref dom0, jt * words), ref Unsafe.Add(ref dom0, jf * words), words);
                    ref uint entry = ref Unsafe.Add(ref edom0, b * edgeWords);
                    BitSet.IntersectWithInsert(ref Unsafe.Add(ref edom0, jt * edgeWords), ref entry, edgeWords, b);
                    BitSet.IntersectWithInsert(ref Unsafe.Add(ref edom0, jf * edgeWords), ref entry, edgeWords, n + b);
                }
                b = node.LevelNext;
            }
        }
    }

    /// <summary>Whether block <paramref name="dominator"/> dominates block <paramref name="b"/>.</summary>
    private bool Dominates(int dominator, int b) =>
        (_dominators[b * _nodeWords + (dominator >> 5)] & (1u << dominator)) != 0;

    // ---- Use-def ----

    /// <summary>Which atoms each block uses before defining, defines, kills, and must leave for its successors.</summary>
    private void FindUseDef()
    {
        Node[] nodes = _nodes;
        int maxLevel = nodes[_root].Level;
        // Returns use nothing afterwards; any other block leaves what its successors use on entry,
        // and those are done first (they are on lower levels).
        for (int b = _levelHead[0]; b != None; b = nodes[b].LevelNext)
        {
            ref Node node = ref nodes[b];
            node.InUse = node.LocalUse;
            node.OutUse = 0;
        }
        for (int level = 1; level <= maxLevel; level++)
        {
            for (int b = _levelHead[level]; b != None;)
            {
                ref Node node = ref nodes[b];
                uint outUse = nodes[node.Jt].InUse | nodes[node.Jf].InUse;
                node.OutUse = outUse;
                node.InUse = node.LocalUse | (outUse & ~node.Kill);
                b = node.LevelNext;
            }
        }
    }

    private void ComputeLocalUseDef(ref Node node)
    {
        uint def = 0, use = 0, killed = 0;
        StmtSlot[] stmts = _stmts;
        for (int s = node.First; s < node.End; s++)
        {
            int code = stmts[s].Code;
            if (code == Atoms.Nop)
                continue;
            uint k = stmts[s].K;
            use |= Atoms.UseMask(code, k) & ~def;
            int atom = Atoms.Defined(code, k);
            if (atom >= 0)
            {
                if (!Atoms.Contains(use, atom))
                    killed |= Atoms.Mask(atom);
                def |= Atoms.Mask(atom);
            }
        }
        // As in libpcap, only a jump's operands count; what a return reads does not.
        if (Cbpf.Cbpf.Class(node.Code) == Cbpf.Cbpf.Jmp)
            use |= Atoms.UseMask(node.Code, node.K) & ~def;

        if (node.Kill != killed || node.LocalUse != use)
        {
            node.Kill = killed;
            node.LocalUse = use;
            _localVersion++;
        }
    }

    // ---- In-edges ----

    /// <summary>
    /// In-edge lists, rebuilt from the level lists of the pass (which may be stale after branch
    /// moves, as in libpcap). Each list holds the last linked edge first.
    /// </summary>
    private void FindInEdges()
    {
        if (_inEdgesGen == _levelsGen && _inEdgesVersion == _graphVersion)
            return; // the same level lists and successors give the same lists
        _inEdgesGen = _levelsGen;
        _inEdgesVersion = _graphVersion;
        Node[] nodes = _nodes;
        int[] inNext = _inNext;
        int n = _n;
        for (int i = 0; i < n; i++)
            nodes[i].InHead = None;
        for (int level = nodes[_root].Level; level > 0; level--)
        {
            for (int b = _levelHead[level]; b != None;)
            {
                ref Node node = ref nodes[b];
                ref Node t = ref nodes[node.Jt];
                inNext[b] = t.InHead;
                t.InHead = b;
                ref Node f = ref nodes[node.Jf];
                inNext[n + b] = f.InHead;
                f.InHead = n + b;
                b = node.LevelNext;
            }
        }
    }
}
