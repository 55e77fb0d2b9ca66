using System.Buffers.Binary;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>One event read from a ring buffer page: its absolute time stamp and its bytes (common fields first).</summary>
public readonly ref struct RingBufferEvent(ulong timestamp, ReadOnlySpan<byte> data)
{
    public ulong Timestamp { get; } = timestamp;
    public ReadOnlySpan<byte> Data { get; } = data;
}

/// <summary>
/// Walks the events of one ftrace ring buffer page (what per_cpu/cpuN/trace_pipe_raw returns and
/// trace.dat stores): a header (u64 time stamp, commit word) then compressed event headers
/// (type_len:5, time_delta:27) as events/header_event describes them.
/// </summary>
public ref struct RingBufferPage
{
    private const uint CommitMask = (1u << 27) - 1;
    private const uint MissedEvents = 1u << 31;
    private const uint MissedStored = 1u << 30;
    private const int TypePadding = 29, TypeTimeExtend = 30, TypeTimeStamp = 31;

    private readonly ReadOnlySpan<byte> _data;
    private int _position;
    private ulong _timestamp;

    /// <summary>Whether events were lost before this page (the kernel sets it when the reader fell behind).</summary>
    public bool LostEventsBefore { get; }

    /// <summary>How many were lost, when the kernel stored the count (-1 when it did not).</summary>
    public long LostEventCount { get; }

    /// <summary>The page's base time stamp.</summary>
    public ulong PageTimestamp { get; }

    /// <param name="page">One page.</param>
    /// <param name="commitSize">Size of the commit word (8 with 64-bit longs, from header_page).</param>
    /// <param name="dataOffset">Where events start (16 with 64-bit longs).</param>
    public RingBufferPage(ReadOnlySpan<byte> page, int commitSize = 8, int dataOffset = 16)
    {
        PageTimestamp = BinaryPrimitives.ReadUInt64LittleEndian(page);
        ulong commitWord = commitSize == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(page[8..]) : BinaryPrimitives.ReadUInt32LittleEndian(page[8..]);
        int commit = (int)(commitWord & CommitMask);
        LostEventsBefore = (commitWord & MissedEvents) != 0;
        LostEventCount = -1;
        int end = Math.Min(dataOffset + commit, page.Length);
        if (LostEventsBefore && (commitWord & MissedStored) != 0 && end + 8 <= page.Length)
            LostEventCount = (long)BinaryPrimitives.ReadUInt64LittleEndian(page[end..]);
        _data = page[dataOffset..end];
        _position = 0;
        _timestamp = PageTimestamp;
    }

    /// <summary>Whether the page holds no event bytes.</summary>
    public readonly bool IsEmpty => _data.IsEmpty;

    /// <summary>The next data event; false at the end of the page.</summary>
    public bool TryRead(out RingBufferEvent next)
    {
        while (_position + 4 <= _data.Length)
        {
            uint header = BinaryPrimitives.ReadUInt32LittleEndian(_data[_position..]);
            int typeLength = (int)(header & 31);
            uint delta = header >> 5;
            switch (typeLength)
            {
                case TypePadding:
                    if (delta == 0 || _position + 8 > _data.Length)
                    {
                        _position = _data.Length;
                        break;
                    }
                    _position += 4 + (int)BinaryPrimitives.ReadUInt32LittleEndian(_data[(_position + 4)..]);
                    continue;
                case TypeTimeExtend:
                    if (_position + 8 > _data.Length)
                        {
                        _position = _data.Length;
                        continue;
                    }
                    _timestamp += ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(_data[(_position + 4)..]) << 27) | delta;
                    _position += 8;
                    continue;
                case TypeTimeStamp:
                    if (_position + 8 > _data.Length)
                        {
                        _position = _data.Length;
                        continue;
                    }
                    // An absolute stamp: the low 59 bits, the top bits kept from the page's time.
                    ulong absolute = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(_data[(_position + 4)..]) << 27) | delta;
                    _timestamp = absolute | (_timestamp & ~((1UL << 59) - 1));
                    _position += 8;
                    continue;
                case 0:
                {
                    if (_position + 8 > _data.Length)
                        {
                        _position = _data.Length;
                        continue;
                    }
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_data[(_position + 4)..]) - 4;
                    int start = _position + 8;
                    _position = start + ((length + 3) & ~3);
                    if (length < 0 || start + length > _data.Length)
                        {
                        _position = _data.Length;
                        continue;
                    }
                    _timestamp += delta;
                    next = new RingBufferEvent(_timestamp, _data.Slice(start, length));
                    return true;
                }
                default:
                {
                    if (typeLength > TypePadding)
                    {
                        _position = _data.Length;
                        break;
                    }
                    int length = typeLength * 4;
                    int start = _position + 4;
                    _position = start + length;
                    if (start + length > _data.Length)
                    {
                        _position = _data.Length;
                        break;
                    }
                    _timestamp += delta;
                    next = new RingBufferEvent(_timestamp, _data.Slice(start, length));
                    return true;
                }
            }
        }
        next = default;
        return false;
    }
}
