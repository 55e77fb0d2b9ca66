using KdtCapture.PcapNg.Internal;

namespace KdtCapture.PcapNg;

/// <summary>The header of a classic pcap file, as read.</summary>
public sealed record PcapFileHeader
{
    public PcapVariant Variant { get; init; }
    public bool IsBigEndian { get; init; }
    public ushort VersionMajor { get; init; } = 2;
    public ushort VersionMinor { get; init; } = 4;
    /// <summary>GMT-to-local correction; always 0 in practice and ignored.</summary>
    public int ThisZone { get; init; }
    public uint SigFigs { get; init; }
    public uint SnapLength { get; init; }
    /// <summary>The whole 32-bit link-type field: LINKTYPE in the low 16 bits, the FCS length
    /// (16-bit words) in the top 4 bits with the P bit (0x04000000) saying it is present.</summary>
    public uint LinkTypeField { get; init; }

    public int LinkType => (int)(LinkTypeField & 0xFFFF);
    /// <summary>FCS bytes appended to each packet, when the file says so.</summary>
    public int? FcsLengthBytes => (LinkTypeField & 0x04000000) != 0 ? (int)(LinkTypeField >> 28) * 2 : null;
}

/// <summary>Reads classic pcap files (one interface). Obtain one from <see cref="CaptureReader.Open(string, CaptureReaderOptions?)"/>.</summary>
public sealed class PcapReader : CaptureReader
{
    private const uint MagicMicro = 0xa1b2c3d4, MagicNano = 0xa1b23c4d, MagicModified = 0xa1b2cd34;

    private readonly bool _big;
    private readonly int _recordHeaderLength;
    private readonly TimestampResolution _resolution;
    private readonly ulong _unitsPerSecond;
    private readonly uint _maxRecord;
    private readonly int _lengthSwap; // 0 never, 1 always, 2 when caplen > len (pcap 2.3)

    internal static bool IsMagic(uint v) => v is MagicMicro or MagicNano or MagicModified;

    internal PcapReader(in OpenedInput input, CaptureReaderOptions options) : base(input, options)
    {
        if (!Input.Ensure(24))
        {
            // libpcap's words and count: what followed the 4-byte magic number it had already read.
            throw new CaptureTruncatedException($"truncated dump file; tried to read 24 file header bytes, only got {Math.Max(0, Input.Available - 4)}");
        }
        ReadOnlySpan<byte> h = Input.Peek(24);
        uint magicBe = Endian.U32(h, true);
        _big = IsMagic(magicBe);
        uint magic = _big ? magicBe : Endian.U32(h, false);
        var variant = magic switch
        {
            MagicNano => PcapVariant.Nanosecond,
            MagicModified => PcapVariant.LinuxModified,
            _ => PcapVariant.Microsecond,
        };
        ushort major = Endian.U16(h[4..], _big), minor = Endian.U16(h[6..], _big);
        if (major < 2)
        {
            throw new CaptureFormatException("archaic pcap savefile format") { Offset = 4 };
        }
        if (!((major == 2 && minor <= 4) || (major == 543 && minor == 0)))
        {
            throw new CaptureFormatException($"unsupported pcap savefile version {major}.{minor}") { Offset = 4 };
        }
        Header = new PcapFileHeader
        {
            Variant = variant,
            IsBigEndian = _big,
            VersionMajor = major,
            VersionMinor = minor,
            ThisZone = (int)Endian.U32(h[8..], _big),
            SigFigs = Endian.U32(h[12..], _big),
            SnapLength = Endian.U32(h[16..], _big),
            LinkTypeField = Endian.U32(h[20..], _big),
        };
        Input.Advance(24);
        // Files older than 2.3 swapped the two length fields; 2.3 did so only on some systems.
        _lengthSwap = major == 2 && minor < 3 ? 1 : major == 2 && minor == 3 ? 2 : 0;
        _recordHeaderLength = variant == PcapVariant.LinuxModified ? 24 : 16;
        _resolution = variant == PcapVariant.Nanosecond ? TimestampResolution.Nanoseconds : TimestampResolution.Microseconds;
        _unitsPerSecond = _resolution.UnitsPerSecond;
        _maxRecord = (uint)(options.MaxPcapRecordLength ?? MaxSnapLengthForLinkType(Header.LinkType));
        int? fcs = Header.FcsLengthBytes;
        InterfaceList.Add(new InterfaceDescription
        {
            LinkType = Header.LinkType,
            SnapLength = Header.SnapLength,
            TimestampResolution = _resolution,
            FcsLength = fcs is int f ? (byte)(f * 8) : null,
        });
    }

    /// <summary>libpcap's largest accepted record for a link type (max_snaplen_for_dlt).</summary>
    internal static int MaxSnapLengthForLinkType(int linkType) => linkType switch
    {
        231 => 128 * 1024 * 1024, // DBUS
        279 => 8 * 1024 * 1024,   // EBHSCR
        249 => 1024 * 1024,       // USBPCAP
        _ => 262144,
    };

    public override CaptureFileFormat Format => CaptureFileFormat.Pcap;

    public PcapFileHeader Header { get; }

    public override bool TryReadPacket(out CapturePacket packet)
    {
        int hl = _recordHeaderLength;
        if (!Input.Ensure(hl))
        {
            if (Input.Available != 0)
            {
                SetTruncated($"truncated dump file; tried to read {hl} header bytes, only got {Input.Available}");
            }
            packet = default;
            return false;
        }
        ReadOnlySpan<byte> h = Input.Peek(hl);
        uint sec = Endian.U32(h, _big);
        uint frac = Endian.U32(h[4..], _big);
        uint caplen = Endian.U32(h[8..], _big);
        uint len = Endian.U32(h[12..], _big);
        if (_lengthSwap == 1 || (_lengthSwap == 2 && caplen > len))
        {
            (caplen, len) = (len, caplen);
        }
        if (caplen > _maxRecord)
        {
            throw Malformed($"invalid packet capture length {caplen}, bigger than maximum of {_maxRecord}", Input.Offset);
        }
        if (!Input.Ensure(hl + (int)caplen))
        {
            SetTruncated($"truncated dump file; tried to read {caplen} captured bytes, only got {Math.Max(0, Input.Available - hl)}");
            packet = default;
            return false;
        }
        int dataOffset = Input.Position + hl;
        Input.Advance(hl + (int)caplen);
        var ts = new PacketTimestamp((ulong)sec * _unitsPerSecond + frac, _resolution);
        packet = new CapturePacket(0, ts, new ReadOnlyMemory<byte>(Input.Array, dataOffset, (int)caplen), len, default, PacketRecordKind.Pcap);
        PacketCount++;
        return true;
    }
}
