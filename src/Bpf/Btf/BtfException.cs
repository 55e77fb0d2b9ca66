namespace KdtCapture.Bpf.Btf;

/// <summary>A BTF blob that cannot be read (bad header, truncated, a record pointing outside the blob).</summary>
public sealed class BtfFormatException(string message) : Exception(message);

/// <summary>A name looked up in BTF that is not there; <see cref="Suggestions"/> lists the nearest names.</summary>
public sealed class BtfNotFoundException(string message, IReadOnlyList<string> suggestions) : Exception(message)
{
    public IReadOnlyList<string> Suggestions { get; } = suggestions;
}
