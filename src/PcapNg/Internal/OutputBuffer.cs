using System.Runtime.CompilerServices;

namespace KdtCapture.PcapNg.Internal;

/// <summary>A large write buffer in front of a stream: writers format records straight into it.</summary>
internal sealed class OutputBuffer
{
    private readonly Stream _stream;
    private byte[] _buffer;
    private int _used;
    private long _flushed;

    public OutputBuffer(Stream stream, int size)
    {
        _stream = stream;
        _buffer = new byte[size];
    }

    public Stream Stream => _stream;

    /// <summary>Bytes written so far, buffered ones included (tcpdump's ftell for -C).</summary>
    public long Position => _flushed + _used;

    /// <summary>A span of exactly <paramref name="size"/> writable bytes; call <see cref="Advance"/> after.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - _used < size) MakeRoom(size);
        return new Span<byte>(_buffer, _used, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance(int count) => _used += count;

    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.Length > _buffer.Length - _used)
        {
            WriteOut();
            if (data.Length > _buffer.Length)
            {
                _stream.Write(data);
                _flushed += data.Length;
                return;
            }
        }
        data.CopyTo(_buffer.AsSpan(_used));
        _used += data.Length;
    }

    private void MakeRoom(int size)
    {
        WriteOut();
        if (size > _buffer.Length) _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
    }

    /// <summary>Hands buffered bytes to the stream without flushing the stream itself.</summary>
    public void WriteOut()
    {
        if (_used == 0) return;
        _stream.Write(_buffer, 0, _used);
        _flushed += _used;
        _used = 0;
    }

    public async ValueTask WriteOutAsync(CancellationToken cancellationToken)
    {
        if (_used == 0) return;
        await _stream.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken).ConfigureAwait(false);
        _flushed += _used;
        _used = 0;
    }
}
