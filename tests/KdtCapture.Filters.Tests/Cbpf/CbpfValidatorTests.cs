using FsCheck;
using FsCheck.Fluent;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Tests.Cbpf;

public class CbpfValidatorTests
{
    private static readonly CbpfInstruction Accept = CbpfInstruction.Stmt(Ret | K, 0x40000);

    [Fact]
    public void AgreesWithBpfValidateOnRandomPrograms()
    {
        CbpfTestData.RequireLibPcap();
        var programs = Arb.From(CbpfTestData.AnyProgram, CbpfTestData.ShrinkProgram);
        int valid = 0;
        Check.One(CbpfTestData.Property(30000), Prop.ForAll(programs, program =>
        {
            bool ours = CbpfValidator.IsValid(program);
            if (ours)
                valid++;
            return (ours == LibPcapOracle.Validate(program)).ToProperty()
                .Label(CbpfPrinter.Format(program, CbpfDumpStyle.CArray) + "ours: " + CbpfValidator.Validate(program));
        }));
        // The generator must reach both verdicts often enough for the agreement to mean something.
        Assert.InRange(valid, 1500, 28500);
    }

    [Fact]
    public void AgreesWithBpfValidateOnEveryOpcode()
    {
        CbpfTestData.RequireLibPcap();
        foreach (uint k in new uint[] { 0, 1, 15, 16, 0xffffffff })
        {
            for (int code = 0; code <= 0xffff; code++)
            {
                CbpfInstruction[] program = [new CbpfInstruction((ushort)code, 0, 1, k), Accept, Accept];
                Assert.True(LibPcapOracle.Validate(program) == CbpfValidator.IsValid(program), $"opcode 0x{code:x} k {k}");
                CbpfInstruction[] last = [new CbpfInstruction((ushort)code, 0, 0, k)];
                Assert.True(LibPcapOracle.Validate(last) == CbpfValidator.IsValid(last), $"lone opcode 0x{code:x} k {k}");
            }
        }
    }

    [Fact]
    public void AcceptsWhatLibPcapCompiles()
    {
        CbpfTestData.RequireLibPcap();
        foreach (string expression in new[] { "ip", "tcp port 80", "ip6 protochain 17", "ip[0] & 0xf > 5", "vlan and mpls" })
        {
            CbpfInstruction[] program = LibPcapOracle.Compile(expression, LinkType.EN10MB).Instructions!;
            Assert.True(CbpfValidator.ValidateForExecution(program).IsValid, expression);
        }
    }

    [Fact]
    public void ReasonsNameTheInstruction()
    {
        Assert.Equal("the program is empty", CbpfValidator.Validate([]).Reason);
        Assert.Equal(-1, CbpfValidator.Validate([]).InstructionIndex);
        Assert.Equal(-1, CbpfValidator.Validate([Accept]).InstructionIndex);
        Assert.True(CbpfValidator.Validate([Accept]).IsValid);
        Assert.Equal(CbpfValidationResult.Valid, CbpfValidator.Validate([Accept]));

        var noRet = CbpfValidator.Validate([CbpfInstruction.Stmt(Ld | Imm, 1)]);
        Assert.Equal("instruction 0: the program does not end in a ret", noRet.Reason);

        var memory = CbpfValidator.Validate([CbpfInstruction.Stmt(St, 16), Accept]);
        Assert.Equal(0, memory.InstructionIndex);
        Assert.Equal("instruction 0: scratch memory index 16 is out of range (M[0] to M[15])", memory.Reason);

        Assert.Equal("instruction 1: division by constant zero",
            CbpfValidator.Validate([Accept, CbpfInstruction.Stmt(Alu | Div | K, 0), Accept]).Reason);
        Assert.Equal("instruction 0: modulo by constant zero",
            CbpfValidator.Validate([CbpfInstruction.Stmt(Alu | Mod | K, 0), Accept]).Reason);
        Assert.True(CbpfValidator.IsValid([CbpfInstruction.Stmt(Alu | Div | X, 0), Accept]));

        Assert.Equal("instruction 0: jf target 3 is outside the program (2 instructions)",
            CbpfValidator.Validate([CbpfInstruction.Jump(Jmp | Jeq | K, 0, 0, 2), Accept]).Reason);
        Assert.Equal("instruction 0: ja target 2 is outside the program (2 instructions)",
            CbpfValidator.Validate([CbpfInstruction.Stmt(Jmp | Ja, 1), Accept]).Reason);
        Assert.Equal("instruction 0: load mode 0xc0 does not exist (opcode 0xc0)",
            CbpfValidator.Validate([CbpfInstruction.Stmt(0xc0, 0), Accept]).Reason);
        Assert.Equal("instruction 0: alu operation 0xb0 does not exist (opcode 0xb4)",
            CbpfValidator.Validate([CbpfInstruction.Stmt(0xb4, 0), Accept]).Reason);
        Assert.Equal("instruction 0: jump operation 0x50 does not exist (opcode 0x55)",
            CbpfValidator.Validate([CbpfInstruction.Stmt(0x55, 0), Accept]).Reason);
    }

    [Fact]
    public void BackwardJumpsPassAsInLibPcap()
    {
        // ja whose k wraps around to an earlier instruction: libpcap's protochain code relies on it.
        CbpfInstruction[] loop = [CbpfInstruction.Stmt(Ld | Imm, 0), CbpfInstruction.Stmt(Jmp | Ja, unchecked((uint)-2)), Accept];
        Assert.True(CbpfValidator.IsValid(loop));
        if (LibPcapOracle.IsAvailable)
            Assert.True(LibPcapOracle.Validate(loop));
    }

    [Fact]
    public void ExecutionNeedsOpcodesBpfFilterKnows()
    {
        // ret with X as its source passes bpf_validate, but bpf_filter would abort on it.
        CbpfInstruction[] program = [CbpfInstruction.Jump(Jmp | Jeq | K, 0, 1, 0), Accept, CbpfInstruction.Stmt(Ret | X, 0)];
        Assert.True(CbpfValidator.IsValid(program));
        var execution = CbpfValidator.ValidateForExecution(program);
        Assert.False(execution.IsValid);
        Assert.Equal(2, execution.InstructionIndex);
        Assert.Equal("instruction 2: opcode 0x0e is not an instruction bpf_filter can execute", execution.Reason);

        Assert.Equal(49, CbpfTestData.ExecutableCodes.Length);
        Assert.True(CbpfValidator.IsExecutable(Ldx | W | Len));
        Assert.False(CbpfValidator.IsExecutable(Ld | Msh | B));
    }
}
