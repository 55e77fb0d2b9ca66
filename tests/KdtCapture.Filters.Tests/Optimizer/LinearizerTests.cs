using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Icode;
using KdtCapture.Filters.Optimizer;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Tests.Optimizer;

/// <summary>Jumps inside statement lists, on hand-made graphs, with the rules and messages of libpcap's convert_code_r.</summary>
public class LinearizerTests
{
    /// <summary>A block "ld [0]; jeq #1 (list jump); ld [1]; ld [2]; ret a" returned with its cells.</summary>
    private static (IcodeGraph Graph, Slist[] Cells) BlockWithListJump()
    {
        var cells = new[]
        {
            new Slist(Ld | Abs | B, 0),
            new Slist(Jmp | Jeq | K, 1),
            new Slist(Ld | Abs | B, 1),
            new Slist(Ld | Abs | B, 2),
        };
        for (int i = 0; i < cells.Length - 1; i++)
            cells[i].Next = cells[i + 1];
        var b = new Block(Ret | A) { Stmts = cells[0] };
        return (new IcodeGraph { Root = b }, cells);
    }

    [Fact]
    public void ListJumpOffsetsCountFromTheNextStatement()
    {
        var (graph, cells) = BlockWithListJump();
        cells[1].S.Jt = cells[3];
        cells[1].S.Jf = cells[2];
        var program = IcodeLinearizer.ToInstructions(graph);
        Assert.Equal(5, program.Length);
        Assert.Equal(new CbpfInstruction(Jmp | Jeq | K, 1, 0, 1), program[1]);
    }

    [Fact]
    public void DeletedStatementsAreSkippedButStillCountAsTargets()
    {
        // libpcap indexes the first (live count) cells of the list, deleted ones included, while
        // the jump's own position counts live statements only: a deleted head shifts targets by one.
        var (graph, cells) = BlockWithListJump();
        cells[0].S.Code = Atoms.Nop;
        cells[1].S.Jt = cells[2];
        cells[1].S.Jf = cells[2];
        var program = IcodeLinearizer.ToInstructions(graph);
        Assert.Equal(4, program.Length);
        Assert.Equal(new CbpfInstruction(Jmp | Jeq | K, 1, 1, 1), program[0]);
    }

    [Fact]
    public void MissingTargetIsReported()
    {
        var (graph, cells) = BlockWithListJump();
        cells[1].S.Jt = cells[3];
        var e = Assert.Throws<FilterCompileException>(() => IcodeLinearizer.ToInstructions(graph));
        Assert.Equal("no jmp destination for block-local relative jump: off=1", e.Message);
    }

    [Fact]
    public void TargetOutsideTheListIsReported()
    {
        var (graph, cells) = BlockWithListJump();
        cells[1].S.Jt = cells[3];
        cells[1].S.Jf = new Slist(Ld | Abs | B, 9);
        var e = Assert.Throws<FilterCompileException>(() => IcodeLinearizer.ToInstructions(graph));
        Assert.Equal("no destination found for block-local relative jump: off=1", e.Message);
    }

    [Fact]
    public void BackwardTargetIsOutOfRange()
    {
        var (graph, cells) = BlockWithListJump();
        cells[1].S.Jt = cells[0];
        cells[1].S.Jf = cells[2];
        var e = Assert.Throws<FilterCompileException>(() => IcodeLinearizer.ToInstructions(graph));
        Assert.Equal("out-of-range jump for block-local relative jump: off=1", e.Message);
    }

    [Fact]
    public void JumpJustBeforeTheLastStatementIsLeftUnresolved()
    {
        // libpcap skips resolving a list jump at position (length - 2), whatever its targets.
        var (graph, cells) = BlockWithListJump();
        cells[1].S.Code = Ld | Abs | B;
        cells[2].S.Code = Jmp | Jset | K;
        cells[2].S.Jt = cells[0];
        var program = IcodeLinearizer.ToInstructions(graph);
        Assert.Equal(new CbpfInstruction(Jmp | Jset | K, 0, 0, 1), program[2]);
    }
}
