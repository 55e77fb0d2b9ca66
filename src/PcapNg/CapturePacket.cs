using KdtCapture.PcapNg.Internal;

namespace KdtCapture.PcapNg;

/// <summary>Which kind of record a packet came from.</summary>
public enum PacketRecordKind : byte
{
    /// <summary>A classic pcap record.</summary>
    Pcap,
    /// <summary>pcapng Enhanced Packet Block.</summary>
    Enhanced,
    /// <summary>pcapng Simple Packet Block (no timestamp: <see cref="CapturePacket.Timestamp"/> is 0).</summary>
    Simple,
    /// <summary>pcapng obsolete Packet Block.</summary>
    Obsolete,
}

/// <summary>
/// One packet. From <see cref="CaptureReader.TryReadPacket"/> its <see cref="Data"/> and
/// <see cref="Options"/> point into the reader's buffer and stay valid until the next read
/// from that reader; <see cref="Clone"/> (or <see cref="CaptureReader.ReadPacket"/>) makes a
/// copy that owns its bytes.
/// </summary>
public readonly struct CapturePacket
{
    public CapturePacket(int interfaceIndex, PacketTimestamp timestamp, ReadOnlyMemory<byte> data, uint originalLength,
        PacketOptions options = default, PacketRecordKind kind = PacketRecordKind.Enhanced)
    {
        InterfaceIndex = interfaceIndex;
        Timestamp = timestamp;
        Data = data;
        OriginalLength = originalLength;
        Options = options;
        Kind = kind;
    }

    /// <summary>Index into <see cref="CaptureReader.Interfaces"/> (counted over all sections).</summary>
    public int InterfaceIndex { get; }
    public PacketTimestamp Timestamp { get; }
    /// <summary>The captured bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }
    public int CapturedLength => Data.Length;
    /// <summary>Length of the packet on the wire.</summary>
    public uint OriginalLength { get; }
    /// <summary>pcapng packet options (empty for pcap and Simple Packet Blocks).</summary>
    public PacketOptions Options { get; }
    public PacketRecordKind Kind { get; }

    /// <summary>The first <c>opt_comment</c>, or null (allocates the string).</summary>
    public string? Comment => Options.Comment;
    /// <summary><c>epb_flags</c>, or null.</summary>
    public uint? Flags => Options.Flags;

    /// <summary>A copy whose data and options own their memory.</summary>
    public CapturePacket Clone() =>
        new(InterfaceIndex, Timestamp, Data.ToArray(), OriginalLength, Options.Clone(), Kind);
}

/// <summary>
/// A read-only view of a packet's pcapng options, decoded on demand, so packets whose options
/// nobody looks at cost nothing. Values are in the byte order recorded in <see cref="IsBigEndian"/>.
/// </summary>
public readonly struct PacketOptions
{
    private readonly ReadOnlyMemory<byte> _raw;
    private readonly bool _big;
    private readonly ushort _headerDrops; // obsolete Packet Block's drops field + 1, 0 = none

    public PacketOptions(ReadOnlyMemory<byte> raw, bool isBigEndian)
    {
        _raw = raw;
        _big = isBigEndian;
        _headerDrops = 0;
    }

    internal PacketOptions(ReadOnlyMemory<byte> raw, bool isBigEndian, ushort obsoleteDrops)
    {
        _raw = raw;
        _big = isBigEndian;
        _headerDrops = obsoleteDrops == 0xFFFF ? (ushort)0 : (ushort)(obsoleteDrops + 1);
    }

    /// <summary>The option list as stored (may include opt_endofopt).</summary>
    public ReadOnlyMemory<byte> Raw => _raw;
    public bool IsBigEndian => _big;
    public bool IsEmpty => _raw.Length < 4 && _headerDrops == 0;

    /// <summary>The drop count comes from an obsolete Packet Block's header, not from the options.</summary>
    internal bool HasHeaderDrops => _headerDrops != 0;

    internal PacketOptions Clone() =>
        new(_raw.ToArray(), _big, _headerDrops == 0 ? (ushort)0xFFFF : (ushort)(_headerDrops - 1));

    /// <summary>The value of the first option with <paramref name="code"/>.</summary>
    public bool TryGet(ushort code, out ReadOnlySpan<byte> value)
    {
        var r = new OptionReader(_raw.Span, _big);
        while (r.Next(out ushort c, out value))
        {
            if (c == code) return true;
        }
        value = default;
        return false;
    }

    /// <summary>First <c>opt_comment</c> or null.</summary>
    public string? Comment => TryGet(1, out ReadOnlySpan<byte> v) ? OptionText.Decode(v) : null;

    /// <summary>All <c>opt_comment</c> values.</summary>
    public IReadOnlyList<string> GetComments()
    {
        List<string>? list = null;
        var r = new OptionReader(_raw.Span, _big);
        while (r.Next(out ushort c, out ReadOnlySpan<byte> v))
        {
            if (c == 1) (list ??= []).Add(OptionText.Decode(v));
        }
        return list is null ? [] : list;
    }

    /// <summary><c>epb_flags</c> (or <c>pack_flags</c>).</summary>
    public uint? Flags => TryGet(2, out ReadOnlySpan<byte> v) && v.Length == 4 ? Endian.U32(v, _big) : null;

    /// <summary><c>epb_dropcount</c>, or the obsolete Packet Block's drops count.</summary>
    public ulong? DropCount => TryGet(4, out ReadOnlySpan<byte> v) && v.Length == 8 ? Endian.U64(v, _big)
        : _headerDrops != 0 ? (ulong)(_headerDrops - 1) : null;

    /// <summary><c>epb_packetid</c>.</summary>
    public ulong? PacketId => TryGet(5, out ReadOnlySpan<byte> v) && v.Length == 8 ? Endian.U64(v, _big) : null;

    /// <summary><c>epb_queue</c>.</summary>
    public uint? Queue => TryGet(6, out ReadOnlySpan<byte> v) && v.Length == 4 ? Endian.U32(v, _big) : null;

    /// <summary><c>epb_processid_threadid</c>.</summary>
    public ProcessThreadId? ProcessThread => TryGet(8, out ReadOnlySpan<byte> v) && v.Length == 8
        ? new ProcessThreadId(Endian.U32(v, _big), Endian.U32(v[4..], _big)) : null;

    /// <summary>Every <c>epb_hash</c>.</summary>
    public IReadOnlyList<PacketHash> GetHashes() => Prefixed(3, static (t, v) => new PacketHash(t, v));

    /// <summary>Every <c>epb_verdict</c>.</summary>
    public IReadOnlyList<PacketVerdict> GetVerdicts() => Prefixed(7, static (t, v) => new PacketVerdict(t, v));

    /// <summary>Every custom option (copyable or not).</summary>
    public IReadOnlyList<CustomOption> GetCustomOptions()
    {
        List<string>? comments = null;
        List<CustomOption>? customs = null;
        var r = new OptionReader(_raw.Span, _big);
        while (r.Next(out ushort c, out ReadOnlySpan<byte> v))
        {
            if (CustomOption.IsCustomCode(c)) OptionDecoder.TryCommon(c, v, _big, ref comments, ref customs);
        }
        return customs is null ? [] : customs;
    }

    private List<T> Prefixed<T>(ushort code, Func<byte, byte[], T> make)
    {
        var list = new List<T>();
        var r = new OptionReader(_raw.Span, _big);
        while (r.Next(out ushort c, out ReadOnlySpan<byte> v))
        {
            if (c == code && v.Length >= 1) list.Add(make(v[0], v[1..].ToArray()));
        }
        return list;
    }

    /// <summary>Iterates the options as (code, value) pairs.</summary>
    public Enumerator GetEnumerator() => new(_raw, _big);

    /// <summary>One option: its code and value (a slice of the packet's option bytes).</summary>
    public readonly record struct Entry(ushort Code, ReadOnlyMemory<byte> Value);

    public struct Enumerator
    {
        private readonly ReadOnlyMemory<byte> _raw;
        private readonly bool _big;
        private int _pos;

        internal Enumerator(ReadOnlyMemory<byte> raw, bool big)
        {
            _raw = raw;
            _big = big;
            _pos = 0;
            Current = default;
        }

        public Entry Current { get; private set; }

        public bool MoveNext()
        {
            ReadOnlySpan<byte> rest = _raw.Span[_pos..];
            var r = new OptionReader(rest, _big);
            if (!r.Next(out ushort code, out ReadOnlySpan<byte> value)) return false;
            int offset = _pos + 4;
            Current = new Entry(code, _raw.Slice(offset, value.Length));
            _pos = (int)Math.Min(_raw.Length, (long)offset + Endian.Pad4(value.Length));
            return true;
        }
    }
}
