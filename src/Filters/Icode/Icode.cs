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

/// <summary>A vertex of the control-flow graph: straight-line statements, then one branch.</summary>
/// <remarks>
/// Only what the code generator, optimizer and linearizer exchange lives here; the optimizer keeps
/// its analyses (dominators, use-def sets, value numbers) in arrays of its own.
/// </remarks>
internal sealed class Block
{
    /// <summary>Number of atoms tracked by data-flow analysis: M[0..15], A and X.</summary>
    public const int Atoms = Cbpf.Cbpf.MemWords + 2;

    /// <summary>Set by the optimizer's numbering.</summary>
    public uint Id;
    /// <summary>Straight-line statements before the branch.</summary>
    public Slist? Stmts;
    /// <summary>The branch (or ret) that ends the block.</summary>
    public readonly Stmt S = new();
    /// <summary>Traversal mark (see <see cref="IcodeGraph.CurMark"/>).</summary>
    public int Mark;
    /// <summary>Linearizer: whether the jt/jf branch needs an extra "ja" for a long jump.</summary>
    public uint LongJt;
    public uint LongJf;
    /// <summary>Linearizer: the block's position in the program.</summary>
    public int Offset;
    /// <summary>Linearizer: live statements, counted before the layout.</summary>
    public int LiveStatements;
    /// <summary>Linearizer: whether a live statement is a conditional jump inside the list.</summary>
    public bool LocalJumps;
    /// <summary>While generating code: which of jt/jf is still an unresolved back-link (libpcap's "sense").</summary>
    public bool Sense;
    /// <summary>While generating code: the entry block of the expression this block ends.</summary>
    public Block Head;
    /// <summary>Successor when the branch is taken (libpcap's JT(b)).</summary>
    public Block? Jt;
    /// <summary>Successor when the branch is not taken (libpcap's JF(b)).</summary>
    public Block? Jf;

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
        Offset = 0;
        Sense = false;
        Head = this;
        Jt = null;
        Jf = null;
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
