namespace KdtCapture.PcapNg.Internal;

/// <summary>Read-only stream over an <see cref="InputBuffer"/>: first what it has buffered
/// (the bytes sniffed for the magic number), then the rest of its stream.</summary>
internal sealed class BufferedPrefixStream(InputBuffer input) : Stream
{
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0) return 0;
        if (input.Available == 0 && !input.Ensure(1)) return 0;
        int n = Math.Min(buffer.Length, input.Available);
        input.Peek(n).CopyTo(buffer);
        input.Advance(n);
        return n;
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
}

/// <summary>
/// Wraps a decompressing stream so that its errors become ours: damaged compressed data is a
/// <see cref="CaptureFormatException"/>, and compressed data that simply stops (a crash while
/// writing) ends the stream and is remembered as a truncation.
/// </summary>
internal sealed class DecompressionGuardStream(Stream inner, string what) : Stream
{
    private string? _truncation;
    private bool _ended;

    public string? Truncation => _truncation ?? (inner as Lz4FrameReader)?.Truncation;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_ended) return 0;
        try
        {
            int n = inner.Read(buffer);
            if (n == 0) _ended = true;
            return n;
        }
        catch (EndOfStreamException)
        {
            _ended = true;
            _truncation = what + " data ends before its end mark";
            return 0;
        }
        catch (IOException e) when (e.GetType() != typeof(IOException))
        {
            throw new CaptureFormatException("damaged " + what + " data: " + OneLine(e.Message), e);
        }
        catch (InvalidDataException e)
        {
            throw new CaptureFormatException("damaged " + what + " data: " + OneLine(e.Message), e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException or NotSupportedException or OverflowException)
        {
            // The LZ4 decoder reports some damage this way; none of it is a caller error here.
            throw new CaptureFormatException("damaged " + what + " data: " + OneLine(e.Message), e);
        }
    }

    internal static string OneLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
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
}
