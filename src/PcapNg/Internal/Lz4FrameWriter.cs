using System.Buffers.Binary;
using K4os.Compression.LZ4;
using K4os.Hash.xxHash;

namespace KdtCapture.PcapNg.Internal;

/// <summary>
/// Writes the LZ4 frame format (what <c>lz4</c> reads) with independent blocks. Unlike the
/// stock encoder stream, <see cref="Flush"/> emits the partial block, so a capture whose writer
/// dies after a flush still decompresses up to that point.
/// </summary>
internal sealed class Lz4FrameWriter : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly LZ4Level _level;
    private readonly byte[] _block;
    private readonly byte[] _compressed;
    private int _used;
    private bool _headerWritten;
    private bool _disposed;

    public Lz4FrameWriter(Stream inner, int blockSize, LZ4Level level, bool leaveOpen)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
        _level = level;
        int size = blockSize <= 64 << 10 ? 64 << 10 : blockSize <= 256 << 10 ? 256 << 10 : blockSize <= 1 << 20 ? 1 << 20 : 4 << 20;
        _block = new byte[size];
        _compressed = new byte[LZ4Codec.MaximumOutputSize(size) + 4];
    }

    private static byte BlockSizeId(int size) => size switch
    {
        64 << 10 => 4,
        256 << 10 => 5,
        1 << 20 => 6,
        _ => 7,
    };

    private void WriteHeader()
    {
        Span<byte> h = stackalloc byte[7];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x184D2204);
        h[4] = 0x60; // version 01, independent blocks, no checksums, no content size
        h[5] = (byte)(BlockSizeId(_block.Length) << 4);
        h[6] = (byte)(XXH32.DigestOf(h.Slice(4, 2)) >> 8);
        _inner.Write(h);
        _headerWritten = true;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, _block.Length - _used);
            data[..n].CopyTo(_block.AsSpan(_used));
            _used += n;
            data = data[n..];
            if (_used == _block.Length) EmitBlock();
        }
    }

    private void EmitBlock()
    {
        if (!_headerWritten) WriteHeader();
        if (_used == 0) return;
        int n = LZ4Codec.Encode(_block.AsSpan(0, _used), _compressed.AsSpan(4), _level);
        if (n <= 0 || n >= _used)
        {
            // Incompressible: store the block as is (high bit of the size set).
            BinaryPrimitives.WriteUInt32LittleEndian(_compressed, (uint)_used | 0x80000000u);
            _inner.Write(_compressed, 0, 4);
            _inner.Write(_block, 0, _used);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_compressed, (uint)n);
            _inner.Write(_compressed, 0, 4 + n);
        }
        _used = 0;
    }

    public override void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        EmitBlock();
        _inner.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            try
            {
                EmitBlock();
                Span<byte> end = stackalloc byte[4];
                end.Clear();
                _inner.Write(end); // end mark
                _inner.Flush();
            }
            finally
            {
                _disposed = true;
                if (!_leaveOpen) _inner.Dispose();
            }
        }
        _disposed = true;
        base.Dispose(disposing);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => !_disposed;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
