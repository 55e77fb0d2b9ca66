using KdtCapture.Bpf.Btf;

namespace KdtCapture.Capture.Taps;

/// <summary>
/// The kernel's drop reasons (BTF's <c>enum skb_drop_reason</c>, names without <c>SKB_DROP_REASON_</c>,
/// as the kfree_skb tracepoint's print fmt shows them) and <c>--drop-reason</c>'s selection of them.
/// </summary>
public static class DropReasons
{
    private const string EnumPrefix = "SKB_DROP_REASON_";
    private static readonly Lazy<Dictionary<uint, string>> s_names = new(Load);

    /// <summary>Value → name of this kernel's drop reasons; empty when its BTF cannot be read.</summary>
    public static IReadOnlyDictionary<uint, string> Names => s_names.Value;

    private static Dictionary<uint, string> Load()
    {
        var result = new Dictionary<uint, string>();
        try
        {
            if (Bpf.Btf.Btf.Kernel.TryFind("skb_drop_reason", BtfKind.Enum, out BtfType e))
                foreach (var value in e.EnumValues)
                {
                    string name = value.Name;
                    result.TryAdd((uint)value.Value, name.StartsWith(EnumPrefix, StringComparison.Ordinal) ? name[EnumPrefix.Length..] : name);
                }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BtfFormatException)
        {
        }
        return result;
    }

    /// <summary>
    /// Parses <c>--drop-reason</c>: names to keep (<c>NO_SOCKET,TCP_CSUM</c>), or names to leave out, each
    /// after <c>!</c> or <c>-</c> (<c>-NOT_SPECIFIED</c>, the reason of every kfree_skb() that gives none).
    /// Case does not matter; the <c>SKB_DROP_REASON_</c> prefix may be given. Errors are one line.
    /// </summary>
    /// <exception cref="TapException">An unknown name, an empty list, or keeping and leaving out mixed.</exception>
    public static DropReasonSelection Parse(string text, IReadOnlyDictionary<uint, string>? names = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        names ??= Names;
        if (names.Count == 0)
            throw new TapException("--drop-reason needs the kernel's enum skb_drop_reason from its BTF (/sys/kernel/btf/vmlinux), which cannot be read");
        var byName = new Dictionary<string, uint>(StringComparer.OrdinalIgnoreCase);
        foreach (var (value, name) in names)
            byName.TryAdd(name, value);
        bool? exclude = null;
        var chosen = new List<uint>();
        foreach (string raw in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            bool not = raw[0] is '!' or '-';
            if (exclude is bool e && e != not)
                throw new TapException($"--drop-reason {text}: either names to keep or names to leave out ('-NAME'), not both");
            exclude = not;
            string name = not ? raw[1..] : raw;
            if (name.StartsWith(EnumPrefix, StringComparison.OrdinalIgnoreCase))
                name = name[EnumPrefix.Length..];
            if (!byName.TryGetValue(name, out uint value))
            {
                var near = new List<string>();
                foreach (string known in byName.Keys)
                    if (near.Count < 5 && name.Length >= 3 && known.Contains(name, StringComparison.OrdinalIgnoreCase))
                        near.Add(known);
                throw new TapException($"--drop-reason: this kernel has no drop reason '{name}'" +
                    (near.Count > 0 ? $" (did you mean {string.Join(", ", near)}?)" : "") +
                    "; its reasons are in /sys/kernel/tracing/events/skb/kfree_skb/format");
            }
            chosen.Add(value);
        }
        if (exclude is null)
            throw new TapException("--drop-reason needs reason names, e.g. NO_SOCKET,TCP_CSUM or -NOT_SPECIFIED");
        return new DropReasonSelection(chosen, exclude.Value);
    }
}

/// <summary>Which drop reasons a capture keeps: a bit per reason below 256, one answer for the rest.</summary>
public sealed class DropReasonSelection
{
    private readonly ulong[] _bits = new ulong[4];

    internal DropReasonSelection(IEnumerable<uint> reasons, bool exclude)
    {
        if (exclude)
            Array.Fill(_bits, ulong.MaxValue);
        KeepsOthers = exclude;
        foreach (uint r in reasons)
        {
            if (r >= 256)
            {
                // A named reason past 255 cannot have a bit: only "all of them" or "none" is exact.
                KeepsOthers = !exclude;
                continue;
            }
            if (exclude)
                _bits[r >> 6] &= ~(1UL << (int)(r & 63));
            else
                _bits[r >> 6] |= 1UL << (int)(r & 63);
        }
    }

    /// <summary>Whether reasons of 256 and above (subsystem reasons) are kept.</summary>
    public bool KeepsOthers { get; }

    public bool Keeps(uint reason) => reason >= 256 ? KeepsOthers : (_bits[reason >> 6] >> (int)(reason & 63) & 1) != 0;

    /// <summary>The program's <c>reason_keep</c> array, little-endian.</summary>
    internal byte[] KeepBits()
    {
        byte[] bytes = new byte[32];
        for (int i = 0; i < 4; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), _bits[i]);
        return bytes;
    }
}
