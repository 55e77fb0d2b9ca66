using System.Buffers.Binary;
using System.IO.Compression;
using KdtCapture.PcapNg.Internal;

namespace KdtCapture.PcapNg;

/// <summary>
/// Reads packets from a capture file of any supported kind: pcap (µs, ns, Linux modified, both
/// byte orders) or pcapng, plain, gzip- or LZ4-compressed; the kind is found from the content,
/// never from the name. Streams need not be seekable.
/// </summary>
/// <example>
/// <code>
/// using var reader = CaptureReader.Open("in.pcapng.lz4");
/// while (reader.TryReadPacket(out CapturePacket p))
///     Console.WriteLine($"{p.Timestamp} if={p.InterfaceIndex} {p.CapturedLength}/{p.OriginalLength}");
/// if (reader.Truncation is { } why) Console.Error.WriteLine(why);
/// </code>
/// </example>
public abstract class CaptureReader : IDisposable, IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly DecompressionGuardStream? _guard;
    private string? _truncation;
    private bool _disposed;

    private protected readonly InputBuffer Input;
    private protected readonly CaptureReaderOptions Options;
    private protected readonly List<InterfaceDescription> InterfaceList = [];

    private protected CaptureReader(in OpenedInput input, CaptureReaderOptions options)
    {
        _stream = input.Stream;
        _leaveOpen = options.LeaveOpen;
        _guard = input.Guard;
        Input = input.Buffer;
        Compression = input.Compression;
        Options = options;
    }

    /// <summary>Opens a capture file by path (the kind is taken from its content).</summary>
    public static CaptureReader Open(string path, CaptureReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= CaptureReaderOptions.Default;
        var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.ReadWrite,
            BufferSize = 0, // we buffer ourselves
            Options = FileOptions.SequentialScan,
        });
        try
        {
            return Open(file, new CaptureReaderOptions
            {
                BufferSize = options.BufferSize,
                MaxBlockLength = options.MaxBlockLength,
                MaxPcapRecordLength = options.MaxPcapRecordLength,
                ThrowOnTruncation = options.ThrowOnTruncation,
                KeepMetadataBlocks = options.KeepMetadataBlocks,
                LeaveOpen = false,
            });
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Opens a capture from a stream (seekable or not, e.g. stdin or a pipe).</summary>
    public static CaptureReader Open(Stream stream, CaptureReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= CaptureReaderOptions.Default;
        int bufferSize = Math.Clamp(options.BufferSize, 4096, 1 << 30);
        var input = new InputBuffer(stream, bufferSize);
        var compression = CaptureCompression.None;
        DecompressionGuardStream? guard = null;
        for (int depth = 0; ; depth++)
        {
            if (!input.Ensure(4))
            {
                throw new CaptureTruncatedException(input.Available == 0
                    ? "the file is empty"
                    : $"truncated file header: {input.Available} of 4 bytes");
            }
            ReadOnlySpan<byte> m = input.Peek(4);
            uint le = BinaryPrimitives.ReadUInt32LittleEndian(m);
            uint be = BinaryPrimitives.ReadUInt32BigEndian(m);
            if (le == PcapNgReader.SectionHeaderMagic)
            {
                return new PcapNgReader(new OpenedInput(stream, input, compression, guard), options);
            }
            if (PcapReader.IsMagic(le) || PcapReader.IsMagic(be))
            {
                return new PcapReader(new OpenedInput(stream, input, compression, guard), options);
            }
            if (depth >= 2)
            {
                throw new UnknownCaptureFormatException("unknown file format inside " + CompressionName(compression) + " data");
            }
            Stream decoded;
            string what;
            if (m[0] == 0x1f && m[1] == 0x8b)
            {
                compression = CaptureCompression.Gzip;
                what = "gzip";
                decoded = new GZipStream(new BufferedPrefixStream(input), CompressionMode.Decompress);
            }
            else if (le == 0x184D2204 || (le & 0xFFFFFFF0) == 0x184D2A50)
            {
                compression = CaptureCompression.Lz4;
                what = "LZ4";
                decoded = new Lz4FrameReader(new BufferedPrefixStream(input));
            }
            else
            {
                throw new UnknownCaptureFormatException(depth == 0
                    ? $"unknown file format (magic number 0x{be:x8})"
                    : $"unknown file format inside {CompressionName(compression)} data (magic number 0x{be:x8})");
            }
            guard = new DecompressionGuardStream(decoded, what);
            input = new InputBuffer(guard, bufferSize);
        }
    }

    private static string CompressionName(CaptureCompression c) => c == CaptureCompression.Gzip ? "gzip" : "LZ4";

    internal readonly record struct OpenedInput(Stream Stream, InputBuffer Buffer, CaptureCompression Compression, DecompressionGuardStream? Guard);

    /// <summary>pcap or pcapng.</summary>
    public abstract CaptureFileFormat Format { get; }

    /// <summary>The compression the file was wrapped in.</summary>
    public CaptureCompression Compression { get; }

    /// <summary>Interfaces seen so far, over all sections; <see cref="CapturePacket.InterfaceIndex"/>
    /// indexes this list. A pcapng file may add interfaces between packets: compare the count
    /// after each packet to notice new ones.</summary>
    public IReadOnlyList<InterfaceDescription> Interfaces => InterfaceList;

    /// <summary>Packets returned so far.</summary>
    public long PacketCount { get; private protected set; }

    /// <summary>Offset in the (decompressed) file of the next unread byte.</summary>
    public long Position => Input.Offset;

    /// <summary>Null while the file is whole; a one-line description when it ended inside a record.</summary>
    public string? Truncation => _truncation ?? _guard?.Truncation;

    /// <summary>Reads the next packet without copying: the packet's memory stays valid until
    /// the next call on this reader. False at the end of the file (or at a truncation).</summary>
    /// <exception cref="CaptureFormatException">The file is malformed at this point.</exception>
    public abstract bool TryReadPacket(out CapturePacket packet);

    /// <summary>Reads the next packet as a copy that owns its memory; null at the end.</summary>
    public CapturePacket? ReadPacket() => TryReadPacket(out CapturePacket p) ? p.Clone() : null;

    /// <summary>All remaining packets, each copied.</summary>
    public IEnumerable<CapturePacket> ReadAllPackets()
    {
        while (TryReadPacket(out CapturePacket p)) yield return p.Clone();
    }

    /// <summary>Records that the input ended inside a record; throws when the options ask for it.</summary>
    private protected void SetTruncated(string message)
    {
        _truncation ??= message;
        if (Options.ThrowOnTruncation) throw new CaptureTruncatedException(message);
    }

    private protected CaptureFormatException Malformed(string message, long offset) => new(message) { Offset = offset };

    protected virtual void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        if (disposing)
        {
            _guard?.Dispose();
            if (!_leaveOpen) _stream.Dispose();
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
