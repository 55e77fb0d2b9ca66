using System.Runtime.InteropServices;
using System.Text;
using KdtCapture.PcapNg.Internal;

namespace KdtCapture.PcapNg;

/// <summary>
/// Writes pcapng. The Section Header Block is written before the first other block (with
/// <see cref="CaptureWriterOptions.Section"/>'s options); <see cref="StartSection"/> begins
/// another section. Besides the packet API of <see cref="CaptureWriter"/> it writes every block
/// of the model exactly (<see cref="WriteBlock"/>) or under the spec's copy rules
/// (<see cref="CopyBlock"/>).
/// </summary>
public sealed class PcapNgWriter : CaptureWriter
{
    private bool _big;
    private bool _sectionOpen;
    private int _sectionBase;
    private readonly OptionEncoder _options = new();
    private readonly ByteBuilder _body = new();
    private readonly List<TimestampResolution> _resolutions = [];
    private readonly List<long> _offsets = [];

    /// <summary>A pcapng writer on a stream (no compression); see <see cref="CaptureWriter.Create(Stream, CaptureWriterOptions?)"/>.</summary>
    public PcapNgWriter(Stream stream, CaptureWriterOptions? options = null)
        : this(stream, options ?? CaptureWriterOptions.Default, CaptureCompression.None, (options ?? CaptureWriterOptions.Default).LeaveOpen)
    {
    }

    internal PcapNgWriter(Stream stream, CaptureWriterOptions options, CaptureCompression compression, bool leaveOpen)
        : base(stream, options, compression, leaveOpen)
    {
        _big = options.BigEndian;
    }

    public override CaptureFileFormat Format => CaptureFileFormat.PcapNg;

    /// <summary>Whether the current section is big-endian.</summary>
    public bool IsBigEndian => _big;

    private static SectionHeader DefaultSection(bool big) => new()
    {
        IsBigEndian = big,
        OperatingSystem = RuntimeInformation.OSDescription,
        UserApplication = "kdt",
    };

    private protected override void EnsureHeader()
    {
        if (!_sectionOpen) WriteSectionHeader(Options.Section is { } s ? s with { IsBigEndian = Options.BigEndian } : DefaultSection(Options.BigEndian), copying: false);
    }

    /// <summary>Starts a new section (its byte order from <paramref name="header"/>). Interfaces
    /// added before belong to the previous section and can no longer be written to.</summary>
    public void StartSection(SectionHeader? header = null)
    {
        ThrowIfDisposed();
        WriteSectionHeader(header ?? DefaultSection(_big), copying: false);
    }

    private void WriteSectionHeader(SectionHeader h, bool copying)
    {
        _big = h.IsBigEndian;
        _body.Reset(_big);
        _body.U32(0x1A2B3C4D);
        _body.U16(h.MajorVersion);
        _body.U16(h.MinorVersion);
        _body.Split64(ulong.MaxValue); // section length unknown: we stream
        _options.Reset(_big);
        _options.AddString(2, h.Hardware);
        _options.AddString(3, h.OperatingSystem);
        _options.AddString(4, h.UserApplication);
        _options.AddCommon(h, copying);
        _options.End();
        WriteBlockBody(PcapNgBlockType.SectionHeader, _body.Written, _options.Written);
        _sectionOpen = true;
        _sectionBase = InterfaceList.Count;
    }

    public override int AddInterface(InterfaceDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        ThrowIfDisposed();
        EnsureHeader();
        WriteInterface(description, copying: false);
        return InterfaceList.Count - 1;
    }

    private void WriteInterface(InterfaceDescription d, bool copying)
    {
        if ((uint)d.LinkType > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(d), d.LinkType, "pcapng link types are 16-bit");
        }
        _body.Reset(_big);
        _body.U16((ushort)d.LinkType);
        _body.U16(0);
        _body.U32(d.SnapLength);
        _options.Reset(_big);
        _options.AddString(2, d.Name);
        _options.AddString(3, d.Description);
        Span<byte> tmp = stackalloc byte[17];
        foreach (InterfaceIPv4Address a in d.IPv4Addresses)
        {
            if (!a.Address.TryWriteBytes(tmp, out int n1) || n1 != 4 || !a.Netmask.TryWriteBytes(tmp[4..], out int n2) || n2 != 4)
            {
                throw new ArgumentException("if_IPv4addr needs IPv4 address and netmask");
            }
            _options.Add(4, tmp[..8]);
        }
        foreach (InterfaceIPv6Address a in d.IPv6Addresses)
        {
            if (!a.Address.TryWriteBytes(tmp, out int n) || n != 16) throw new ArgumentException("if_IPv6addr needs an IPv6 address");
            tmp[16] = a.PrefixLength;
            _options.Add(5, tmp[..17]);
        }
        if (d.MacAddress is { } mac) _options.Add(6, mac.GetAddressBytes());
        if (d.EuiAddress is { } eui) _options.Add(7, eui.GetAddressBytes());
        if (d.Speed is ulong sp) _options.AddU64(8, sp);
        if (d.TimestampResolution != TimestampResolution.Microseconds) _options.AddU8(9, d.TimestampResolution.Value);
        if (d.TimeZone is uint tz) _options.AddU32(10, tz);
        if (d.Filter is { } f) _options.AddPrefixed(11, f.Type, f.Data.Span);
        _options.AddString(12, d.OperatingSystem);
        if (d.FcsLength is byte fcs) _options.AddU8(13, fcs);
        if (d.TimestampOffset != 0) _options.AddU64(14, (ulong)d.TimestampOffset);
        _options.AddString(15, d.Hardware);
        if (d.TransmitSpeed is ulong tx) _options.AddU64(16, tx);
        if (d.ReceiveSpeed is ulong rx) _options.AddU64(17, rx);
        _options.AddString(18, d.IanaTimeZone);
        _options.AddCommon(d, copying);
        _options.End();
        WriteBlockBody(PcapNgBlockType.InterfaceDescription, _body.Written, _options.Written);
        InterfaceList.Add(d);
        _resolutions.Add(d.TimestampResolution);
        _offsets.Add(d.TimestampOffset);
    }

    private uint LocalId(int interfaceIndex)
    {
        CheckInterface(interfaceIndex);
        if (interfaceIndex < _sectionBase)
        {
            throw new ArgumentOutOfRangeException(nameof(interfaceIndex), interfaceIndex, "the interface belongs to an earlier section");
        }
        return (uint)(interfaceIndex - _sectionBase);
    }

    private ulong Ticks(int interfaceIndex, PacketTimestamp ts)
    {
        if (!ts.TryConvert(_resolutions[interfaceIndex], _offsets[interfaceIndex], out ulong ticks))
        {
            throw new ArgumentOutOfRangeException(nameof(ts), ts.ToString(), "timestamp cannot be represented for this interface (before its time offset or too large)");
        }
        return ticks;
    }

    public override void WritePacket(int interfaceIndex, PacketTimestamp timestamp, ReadOnlySpan<byte> data, uint originalLength, in PacketWriteOptions options)
    {
        uint id = LocalId(interfaceIndex);
        ulong ticks = Ticks(interfaceIndex, timestamp);
        ReadOnlySpan<byte> opts = default;
        bool addEnd = false;
        if (options.OnlyCopied && VerbatimLength(options.Copied, out int length, out addEnd))
        {
            // Options already in this section's byte order, with nothing the copy rules change (a
            // live capture's metadata): written as they are instead of decoded and encoded again.
            opts = options.Copied.Raw.Span[..length];
        }
        else if (!options.IsEmpty)
        {
            EncodePacketOptions(options);
            opts = _options.Written;
        }
        WriteEnhanced(id, ticks, data, originalLength, opts, addEnd);
        AfterPacket();
    }

    /// <summary>
    /// True when <paramref name="copied"/>'s bytes, up to and including opt_endofopt (then
    /// <paramref name="addEnd"/> false) or up to their end (then one must be added), are exactly
    /// what <see cref="AddCopiedPacketOptions"/> would encode: the section's byte order, every option
    /// whole with zero padding, no "do not copy" custom option, no drop count from a block header.
    /// </summary>
    private bool VerbatimLength(PacketOptions copied, out int length, out bool addEnd)
    {
        length = 0;
        addEnd = false;
        if (copied.IsBigEndian != _big || copied.HasHeaderDrops)
            return false;
        ReadOnlySpan<byte> raw = copied.Raw.Span;
        int at = 0;
        while (raw.Length - at >= 4)
        {
            ushort code = Endian.U16(raw[at..], _big);
            int valueLength = Endian.U16(raw[(at + 2)..], _big);
            if (code == 0)
            {
                length = at + 4;
                return length > 4;
            }
            if (code is CustomOption.CodeNoCopyText or CustomOption.CodeNoCopyBinary)
                return false;
            int end = at + 4 + valueLength, padded = at + 4 + Endian.Pad4(valueLength);
            if (padded > raw.Length || raw[end..padded].ContainsAnyExcept((byte)0))
                return false;
            at = padded;
        }
        // A list without opt_endofopt (or with a stray short tail, which readers ignore).
        length = at;
        addEnd = at > 0;
        return at > 0;
    }

    private void WriteEnhanced(uint id, ulong ticks, ReadOnlySpan<byte> data, uint originalLength, ReadOnlySpan<byte> options, bool addEnd = false)
    {
        int padded = Endian.Pad4(data.Length);
        int total = 32 + padded + options.Length + (addEnd ? 4 : 0);
        bool big = _big;
        Span<byte> s = Output.GetSpan(total);
        Endian.W32(s, PcapNgBlockType.EnhancedPacket, big);
        Endian.W32(s[4..], (uint)total, big);
        Endian.W32(s[8..], id, big);
        Endian.WSplit64(s[12..], ticks, big);
        Endian.W32(s[20..], (uint)data.Length, big);
        Endian.W32(s[24..], originalLength, big);
        data.CopyTo(s[28..]);
        s.Slice(28 + data.Length, padded - data.Length).Clear();
        options.CopyTo(s[(28 + padded)..]);
        if (addEnd)
            s.Slice(28 + padded + options.Length, 4).Clear();
        Endian.W32(s[(total - 4)..], (uint)total, big);
        Output.Advance(total);
    }

    private void EncodePacketOptions(in PacketWriteOptions o)
    {
        _options.Reset(_big);
        _options.AddString(1, o.Comment);
        if (o.MoreComments is { } more) _options.AddComments(more);
        if (o.Flags is uint f) _options.AddU32(2, f);
        if (o.Hashes is { } hashes)
        {
            foreach (PacketHash h in hashes) _options.AddPrefixed(3, h.Algorithm, h.Value.Span);
        }
        if (o.DropCount is ulong dc) _options.AddU64(4, dc);
        if (o.PacketId is ulong pid) _options.AddU64(5, pid);
        if (o.Queue is uint q) _options.AddU32(6, q);
        if (o.Verdicts is { } verdicts)
        {
            foreach (PacketVerdict v in verdicts) AddVerdict(v.Type, v.Value.Span, _big);
        }
        if (o.ProcessThread is { } pt) AddProcessThread(pt);
        if (o.CustomOptions is { } customs) _options.AddCustoms(customs, copying: false);
        if (!o.Copied.IsEmpty) AddCopiedPacketOptions(o.Copied);
        _options.End();
    }

    private void AddProcessThread(ProcessThreadId pt)
    {
        Span<byte> b = stackalloc byte[8];
        Endian.W32(b, pt.ProcessId, _big);
        Endian.W32(b[4..], pt.ThreadId, _big);
        _options.Add(8, b);
    }

    private void AddVerdict(byte type, ReadOnlySpan<byte> value, bool valueBig)
    {
        // TC and XDP verdicts are 64-bit numbers in the section's byte order.
        if ((type == PacketVerdict.LinuxEbpfTc || type == PacketVerdict.LinuxEbpfXdp) && value.Length == 8 && valueBig != _big)
        {
            Span<byte> b = stackalloc byte[8];
            Endian.W64(b, Endian.U64(value, valueBig), _big);
            _options.AddPrefixed(7, type, b);
        }
        else
        {
            _options.AddPrefixed(7, type, value);
        }
    }

    /// <summary>Options of a read packet, converted to this section's byte order; "do not copy"
    /// custom options dropped, unknown options kept only in their own byte order.</summary>
    private void AddCopiedPacketOptions(PacketOptions copied)
    {
        bool src = copied.IsBigEndian;
        bool hasDrop = false;
        foreach (PacketOptions.Entry e in copied)
        {
            ReadOnlySpan<byte> v = e.Value.Span;
            switch (e.Code)
            {
                case 1:
                    _options.Add(1, v);
                    break;
                case 2 when v.Length == 4:
                case 6 when v.Length == 4:
                    _options.AddU32(e.Code, Endian.U32(v, src));
                    break;
                case 4 when v.Length == 8:
                    hasDrop = true;
                    _options.AddU64(4, Endian.U64(v, src));
                    break;
                case 5 when v.Length == 8:
                    _options.AddU64(5, Endian.U64(v, src));
                    break;
                case 3:
                    _options.Add(3, v);
                    break;
                case 7 when v.Length >= 1:
                    AddVerdict(v[0], v[1..], src);
                    break;
                case 8 when v.Length == 8:
                    AddProcessThread(new ProcessThreadId(Endian.U32(v, src), Endian.U32(v[4..], src)));
                    break;
                case CustomOption.CodeCopyableText or CustomOption.CodeCopyableBinary when v.Length >= 4:
                {
                    Span<byte> b = v.Length <= 512 ? stackalloc byte[v.Length] : new byte[v.Length];
                    v.CopyTo(b);
                    Endian.W32(b, Endian.U32(v, src), _big);
                    _options.Add(e.Code, b);
                    break;
                }
                case CustomOption.CodeNoCopyText or CustomOption.CodeNoCopyBinary:
                    break;
                default:
                    if (src == _big) _options.Add(e.Code, v);
                    break;
            }
        }
        if (!hasDrop && copied.DropCount is ulong d) _options.AddU64(4, d);
    }

    public override bool WriteInterfaceStatistics(int interfaceIndex, InterfaceStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        uint id = LocalId(interfaceIndex);
        PacketTimestamp now = statistics.Timestamp ?? PacketTimestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        _body.Reset(_big);
        _body.U32(id);
        _body.Split64(Ticks(interfaceIndex, now));
        _options.Reset(_big);
        _options.AddComments(statistics.Comments);
        if (statistics.StartTime is { } st) _options.AddSplit64(2, Ticks(interfaceIndex, st));
        if (statistics.EndTime is { } et) _options.AddSplit64(3, Ticks(interfaceIndex, et));
        if (statistics.Received is ulong a) _options.AddU64(4, a);
        if (statistics.InterfaceDropped is ulong b) _options.AddU64(5, b);
        if (statistics.FilterAccepted is ulong c) _options.AddU64(6, c);
        if (statistics.OsDropped is ulong d) _options.AddU64(7, d);
        if (statistics.Delivered is ulong e) _options.AddU64(8, e);
        _options.AddCustoms(statistics.CustomOptions, copying: false);
        _options.End();
        WriteBlockBody(PcapNgBlockType.InterfaceStatistics, _body.Written, _options.Written);
        return true;
    }

    /// <summary>Writes a block exactly as given (the Section Header Block starts a new section in
    /// its own byte order; an Interface Description adds an interface; packet and statistics
    /// blocks name interfaces by their id within the current section).</summary>
    public void WriteBlock(PcapNgBlock block) => Write(block, copying: false);

    /// <summary>
    /// Writes a block read from another file under the spec's rules for rewriters: "do not copy"
    /// custom blocks (0x40000BAD) and custom options (19372, 19373) are dropped, as are unknown
    /// blocks and options from a section of the other byte order (their bytes cannot be
    /// converted). Returns false when the block itself was dropped.
    /// </summary>
    public bool CopyBlock(PcapNgBlock block) => Write(block, copying: true);

    private bool Write(PcapNgBlock block, bool copying)
    {
        ArgumentNullException.ThrowIfNull(block);
        ThrowIfDisposed();
        if (block is SectionHeader shb)
        {
            WriteSectionHeader(shb, copying);
            return true;
        }
        EnsureHeader();
        switch (block)
        {
            case InterfaceDescription idb:
                WriteInterface(idb, copying);
                return true;
            case EnhancedPacketBlock epb:
            {
                int index = GlobalIndex(epb.InterfaceId);
                var o = new PacketWriteOptions
                {
                    MoreComments = epb.Comments,
                    Flags = epb.Flags,
                    Hashes = epb.Hashes,
                    DropCount = epb.DropCount,
                    PacketId = epb.PacketId,
                    Queue = epb.Queue,
                    Verdicts = epb.Verdicts,
                    ProcessThread = epb.ProcessThread,
                };
                EncodeModelPacketOptions(o, epb, copying);
                WriteEnhanced(epb.InterfaceId, Ticks(index, epb.Timestamp), epb.Data.Span, epb.OriginalLength, _options.Written);
                AfterPacket();
                return true;
            }
            case ObsoletePacketBlock pb:
            {
                // Writers must not write Packet Blocks: store it as the equivalent EPB.
                int index = GlobalIndex(pb.InterfaceId);
                var o = new PacketWriteOptions
                {
                    MoreComments = pb.Comments,
                    Flags = pb.Flags,
                    Hashes = pb.Hashes,
                    DropCount = pb.DropsCount == 0xFFFF ? null : pb.DropsCount,
                };
                EncodeModelPacketOptions(o, pb, copying);
                WriteEnhanced(pb.InterfaceId, Ticks(index, pb.Timestamp), pb.Data.Span, pb.OriginalLength, _options.Written);
                AfterPacket();
                return true;
            }
            case SimplePacketBlock spb:
            {
                GlobalIndex(0);
                WriteSimple(spb.Data.Span, spb.OriginalLength);
                AfterPacket();
                return true;
            }
            case InterfaceStatisticsBlock isb:
                WriteStatisticsBlock(isb, copying);
                return true;
            case NameResolutionBlock nrb:
                WriteNameResolution(nrb, copying);
                return true;
            case DecryptionSecretsBlock dsb:
                WriteDecryptionSecrets(dsb, copying);
                return true;
            case CustomBlock cb:
                if (copying && !cb.IsCopyable) return false;
                _body.Reset(_big);
                _body.U32(cb.PrivateEnterpriseNumber);
                _body.Append(cb.Data.Span);
                _body.Pad4();
                WriteBlockBody(cb.BlockType, _body.Written, default);
                return true;
            case UnknownBlock ub:
                if (ub.IsBigEndian != _big) return false;
                _body.Reset(_big);
                _body.Append(ub.Body.Span);
                _body.Pad4();
                WriteBlockBody(ub.Type, _body.Written, default);
                return true;
            default:
                throw new ArgumentException($"cannot write a block of type {block.GetType().Name}", nameof(block));
        }
    }

    private void EncodeModelPacketOptions(in PacketWriteOptions o, PcapNgBlock block, bool copying)
    {
        _options.Reset(_big);
        if (o.MoreComments is { } more) _options.AddComments(more);
        if (o.Flags is uint f) _options.AddU32(2, f);
        if (o.Hashes is { } hashes)
        {
            foreach (PacketHash h in hashes) _options.AddPrefixed(3, h.Algorithm, h.Value.Span);
        }
        if (o.DropCount is ulong dc) _options.AddU64(4, dc);
        if (o.PacketId is ulong pid) _options.AddU64(5, pid);
        if (o.Queue is uint q) _options.AddU32(6, q);
        if (o.Verdicts is { } verdicts)
        {
            foreach (PacketVerdict v in verdicts) AddVerdict(v.Type, v.Value.Span, _big);
        }
        if (o.ProcessThread is { } pt) AddProcessThread(pt);
        _options.AddCustoms(block.CustomOptions, copying);
        _options.AddUnknown(block.UnknownOptions);
        _options.End();
    }

    private int GlobalIndex(uint localId)
    {
        int count = InterfaceList.Count - _sectionBase;
        if (localId >= (uint)count)
        {
            throw new ArgumentOutOfRangeException(nameof(localId), localId, $"the section has {count} interfaces");
        }
        return _sectionBase + (int)localId;
    }

    private void WriteSimple(ReadOnlySpan<byte> data, uint originalLength)
    {
        int padded = Endian.Pad4(data.Length);
        int total = 16 + padded;
        Span<byte> s = Output.GetSpan(total);
        Endian.W32(s, PcapNgBlockType.SimplePacket, _big);
        Endian.W32(s[4..], (uint)total, _big);
        Endian.W32(s[8..], originalLength, _big);
        data.CopyTo(s[12..]);
        s.Slice(12 + data.Length, padded - data.Length).Clear();
        Endian.W32(s[(total - 4)..], (uint)total, _big);
        Output.Advance(total);
    }

    private void WriteStatisticsBlock(InterfaceStatisticsBlock isb, bool copying)
    {
        int index = GlobalIndex(isb.InterfaceId);
        _body.Reset(_big);
        _body.U32(isb.InterfaceId);
        _body.Split64(Ticks(index, isb.Timestamp));
        _options.Reset(_big);
        _options.AddComments(isb.Comments);
        if (isb.StartTime is { } st) _options.AddSplit64(2, Ticks(index, st));
        if (isb.EndTime is { } et) _options.AddSplit64(3, Ticks(index, et));
        if (isb.Received is ulong a) _options.AddU64(4, a);
        if (isb.InterfaceDropped is ulong b) _options.AddU64(5, b);
        if (isb.FilterAccepted is ulong c) _options.AddU64(6, c);
        if (isb.OsDropped is ulong d) _options.AddU64(7, d);
        if (isb.Delivered is ulong e) _options.AddU64(8, e);
        _options.AddCustoms(isb.CustomOptions, copying);
        _options.AddUnknown(isb.UnknownOptions);
        _options.End();
        WriteBlockBody(PcapNgBlockType.InterfaceStatistics, _body.Written, _options.Written);
    }

    /// <summary>Writes a Name Resolution Block.</summary>
    public void WriteNameResolution(NameResolutionBlock block) => WriteNameResolution(block, copying: false);

    private void WriteNameResolution(NameResolutionBlock nrb, bool copying)
    {
        ArgumentNullException.ThrowIfNull(nrb);
        ThrowIfDisposed();
        EnsureHeader();
        _body.Reset(_big);
        var value = new List<byte>();
        foreach (NameResolutionRecord r in nrb.Records)
        {
            value.Clear();
            value.AddRange(r.Address.Span);
            if (NameResolutionRecord.AddressLength(r.Type) >= 0)
            {
                foreach (string name in r.Names)
                {
                    value.AddRange(Encoding.UTF8.GetBytes(name));
                    value.Add(0);
                }
            }
            if (value.Count > ushort.MaxValue) throw new ArgumentException("name resolution record longer than 65535 bytes");
            _body.U16(r.Type);
            _body.U16((ushort)value.Count);
            _body.Append(CollectionsMarshal.AsSpan(value));
            _body.Pad4();
        }
        _body.U16(0);
        _body.U16(0);
        _options.Reset(_big);
        _options.AddComments(nrb.Comments);
        _options.AddString(2, nrb.DnsName);
        if (nrb.DnsIPv4Address is { } d4) _options.Add(3, d4.GetAddressBytes());
        if (nrb.DnsIPv6Address is { } d6) _options.Add(4, d6.GetAddressBytes());
        _options.AddCustoms(nrb.CustomOptions, copying);
        _options.AddUnknown(nrb.UnknownOptions);
        _options.End();
        WriteBlockBody(PcapNgBlockType.NameResolution, _body.Written, _options.Written);
    }

    /// <summary>Writes a Decryption Secrets Block (e.g. a TLS key log) ahead of the packets it decrypts.</summary>
    public void WriteDecryptionSecrets(DecryptionSecretsBlock block) => WriteDecryptionSecrets(block, copying: false);

    private void WriteDecryptionSecrets(DecryptionSecretsBlock dsb, bool copying)
    {
        ArgumentNullException.ThrowIfNull(dsb);
        ThrowIfDisposed();
        EnsureHeader();
        _body.Reset(_big);
        _body.U32(dsb.SecretsType);
        _body.U32((uint)dsb.Data.Length);
        _body.Append(dsb.Data.Span);
        _body.Pad4();
        _options.Reset(_big);
        _options.AddCommon(dsb, copying);
        _options.End();
        WriteBlockBody(PcapNgBlockType.DecryptionSecrets, _body.Written, _options.Written);
    }

    private void WriteBlockBody(uint type, ReadOnlySpan<byte> body, ReadOnlySpan<byte> options)
    {
        long total = 12L + body.Length + options.Length;
        if (total > int.MaxValue) throw new ArgumentException("block too large for pcapng");
        Span<byte> s = Output.GetSpan((int)total);
        Endian.W32(s, type, _big);
        Endian.W32(s[4..], (uint)total, _big);
        body.CopyTo(s[8..]);
        options.CopyTo(s[(8 + body.Length)..]);
        Endian.W32(s[((int)total - 4)..], (uint)total, _big);
        Output.Advance((int)total);
    }
}
