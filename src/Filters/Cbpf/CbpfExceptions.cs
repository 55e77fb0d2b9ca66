using System.Globalization;

namespace KdtCapture.Filters.Cbpf;

/// <summary>A cBPF program refused by validation; <see cref="Exception.Message"/> says which instruction and why.</summary>
public sealed class CbpfProgramException : ArgumentException
{
    public CbpfProgramException(CbpfValidationResult validation)
        : base("invalid cBPF program: " + validation.Reason)
    {
        Validation = validation;
    }

    public CbpfValidationResult Validation { get; }
}

/// <summary>
/// Execution reached an opcode that bpf_validate lets through but bpf_filter cannot execute
/// (libpcap aborts the process there). <see cref="CbpfFilter"/> refuses such programs up front.
/// </summary>
public sealed class CbpfUnknownOpcodeException : InvalidOperationException
{
    public CbpfUnknownOpcodeException(int instructionIndex, ushort code)
        : base(string.Create(CultureInfo.InvariantCulture, $"cBPF instruction {instructionIndex}: opcode 0x{code:x2} cannot be executed"))
    {
        InstructionIndex = instructionIndex;
        Code = code;
    }

    public int InstructionIndex { get; }

    public ushort Code { get; }
}
