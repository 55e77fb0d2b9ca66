namespace KdtCapture.Filters.Ebpf;

/// <summary>Why a cBPF program has no eBPF translation; every reason means "filter in user space instead".</summary>
public enum EbpfTranslationFailure
{
    /// <summary>The cBPF program fails validation (it could not run in user space either).</summary>
    InvalidProgram = 1,

    /// <summary>The translation exceeds <see cref="EbpfTranslationOptions.MaxInstructions"/> or the reach of 16-bit jumps.</summary>
    TooLarge = 2,

    /// <summary>The program loads Linux socket metadata (SKF_AD_*: VLAN tag, packet type, ifindex), which the filter's inputs do not carry.</summary>
    KernelMetadata = 3,

    /// <summary>The program jumps backwards (libpcap's protochain loops), which the verifier cannot bound.</summary>
    BackwardJump = 4,
}

/// <summary>A cBPF program that cannot be translated to eBPF; the message is one sentence naming the instruction and the reason.</summary>
public sealed class EbpfTranslationException : Exception
{
    public EbpfTranslationException(EbpfTranslationFailure failure, int instructionIndex, string message)
        : base(message)
    {
        Failure = failure;
        InstructionIndex = instructionIndex;
    }

    public EbpfTranslationFailure Failure { get; }

    /// <summary>The cBPF instruction at fault, or -1 when the program as a whole is (too large).</summary>
    public int InstructionIndex { get; }
}
