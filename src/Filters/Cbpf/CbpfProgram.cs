namespace KdtCapture.Filters.Cbpf;

/// <summary>A compiled classic BPF program (what libpcap calls <c>struct bpf_program</c>).</summary>
public sealed class CbpfProgram
{
    private readonly CbpfInstruction[] _instructions;

    public CbpfProgram(CbpfInstruction[] instructions)
    {
        ArgumentNullException.ThrowIfNull(instructions);
        _instructions = instructions;
    }

    public ReadOnlySpan<CbpfInstruction> Instructions => _instructions;

    public int Length => _instructions.Length;

    public CbpfInstruction this[int index] => _instructions[index];

    /// <summary>The instructions as an array the caller may keep (a copy).</summary>
    public CbpfInstruction[] ToArray() => (CbpfInstruction[])_instructions.Clone();
}
