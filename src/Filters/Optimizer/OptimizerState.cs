using System.Runtime.CompilerServices;
using KdtCapture.Filters.Icode;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// The state of one optimization: the blocks and edges numbered once at the start, the level lists,
/// dominator sets, and the value table. The optimizer passes live in the partial files beside this one.
/// </summary>
internal sealed partial class OptimizerState
{
    private const string TooComplex = "filter is too complex to optimize";

    /// <summary>libpcap gives up on a loop after this many passes in a row that only moved branches.</summary>
    private const int BranchMovementPassLimit = 100;

    // The buffers below are kept from one optimization to the next on the same thread (a compiler
    // runs the optimizer once per expression), so only their first _blockCount/_edgeCount entries
    // belong to the current graph.
    [ThreadStatic]
    private static OptimizerState? t_cached;

    private IcodeGraph _ic = null!;
    /// <summary>Every block reachable at the start, by id (preorder, true branch first). Never renumbered.</summary>
    private Block[] _blocks = [];
    private int _blockCount;
    /// <summary>Edges by id: the true edge of block i is i, its false edge is i + block count.</summary>
    private Edge[] _edges = [];
    private int _edgeCount;
    private int _nodeWords;
    private int _edgeWords;
    /// <summary>Blocks by level (0 = returns), each list chained through <see cref="Block.Link"/>.</summary>
    private Block?[] _levels = [];
    /// <summary>Dominators of block i: words [i * _nodeWords, (i + 1) * _nodeWords).</summary>
    private uint[] _dominators = [];
    /// <summary>Edge dominators of edge i: words [i * _edgeWords, (i + 1) * _edgeWords).</summary>
    private uint[] _edgeDominators = [];
    private readonly ValueNumbering _values = new();
    private readonly Walk _walk = new();

    /// <summary>Cleared by any change; a pass that leaves it set reached the fixed point.</summary>
    private bool _done;
    /// <summary>Set by changes other than moving branches, to tell progress from branch shuffling.</summary>
    private bool _nonBranchMovementPerformed;

    private OptimizerState() { }

    /// <summary>This thread's optimizer, set up for <paramref name="ic"/> (libpcap's opt_init).</summary>
    public static OptimizerState For(IcodeGraph ic)
    {
        var state = t_cached ?? new OptimizerState();
        t_cached = null; // not shared while in use, should the optimizer ever be reentered
        state.Begin(ic);
        return state;
    }

    /// <summary>Drops the references to the graph and makes the buffers available again.</summary>
    public void Release()
    {
        Array.Clear(_blocks, 0, _blockCount);
        Array.Clear(_edges, 0, _edgeCount);
        Array.Clear(_levels, 0, _blockCount);
        _walk.Clear();
        _ic = null!;
        t_cached = this;
    }

    private void Begin(IcodeGraph ic)
    {
        _ic = ic;
        Block? root = ic.Root;
        if (root is null)
            throw new FilterCompileException("filter has no instructions; please report this as a libpcap issue");

        ic.UnmarkAll();
        int count = CountBlocks(root);
        long edgeCount = 2L * count;
        int nodeWords = BitSet.WordsFor(count);
        int edgeWords = BitSet.WordsFor((int)Math.Min(edgeCount, int.MaxValue));
        if (edgeCount > int.MaxValue || (long)count * nodeWords > int.MaxValue || edgeCount * edgeWords > int.MaxValue)
            throw new FilterCompileException(TooComplex);

        _blockCount = count;
        _edgeCount = (int)edgeCount;
        _nodeWords = nodeWords;
        _edgeWords = edgeWords;
        EnsureLength(ref _blocks, count);
        EnsureLength(ref _edges, _edgeCount);
        EnsureLength(ref _levels, count);
        EnsureLength(ref _dominators, count * nodeWords);
        EnsureLength(ref _edgeDominators, _edgeCount * edgeWords);

        ic.UnmarkAll();
        NumberBlocks(root);

        int statements = 0;
        for (int i = 0; i < count; i++)
        {
            Block b = _blocks[i];
            b.Et.Id = (uint)i;
            b.Ef.Id = (uint)(count + i);
            _edges[i] = b.Et;
            _edges[count + i] = b.Ef;
            b.Et.Pred = b;
            b.Ef.Pred = b;
            statements += CountLiveStatements(b.Stmts) + 1;
        }
        // At most three value numbers per statement and pass.
        _values.EnsureCapacity(3 * statements);
    }

    private static void EnsureLength<T>(ref T[] array, int length)
    {
        if (array.Length < length)
            array = new T[Math.Max(length, array.Length * 2)];
    }

    private Block Root => _ic.Root!;

    /// <summary>libpcap's opt_loop: passes until one changes nothing (or only shuffles branches for too long).</summary>
    public void Run(bool doStatements)
    {
        int branchOnlyPasses = 0;
        for (;;)
        {
            _done = true;
            _nonBranchMovementPerformed = false;
            FindLevels();
            // Dominators and edge dominators serve only the branch moves, which the statement
            // passes do not make; libpcap computes them anyway (and the backward closure of the
            // graph, which nothing reads at all).
            if (!doStatements)
                FindDominators();
            FindUseDef();
            if (!doStatements)
                FindEdgeDominators();
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

    private Span<uint> DominatorsOf(Block b) => _dominators.AsSpan((int)b.Id * _nodeWords, _nodeWords);

    private Span<uint> EdgeDominatorsOf(Edge e) => _edgeDominators.AsSpan((int)e.Id * _edgeWords, _edgeWords);

    private static int CountLiveStatements(Slist? s)
    {
        int n = 0;
        for (; s is not null; s = s.Next)
        {
            if (s.S.Code != Atoms.Nop)
                n++;
        }
        return n;
    }

    private int CountBlocks(Block root)
    {
        int n = 0;
        _walk.Clear();
        _walk.Push(root);
        while (_walk.TryPop(out Block? b))
        {
            if (b is null || _ic.IsMarked(b))
                continue;
            _ic.Mark(b);
            n++;
            _walk.Push(b.Jf);
            _walk.Push(b.Jt);
        }
        return n;
    }

    /// <summary>Ids in depth-first preorder, true branch before false branch.</summary>
    private void NumberBlocks(Block root)
    {
        uint n = 0;
        _walk.Clear();
        _walk.Push(root);
        while (_walk.TryPop(out Block? b))
        {
            if (b is null || _ic.IsMarked(b))
                continue;
            _ic.Mark(b);
            b.Id = n;
            _blocks[n++] = b;
            _walk.Push(b.Jf);
            _walk.Push(b.Jt);
        }
    }

    /// <summary>
    /// Levels: returns are level 0, any other block is one above the higher of its successors. Each
    /// level's list is in the reverse order of completion of a depth-first walk, true branch first.
    /// </summary>
    private void FindLevels()
    {
        Array.Clear(_levels, 0, _blockCount);
        _ic.UnmarkAll();
        if (RuntimeHelpers.TryEnsureSufficientExecutionStack() && FindLevels(Root, _ic.CurMark, depth: 0))
            return;

        // Too deep to recurse safely: start over with an explicit stack.
        Array.Clear(_levels, 0, _blockCount);
        _ic.UnmarkAll();
        FindLevelsWithoutRecursion();
    }

    /// <summary>
    /// Graphs at most this deep are walked recursively, which is faster than an explicit stack and
    /// needs well under the 128 KiB of stack the runtime promises after its check.
    /// </summary>
    internal const int MaxRecursionDepth = 800;

    /// <summary>The recursive walk; false if the graph is deeper than <see cref="MaxRecursionDepth"/>.</summary>
    private bool FindLevels(Block b, int mark, int depth)
    {
        if (b.Mark == mark)
            return true;
        if (depth > MaxRecursionDepth)
            return false;
        b.Mark = mark;
        b.Link = null;
        Block? jt = b.Jt;
        if (jt is null)
        {
            b.Level = 0;
        }
        else
        {
            Block jf = b.Jf!;
            if (!FindLevels(jt, mark, depth + 1) || !FindLevels(jf, mark, depth + 1))
                return false;
            b.Level = Math.Max(jt.Level, jf.Level) + 1;
        }
        AddToLevel(b);
        return true;
    }

    private void FindLevelsWithoutRecursion()
    {
        _walk.Clear();
        _walk.Push(Root);
        while (_walk.Count > 0)
        {
            Block b = _walk.Top!;
            switch (_walk.TopStage)
            {
                case 0:
                    if (_ic.IsMarked(b))
                    {
                        _walk.Pop();
                        break;
                    }
                    _ic.Mark(b);
                    b.Link = null;
                    if (b.Jt is null)
                    {
                        b.Level = 0;
                        AddToLevel(b);
                        _walk.Pop();
                        break;
                    }
                    _walk.TopStage = 1;
                    _walk.Push(b.Jt);
                    break;
                case 1:
                    _walk.TopStage = 2;
                    _walk.Push(b.Jf!);
                    break;
                default:
                    b.Level = Math.Max(b.Jt!.Level, b.Jf!.Level) + 1;
                    AddToLevel(b);
                    _walk.Pop();
                    break;
            }
        }
    }

    private void AddToLevel(Block b)
    {
        b.Link = _levels[b.Level];
        _levels[b.Level] = b;
    }

    /// <summary>Block dominators, from the root down the levels. Assumes the graph is leveled.</summary>
    private void FindDominators()
    {
        _dominators.AsSpan(0, _blockCount * _nodeWords).Fill(uint.MaxValue);
        Block root = Root;
        DominatorsOf(root).Clear();
        for (int level = root.Level; level >= 0; level--)
        {
            for (Block? b = _levels[level]; b is not null; b = b.Link)
            {
                Span<uint> dom = DominatorsOf(b);
                BitSet.Insert(dom, b.Id);
                if (b.Jt is null)
                    continue;
                BitSet.IntersectWith(DominatorsOf(b.Jt), dom);
                BitSet.IntersectWith(DominatorsOf(b.Jf!), dom);
            }
        }
    }

    /// <summary>Edge dominators: the edges on every path from the root to an edge, the edge included.</summary>
    private void FindEdgeDominators()
    {
        _edgeDominators.AsSpan(0, _edgeCount * _edgeWords).Fill(uint.MaxValue);
        Block root = Root;
        EdgeDominatorsOf(root.Et).Clear();
        EdgeDominatorsOf(root.Ef).Clear();
        for (int level = root.Level; level >= 0; level--)
        {
            for (Block? b = _levels[level]; b is not null; b = b.Link)
            {
                PropagateEdgeDominators(b.Et);
                PropagateEdgeDominators(b.Ef);
            }
        }
    }

    private void PropagateEdgeDominators(Edge e)
    {
        Span<uint> edom = EdgeDominatorsOf(e);
        BitSet.Insert(edom, e.Id);
        if (e.Succ is { } succ)
        {
            BitSet.IntersectWith(EdgeDominatorsOf(succ.Et), edom);
            BitSet.IntersectWith(EdgeDominatorsOf(succ.Ef), edom);
        }
    }

    /// <summary>Which atoms each block uses before defining, defines, kills, and must leave for its successors.</summary>
    private void FindUseDef()
    {
        int maxLevel = Root.Level;
        for (int level = maxLevel; level >= 0; level--)
        {
            for (Block? b = _levels[level]; b is not null; b = b.Link)
            {
                ComputeLocalUseDef(b);
                b.OutUse = 0;
            }
        }
        for (int level = 1; level <= maxLevel; level++)
        {
            for (Block? b = _levels[level]; b is not null; b = b.Link)
            {
                b.OutUse |= b.Jt!.InUse | b.Jf!.InUse;
                b.InUse |= b.OutUse & ~b.Kill;
            }
        }
    }

    private static void ComputeLocalUseDef(Block b)
    {
        uint def = 0, use = 0, killed = 0;
        for (Slist? s = b.Stmts; s is not null; s = s.Next)
        {
            if (s.S.Code == Atoms.Nop)
                continue;
            use |= UsedBeforeDefined(Atoms.Used(s.S), def);
            int atom = Atoms.Defined(s.S);
            if (atom >= 0)
            {
                if (!Atoms.Contains(use, atom))
                    killed |= Atoms.Mask(atom);
                def |= Atoms.Mask(atom);
            }
        }
        // As in libpcap, only a jump's operands count; what a return reads does not.
        if (Cbpf.Cbpf.Class(b.S.Code) == Cbpf.Cbpf.Jmp)
            use |= UsedBeforeDefined(Atoms.Used(b.S), def);

        b.Def = def;
        b.Kill = killed;
        b.InUse = use;
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

    /// <summary>
    /// In-edge lists, rebuilt from the level lists of the pass (which may be stale after branch
    /// moves, as in libpcap). Each list holds the last linked edge first.
    /// </summary>
    private void FindInEdges()
    {
        for (int i = 0; i < _blockCount; i++)
            _blocks[i].InEdges = null;
        for (int level = Root.Level; level > 0; level--)
        {
            for (Block? b = _levels[level]; b is not null; b = b.Link)
            {
                LinkInEdge(b.Et, b.Jt!);
                LinkInEdge(b.Ef, b.Jf!);
            }
        }
    }

    private static void LinkInEdge(Edge parent, Block child)
    {
        parent.Next = child.InEdges;
        child.InEdges = parent;
    }
}
