using System.Buffers.Binary;

namespace KdtCapture.Capture.Printing.Internal;

/// <summary>
/// Thrown when a decoder reads past the captured bytes: tcpdump's longjmp out of a printer, after which
/// the packet line ends in " [|proto]". One shared instance, since it carries nothing and should cost little.
/// </summary>
internal sealed class TruncatedException : Exception
{
    public static readonly TruncatedException Instance = new();

    private TruncatedException() : base("packet truncated") { }
}

/// <summary>
/// Bounds-checked big-endian reads from the captured bytes. A span handed to a decoder ends at tcpdump's
/// current "snapend" (capture end, or the end of the enclosing protocol's payload), so every read past it
/// is a truncation, never an out-of-range access.
/// </summary>
internal static class Bytes
{
    public static bool Has(ReadOnlySpan<byte> p, int offset, long count) =>
        offset >= 0 && count >= 0 && p.Length - (long)offset >= count;

    public static void Check(ReadOnlySpan<byte> p, int offset, long count)
    {
        if (!Has(p, offset, count))
            throw TruncatedException.Instance;
    }

    public static byte U8(ReadOnlySpan<byte> p, int offset)
    {
        if ((uint)offset >= (uint)p.Length)
            throw TruncatedException.Instance;
        return p[offset];
    }

    public static ushort U16(ReadOnlySpan<byte> p, int offset)
    {
        if (offset < 0 || p.Length - offset < 2)
            throw TruncatedException.Instance;
        return BinaryPrimitives.ReadUInt16BigEndian(p[offset..]);
    }

    public static uint U24(ReadOnlySpan<byte> p, int offset)
    {
        if (offset < 0 || p.Length - offset < 3)
            throw TruncatedException.Instance;
        return (uint)(p[offset] << 16 | p[offset + 1] << 8 | p[offset + 2]);
    }

    public static uint U32(ReadOnlySpan<byte> p, int offset)
    {
        if (offset < 0 || p.Length - offset < 4)
            throw TruncatedException.Instance;
        return BinaryPrimitives.ReadUInt32BigEndian(p[offset..]);
    }

    public static ulong U64(ReadOnlySpan<byte> p, int offset)
    {
        if (offset < 0 || p.Length - offset < 8)
            throw TruncatedException.Instance;
        return BinaryPrimitives.ReadUInt64BigEndian(p[offset..]);
    }

    public static uint U32LittleEndian(ReadOnlySpan<byte> p, int offset)
    {
        if (offset < 0 || p.Length - offset < 4)
            throw TruncatedException.Instance;
        return BinaryPrimitives.ReadUInt32LittleEndian(p[offset..]);
    }

    /// <summary>The bytes from <paramref name="offset"/> to the end, or empty when the offset is past it.</summary>
    public static ReadOnlySpan<byte> After(ReadOnlySpan<byte> p, int offset) =>
        offset >= 0 && offset <= p.Length ? p[offset..] : default;

    /// <summary>tcpdump's nd_push_snaplen: the span cut to end <paramref name="length"/> bytes after <paramref name="offset"/>, if that is sooner.</summary>
    public static ReadOnlySpan<byte> Limit(ReadOnlySpan<byte> p, int offset, long length)
    {
        long end = offset + length;
        return end >= 0 && end < p.Length ? p[..(int)end] : p;
    }

    /// <summary>
    /// The Internet checksum (RFC 1071) of the concatenated parts, as tcpdump's in_cksum: 0 when the data
    /// (checksum field included) is consistent, else the one's complement of the folded sum.
    /// </summary>
    public static ushort InternetChecksum(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b = default)
    {
        ulong sum = 0;
        bool odd = false;
        AddWords(ref sum, ref odd, a);
        AddWords(ref sum, ref odd, b);
        while (sum >> 16 != 0)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    private static void AddWords(ref ulong sum, ref bool odd, ReadOnlySpan<byte> data)
    {
        int i = 0;
        if (odd && data.Length > 0)
        {
            sum += data[0];
            i = 1;
            odd = false;
        }
        for (; i + 1 < data.Length; i += 2)
            sum += (uint)(data[i] << 8 | data[i + 1]);
        if (i < data.Length)
        {
            sum += (uint)data[i] << 8;
            odd = true;
        }
    }

    /// <summary>tcpdump's in_cksum_shouldbe: the checksum field value that would have made the sum right.</summary>
    public static ushort ChecksumShouldBe(ushort field, ushort computed)
    {
        uint s = (uint)field + computed;
        s = (s & 0xffff) + (s >> 16);
        s = (s & 0xffff) + (s >> 16);
        return (ushort)s;
    }
}
