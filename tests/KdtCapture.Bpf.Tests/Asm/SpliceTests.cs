using KdtCapture.Bpf.Asm;
using static KdtCapture.Bpf.Asm.BpfOpCode;
using static KdtCapture.Bpf.Asm.BpfRegister;

namespace KdtCapture.Bpf.Tests.Asm;

using Asm = KdtCapture.Bpf.Asm.Asm;

/// <summary>
/// Splicing is checked against the assembler: a program with a stub subprogram, spliced, must equal
/// the same program assembled with the replacement written in place of the stub.
/// </summary>
public sealed class SpliceTests
{
    /// <summary>A tap-like program: main calls "filter" (a stub returning 0) and a helper subprogram after it.</summary>
    private static BpfInstruction[] Program(Action<BpfAssembler> filterBody) =>
        Build(filterBody).Assemble();

    private static BpfAssembler Build(Action<BpfAssembler> filterBody)
    {
        var code = new BpfAssembler()
            .Emit(Asm.Mov64(R6, R1))
            .Emit(Asm.LoadImm64(R7, 0x100000000))
            .CallSubprogram("filter")
            .JumpIf(Jeq, R0, 0, "drop")
            .CallSubprogram("after")
            .LoadFunction(R3, "after")
            .Ja("exit")
            .Label("drop")
            .Emit(Asm.Mov64(R0, 0))
            .Label("exit")
            .Exit()
            .Label("filter");
        filterBody(code);
        code.Label("after")
            .Emit(Asm.Mov64(R0, 2))
            .JumpIf(Jne, R1, 0, "after_out")
            .Emit(Asm.Mov64(R0, 3))
            .Label("after_out")
            .Exit();
        return code;
    }

    private static void Stub(BpfAssembler code) => code.Emit(Asm.Mov64(R0, 0)).Exit();

    private static void Filter(BpfAssembler code) => code
        .Emit(Asm.LoadMem(SizeW, R2, R1, 0))
        .JumpIf(Jne, R2, 0x800, "reject")
        .Emit(Asm.LoadImm64(R0, 0x40000))
        .Exit()
        .Label("reject")
        .Emit(Asm.Mov64(R0, 0))
        .Exit();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Replacing_a_stub_equals_assembling_the_replacement_in_place(bool bySubprogram)
    {
        var stubbed = Build(Stub);
        BpfInstruction[] program = stubbed.Assemble();
        int stubStart = stubbed.Labels["filter"];
        int stubLength = stubbed.Labels["after"] - stubStart;

        var replacementCode = new BpfAssembler();
        Filter(replacementCode);
        BpfInstruction[] replacement = replacementCode.Assemble();

        var result = bySubprogram
            ? BpfSplice.ReplaceSubprogram(program, stubStart, replacement)
            : BpfSplice.Replace(program, stubStart, stubLength, replacement);

        BpfInstruction[] expected = Program(Filter);
        Assert.Equal(BpfDisassembler.Disassemble(expected), BpfDisassembler.Disassemble(result.Instructions));
        Assert.Equal(expected, result.Instructions);
        Assert.Equal(Build(Filter).Labels["after"], result.MapIndex(stubbed.Labels["after"]));
        Assert.Equal(0, result.MapIndex(0));
    }

    [Fact]
    public void Subprogram_starts_come_from_calls_and_callback_references()
    {
        var stubbed = Build(Stub);
        var starts = BpfSplice.SubprogramStarts(stubbed.Assemble());
        Assert.Equal([0, stubbed.Labels["filter"], stubbed.Labels["after"]], starts);
        Assert.Throws<ArgumentException>(() => BpfSplice.ReplaceSubprogram(stubbed.Assemble(), 1, [Asm.Exit()]));
    }

    [Fact]
    public void A_jump_into_the_middle_of_the_replaced_range_is_refused()
    {
        var code = new BpfAssembler()
            .JumpIf(Jeq, R1, 0, "middle")
            .Emit(Asm.Mov64(R0, 1))
            .Label("middle")
            .Emit(Asm.Mov64(R0, 2))
            .Exit()
            .Assemble();
        var error = Assert.Throws<InvalidOperationException>(() => BpfSplice.Replace(code, 1, 2, [Asm.Mov64(R0, 5)]));
        Assert.Contains("middle of the replaced range", error.Message);
        Assert.Throws<ArgumentException>(() => BpfSplice.Replace(Program(Stub), 2, 1, [Asm.Exit()])); // half of a wide load
    }

    [Fact]
    public void Insertion_keeps_jumps_following_their_instruction()
    {
        var code = new BpfAssembler()
            .JumpIf(Jeq, R1, 0, "target") // 0
            .Emit(Asm.Mov64(R0, 1))       // 1
            .Label("target")
            .Emit(Asm.Mov64(R0, 2))       // 2
            .Exit()
            .Assemble();
        var result = BpfSplice.Replace(code, 2, 0, [Asm.Add64(R1, 1), Asm.Add64(R1, 1)]);
        Assert.Equal(3, result.Instructions[0].Offset); // now to index 4, the moved "r0 = 2"
        Assert.Equal(Asm.Mov64(R0, 2), result.Instructions[4]);
    }
}
