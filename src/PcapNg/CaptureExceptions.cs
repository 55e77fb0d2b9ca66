namespace KdtCapture.PcapNg;

/// <summary>Base of every error this library reports about a capture file: the message is one
/// line naming what is wrong, fit to print after the file name.</summary>
public class CaptureFileException : IOException
{
    public CaptureFileException(string message) : base(message) { }
    public CaptureFileException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The input is not a capture file this library knows (no pcap, pcapng, gzip or LZ4
/// magic number at its start).</summary>
public sealed class UnknownCaptureFormatException : CaptureFileException
{
    public UnknownCaptureFormatException(string message) : base(message) { }
}

/// <summary>The file is a capture file but a header, block, record or option is malformed.</summary>
public class CaptureFormatException : CaptureFileException
{
    public CaptureFormatException(string message) : base(message) { }
    public CaptureFormatException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>Offset of the record or block at fault in the (decompressed) file, when known.</summary>
    public long? Offset { get; init; }
}

/// <summary>The file ends inside a record or block. Thrown only when
/// <see cref="CaptureReaderOptions.ThrowOnTruncation"/> is set; by default readers stop at the
/// last whole record and report <see cref="CaptureReader.Truncation"/>.</summary>
public sealed class CaptureTruncatedException : CaptureFormatException
{
    public CaptureTruncatedException(string message) : base(message) { }
}
