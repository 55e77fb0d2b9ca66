using KdtCapture.PcapNg.Internal;

namespace KdtCapture.PcapNg;

/// <summary>
/// Writes classic pcap: one link type, µs or ns timestamps, 16-byte record headers. The file
/// header is written when the first interface is added; further interfaces must share its
/// link type (they are merged into it). Packet options cannot be stored and are dropped.
/// </summary>
public sealed class PcapWriter : CaptureWriter
{
    private bool _headerWritten;
    private bool _nano;
    private TimestampResolution _resolution;
    private ulong _units;
    private readonly bool _big;

    /// <summary>A pcap writer on a stream (no compression).</summary>
    public PcapWriter(Stream stream, CaptureWriterOptions? options = null)
        : this(stream, options ?? CaptureWriterOptions.Default, CaptureCompression.None, (options ?? CaptureWriterOptions.Default).LeaveOpen)
    {
    }

    internal PcapWriter(Stream stream, CaptureWriterOptions options, CaptureCompression compression, bool leaveOpen)
        : base(stream, options, compression, leaveOpen)
    {
        _big = options.BigEndian;
    }

    public override CaptureFileFormat Format => CaptureFileFormat.Pcap;

    /// <summary>True when the file uses the nanosecond magic.</summary>
    public bool IsNanosecond => _nano;

    public override int AddInterface(InterfaceDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        ThrowIfDisposed();
        if (!_headerWritten)
        {
            WriteHeader(description);
        }
        else if (description.LinkType != InterfaceList[0].LinkType)
        {
            throw new NotSupportedException(
                $"classic pcap holds one link type: cannot add link type {description.LinkType} to a file of link type {InterfaceList[0].LinkType} (write pcapng instead)");
        }
        InterfaceList.Add(description);
        return InterfaceList.Count - 1;
    }

    private void WriteHeader(InterfaceDescription d)
    {
        if ((uint)d.LinkType > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(d), d.LinkType, "link type must be 16-bit");
        _nano = Options.PcapNanoseconds ?? FinerThanMicroseconds(d.TimestampResolution);
        _resolution = _nano ? TimestampResolution.Nanoseconds : TimestampResolution.Microseconds;
        _units = _resolution.UnitsPerSecond;
        uint linkField = (uint)d.LinkType;
        // if_fcslen is in bits; pcap stores 16-bit words with the P bit.
        if (d.FcsLength is byte bits && bits % 16 == 0 && bits / 16 <= 15)
        {
            linkField |= 0x04000000 | ((uint)(bits / 16) << 28);
        }
        Span<byte> h = Output.GetSpan(24);
        Endian.W32(h, _nano ? 0xa1b23c4du : 0xa1b2c3d4u, _big);
        Endian.W16(h[4..], 2, _big);
        Endian.W16(h[6..], 4, _big);
        Endian.W32(h[8..], 0, _big);
        Endian.W32(h[12..], 0, _big);
        Endian.W32(h[16..], d.SnapLength == 0 ? 262144u : d.SnapLength, _big);
        Endian.W32(h[20..], linkField, _big);
        Output.Advance(24);
        _headerWritten = true;
    }

    private static bool FinerThanMicroseconds(TimestampResolution r) =>
        r.UnitsPerSecond > 1_000_000;

    private protected override void EnsureHeader()
    {
        // A pcap file without an interface has no link type; write Ethernet so the file is valid,
        // as tcpdump does for an empty capture on an Ethernet interface.
        if (!_headerWritten) WriteHeader(new InterfaceDescription { LinkType = LinkTypeValues.Ethernet });
    }

    public override void WritePacket(int interfaceIndex, PacketTimestamp timestamp, ReadOnlySpan<byte> data, uint originalLength, in PacketWriteOptions options)
    {
        CheckInterface(interfaceIndex);
        long seconds;
        ulong frac;
        if (timestamp.Resolution == _resolution && timestamp.OffsetSeconds == 0)
        {
            seconds = (long)(timestamp.Ticks / _units);
            frac = timestamp.Ticks % _units;
        }
        else
        {
            seconds = timestamp.UnixSeconds;
            frac = timestamp.GetFraction(_resolution);
        }
        int total = 16 + data.Length;
        Span<byte> s = Output.GetSpan(total);
        bool big = _big;
        Endian.W32(s, (uint)seconds, big);
        Endian.W32(s[4..], (uint)frac, big);
        Endian.W32(s[8..], (uint)data.Length, big);
        Endian.W32(s[12..], originalLength, big);
        data.CopyTo(s[16..]);
        Output.Advance(total);
        AfterPacket();
    }

    /// <summary>Classic pcap has no statistics records: returns false.</summary>
    public override bool WriteInterfaceStatistics(int interfaceIndex, InterfaceStatistics statistics) => false;
}
