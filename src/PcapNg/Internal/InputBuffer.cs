using System.Runtime.CompilerServices;

namespace KdtCapture.PcapNg.Internal;

/// <summary>
/// A growable read buffer over a stream, for parsers that need a whole record in memory at
/// once. It grows only as far as data actually arrives, so a damaged length field can never
/// make it allocate more than about twice the bytes the stream really holds.
/// </summary>
internal sealed class InputBuffer
{
    private readonly Stream _stream;
    private byte[] _buffer;
    private int _pos;
    private int _end;
    private bool _eof;
    private long _base; // stream offset of _buffer[0]

    public InputBuffer(Stream stream, int initialSize)
    {
        _stream = stream;
        _buffer = new byte[initialSize];
    }

    public byte[] Array => _buffer;
    public int Position => _pos;
    public int Available => _end - _pos;
    /// <summary>Offset in the stream of the next unread byte.</summary>
    public long Offset => _base + _pos;
    public bool AtEnd => _pos == _end && _eof;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Peek(int count) => new(_buffer, _pos, count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance(int count) => _pos += count;

    /// <summary>True when <paramref name="count"/> bytes are buffered at the read position,
    /// reading more as needed; false when the stream ends first (then <see cref="Available"/>
    /// tells how many there were).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Ensure(int count) => _end - _pos >= count || Fill(count);

    private bool Fill(int count)
    {
        while (_end - _pos < count)
        {
            if (_eof) return false;
            if (_buffer.Length - _pos < count)
            {
                int have = _end - _pos;
                if (_pos > 0)
                {
                    Buffer.BlockCopy(_buffer, _pos, _buffer, 0, have);
                    _base += _pos;
                    _pos = 0;
                    _end = have;
                }
                else if (_end == _buffer.Length)
                {
                    // Full and still short: grow, at most doubling, so only data that really
                    // arrived makes the buffer bigger.
                    var bigger = new byte[(int)Math.Min(count, (long)_buffer.Length * 2)];
                    Buffer.BlockCopy(_buffer, 0, bigger, 0, have);
                    _buffer = bigger;
                }
            }
            int n = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n <= 0) _eof = true;
            else _end += n;
        }
        return true;
    }

    /// <summary>Skips <paramref name="count"/> bytes; false when the stream ends first.</summary>
    public bool Skip(long count)
    {
        while (count > 0)
        {
            int have = _end - _pos;
            if (have >= count)
            {
                _pos += (int)count;
                return true;
            }
            count -= have;
            _pos = _end;
            if (!Ensure((int)Math.Min(count, _buffer.Length))) return false;
        }
        return true;
    }
}
