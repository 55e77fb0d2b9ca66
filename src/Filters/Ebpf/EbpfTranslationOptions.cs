namespace KdtCapture.Filters.Ebpf;

/// <summary>How <see cref="EbpfTranslator"/> translates a cBPF program; the defaults suit a tap program's filter subprogram.</summary>
public sealed class EbpfTranslationOptions
{
    /// <summary>The largest prefix bound, in bytes (multiple of 8).</summary>
    public const int MaxPrefixBytes = 256;

    /// <summary>
    /// The frame's first bytes up to this many (rounded to 8) are copied to the stack with one
    /// bpf_probe_read_kernel at entry when absolute loads read them; those loads then read the stack.
    /// Loads past the prefix, and indirect loads, read the frame one by one. 0 reads every load
    /// separately. Default 64: Ethernet, VLAN and IPv4/IPv6 headers up to the IPv6 addresses.
    /// </summary>
    public int PrefixBytes { get; init; } = 64;

    /// <summary>
    /// Translations longer than this many instruction slots are refused with
    /// <see cref="EbpfTranslationFailure.TooLarge"/>, so the caller filters in user space. Default and
    /// most: <see cref="Ebpf.MaxJumpReach"/>, as far as a 16-bit jump reaches. Measured on Linux 6.18:
    /// every corpus translation verifies (the largest has 15,895 instructions; the most verifier work
    /// is 86,359 processed instructions of its 1,000,000), and a 32,600-instruction translation just
    /// under the limit verifies in 1.7 s. A program the verifier still refuses fails to load, and the
    /// caller falls back to user space then too.
    /// </summary>
    public int MaxInstructions { get; init; } = Ebpf.MaxJumpReach;

    /// <summary>
    /// A load past the available bytes (R2) that ends within the wire length (R3) returns
    /// <see cref="EbpfFilterProgram.UndecidedVerdict"/> instead of 0: the bytes exist but are not
    /// readable at the frame's address (an skb's paged data), so the caller settles the verdict on
    /// the whole frame. Loads past the wire length still return 0. Default false: libpcap's semantics.
    /// </summary>
    public bool UndecidedBeyondAvailable { get; init; }

    public static EbpfTranslationOptions Default { get; } = new();
}
