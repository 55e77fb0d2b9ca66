using System.Net;
using System.Net.NetworkInformation;
using KdtCapture.PcapNg.Internal;

namespace KdtCapture.PcapNg;

/// <summary>
/// Reads pcapng files: any number of sections in either byte order, every standard block.
/// <see cref="CaptureReader.TryReadPacket"/> returns packets (Enhanced, Simple and obsolete
/// Packet Blocks) and absorbs the other blocks into <see cref="Sections"/>,
/// <see cref="CaptureReader.Interfaces"/>, <see cref="Statistics"/> and the other lists;
/// <see cref="ReadBlock"/> returns every block as a value instead. Both may be mixed.
/// </summary>
public sealed class PcapNgReader : CaptureReader
{
    internal const uint SectionHeaderMagic = 0x0A0D0D0A;
    private const uint ByteOrderMagic = 0x1A2B3C4D;

    private bool _big;
    private bool _inSection;
    private int _sectionBase;        // index in InterfaceList of this section's interface 0
    private readonly List<SectionHeader> _sections = [];
    private readonly List<InterfaceStatisticsBlock> _statistics = [];
    private readonly List<NameResolutionBlock> _names = [];
    private readonly List<DecryptionSecretsBlock> _secrets = [];
    private readonly List<PcapNgBlock> _other = [];
    private long _blocksFramed;
    private bool _firstSectionReturned; // ReadBlock has handed out the header read at open

    // The block last framed by NextBlock.
    private uint _type;
    private int _body;      // offset of the body in Input.Array
    private int _bodyLength;
    private long _blockOffset;

    internal PcapNgReader(in OpenedInput input, CaptureReaderOptions options) : base(input, options)
    {
        // Read the first Section Header now, so that a file that is not pcapng after all fails
        // at open time and Sections is never empty.
        if (!NextBlock())
        {
            throw new CaptureTruncatedException(Truncation ?? "truncated section header block");
        }
        ProcessNonPacket(keep: false);
    }

    public override CaptureFileFormat Format => CaptureFileFormat.PcapNg;

    /// <summary>Section headers read so far.</summary>
    public IReadOnlyList<SectionHeader> Sections => _sections;
    /// <summary>The section being read.</summary>
    public SectionHeader Section => _sections[^1];
    /// <summary>Interface Statistics Blocks seen by <see cref="TryReadPacket"/>.</summary>
    public IReadOnlyList<InterfaceStatisticsBlock> Statistics => _statistics;
    /// <summary>Name Resolution Blocks seen by <see cref="TryReadPacket"/>.</summary>
    public IReadOnlyList<NameResolutionBlock> NameResolution => _names;
    /// <summary>Decryption Secrets Blocks seen by <see cref="TryReadPacket"/>.</summary>
    public IReadOnlyList<DecryptionSecretsBlock> DecryptionSecrets => _secrets;
    /// <summary>Custom and unknown blocks seen by <see cref="TryReadPacket"/>.</summary>
    public IReadOnlyList<PcapNgBlock> OtherBlocks => _other;
    /// <summary>Global index (into <see cref="CaptureReader.Interfaces"/>) of the current section's first interface.</summary>
    public int SectionInterfaceBase => _sectionBase;

    public override bool TryReadPacket(out CapturePacket packet)
    {
        while (NextBlock())
        {
            if (TryPacket(out packet)) return true;
            ProcessNonPacket(Options.KeepMetadataBlocks);
        }
        packet = default;
        return false;
    }

    /// <summary>The next block of any type as a value (packets copied), or null at the end.</summary>
    public PcapNgBlock? ReadBlock()
    {
        if (!_firstSectionReturned)
        {
            _firstSectionReturned = true;
            if (_blocksFramed == 1) return _sections[0];
        }
        if (!NextBlock()) return null;
        if (TryPacket(out CapturePacket p))
        {
            return PacketBlock(p);
        }
        return ProcessNonPacket(keep: false);
    }

    /// <summary>All remaining blocks.</summary>
    public IEnumerable<PcapNgBlock> ReadAllBlocks()
    {
        while (ReadBlock() is { } b) yield return b;
    }

    // ---- framing ----

    /// <summary>Frames the next whole block in the buffer; false at the end or at a truncation.</summary>
    private bool NextBlock()
    {
        if (!Input.Ensure(8))
        {
            if (Input.Available != 0) SetTruncated($"truncated pcapng file: {Input.Available} bytes after the last whole block");
            return false;
        }
        long offset = Input.Offset;
        ReadOnlySpan<byte> h = Input.Peek(8);
        uint type = Endian.U32(h, _big);
        if (Endian.U32(h, false) == SectionHeaderMagic)
        {
            type = SectionHeaderMagic;
            if (!Input.Ensure(12))
            {
                SetTruncated("truncated section header block");
                return false;
            }
            ReadOnlySpan<byte> bom = Input.Peek(12)[8..];
            if (Endian.U32(bom, false) == ByteOrderMagic) _big = false;
            else if (Endian.U32(bom, true) == ByteOrderMagic) _big = true;
            else throw Malformed("section header block has a bad byte-order magic", offset + 8);
            h = Input.Peek(8);
        }
        else if (!_inSection)
        {
            throw Malformed("pcapng block before the first section header", offset);
        }
        uint length = Endian.U32(h[4..], _big);
        if (length < 12 || (type == SectionHeaderMagic && length < 28))
        {
            throw Malformed($"block of type 0x{type:x8} has a length of {length}, too short", offset + 4);
        }
        if ((length & 3) != 0)
        {
            throw Malformed($"block of type 0x{type:x8} has a length of {length}, not a multiple of 4", offset + 4);
        }
        if (length > (uint)Options.MaxBlockLength)
        {
            throw Malformed($"block of type 0x{type:x8} has a length of {length}, more than the maximum of {Options.MaxBlockLength}", offset + 4);
        }
        if (!Input.Ensure((int)length))
        {
            SetTruncated($"truncated pcapng file: block of {length} bytes at offset {offset} has only {Input.Available}");
            return false;
        }
        ReadOnlySpan<byte> block = Input.Peek((int)length);
        uint trailer = Endian.U32(block[^4..], _big);
        if (trailer != length)
        {
            throw Malformed($"block of type 0x{type:x8} has a trailing length {trailer} different from its length {length}", offset + length - 4);
        }
        _type = type;
        _body = Input.Position + 8;
        _bodyLength = (int)length - 12;
        _blockOffset = offset;
        _blocksFramed++;
        Input.Advance((int)length);
        return true;
    }

    private ReadOnlySpan<byte> Body => new(Input.Array, _body, _bodyLength);

    private int SectionInterfaceCount => InterfaceList.Count - _sectionBase;

    // ---- packets ----

    private bool TryPacket(out CapturePacket packet)
    {
        ReadOnlySpan<byte> b = Body;
        switch (_type)
        {
            case PcapNgBlockType.EnhancedPacket:
            {
                if (b.Length < 20) throw Malformed("enhanced packet block is too short", _blockOffset);
                uint id = Endian.U32(b, _big);
                ulong ticks = Endian.Split64(b[4..], _big);
                uint caplen = Endian.U32(b[12..], _big);
                uint len = Endian.U32(b[16..], _big);
                if (caplen > (uint)(b.Length - 20))
                {
                    throw Malformed($"enhanced packet block's captured length {caplen} exceeds the block", _blockOffset);
                }
                InterfaceDescription idb = Interface(id, "enhanced packet block");
                int pad = Endian.Pad4((int)caplen);
                packet = new CapturePacket(_sectionBase + (int)id,
                    new PacketTimestamp(ticks, idb.TimestampResolution, idb.TimestampOffset),
                    new ReadOnlyMemory<byte>(Input.Array, _body + 20, (int)caplen), len,
                    new PacketOptions(new ReadOnlyMemory<byte>(Input.Array, _body + 20 + pad, b.Length - 20 - pad), _big),
                    PacketRecordKind.Enhanced);
                PacketCount++;
                return true;
            }
            case PcapNgBlockType.SimplePacket:
            {
                if (b.Length < 4) throw Malformed("simple packet block is too short", _blockOffset);
                InterfaceDescription idb = Interface(0, "simple packet block");
                uint len = Endian.U32(b, _big);
                uint caplen = Math.Min(len, (uint)(b.Length - 4));
                if (idb.SnapLength != 0) caplen = Math.Min(caplen, idb.SnapLength);
                packet = new CapturePacket(_sectionBase,
                    new PacketTimestamp(0, idb.TimestampResolution, idb.TimestampOffset),
                    new ReadOnlyMemory<byte>(Input.Array, _body + 4, (int)caplen), len, default, PacketRecordKind.Simple);
                PacketCount++;
                return true;
            }
            case PcapNgBlockType.ObsoletePacket:
            {
                if (b.Length < 20) throw Malformed("packet block is too short", _blockOffset);
                ushort id = Endian.U16(b, _big);
                ushort drops = Endian.U16(b[2..], _big);
                ulong ticks = Endian.Split64(b[4..], _big);
                uint caplen = Endian.U32(b[12..], _big);
                uint len = Endian.U32(b[16..], _big);
                if (caplen > (uint)(b.Length - 20))
                {
                    throw Malformed($"packet block's captured length {caplen} exceeds the block", _blockOffset);
                }
                InterfaceDescription idb = Interface(id, "packet block");
                int pad = Endian.Pad4((int)caplen);
                packet = new CapturePacket(_sectionBase + id,
                    new PacketTimestamp(ticks, idb.TimestampResolution, idb.TimestampOffset),
                    new ReadOnlyMemory<byte>(Input.Array, _body + 20, (int)caplen), len,
                    new PacketOptions(new ReadOnlyMemory<byte>(Input.Array, _body + 20 + pad, b.Length - 20 - pad), _big, drops),
                    PacketRecordKind.Obsolete);
                PacketCount++;
                return true;
            }
            default:
                packet = default;
                return false;
        }
    }

    private InterfaceDescription Interface(uint id, string what)
    {
        if (id >= (uint)SectionInterfaceCount)
        {
            throw Malformed(SectionInterfaceCount == 0
                ? $"{what} before any interface description block"
                : $"{what} refers to interface {id}, but the section has {SectionInterfaceCount}", _blockOffset);
        }
        return InterfaceList[_sectionBase + (int)id];
    }

    private PcapNgBlock PacketBlock(in CapturePacket p)
    {
        // Re-parse options into the model from the raw view.
        var opts = p.Options;
        List<string>? comments = null;
        List<CustomOption>? customs = null;
        List<PcapNgOption>? unknown = null;
        List<PacketHash>? hashes = null;
        List<PacketVerdict>? verdicts = null;
        uint? flags = null;
        ulong? drop = null, id = null;
        uint? queue = null;
        ProcessThreadId? pt = null;
        var r = new OptionReader(opts.Raw.Span, _big);
        bool obsolete = p.Kind == PacketRecordKind.Obsolete;
        while (r.Next(out ushort code, out ReadOnlySpan<byte> v))
        {
            if (OptionDecoder.TryCommon(code, v, _big, ref comments, ref customs)) continue;
            switch (code)
            {
                case 2 when v.Length == 4: flags = Endian.U32(v, _big); continue;
                case 3 when v.Length >= 1: (hashes ??= []).Add(new PacketHash(v[0], v[1..].ToArray())); continue;
                case 4 when v.Length == 8 && !obsolete: drop = Endian.U64(v, _big); continue;
                case 5 when v.Length == 8 && !obsolete: id = Endian.U64(v, _big); continue;
                case 6 when v.Length == 4 && !obsolete: queue = Endian.U32(v, _big); continue;
                case 7 when v.Length >= 1 && !obsolete: (verdicts ??= []).Add(new PacketVerdict(v[0], v[1..].ToArray())); continue;
                case 8 when v.Length == 8 && !obsolete: pt = new ProcessThreadId(Endian.U32(v, _big), Endian.U32(v[4..], _big)); continue;
            }
            OptionDecoder.Unknown(code, v, _big, ref unknown);
        }
        byte[] data = p.Data.ToArray();
        int local = p.InterfaceIndex - _sectionBase;
        switch (p.Kind)
        {
            case PacketRecordKind.Simple:
                return new SimplePacketBlock { OriginalLength = p.OriginalLength, Data = data };
            case PacketRecordKind.Obsolete:
                return new ObsoletePacketBlock
                {
                    InterfaceId = (ushort)local,
                    DropsCount = (ushort)(opts.DropCount is ulong d ? d : 0xFFFF),
                    Timestamp = p.Timestamp,
                    OriginalLength = p.OriginalLength,
                    Data = data,
                    Flags = flags,
                    Hashes = (IReadOnlyList<PacketHash>?)hashes ?? [],
                    Comments = (IReadOnlyList<string>?)comments ?? [],
                    CustomOptions = (IReadOnlyList<CustomOption>?)customs ?? [],
                    UnknownOptions = (IReadOnlyList<PcapNgOption>?)unknown ?? [],
                };
            default:
                return new EnhancedPacketBlock
                {
                    InterfaceId = (uint)local,
                    Timestamp = p.Timestamp,
                    OriginalLength = p.OriginalLength,
                    Data = data,
                    Flags = flags,
                    Hashes = (IReadOnlyList<PacketHash>?)hashes ?? [],
                    DropCount = drop,
                    PacketId = id,
                    Queue = queue,
                    Verdicts = (IReadOnlyList<PacketVerdict>?)verdicts ?? [],
                    ProcessThread = pt,
                    Comments = (IReadOnlyList<string>?)comments ?? [],
                    CustomOptions = (IReadOnlyList<CustomOption>?)customs ?? [],
                    UnknownOptions = (IReadOnlyList<PcapNgOption>?)unknown ?? [],
                };
        }
    }

    // ---- other blocks ----

    private PcapNgBlock ProcessNonPacket(bool keep)
    {
        switch (_type)
        {
            case SectionHeaderMagic:
            {
                SectionHeader shb = ParseSectionHeader();
                _sections.Add(shb);
                _inSection = true;
                _sectionBase = InterfaceList.Count;
                return shb;
            }
            case PcapNgBlockType.InterfaceDescription:
            {
                InterfaceDescription idb = ParseInterface();
                InterfaceList.Add(idb);
                return idb;
            }
            case PcapNgBlockType.InterfaceStatistics:
            {
                InterfaceStatisticsBlock isb = ParseStatistics();
                if (keep) _statistics.Add(isb);
                return isb;
            }
            case PcapNgBlockType.NameResolution:
            {
                NameResolutionBlock nrb = ParseNameResolution();
                if (keep) _names.Add(nrb);
                return nrb;
            }
            case PcapNgBlockType.DecryptionSecrets:
            {
                DecryptionSecretsBlock dsb = ParseSecrets();
                if (keep) _secrets.Add(dsb);
                return dsb;
            }
            case PcapNgBlockType.CustomCopyable:
            case PcapNgBlockType.CustomNoCopy:
            {
                PcapNgBlock cb = ParseCustom();
                if (keep) _other.Add(cb);
                return cb;
            }
            default:
            {
                var ub = new UnknownBlock(_type) { Body = Body.ToArray(), IsBigEndian = _big };
                if (keep) _other.Add(ub);
                return ub;
            }
        }
    }

    private SectionHeader ParseSectionHeader()
    {
        ReadOnlySpan<byte> b = Body;
        ushort major = Endian.U16(b[4..], _big), minor = Endian.U16(b[6..], _big);
        if (major != 1)
        {
            throw Malformed($"unsupported pcapng version {major}.{minor}", _blockOffset + 12);
        }
        long sectionLength = (long)Endian.U64(b[8..], _big);
        List<string>? comments = null;
        List<CustomOption>? customs = null;
        List<PcapNgOption>? unknown = null;
        string? hw = null, os = null, app = null;
        var r = new OptionReader(b[16..], _big);
        while (r.Next(out ushort code, out ReadOnlySpan<byte> v))
        {
            if (OptionDecoder.TryCommon(code, v, _big, ref comments, ref customs)) continue;
            switch (code)
            {
                case 2: hw = OptionText.Decode(v); continue;
                case 3: os = OptionText.Decode(v); continue;
                case 4: app = OptionText.Decode(v); continue;
            }
            OptionDecoder.Unknown(code, v, _big, ref unknown);
        }
        return new SectionHeader
        {
            MajorVersion = major,
            MinorVersion = minor,
            SectionLength = sectionLength,
            IsBigEndian = _big,
            Hardware = hw,
            OperatingSystem = os,
            UserApplication = app,
            Comments = (IReadOnlyList<string>?)comments ?? [],
            CustomOptions = (IReadOnlyList<CustomOption>?)customs ?? [],
            UnknownOptions = (IReadOnlyList<PcapNgOption>?)unknown ?? [],
        };
    }

    private InterfaceDescription ParseInterface()
    {
        ReadOnlySpan<byte> b = Body;
        if (b.Length < 8) throw Malformed("interface description block is too short", _blockOffset);
        ushort linkType = Endian.U16(b, _big);
        uint snap = Endian.U32(b[4..], _big);
        List<string>? comments = null;
        List<CustomOption>? customs = null;
        List<PcapNgOption>? unknown = null;
        List<InterfaceIPv4Address>? v4 = null;
        List<InterfaceIPv6Address>? v6 = null;
        string? name = null, desc = null, os = null, hw = null, tzname = null;
        PhysicalAddress? mac = null, eui = null;
        ulong? speed = null, tx = null, rx = null;
        TimestampResolution res = TimestampResolution.Microseconds;
        uint? tzone = null;
        InterfaceFilter? filter = null;
        byte? fcs = null;
        long offset = 0;
        var r = new OptionReader(b[8..], _big);
        while (r.Next(out ushort code, out ReadOnlySpan<byte> v))
        {
            if (OptionDecoder.TryCommon(code, v, _big, ref comments, ref customs)) continue;
            switch (code)
            {
                case 2: name = OptionText.Decode(v); continue;
                case 3: desc = OptionText.Decode(v); continue;
                case 4 when v.Length == 8: (v4 ??= []).Add(new InterfaceIPv4Address(new IPAddress(v[..4]), new IPAddress(v[4..]))); continue;
                case 5 when v.Length == 17: (v6 ??= []).Add(new InterfaceIPv6Address(new IPAddress(v[..16]), v[16])); continue;
                case 6 when v.Length == 6: mac = new PhysicalAddress(v.ToArray()); continue;
                case 7 when v.Length == 8: eui = new PhysicalAddress(v.ToArray()); continue;
                case 8 when v.Length == 8: speed = Endian.U64(v, _big); continue;
                case 9:
                    // As libpcap: a wrong-sized or unusable resolution makes the file unreadable,
                    // since no timestamp of this interface could be trusted.
                    if (v.Length != 1) throw Malformed($"if_tsresol option has length {v.Length} instead of 1", _blockOffset);
                    if (!TimestampResolution.IsSupported(v[0]))
                    {
                        throw Malformed((v[0] & 0x80) != 0
                            ? $"if_tsresol 2^-{v[0] & 0x7F} is too high"
                            : $"if_tsresol 10^-{v[0]} is too high", _blockOffset);
                    }
                    res = new TimestampResolution(v[0]);
                    continue;
                case 10 when v.Length == 4: tzone = Endian.U32(v, _big); continue;
                case 11 when v.Length >= 1: filter = new InterfaceFilter(v[0], v[1..].ToArray()); continue;
                case 12: os = OptionText.Decode(v); continue;
                case 13 when v.Length == 1: fcs = v[0]; continue;
                case 14:
                    if (v.Length != 8) throw Malformed($"if_tsoffset option has length {v.Length} instead of 8", _blockOffset);
                    offset = (long)Endian.U64(v, _big);
                    continue;
                case 15: hw = OptionText.Decode(v); continue;
                case 16 when v.Length == 8: tx = Endian.U64(v, _big); continue;
                case 17 when v.Length == 8: rx = Endian.U64(v, _big); continue;
                case 18: tzname = OptionText.Decode(v); continue;
            }
            OptionDecoder.Unknown(code, v, _big, ref unknown);
        }
        if (r.Overrun)
        {
            throw Malformed("interface description block has an option that runs past the block", _blockOffset);
        }
        return new InterfaceDescription
        {
            LinkType = linkType,
            SnapLength = snap,
            Name = name,
            Description = desc,
            IPv4Addresses = (IReadOnlyList<InterfaceIPv4Address>?)v4 ?? [],
            IPv6Addresses = (IReadOnlyList<InterfaceIPv6Address>?)v6 ?? [],
            MacAddress = mac,
            EuiAddress = eui,
            Speed = speed,
            TimestampResolution = res,
            TimeZone = tzone,
            Filter = filter,
            OperatingSystem = os,
            FcsLength = fcs,
            TimestampOffset = offset,
            Hardware = hw,
            TransmitSpeed = tx,
            ReceiveSpeed = rx,
            IanaTimeZone = tzname,
            Comments = (IReadOnlyList<string>?)comments ?? [],
            CustomOptions = (IReadOnlyList<CustomOption>?)customs ?? [],
            UnknownOptions = (IReadOnlyList<PcapNgOption>?)unknown ?? [],
        };
    }

    private InterfaceStatisticsBlock ParseStatistics()
    {
        ReadOnlySpan<byte> b = Body;
        if (b.Length < 12) throw Malformed("interface statistics block is too short", _blockOffset);
        uint id = Endian.U32(b, _big);
        // Timestamps use the interface's resolution; an ISB naming an unknown interface is kept
        // (libpcap ignores ISBs) with the default resolution.
        TimestampResolution res = TimestampResolution.Microseconds;
        long tsoff = 0;
        if (id < (uint)SectionInterfaceCount)
        {
            InterfaceDescription idb = InterfaceList[_sectionBase + (int)id];
            res = idb.TimestampResolution;
            tsoff = idb.TimestampOffset;
        }
        ulong ticks = Endian.Split64(b[4..], _big);
        List<string>? comments = null;
        List<CustomOption>? customs = null;
        List<PcapNgOption>? unknown = null;
        PacketTimestamp? start = null, end = null;
        ulong? recv = null, ifdrop = null, accept = null, osdrop = null, deliv = null;
        var r = new OptionReader(b[12..], _big);
        while (r.Next(out ushort code, out ReadOnlySpan<byte> v))
        {
            if (OptionDecoder.TryCommon(code, v, _big, ref comments, ref customs)) continue;
            if (v.Length == 8)
            {
                switch (code)
                {
                    case 2: start = new PacketTimestamp(Endian.Split64(v, _big), res, tsoff); continue;
                    case 3: end = new PacketTimestamp(Endian.Split64(v, _big), res, tsoff); continue;
                    case 4: recv = Endian.U64(v, _big); continue;
                    case 5: ifdrop = Endian.U64(v, _big); continue;
                    case 6: accept = Endian.U64(v, _big); continue;
                    case 7: osdrop = Endian.U64(v, _big); continue;
                    case 8: deliv = Endian.U64(v, _big); continue;
                }
            }
            OptionDecoder.Unknown(code, v, _big, ref unknown);
        }
        return new InterfaceStatisticsBlock
        {
            InterfaceId = id,
            Timestamp = new PacketTimestamp(ticks, res, tsoff),
            StartTime = start,
            EndTime = end,
            Received = recv,
            InterfaceDropped = ifdrop,
            FilterAccepted = accept,
            OsDropped = osdrop,
            Delivered = deliv,
            Comments = (IReadOnlyList<string>?)comments ?? [],
            CustomOptions = (IReadOnlyList<CustomOption>?)customs ?? [],
            UnknownOptions = (IReadOnlyList<PcapNgOption>?)unknown ?? [],
        };
    }

    private NameResolutionBlock ParseNameResolution()
    {
        ReadOnlySpan<byte> b = Body;
        var records = new List<NameResolutionRecord>();
        int pos = 0;
        // Records, then options. A record running past the block ends the records.
        while (b.Length - pos >= 4)
        {
            ushort type = Endian.U16(b[pos..], _big);
            int len = Endian.U16(b[(pos + 2)..], _big);
            pos += 4;
            if (type == 0) break;
            if (len > b.Length - pos)
            {
                pos = b.Length;
                break;
            }
            ReadOnlySpan<byte> v = b.Slice(pos, len);
            pos = Math.Min(b.Length, pos + Endian.Pad4(len));
            int alen = NameResolutionRecord.AddressLength(type);
            if (alen < 0 || v.Length < alen)
            {
                records.Add(new NameResolutionRecord(type, v.ToArray(), []));
                continue;
            }
            var names = new List<string>();
            ReadOnlySpan<byte> rest = v[alen..];
            while (rest.Length > 0)
            {
                int nul = rest.IndexOf((byte)0);
                ReadOnlySpan<byte> n = nul < 0 ? rest : rest[..nul];
                if (n.Length > 0) names.Add(System.Text.Encoding.UTF8.GetString(n));
                if (nul < 0) break;
                rest = rest[(nul + 1)..];
            }
            records.Add(new NameResolutionRecord(type, v[..alen].ToArray(), names));
        }
        List<string>? comments = null;
        List<CustomOption>? customs = null;
        List<PcapNgOption>? unknown = null;
        string? dns = null;
        IPAddress? d4 = null, d6 = null;
        var r = new OptionReader(b[pos..], _big);
        while (r.Next(out ushort code, out ReadOnlySpan<byte> v))
        {
            if (OptionDecoder.TryCommon(code, v, _big, ref comments, ref customs)) continue;
            switch (code)
            {
                case 2: dns = OptionText.Decode(v); continue;
                case 3 when v.Length == 4: d4 = new IPAddress(v); continue;
                case 4 when v.Length == 16: d6 = new IPAddress(v); continue;
            }
            OptionDecoder.Unknown(code, v, _big, ref unknown);
        }
        return new NameResolutionBlock
        {
            Records = records,
            DnsName = dns,
            DnsIPv4Address = d4,
            DnsIPv6Address = d6,
            Comments = (IReadOnlyList<string>?)comments ?? [],
            CustomOptions = (IReadOnlyList<CustomOption>?)customs ?? [],
            UnknownOptions = (IReadOnlyList<PcapNgOption>?)unknown ?? [],
        };
    }

    private DecryptionSecretsBlock ParseSecrets()
    {
        ReadOnlySpan<byte> b = Body;
        if (b.Length < 8) throw Malformed("decryption secrets block is too short", _blockOffset);
        uint type = Endian.U32(b, _big);
        uint len = Endian.U32(b[4..], _big);
        if (len > (uint)(b.Length - 8)) throw Malformed($"decryption secrets length {len} exceeds the block", _blockOffset);
        List<string>? comments = null;
        List<CustomOption>? customs = null;
        List<PcapNgOption>? unknown = null;
        var r = new OptionReader(b[(8 + Endian.Pad4((int)len))..], _big);
        while (r.Next(out ushort code, out ReadOnlySpan<byte> v))
        {
            if (OptionDecoder.TryCommon(code, v, _big, ref comments, ref customs)) continue;
            OptionDecoder.Unknown(code, v, _big, ref unknown);
        }
        return new DecryptionSecretsBlock
        {
            SecretsType = type,
            Data = b.Slice(8, (int)len).ToArray(),
            Comments = (IReadOnlyList<string>?)comments ?? [],
            CustomOptions = (IReadOnlyList<CustomOption>?)customs ?? [],
            UnknownOptions = (IReadOnlyList<PcapNgOption>?)unknown ?? [],
        };
    }

    private PcapNgBlock ParseCustom()
    {
        ReadOnlySpan<byte> b = Body;
        if (b.Length < 4) throw Malformed("custom block is too short", _blockOffset);
        return new CustomBlock
        {
            PrivateEnterpriseNumber = Endian.U32(b, _big),
            Data = b[4..].ToArray(),
            IsCopyable = _type == PcapNgBlockType.CustomCopyable,
        };
    }
}
