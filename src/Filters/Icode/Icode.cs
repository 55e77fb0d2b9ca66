namespace KdtCapture.Filters.Icode;

// The intermediate code between the code generator and the optimizer: a control-flow graph of
// blocks, each a list of straight-line statements ending in one branch. It has the shape of
// libpcap's icode on purpose: the optimizer's result (and so tcpdump-identical -d output)
// depends on the exact graph the code generator builds.

/// <summary>One statement: an instruction whose jumps (only inside a block, for protochain) point at list cells.</summary>
internal sealed class Stmt
{
    public int Code;
    public Slist? Jt;
    public Slist? Jf;
    public uint K;

    public Stmt() { }

    public Stmt(int code, uint k = 0)
    {
        Code = code;
        K = k;
    }

    /// <summary>Value copy (C's struct assignment).</summary>
    public void CopyFrom(Stmt other)
    {
        Code = other.Code;
        Jt = other.Jt;
        Jf = other.Jf;
        K = other.K;
    }
}

/// <summary>A cell of a statement list.</summary>
internal sealed class Slist
{
    public readonly Stmt S;
    public Slist? Next;

    public Slist(int code, uint k = 0) => S = new Stmt(code, k);

    /// <summary>Makes a recycled cell as good as new.</summary>
    public void Reset(int code, uint k)
    {
        S.Code = code;
        S.Jt = null;
        S.Jf = null;
        S.K = k;
        Next = null;
    }
}

/// <summary>An edge of the control-flow graph: the jt or jf branch of its predecessor.</summary>
internal sealed class Edge
{
    public uint Id;
    /// <summary>Opcode of the branch this edge stands for (negated for the false edge).</summary>
    public int Code;
    /// <summary>Edge dominators (a bit set over edges), for the optimizer.</summary>
    public uint[]? Edom;
    public Block? Succ;
    public Block? Pred;
    /// <summary>Next edge in the successor's in-edge list.</summary>
    public Edge? Next;
}

/// <summary>A vertex of the control-flow graph.</summary>
internal sealed class Block
{
    /// <summary>Number of atoms tracked by data-flow analysis: M[0..15], A and X.</summary>
    public const int Atoms = Cbpf.Cbpf.MemWords + 2;

    public uint Id;
    /// <summary>Straight-line statements before the branch.</summary>
    public Slist? Stmts;
    /// <summary>The branch (or ret) that ends the block.</summary>
    public readonly Stmt S = new();
    public int Mark;
    public uint LongJt;
    public uint LongJf;
    public int Level;
    public int Offset;
    /// <summary>While generating code: which of jt/jf is still an unresolved back-link (libpcap's "sense").</summary>
    public bool Sense;
    public readonly Edge Et = new();
    public readonly Edge Ef = new();
    /// <summary>While generating code: the entry block of the expression this block ends.</summary>
    public Block Head;
    /// <summary>Used by the optimizer (block interning, levels).</summary>
    public Block? Link;
    public uint[]? Dom;
    public uint[]? Closure;
    public Edge? InEdges;
    public uint Def;
    public uint Kill;
    public uint InUse;
    public uint OutUse;
    public int Oval;
    public readonly uint[] Val = new uint[Atoms];

    public Block(int code)
    {
        S.Code = code;
        Head = this;
    }

    /// <summary>Makes a recycled block as good as new.</summary>
    public void Reset(int code)
    {
        Id = 0;
        Stmts = null;
        S.Code = code;
        S.Jt = null;
        S.Jf = null;
        S.K = 0;
        Mark = 0;
        LongJt = 0;
        LongJf = 0;
        Level = 0;
        Offset = 0;
        Sense = false;
        ResetEdge(Et);
        ResetEdge(Ef);
        Head = this;
        Link = null;
        Dom = null;
        Closure = null;
        InEdges = null;
        Def = 0;
        Kill = 0;
        InUse = 0;
        OutUse = 0;
        Oval = 0;
        Array.Clear(Val);

        static void ResetEdge(Edge e)
        {
            e.Id = 0;
            e.Code = 0;
            e.Edom = null;
            e.Succ = null;
            e.Pred = null;
            e.Next = null;
        }
    }

    /// <summary>Successor when the branch is taken (libpcap's JT(b)).</summary>
    public Block? Jt
    {
        get => Et.Succ;
        set => Et.Succ = value;
    }

    /// <summary>Successor when the branch is not taken (libpcap's JF(b)).</summary>
    public Block? Jf
    {
        get => Ef.Succ;
        set => Ef.Succ = value;
    }
}

/// <summary>A program as a graph of blocks, with the current mark for traversals.</summary>
internal sealed class IcodeGraph
{
    public Block? Root;
    public int CurMark;

    public bool IsMarked(Block b) => b.Mark == CurMark;
    public void Mark(Block b) => b.Mark = CurMark;
    public void UnmarkAll() => CurMark++;
}

/// <summary>
/// Blocks and statement cells for one compilation, reused by the next one on the same thread:
/// a compile builds a few dozen of each and then throws the graph away, so recycling them keeps
/// compilation free of garbage.
/// </summary>
internal sealed class IcodeArena
{
    [ThreadStatic]
    private static IcodeArena? t_arena;

    private readonly List<Block> _blocks = [];
    private readonly List<Slist> _cells = [];
    private int _blocksUsed;
    private int _cellsUsed;
    private bool _rented;

    /// <summary>This thread's arena; <see cref="Return"/> it when the graph is no longer needed.</summary>
    public static IcodeArena Rent()
    {
        var arena = t_arena;
        if (arena is null || arena._rented)
            return new IcodeArena { _rented = true }; // nested or first use: a private arena
        arena._rented = true;
        return arena;
    }

    public void Return()
    {
        _blocksUsed = 0;
        _cellsUsed = 0;
        _rented = false;
        t_arena ??= this;
    }

    public Block NewBlock(int code)
    {
        if (_blocksUsed < _blocks.Count)
        {
            var b = _blocks[_blocksUsed++];
            b.Reset(code);
            return b;
        }
        var fresh = new Block(code);
        _blocks.Add(fresh);
        _blocksUsed++;
        return fresh;
    }

    public Slist NewSlist(int code, uint k)
    {
        if (_cellsUsed < _cells.Count)
        {
            var s = _cells[_cellsUsed++];
            s.Reset(code, k);
            return s;
        }
        var fresh = new Slist(code, k);
        _cells.Add(fresh);
        _cellsUsed++;
        return fresh;
    }
}
