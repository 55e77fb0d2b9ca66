using System.Globalization;

namespace KdtCapture.Filters.Cbpf;

/// <summary>The verdict on a program: valid, or the first instruction at fault and why.</summary>
public readonly record struct CbpfValidationResult
{
    private readonly int _instructionIndex;

    private CbpfValidationResult(int instructionIndex, string reason)
    {
        _instructionIndex = instructionIndex;
        Reason = reason;
    }

    public static CbpfValidationResult Valid => default;

    public bool IsValid => Reason is null;

    /// <summary>The instruction at fault; -1 when the program is valid or the fault is the program as a whole (empty).</summary>
    public int InstructionIndex => IsValid ? -1 : _instructionIndex;

    /// <summary>Why the program was refused, one sentence; null when valid.</summary>
    public string? Reason { get; }

    internal static CbpfValidationResult Fault(int index, string reason) => new(index, reason);

    public override string ToString() => Reason ?? "valid";
}

/// <summary>
/// Decides whether a cBPF program is safe to run, by the rules of libpcap's bpf_validate:
/// every opcode's class and mode or operation exists, scratch memory indices are below 16,
/// no division or modulo by constant zero, every jump lands inside the program, and the last
/// instruction is a ret. Like libpcap in userland it allows backward jumps (ja with a k that
/// wraps around), which libpcap's own "protochain" code needs, and sets no upper length.
/// </summary>
public static class CbpfValidator
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>libpcap's bpf_validate rules.</summary>
    public static CbpfValidationResult Validate(ReadOnlySpan<CbpfInstruction> program)
    {
        if (program.Length < 1)
            return CbpfValidationResult.Fault(-1, "the program is empty");

        uint length = (uint)program.Length;
        for (int i = 0; i < program.Length; i++)
        {
            CbpfInstruction insn = program[i];
            int code = insn.Code;
            switch (Cbpf.Class(code))
            {
                case Cbpf.Ld:
                case Cbpf.Ldx:
                    switch (Cbpf.Mode(code))
                    {
                        case Cbpf.Imm:
                        case Cbpf.Abs:
                        case Cbpf.Ind:
                        case Cbpf.Msh:
                        case Cbpf.Len:
                            // Packet offsets are checked against the packet at run time.
                            break;
                        case Cbpf.Mem:
                            if (insn.K >= Cbpf.MemWords)
                                return MemoryFault(i, insn.K);
                            break;
                        default:
                            return Fault(i, $"load mode 0x{Cbpf.Mode(code):x2} does not exist (opcode 0x{code:x2})");
                    }
                    break;

                case Cbpf.St:
                case Cbpf.Stx:
                    if (insn.K >= Cbpf.MemWords)
                        return MemoryFault(i, insn.K);
                    break;

                case Cbpf.Alu:
                    switch (Cbpf.Op(code))
                    {
                        case Cbpf.Add:
                        case Cbpf.Sub:
                        case Cbpf.Mul:
                        case Cbpf.Or:
                        case Cbpf.And:
                        case Cbpf.Xor:
                        case Cbpf.Lsh:
                        case Cbpf.Rsh:
                        case Cbpf.Neg:
                            break;
                        case Cbpf.Div:
                        case Cbpf.Mod:
                            if (Cbpf.Src(code) == Cbpf.K && insn.K == 0)
                                return Fault(i, Cbpf.Op(code) == Cbpf.Div ? "division by constant zero" : "modulo by constant zero");
                            break;
                        default:
                            return Fault(i, $"alu operation 0x{Cbpf.Op(code):x2} does not exist (opcode 0x{code:x2})");
                    }
                    break;

                case Cbpf.Jmp:
                    // libpcap adds in 32-bit unsigned arithmetic, so a ja whose k wraps around
                    // lands behind it; that is how backward jumps pass.
                    uint from = (uint)i + 1;
                    switch (Cbpf.Op(code))
                    {
                        case Cbpf.Ja:
                            uint target = unchecked(from + insn.K);
                            if (target >= length)
                                return JumpFault(i, "ja", target, length);
                            break;
                        case Cbpf.Jeq:
                        case Cbpf.Jgt:
                        case Cbpf.Jge:
                        case Cbpf.Jset:
                            if (from + insn.Jt >= length)
                                return JumpFault(i, "jt", from + insn.Jt, length);
                            if (from + insn.Jf >= length)
                                return JumpFault(i, "jf", from + insn.Jf, length);
                            break;
                        default:
                            return Fault(i, $"jump operation 0x{Cbpf.Op(code):x2} does not exist (opcode 0x{code:x2})");
                    }
                    break;

                default:
                    // ret and misc take any operand bits here; bpf_filter refuses the unknown ones when it reaches them.
                    break;
            }
        }

        if (Cbpf.Class(program[^1].Code) != Cbpf.Ret)
            return Fault(program.Length - 1, "the program does not end in a ret");
        return CbpfValidationResult.Valid;
    }

    /// <summary>True when libpcap's bpf_validate would accept the program.</summary>
    public static bool IsValid(ReadOnlySpan<CbpfInstruction> program) => Validate(program).IsValid;

    /// <summary>
    /// True when libpcap's bpf_filter knows how to execute <paramref name="code"/>. bpf_validate
    /// accepts opcodes it cannot execute (any ret or misc bits, unused size bits); bpf_filter
    /// aborts the process when it reaches one, our interpreters throw <see cref="CbpfUnknownOpcodeException"/>.
    /// </summary>
    public static bool IsExecutable(ushort code) => code switch
    {
        Cbpf.Ret | Cbpf.K or Cbpf.Ret | Cbpf.A => true,
        Cbpf.Ld | Cbpf.W | Cbpf.Abs or Cbpf.Ld | Cbpf.H | Cbpf.Abs or Cbpf.Ld | Cbpf.B | Cbpf.Abs => true,
        Cbpf.Ld | Cbpf.W | Cbpf.Ind or Cbpf.Ld | Cbpf.H | Cbpf.Ind or Cbpf.Ld | Cbpf.B | Cbpf.Ind => true,
        Cbpf.Ld | Cbpf.W | Cbpf.Len or Cbpf.Ldx | Cbpf.W | Cbpf.Len => true,
        Cbpf.Ldx | Cbpf.Msh | Cbpf.B => true,
        Cbpf.Ld | Cbpf.Imm or Cbpf.Ldx | Cbpf.Imm => true,
        Cbpf.Ld | Cbpf.Mem or Cbpf.Ldx | Cbpf.Mem or Cbpf.St or Cbpf.Stx => true,
        Cbpf.Jmp | Cbpf.Ja => true,
        Cbpf.Jmp | Cbpf.Jgt | Cbpf.K or Cbpf.Jmp | Cbpf.Jge | Cbpf.K or Cbpf.Jmp | Cbpf.Jeq | Cbpf.K or Cbpf.Jmp | Cbpf.Jset | Cbpf.K => true,
        Cbpf.Jmp | Cbpf.Jgt | Cbpf.X or Cbpf.Jmp | Cbpf.Jge | Cbpf.X or Cbpf.Jmp | Cbpf.Jeq | Cbpf.X or Cbpf.Jmp | Cbpf.Jset | Cbpf.X => true,
        Cbpf.Alu | Cbpf.Add | Cbpf.K or Cbpf.Alu | Cbpf.Sub | Cbpf.K or Cbpf.Alu | Cbpf.Mul | Cbpf.K or Cbpf.Alu | Cbpf.Div | Cbpf.K => true,
        Cbpf.Alu | Cbpf.Mod | Cbpf.K or Cbpf.Alu | Cbpf.And | Cbpf.K or Cbpf.Alu | Cbpf.Or | Cbpf.K or Cbpf.Alu | Cbpf.Xor | Cbpf.K => true,
        Cbpf.Alu | Cbpf.Lsh | Cbpf.K or Cbpf.Alu | Cbpf.Rsh | Cbpf.K => true,
        Cbpf.Alu | Cbpf.Add | Cbpf.X or Cbpf.Alu | Cbpf.Sub | Cbpf.X or Cbpf.Alu | Cbpf.Mul | Cbpf.X or Cbpf.Alu | Cbpf.Div | Cbpf.X => true,
        Cbpf.Alu | Cbpf.Mod | Cbpf.X or Cbpf.Alu | Cbpf.And | Cbpf.X or Cbpf.Alu | Cbpf.Or | Cbpf.X or Cbpf.Alu | Cbpf.Xor | Cbpf.X => true,
        Cbpf.Alu | Cbpf.Lsh | Cbpf.X or Cbpf.Alu | Cbpf.Rsh | Cbpf.X => true,
        Cbpf.Alu | Cbpf.Neg => true,
        Cbpf.Misc | Cbpf.Tax or Cbpf.Misc | Cbpf.Txa => true,
        _ => false,
    };

    /// <summary>
    /// libpcap's rules plus: every opcode is one bpf_filter executes, even where no packet can
    /// reach it (as the Linux kernel's own checker demands). What <see cref="CbpfFilter"/> accepts.
    /// </summary>
    public static CbpfValidationResult ValidateForExecution(ReadOnlySpan<CbpfInstruction> program)
    {
        CbpfValidationResult result = Validate(program);
        if (!result.IsValid)
            return result;
        for (int i = 0; i < program.Length; i++)
        {
            if (!IsExecutable(program[i].Code))
                return Fault(i, $"opcode 0x{program[i].Code:x2} is not an instruction bpf_filter can execute");
        }
        return result;
    }

    private static CbpfValidationResult Fault(int index, string what)
        => CbpfValidationResult.Fault(index, string.Create(Invariant, $"instruction {index}: {what}"));

    private static CbpfValidationResult MemoryFault(int index, uint k)
        => Fault(index, string.Create(Invariant, $"scratch memory index {k} is out of range (M[0] to M[{Cbpf.MemWords - 1}])"));

    private static CbpfValidationResult JumpFault(int index, string which, uint target, uint length)
        => Fault(index, string.Create(Invariant, $"{which} target {target} is outside the program ({length} instructions)"));
}
