using System.Runtime.CompilerServices;
using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// The state of one optimization. The graph is copied into flat arrays indexed by block id
/// (libpcap's numbering: depth-first preorder from the root, true branch first), the passes run
/// on those, and the result is written back to the <see cref="Block"/> objects at the end: the
/// passes then touch a few compact arrays instead of chasing object references, and store no
/// references (no GC write barriers). The passes themselves are in the partial files beside this one.
/// </summary>
/// <remarks>
/// Edges are numbered as libpcap numbers them: block i's true edge is i, its false edge i + n.
/// An edge's successor is therefore <c>_jt[i]</c> or <c>_jf[i]</c>, and rewriting that entry is
/// libpcap's assignment through a <c>struct block **</c>. Block i's statements are the slots
/// <c>[_first[i], _end[i])</c> of the statement arrays, in list order.
/// </remarks>
internal sealed partial class OptimizerState
{
    private const string TooComplex = "filter is too complex to optimize";

    /// <summary>libpcap gives up on a loop after this many passes in a row that only moved branches.</summary>
    private const int BranchMovementPassLimit = 100;

    /// <summary>No successor (the branches of a return).</summary>
    private const int None = -1;

    // The buffers below are kept from one optimization to the next on the same thread (a compiler
    // runs the optimizer once per expression), so only their first n entries belong to the graph.
    [ThreadStatic]
    private static OptimizerState? t_cached;

    private IcodeGraph _ic = null!;
    private int _n;
    private int _root;
    /// <summary>The block objects by id, for writing the result back.</summary>
    private Block[] _blocks = [];

    // Each block's branch: opcode, operand, successors (None for returns).
    private int[] _code = [];
    private uint[] _k = [];
    private int[] _jt = [];
    private int[] _jf = [];

    // Statements: block i owns slots [_first[i], _end[i]); a dropped list has _end == _first.
    private int[] _first = [];
    private int[] _end = [];
    private bool[] _dropped = [];
    private int[] _stmtCode = [];
    private uint[] _stmtK = [];
    /// <summary>The list cell of each slot, for writing the result back.</summary>
    private Slist[] _cells = [];
    private int _stmtCount;

    // Levels: 0 for returns; the blocks of a level are chained through _levelNext from _levelHead.
    private int[] _level = [];
    private int[] _levelHead = [];
    private int[] _levelNext = [];
    private int[] _visited = [];
    private int _visitStamp;

    // Data flow, per block. _kill and _localUse depend on the block alone and are kept up to date
    // as blocks change; the rest is recomputed every pass.
    private uint[] _kill = [];
    private uint[] _localUse = [];
    private uint[] _inUse = [];
    private uint[] _outUse = [];
    /// <summary>Value numbers of M[0..15], A and X on exit: block i's are [i * Atoms, (i + 1) * Atoms).</summary>
    private uint[] _val = [];
    /// <summary>The value the branch compares A with (libpcap's oval).</summary>
    private uint[] _oval = [];

    // In-edge lists (heads per block).
    private int[] _inHead = [];
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

    // A block whose last optimization changed nothing changes nothing again, and ends with the same
    // values, while its entry values, live-out atoms, mode (and where they matter, successors) are
    // what they were then: OptimizeBlock then skips it. _memo holds the Memo* bits of OptimizeBlock;
    // value numbers stay valid across passes (the table is kept).
    private uint[] _entry = [];
    private byte[] _memo = [];
    private int[] _memoJt = [];
    private int[] _memoJf = [];
    private uint[] _memoOutUse = [];
    private readonly uint[] _merge = new uint[Block.Atoms];

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
        Array.Clear(_cells, 0, _stmtCount);
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

        _n = n;
        _root = 0;
        _nodeWords = nodeWords;
        _edgeWords = edgeWords;
        if (_code.Length < n)
            Grow(n);
        EnsureLength(ref _dominators, n * nodeWords);
        EnsureLength(ref _entryEdgeDominators, n * edgeWords);

        int statements = 0;
        for (int i = 0; i < n; i++)
        {
            Block b = _blocks[i];
            _code[i] = b.S.Code;
            _k[i] = b.S.K;
            _jt[i] = b.Jt is null ? None : (int)b.Jt.Id;
            _jf[i] = b.Jf is null ? None : (int)b.Jf.Id;
            _dropped[i] = false;
            _first[i] = statements;
            for (Slist? s = b.Stmts; s is not null; s = s.Next)
            {
                if (statements == _stmtCode.Length)
                {
                    int size = Math.Max(64, statements * 2);
                    Array.Resize(ref _stmtCode, size);
                    Array.Resize(ref _stmtK, size);
                    Array.Resize(ref _cells, size);
                }
                _stmtCode[statements] = s.S.Code;
                _stmtK[statements] = s.S.K;
                _cells[statements] = s;
                statements++;
            }
            _end[i] = statements;
        }
        _stmtCount = statements;
        for (int i = 0; i < n; i++)
            ComputeLocalUseDef(i);
        _memo.AsSpan(0, n).Clear();
        _graphVersion = 0;
        _levelsVersion = -1;
        _levelsGen = 0;
        _dominatorsGen = -1;
        _useDefGen = -1;
        _inEdgesGen = -1;

        // libpcap sizes its value table at three values per statement (the branch counting as one).
        int live = 0;
        for (int s = 0; s < statements; s++)
        {
            if (_stmtCode[s] != Atoms.Nop)
                live++;
        }
        _values.EnsureCapacity(3 * (live + n));
    }

    /// <summary>Ids in depth-first preorder, true branch before false branch; returns the count.</summary>
    private int NumberBlocks(Block root)
    {
        _ic.UnmarkAll();
        int n = 0;
        int depth = 0;
        _pending[depth++] = root;
        while (depth > 0)
        {
            Block b = _pending[--depth];
            if (_ic.IsMarked(b))
                continue;
            _ic.Mark(b);
            b.Id = (uint)n;
            EnsureLength(ref _blocks, n + 1);
            _blocks[n++] = b;
            if (b.Jt is not null)
            {
                if (depth + 2 > _pending.Length)
                    Array.Resize(ref _pending, _pending.Length * 2);
                _pending[depth++] = b.Jf!;
                _pending[depth++] = b.Jt;
            }
        }
        Array.Clear(_pending, 0, _pending.Length);
        return n;
    }

    private void Grow(int n)
    {
        int size = Math.Max(n, _code.Length * 2);
        Array.Resize(ref _code, size);
        Array.Resize(ref _k, size);
        Array.Resize(ref _jt, size);
        Array.Resize(ref _jf, size);
        Array.Resize(ref _first, size);
        Array.Resize(ref _end, size);
        Array.Resize(ref _dropped, size);
        Array.Resize(ref _level, size);
        Array.Resize(ref _levelHead, size);
        Array.Resize(ref _levelNext, size);
        Array.Resize(ref _visited, size);
        Array.Resize(ref _kill, size);
        Array.Resize(ref _inUse, size);
        Array.Resize(ref _localUse, size);
        Array.Resize(ref _outUse, size);
        Array.Resize(ref _oval, size);
        Array.Resize(ref _inHead, size);
        Array.Resize(ref _val, size * Block.Atoms);
        Array.Resize(ref _entry, size * Block.Atoms);
        Array.Resize(ref _memo, size);
        Array.Resize(ref _memoJt, size);
        Array.Resize(ref _memoJf, size);
        Array.Resize(ref _memoOutUse, size);
        Array.Resize(ref _inNext, size * 2);
        _visitStamp = 0;
        Array.Clear(_visited);
    }

    private static void EnsureLength<T>(ref T[] array, int length)
    {
        if (array.Length < length)
            Array.Resize(ref array, Math.Max(length, array.Length * 2));
    }

    /// <summary>Puts the optimized graph back into the block objects (before the root is skipped).</summary>
    public void Store()
    {
        for (int i = 0; i < _n; i++)
        {
            Block b = _blocks[i];
            b.S.Code = _code[i];
            b.S.K = _k[i];
            b.Jt = _jt[i] == None ? null : _blocks[_jt[i]];
            b.Jf = _jf[i] == None ? null : _blocks[_jf[i]];
            if (_dropped[i])
            {
                b.Stmts = null;
                continue;
            }
            for (int s = _first[i]; s < _end[i]; s++)
            {
                Stmt stmt = _cells[s].S;
                stmt.Code = _stmtCode[s];
                stmt.K = _stmtK[s];
            }
        }
        _ic.Root = _blocks[_root];
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
    private int SuccOf(int edge) => edge < _n ? _jt[edge] : _jf[edge - _n];

    private void SetSucc(int edge, int block)
    {
        if (edge < _n)
            SetJt(edge, block);
        else
            SetJf(edge - _n, block);
    }

    /// <summary>Every change of a successor goes through here or <see cref="SetJf"/> (it dates the analyses).</summary>
    private void SetJt(int b, int succ)
    {
        if (_jt[b] != succ)
        {
            _jt[b] = succ;
            _graphVersion++;
        }
    }

    private void SetJf(int b, int succ)
    {
        if (_jf[b] != succ)
        {
            _jf[b] = succ;
            _graphVersion++;
        }
    }

    private Span<uint> ValuesOf(int block) => _val.AsSpan(block * Block.Atoms, Block.Atoms);

    private uint ValueOf(int block, int atom) => _val[block * Block.Atoms + atom];

    private bool IsReturn(int block) => _jt[block] == None;

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
        if (RuntimeHelpers.TryEnsureSufficientExecutionStack() && FindLevels(_root, depth: 0))
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
            Array.Clear(_visited);
            _visitStamp = 1;
        }
    }

    /// <summary>
    /// Graphs at most this deep are walked recursively, which is faster than an explicit stack and
    /// needs well under the 128 KiB of stack the runtime promises after its check.
    /// </summary>
    internal const int MaxRecursionDepth = 800;

    /// <summary>The recursive walk; false if the graph is deeper than <see cref="MaxRecursionDepth"/>.</summary>
    private bool FindLevels(int b, int depth)
    {
        if (_visited[b] == _visitStamp)
            return true;
        if (depth > MaxRecursionDepth)
            return false;
        _visited[b] = _visitStamp;
        int jt = _jt[b];
        if (jt == None)
        {
            _level[b] = 0;
        }
        else
        {
            int jf = _jf[b];
            if (!FindLevels(jt, depth + 1) || !FindLevels(jf, depth + 1))
                return false;
            _level[b] = Math.Max(_level[jt], _level[jf]) + 1;
        }
        AddToLevel(b);
        return true;
    }

    private void FindLevelsWithoutRecursion()
    {
        // Entries are block ids; a negated entry (~id) means "both successors are done".
        int depth = 0;
        Push(ref depth, _root);
        while (depth > 0)
        {
            int entry = _walk[--depth];
            if (entry < 0)
            {
                int done = ~entry;
                _level[done] = Math.Max(_level[_jt[done]], _level[_jf[done]]) + 1;
                AddToLevel(done);
                continue;
            }
            if (_visited[entry] == _visitStamp)
                continue;
            _visited[entry] = _visitStamp;
            if (_jt[entry] == None)
            {
                _level[entry] = 0;
                AddToLevel(entry);
                continue;
            }
            Push(ref depth, ~entry);
            Push(ref depth, _jf[entry]);
            Push(ref depth, _jt[entry]);
        }
    }

    private void Push(ref int depth, int entry)
    {
        if (depth == _walk.Length)
            Array.Resize(ref _walk, _walk.Length * 2);
        _walk[depth++] = entry;
    }

    private void AddToLevel(int b)
    {
        int level = _level[b];
        _levelNext[b] = _levelHead[level];
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
        int words = _nodeWords;
        int edgeWords = _edgeWords;
        uint[] dom = _dominators;
        uint[] edom = _entryEdgeDominators;
        dom.AsSpan(0, _n * words).Fill(uint.MaxValue);
        dom.AsSpan(_root * words, words).Clear();
        edom.AsSpan(0, _n * edgeWords).Fill(uint.MaxValue);
        edom.AsSpan(_root * edgeWords, edgeWords).Clear();
        for (int level = _level[_root]; level >= 0; level--)
        {
            for (int b = _levelHead[level]; b != None; b = _levelNext[b])
            {
                int at = b * words;
                dom[at + b / BitSet.BitsPerWord] |= 1u << (b % BitSet.BitsPerWord);
                int jt = _jt[b];
                if (jt == None)
                    continue;
                int jf = _jf[b];
                BitSet.IntersectBoth(dom, jt * words, jf * words, at, words);
                BitSet.IntersectWithInsert(edom, jt * edgeWords, b * edgeWords, edgeWords, b);
                BitSet.IntersectWithInsert(edom, jf * edgeWords, b * edgeWords, edgeWords, _n + b);
            }
        }
    }

    /// <summary>Whether block <paramref name="dominator"/> dominates block <paramref name="b"/>.</summary>
    private bool Dominates(int dominator, int b) =>
        (_dominators[b * _nodeWords + dominator / BitSet.BitsPerWord] & (1u << (dominator % BitSet.BitsPerWord))) != 0;

    // ---- Use-def ----

    /// <summary>Which atoms each block uses before defining, defines, kills, and must leave for its successors.</summary>
    private void FindUseDef()
    {
        int maxLevel = _level[_root];
        for (int level = maxLevel; level >= 0; level--)
        {
            for (int b = _levelHead[level]; b != None; b = _levelNext[b])
            {
                // The local part is kept up to date as blocks change (see OptimizeBlock).
                _inUse[b] = _localUse[b];
                _outUse[b] = 0;
            }
        }
        for (int level = 1; level <= maxLevel; level++)
        {
            for (int b = _levelHead[level]; b != None; b = _levelNext[b])
            {
                _outUse[b] |= _inUse[_jt[b]] | _inUse[_jf[b]];
                _inUse[b] |= _outUse[b] & ~_kill[b];
            }
        }
    }

    private void ComputeLocalUseDef(int b)
    {
        uint def = 0, use = 0, killed = 0;
        for (int s = _first[b]; s < _end[b]; s++)
        {
            int code = _stmtCode[s];
            if (code == Atoms.Nop)
                continue;
            use |= UsedBeforeDefined(Atoms.Used(code, _stmtK[s]), def);
            int atom = Atoms.Defined(code, _stmtK[s]);
            if (atom >= 0)
            {
                if (!Atoms.Contains(use, atom))
                    killed |= Atoms.Mask(atom);
                def |= Atoms.Mask(atom);
            }
        }
        // As in libpcap, only a jump's operands count; what a return reads does not.
        if (Class(_code[b]) == Jmp)
            use |= UsedBeforeDefined(Atoms.Used(_code[b], _k[b]), def);

        if (_kill[b] != killed || _localUse[b] != use)
        {
            _kill[b] = killed;
            _localUse[b] = use;
            _localVersion++;
        }
    }

    private static uint UsedBeforeDefined(int atom, uint def)
    {
        if (atom == Atoms.AX)
        {
            uint use = 0;
            if (!Atoms.Contains(def, Atoms.X))
                use |= Atoms.Mask(Atoms.X);
            if (!Atoms.Contains(def, Atoms.A))
                use |= Atoms.Mask(Atoms.A);
            return use;
        }
        return atom >= 0 && !Atoms.Contains(def, atom) ? Atoms.Mask(atom) : 0;
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
        _inHead.AsSpan(0, _n).Fill(None);
        for (int level = _level[_root]; level > 0; level--)
        {
            for (int b = _levelHead[level]; b != None; b = _levelNext[b])
            {
                LinkInEdge(b, _jt[b]);
                LinkInEdge(_n + b, _jf[b]);
            }
        }
    }

    private void LinkInEdge(int edge, int child)
    {
        _inNext[edge] = _inHead[child];
        _inHead[child] = edge;
    }
}
