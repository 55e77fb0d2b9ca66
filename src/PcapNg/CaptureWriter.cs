using System.IO.Compression;
using K4os.Compression.LZ4;
using KdtCapture.PcapNg.Internal;

namespace KdtCapture.PcapNg;

/// <summary>
/// Writes a capture file: pcapng (default) or classic pcap, optionally LZ4- or gzip-compressed.
/// Add interfaces, then write packets on them; dispose to flush and close (statistics blocks
/// from <see cref="CaptureWriterOptions.CloseStatistics"/> are written first).
/// </summary>
/// <example>
/// <code>
/// await using var w = CaptureWriter.Create("out.pcapng");
/// int eth = w.AddInterface(new InterfaceDescription { LinkType = 1, Name = "eth0", TimestampResolution = TimestampResolution.Nanoseconds });
/// w.WritePacket(eth, PacketTimestamp.FromUnixNanoseconds(ns), frame, (uint)frame.Length, new PacketWriteOptions { Comment = "hello" });
/// </code>
/// </example>
public abstract class CaptureWriter : IDisposable, IAsyncDisposable
{
    private readonly Stream _stream;     // what the buffer writes to (compressor or file)
    private readonly bool _leaveOpen;
    private bool _disposed;

    private protected readonly OutputBuffer Output;
    private protected readonly CaptureWriterOptions Options;
    private protected readonly List<InterfaceDescription> InterfaceList = [];

    private protected CaptureWriter(Stream stream, CaptureWriterOptions options, CaptureCompression compression, bool leaveOpen)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        Options = options;
        Compression = compression;
        Output = new OutputBuffer(stream, Math.Clamp(options.BufferSize, 4096, 1 << 30));
    }

    /// <summary>Creates (or truncates) a file with <see cref="CaptureWriterOptions.FileMode"/>
    /// and writes to it; format and compression follow the options or else the name.</summary>
    public static CaptureWriter Create(string path, CaptureWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= CaptureWriterOptions.Default;
        CaptureCompression compression = options.Compression ?? CompressionFromName(path);
        CaptureFileFormat format = options.Format ?? FormatFromName(path);
        FileStream file = OpenFile(path, options.FileMode);
        try
        {
            return Create(file, format, compression, options, leaveOpen: false);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Writes to a stream (e.g. stdout); pcapng unless the options say otherwise.</summary>
    public static CaptureWriter Create(Stream stream, CaptureWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= CaptureWriterOptions.Default;
        return Create(stream, options.Format ?? CaptureFileFormat.PcapNg, options.Compression ?? CaptureCompression.None, options, options.LeaveOpen);
    }

    internal static FileStream OpenFile(string path, UnixFileMode mode)
    {
        var fso = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 0, // OutputBuffer does the buffering
        };
        if (!OperatingSystem.IsWindows()) fso.UnixCreateMode = mode;
        return new FileStream(path, fso);
    }

    private static CaptureWriter Create(Stream stream, CaptureFileFormat format, CaptureCompression compression, CaptureWriterOptions options, bool leaveOpen)
    {
        Stream target = compression switch
        {
            CaptureCompression.Lz4 => new Lz4FrameWriter(stream, options.Lz4BlockSize,
                options.Lz4Level <= 0 ? LZ4Level.L00_FAST : (LZ4Level)Math.Min(options.Lz4Level, 12), leaveOpen),
            CaptureCompression.Gzip => new GZipStream(stream, CompressionLevel.Fastest, leaveOpen),
            _ => stream,
        };
        // A compressor must always be disposed (it writes the end mark); it leaves the
        // underlying stream open itself when asked to.
        bool writerLeavesOpen = compression == CaptureCompression.None && leaveOpen;
        return format == CaptureFileFormat.Pcap
            ? new PcapWriter(target, options, compression, writerLeavesOpen)
            : new PcapNgWriter(target, options, compression, writerLeavesOpen);
    }

    /// <summary>Compression a file name asks for: ".lz4" LZ4, ".gz" gzip.</summary>
    public static CaptureCompression CompressionFromName(string path) =>
        path.EndsWith(".lz4", StringComparison.OrdinalIgnoreCase) ? CaptureCompression.Lz4
        : path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? CaptureCompression.Gzip
        : CaptureCompression.None;

    /// <summary>Format a file name asks for: ".pcap" (before any compression suffix) is pcap,
    /// anything else pcapng.</summary>
    public static CaptureFileFormat FormatFromName(string path)
    {
        string p = path;
        if (p.EndsWith(".lz4", StringComparison.OrdinalIgnoreCase)) p = p[..^4];
        else if (p.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) p = p[..^3];
        return p.EndsWith(".pcap", StringComparison.OrdinalIgnoreCase) ? CaptureFileFormat.Pcap : CaptureFileFormat.PcapNg;
    }

    public abstract CaptureFileFormat Format { get; }
    public CaptureCompression Compression { get; }

    /// <summary>Interfaces added so far; packets name them by index.</summary>
    public IReadOnlyList<InterfaceDescription> Interfaces => InterfaceList;

    /// <summary>Bytes of (uncompressed) file written so far, buffered ones included.</summary>
    public long BytesWritten => Output.Position;

    public long PacketsWritten { get; private protected set; }

    /// <summary>Adds an interface and returns its index for <see cref="WritePacket(int, PacketTimestamp, ReadOnlySpan{byte}, uint, in PacketWriteOptions)"/>.</summary>
    public abstract int AddInterface(InterfaceDescription description);

    /// <summary>Writes one packet on interface <paramref name="interfaceIndex"/>. The timestamp
    /// is converted to the interface's resolution (exact when they match).</summary>
    public abstract void WritePacket(int interfaceIndex, PacketTimestamp timestamp, ReadOnlySpan<byte> data, uint originalLength, in PacketWriteOptions options);

    /// <summary>Writes one packet without options; the original length is the data's length.</summary>
    public void WritePacket(int interfaceIndex, PacketTimestamp timestamp, ReadOnlySpan<byte> data) =>
        WritePacket(interfaceIndex, timestamp, data, (uint)data.Length, default);

    /// <summary>Writes a packet read from a capture, keeping its options (those that may be
    /// copied), on the interface with the same index in this writer.</summary>
    public void WritePacket(in CapturePacket packet) =>
        WritePacket(packet.InterfaceIndex, packet.Timestamp, packet.Data.Span, packet.OriginalLength, new PacketWriteOptions { Copied = packet.Options });

    /// <summary>Writes an Interface Statistics Block; false for formats that cannot hold one (pcap).</summary>
    public abstract bool WriteInterfaceStatistics(int interfaceIndex, InterfaceStatistics statistics);

    /// <summary>Pushes buffered bytes through compression to the stream and flushes it.</summary>
    public void Flush()
    {
        ThrowIfDisposed();
        EnsureHeader();
        Output.WriteOut();
        _stream.Flush();
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        EnsureHeader();
        await Output.WriteOutAsync(cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the file header if nothing was written yet (an empty but valid file).</summary>
    private protected abstract void EnsureHeader();

    private protected void AfterPacket()
    {
        PacketsWritten++;
        if (Options.FlushEachPacket)
        {
            Output.WriteOut();
            _stream.Flush();
        }
    }

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private protected InterfaceDescription CheckInterface(int index)
    {
        if ((uint)index >= (uint)InterfaceList.Count)
        {
            ThrowNoInterface(index);
        }
        return InterfaceList[index];
    }

    private void ThrowNoInterface(int index)
    {
        ThrowIfDisposed();
        throw new ArgumentOutOfRangeException(nameof(index), index, $"no interface {index}: {InterfaceList.Count} added");
    }

    private void WriteCloseStatistics()
    {
        var provider = Options.CloseStatistics;
        if (provider is null) return;
        for (int i = 0; i < InterfaceList.Count; i++)
        {
            if (provider(i, InterfaceList[i]) is { } stats) WriteInterfaceStatistics(i, stats);
        }
    }

    /// <summary>Finishes the file: header if none yet, statistics at close, buffered bytes out.</summary>
    private protected virtual void Close()
    {
        EnsureHeader();
        WriteCloseStatistics();
        Output.WriteOut();
        _stream.Flush();
    }

    private bool _closed;

    protected virtual void Dispose(bool disposing)
    {
        if (_disposed) return;
        if (disposing)
        {
            try
            {
                if (!_closed)
                {
                    _closed = true;
                    Close();
                }
            }
            finally
            {
                _disposed = true;
                if (!_leaveOpen) _stream.Dispose();
            }
        }
        _disposed = true;
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_disposed && !_closed && GetType() != typeof(RotatingCaptureWriter))
        {
            _closed = true;
            EnsureHeader();
            WriteCloseStatistics();
            await Output.WriteOutAsync(default).ConfigureAwait(false);
            await _stream.FlushAsync().ConfigureAwait(false);
        }
        Dispose();
    }
}
