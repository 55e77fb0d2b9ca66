namespace KdtCapture.Filters.Ebpf;

/// <summary>
/// A cBPF filter translated to an eBPF function, to be called as a BPF-to-BPF subprogram:
/// <code>
/// u32 filter(const u8 *frame /* R1 */, u32 available /* R2 */, u32 wire_length /* R3 */);
/// </code>
/// R1 is the address of the frame's first byte in kernel memory (a scalar, e.g. skb->head +
/// skb->mac_header, or a pointer the verifier tracks); R2 how many bytes from there may be read
/// (the linear length); R3 the packet's length on the wire, what <c>len</c> compares. R0 is what the
/// cBPF program returns: 0 drops the packet, anything else is the snapshot length. The bytes are
/// read only with bpf_probe_read_kernel, after checking each load against R2, so a filter never
/// faults and a load past R2 makes it return 0, as libpcap's bpf_filter does (or, translated with
/// <see cref="EbpfTranslationOptions.UndecidedBeyondAvailable"/>, <see cref="UndecidedVerdict"/> when
/// the load ends within R3). The function
/// reads R1/R2 only when <see cref="ReadsFrame"/> and R3 only when <see cref="ReadsWireLength"/>,
/// uses <see cref="StackBytes"/> bytes of its own stack frame and no maps.
/// </summary>
public sealed class EbpfFilterProgram
{
    /// <summary>
    /// What R0 holds (all 64 bits) when a translation made with
    /// <see cref="EbpfTranslationOptions.UndecidedBeyondAvailable"/> needed a byte past the available
    /// ones; every other verdict fits in 32 bits, so the upper half tells them apart.
    /// </summary>
    public const ulong UndecidedVerdict = 1UL << 32;

    private readonly EbpfInstruction[] _instructions;

    internal EbpfFilterProgram(EbpfInstruction[] instructions, int stackBytes, bool readsFrame, bool readsWireLength, int prefixBytes, int helperCalls)
    {
        _instructions = instructions;
        StackBytes = stackBytes;
        ReadsFrame = readsFrame;
        ReadsWireLength = readsWireLength;
        PrefixBytes = prefixBytes;
        HelperCallSites = helperCalls;
    }

    /// <summary>The function's instruction slots, ending in exit; its jumps stay inside it.</summary>
    public ReadOnlySpan<EbpfInstruction> Instructions => _instructions;

    public int Length => _instructions.Length;

    /// <summary>Bytes of its own stack frame the function uses (below R10).</summary>
    public int StackBytes { get; }

    /// <summary>Whether the function reads the frame (R1, R2); a program that loads no byte ignores both.</summary>
    public bool ReadsFrame { get; }

    /// <summary>Whether the function reads the wire length (R3): the cBPF program uses <c>len</c>, or undecided loads compare with it.</summary>
    public bool ReadsWireLength { get; }

    /// <summary>Bytes copied from the frame's start at entry (0: every load reads the frame by itself).</summary>
    public int PrefixBytes { get; }

    /// <summary>How many bpf_probe_read_kernel calls the code contains (not how many run per packet).</summary>
    public int HelperCallSites { get; }

    /// <summary>The slots as 64-bit words (<see cref="EbpfInstruction.Encode"/>).</summary>
    public ulong[] ToWords()
    {
        var words = new ulong[_instructions.Length];
        for (int i = 0; i < words.Length; i++)
            words[i] = _instructions[i].Encode();
        return words;
    }

    /// <summary>The slots as the bytes of a <c>struct bpf_insn</c> array.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[_instructions.Length * EbpfInstruction.Size];
        for (int i = 0; i < _instructions.Length; i++)
            _instructions[i].WriteTo(bytes.AsSpan(i * EbpfInstruction.Size, EbpfInstruction.Size));
        return bytes;
    }
}
