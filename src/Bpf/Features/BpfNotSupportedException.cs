namespace KdtCapture.Bpf.Features;

/// <summary>
/// The running kernel lacks what an operation needs. The message says what and why in one line
/// ("not supported: ring buffer maps need Linux 5.8 (BPF_MAP_TYPE_RINGBUF)").
/// </summary>
public sealed class BpfNotSupportedException : BpfException
{
    public BpfNotSupportedException(string feature, string message, int errno = 0)
        : base(errno, message)
    {
        Feature = feature;
    }

    /// <summary>A short name of the missing feature ("fentry", "ringbuf", "kprobe").</summary>
    public string Feature { get; }

    /// <summary>"not supported: {what} needs {requirement}".</summary>
    public static BpfNotSupportedException Needs(string feature, string what, string requirement, int errno = 0) =>
        new(feature, $"not supported: {what} needs {requirement}", errno);
}
