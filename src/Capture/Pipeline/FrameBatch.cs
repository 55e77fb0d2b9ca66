using System.Buffers;
using KdtCapture.Filters;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Pipeline;

/// <summary>
/// Many frames in one pooled buffer: the unit that travels through the pipeline's channel, so
/// that the channel's cost is paid per batch, not per packet. Batches are recycled; a sink may
/// read one only while it is being consumed.
/// </summary>
public sealed class FrameBatch
{
    internal struct Entry
    {
        public PacketTimestamp Timestamp;
        public int InterfaceIndex;
        public LinkType LinkType;
        public uint OriginalLength;
        public int DataOffset;
        public int DataLength;
        public int OptionsOffset;
        public int OptionsLength;
        public bool OptionsBigEndian;
    }

    private readonly Entry[] _entries;
    private byte[] _buffer;
    private int _used;
    private int _count;

    internal FrameBatch(int bufferSize, int maxFrames)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        _entries = new Entry[maxFrames];
    }

    /// <summary>Frames in the batch.</summary>
    public int Count => _count;

    /// <summary>Bytes of frame data and options the batch holds.</summary>
    public int ByteCount => _used;

    /// <summary>How many interfaces the pipeline knew when the batch was published: every
    /// frame's <see cref="Frame.InterfaceIndex"/> is below this.</summary>
    public int InterfaceCount { get; internal set; }

    /// <summary>The frame at <paramref name="index"/>.</summary>
    public Frame this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count) ThrowIndex(index);
            return new Frame(in _entries[index], _buffer);
        }
    }

    private static void ThrowIndex(int index) => throw new ArgumentOutOfRangeException(nameof(index), index, "no such frame in the batch");

    internal bool IsEmpty => _count == 0;

    /// <summary>Copies a frame in; false when the batch has no room left (it is then published and a fresh one used).</summary>
    internal bool TryAppend(in FrameHeader header, ReadOnlySpan<byte> data, ReadOnlySpan<byte> options, bool optionsBigEndian)
    {
        int need = data.Length + options.Length;
        if (_count == _entries.Length || _buffer.Length - _used < need)
        {
            if (_count != 0) return false;
            // A frame larger than a whole batch: this batch holds it alone, in a bigger buffer.
            Grow(need);
        }
        ref Entry e = ref _entries[_count++];
        e.Timestamp = header.Timestamp;
        e.InterfaceIndex = header.InterfaceIndex;
        e.LinkType = header.LinkType;
        e.OriginalLength = header.OriginalLength;
        e.DataOffset = _used;
        e.DataLength = data.Length;
        data.CopyTo(_buffer.AsSpan(_used));
        _used += data.Length;
        e.OptionsOffset = _used;
        e.OptionsLength = options.Length;
        e.OptionsBigEndian = optionsBigEndian;
        if (options.Length != 0)
        {
            options.CopyTo(_buffer.AsSpan(_used));
            _used += options.Length;
        }
        return true;
    }

    private void Grow(int need)
    {
        byte[] bigger = ArrayPool<byte>.Shared.Rent(need);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    internal void Clear()
    {
        _count = 0;
        _used = 0;
        InterfaceCount = 0;
    }

    internal void Release()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _count = 0;
        _used = 0;
    }
}
