using System.Buffers.Binary;

namespace KdtCapture.Capture.Tests.Devices;

/// <summary>
/// The timestamp fields of a classic pcap file's records, read straight from the bytes: an
/// oracle for the one place CaptureFileDevice departs from libpcap on purpose (libpcap reads
/// the 32-bit seconds and fraction as signed, so times after 2038 come out negative).
/// </summary>
internal static class RawPcapRecords
{
    public readonly record struct Stamp(uint Seconds, uint Fraction, bool Nano)
    {
        /// <summary>As SharpPcap shows libpcap's fields: read as signed 32-bit, scaled as signed
        /// longs, then cast to ulong.</summary>
        public decimal Signed(SharpPcap.TimestampResolution resolution)
        {
            long seconds = (int)Seconds, fraction = (int)Fraction;
            bool wantNano = resolution == SharpPcap.TimestampResolution.Nanosecond;
            long scaled = Nano == wantNano ? fraction : wantNano ? fraction * 1000 : fraction / 1000;
            return unchecked((ulong)seconds) + unchecked((ulong)scaled) * (wantNano ? 1e-9M : 1e-6M);
        }

        /// <summary>As the pcap format defines them: unsigned (the fraction truncated to the resolution).</summary>
        public decimal Unsigned(SharpPcap.TimestampResolution resolution)
        {
            bool wantNano = resolution == SharpPcap.TimestampResolution.Nanosecond;
            ulong scaled = Nano == wantNano ? Fraction : wantNano ? Fraction * 1000UL : Fraction / 1000UL;
            return Seconds + scaled * (wantNano ? 1e-9M : 1e-6M);
        }
    }

    /// <summary>The records' timestamps, or null when the file is not classic pcap.</summary>
    public static List<Stamp>? Read(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 24)
            return null;
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(b);
        bool big;
        if (magic is 0xa1b2c3d4 or 0xa1b23c4d or 0xa1b2cd34)
            big = false;
        else if (BinaryPrimitives.ReverseEndianness(magic) is 0xa1b2c3d4 or 0xa1b23c4d or 0xa1b2cd34)
            big = true;
        else
            return null;
        uint m = big ? BinaryPrimitives.ReverseEndianness(magic) : magic;
        int recordHeader = m == 0xa1b2cd34 ? 24 : 16;
        ushort minor = U16(b, 6, big);
        var list = new List<Stamp>();
        for (int at = 24; at + recordHeader <= b.Length;)
        {
            uint caplen = U32(b, at + 8, big), len = U32(b, at + 12, big);
            if (minor < 3 || (minor == 3 && caplen > len))
                caplen = len; // old files swapped the two lengths
            list.Add(new Stamp(U32(b, at, big), U32(b, at + 4, big), m == 0xa1b23c4d));
            at += recordHeader + (int)Math.Min(caplen, int.MaxValue - at - recordHeader);
        }
        return list;
    }

    private static uint U32(byte[] b, int at, bool big) =>
        big ? BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

    private static ushort U16(byte[] b, int at, bool big) =>
        big ? BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(at)) : BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));
}
