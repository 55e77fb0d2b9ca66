using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace KdtCapture.PcapNg.Internal;

/// <summary>
/// Decodes the LZ4 frame format (linked or independent blocks, optional checksums, skippable
/// and concatenated frames) one block per read, so a frame cut short by a crash yields every
/// whole block before the cut and then ends, remembering the truncation.
/// </summary>
internal sealed class Lz4FrameReader(Stream input) : Stream
{
    private const int History = 64 << 10;

    private byte[] _out = [];
    private byte[] _src = [];
    private int _pos, _end;
    private int _maxBlock;
    private bool _linked, _blockChecksum, _contentChecksum;
    private bool _inFrame, _finished;
    private long _frames;

    public string? Truncation { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0) return 0;
        while (_pos == _end)
        {
            if (_finished || !NextBlock()) return 0;
        }
        int n = Math.Min(buffer.Length, _end - _pos);
        _out.AsSpan(_pos, n).CopyTo(buffer);
        _pos += n;
        return n;
    }

    /// <summary>Fills <paramref name="span"/>; false (and a truncation) when the input ends first,
    /// false without a truncation when it ends before the first byte and that is allowed.</summary>
    private bool Fill(Span<byte> span, string what, bool endAllowed = false)
    {
        int got = 0;
        while (got < span.Length)
        {
            int n = input.Read(span[got..]);
            if (n <= 0)
            {
                _finished = true;
                if (!(endAllowed && got == 0)) Truncation ??= "LZ4 data ends inside " + what;
                return false;
            }
            got += n;
        }
        return true;
    }

    private bool NextBlock()
    {
        Span<byte> word = stackalloc byte[4];
        while (!_inFrame)
        {
            if (!Fill(word, "a frame header", endAllowed: _frames > 0)) return false;
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(word);
            if ((magic & 0xFFFFFFF0) == 0x184D2A50)
            {
                if (!Fill(word, "a skippable frame")) return false;
                uint skip = BinaryPrimitives.ReadUInt32LittleEndian(word);
                byte[] sink = new byte[(int)Math.Min(skip, 65536)];
                for (uint left = skip; left > 0;)
                {
                    int n = (int)Math.Min(left, (uint)sink.Length);
                    if (!Fill(sink.AsSpan(0, n), "a skippable frame")) return false;
                    left -= (uint)n;
                }
                continue;
            }
            if (magic != 0x184D2204)
            {
                throw new CaptureFormatException(_frames == 0 ? "not an LZ4 frame" : $"damaged LZ4 data: unknown frame magic 0x{magic:x8}");
            }
            ReadFrameHeader();
            if (_finished) return false;
        }

        if (!Fill(word, "a block header")) return false;
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(word);
        if (size == 0)
        {
            // End mark, then the optional content checksum (not verified: damage shows up in
            // the capture's own structure).
            if (_contentChecksum && !Fill(word, "the content checksum")) return false;
            _inFrame = false;
            _frames++;
            _pos = _end = 0;
            return true;
        }
        bool stored = (size & 0x80000000) != 0;
        size &= 0x7FFFFFFF;
        if (size > _maxBlock) throw new CaptureFormatException($"damaged LZ4 data: block of {size} bytes in a frame of {_maxBlock}-byte blocks");
        Span<byte> src = _src.AsSpan(0, (int)size);
        if (!Fill(src, "a block")) return false;
        if (_blockChecksum && !Fill(word, "a block checksum")) return false;

        // Keep up to 64 KiB of earlier output in front: linked blocks refer back into it.
        int keep = _linked ? Math.Min(History, _end) : 0;
        if (keep > 0 && _end - keep > 0) Buffer.BlockCopy(_out, _end - keep, _out, 0, keep);
        int produced;
        if (stored)
        {
            src.CopyTo(_out.AsSpan(keep));
            produced = (int)size;
        }
        else
        {
            produced = keep > 0
                ? LZ4Codec.Decode(src, _out.AsSpan(keep, _maxBlock), _out.AsSpan(0, keep))
                : LZ4Codec.Decode(src, _out.AsSpan(keep, _maxBlock));
            if (produced < 0) throw new CaptureFormatException("damaged LZ4 data: a block does not decode");
        }
        _pos = keep;
        _end = keep + produced;
        return true;
    }

    private void ReadFrameHeader()
    {
        Span<byte> fd = stackalloc byte[2];
        if (!Fill(fd, "a frame header")) return;
        byte flg = fd[0], bd = fd[1];
        if ((flg >> 6) != 1) throw new CaptureFormatException($"damaged LZ4 data: frame version {flg >> 6}");
        int sizeId = (bd >> 4) & 7;
        if (sizeId < 4) throw new CaptureFormatException($"damaged LZ4 data: block size code {sizeId}");
        _linked = (flg & 0x20) == 0;
        _blockChecksum = (flg & 0x10) != 0;
        _contentChecksum = (flg & 0x04) != 0;
        int extra = ((flg & 0x08) != 0 ? 8 : 0) + ((flg & 0x01) != 0 ? 4 : 0) + 1; // content size, dict id, header checksum
        Span<byte> rest = stackalloc byte[13];
        if (!Fill(rest[..extra], "a frame header")) return;
        if ((flg & 0x01) != 0) throw new CaptureFormatException("LZ4 frames with a dictionary are not supported");
        int max = 1 << (8 + 2 * sizeId);
        if (max != _maxBlock)
        {
            _maxBlock = max;
            _src = new byte[max];
            _out = new byte[History + max];
        }
        _pos = _end = 0;
        _inFrame = true;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) input.Dispose();
        base.Dispose(disposing);
    }
}
