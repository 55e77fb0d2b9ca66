using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Pipeline;

/// <summary>
/// Writes frames to a capture file (pcapng or pcap, optionally LZ4, optionally rotating as tcpdump's
/// <c>-C/-G/-W</c>). Interfaces are added in the pipeline's order, so a pcapng output keeps every
/// interface description of its input (name, link type, snap length, if_tsresol) and each
/// packet's options; every file ends with an Interface Statistics Block per interface.
/// </summary>
public sealed class CaptureFileSink : IFrameSink, IDisposable
{
    private readonly CaptureWriter _writer;
    private readonly bool _flushAfterBatch;
    private FrameInterfaces? _interfaces;
    private int _added;
    private bool _completed;
    private bool _limitAnnounced;

    /// <summary>Creates the file at <paramref name="path"/> (mode 0600); with <paramref name="rotation"/>,
    /// a series of files named as tcpdump names them.</summary>
    /// <param name="path">Output path; its suffix chooses the format and compression unless <paramref name="options"/> do.</param>
    /// <param name="options">Format, compression, per-packet flushing...; CloseStatistics is provided by the sink.</param>
    /// <param name="rotation">tcpdump's -C/-G/-W, or null for one file.</param>
    /// <param name="flushAfterBatch">Push each batch out to the file at once (for captures that trickle in).</param>
    public CaptureFileSink(string path, CaptureWriterOptions? options = null, CaptureRotationOptions? rotation = null, bool flushAfterBatch = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        CaptureWriterOptions withStatistics = WithStatistics(options);
        _writer = rotation is null
            ? CaptureWriter.Create(path, withStatistics)
            : new RotatingCaptureWriter(path, new CaptureRotationOptions
            {
                FileSizeLimit = rotation.FileSizeLimit,
                RotateSeconds = rotation.RotateSeconds,
                FileCount = rotation.FileCount,
                Clock = rotation.Clock,
                FileRotated = rotation.FileRotated,
                WriterOptions = withStatistics,
            });
        _flushAfterBatch = flushAfterBatch;
    }

    /// <summary>Writes to a stream (stdout, a pipe); pcapng unless <paramref name="options"/> say otherwise.</summary>
    public CaptureFileSink(Stream stream, CaptureWriterOptions? options = null, bool flushAfterBatch = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _writer = CaptureWriter.Create(stream, WithStatistics(options));
        _flushAfterBatch = flushAfterBatch;
    }

    /// <summary>The writer (format, bytes and packets written, rotation state).</summary>
    public CaptureWriter Writer => _writer;

    /// <summary>A -G/-W series has written its last file: the capture should stop.</summary>
    public bool LimitReached => _writer is RotatingCaptureWriter { LimitReached: true };

    /// <summary>Called once, after the batch in which <see cref="LimitReached"/> became true (tcpdump stops there).</summary>
    public Action? OnLimitReached { get; init; }

    private CaptureWriterOptions WithStatistics(CaptureWriterOptions? o)
    {
        o ??= new CaptureWriterOptions();
        return new CaptureWriterOptions
        {
            Format = o.Format,
            Compression = o.Compression,
            BigEndian = o.BigEndian,
            Section = o.Section,
            PcapNanoseconds = o.PcapNanoseconds,
            BufferSize = o.BufferSize,
            FlushEachPacket = o.FlushEachPacket,
            FileMode = o.FileMode,
            LeaveOpen = o.LeaveOpen,
            Lz4BlockSize = o.Lz4BlockSize,
            Lz4Level = o.Lz4Level,
            CloseStatistics = Statistics,
        };
    }

    // The writer's interface i is the pipeline's interface i (they are added in order).
    private InterfaceStatistics? Statistics(int index, InterfaceDescription description) =>
        _interfaces is { } all && index < all.Count ? all[index].ToStatistics() : null;

    public void Consume(FrameBatch batch, FrameInterfaces interfaces)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(interfaces);
        if (_added < batch.InterfaceCount) AddInterfaces(interfaces, batch.InterfaceCount);
        CaptureWriter writer = _writer;
        for (int i = 0; i < batch.Count; i++)
        {
            Frame frame = batch[i];
            writer.WritePacket(frame.InterfaceIndex, frame.Timestamp, frame.Data, frame.OriginalLength,
                new PacketWriteOptions { Copied = frame.Options });
        }
        if (_flushAfterBatch) writer.Flush();
        if (!_limitAnnounced && OnLimitReached is not null && LimitReached)
        {
            _limitAnnounced = true;
            OnLimitReached();
        }
    }

    private void AddInterfaces(FrameInterfaces interfaces, int count)
    {
        _interfaces = interfaces;
        for (; _added < count; _added++)
        {
            try
            {
                _writer.AddInterface(interfaces[_added].Description);
            }
            catch (NotSupportedException e)
            {
                // Classic pcap holds one link type; say so as one line.
                throw new CaptureFileException(e.Message, e);
            }
        }
    }

    public void Complete(FrameInterfaces interfaces)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        if (_completed) return;
        _completed = true;
        try
        {
            // Interfaces without a single frame still belong in the file (and an empty capture
            // still gets its header with the input's link type).
            if (_added < interfaces.Count) AddInterfaces(interfaces, interfaces.Count);
        }
        finally
        {
            _writer.Dispose();
        }
    }

    public void Dispose()
    {
        _completed = true;
        _writer.Dispose();
    }
}
