using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Pipeline;

/// <summary>How a <see cref="CaptureFileSource"/> reads.</summary>
public sealed class CaptureFileSourceOptions
{
    /// <summary>Stop after this many frames passed the filter (tcpdump's <c>-c</c>); null: no limit.</summary>
    public long? MaxFrames { get; init; }

    /// <summary>Carry each packet's pcapng options (comments, flags, ...) through the pipeline.
    /// Default true; a sink that ignores them may turn this off to save the copy.</summary>
    public bool KeepPacketOptions { get; init; } = true;

    /// <summary>Copy each frame's bytes into the pipeline. Default true; false sends only the frames'
    /// headers (time, interface, lengths), for sinks that only count (tcpdump's --count).</summary>
    public bool CarryFrameData { get; init; } = true;

    /// <summary>Hand pending frames on before every read of a stream given to
    /// <see cref="CaptureFileSource.Open(Stream, CaptureFileSourceOptions?)"/>, because the read
    /// may block (a pipe, a socket, a terminal). Null (default): when the stream cannot seek.
    /// A regular file never blocks for long, and batches then stay full.</summary>
    public bool? HandOverBeforeRead { get; init; }

    /// <summary>Leave a stream given to <see cref="CaptureFileSource.Open(Stream, CaptureFileSourceOptions?)"/> open. Default false.</summary>
    public bool LeaveOpen { get; init; }

    /// <summary>Read buffer size. Default 1 MiB.</summary>
    public int BufferSize { get; init; } = 1 << 20;
}

/// <summary>
/// Frames from a capture file (pcap or pcapng, plain or compressed, a path or a stream such as
/// stdin): each pcapng interface is announced to the pipeline as it appears, the filter is
/// compiled for its link type and snap length, and only frames that pass are copied on.
/// </summary>
/// <remarks>
/// <see cref="Open(string, CaptureFileSourceOptions?)"/> reads up to the first packet, as libpcap
/// does when it opens a file, so that <see cref="FirstInterface"/> is known (tcpdump's
/// "reading from file" line) and the filter's errors show before anything runs. Reading a pipe,
/// the source hands its pending frames on before every read that may block, so a slow writer's
/// packets reach the sinks at once and a stop loses nothing already read.
/// </remarks>
public sealed class CaptureFileSource : IFrameSource, IDisposable
{
    private readonly CaptureReader _reader;
    private readonly CaptureFileSourceOptions _options;
    private readonly HandOverStream? _handOver;
    private bool _hasPending;
    private CapturePacket _pending;

    private CaptureFileSource(CaptureReader reader, CaptureFileSourceOptions options, HandOverStream? handOver)
    {
        _reader = reader;
        _options = options;
        _handOver = handOver;
        try
        {
            _hasPending = reader.TryReadPacket(out _pending);
            if (reader.Interfaces.Count > 0) FirstInterface = reader.Interfaces[0];
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Opens a file by path; the format is found from the content.</summary>
    /// <exception cref="CaptureFileException">Not a capture file, or malformed before its first packet.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static CaptureFileSource Open(string path, CaptureFileSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new CaptureFileSourceOptions();
        CaptureReader reader = CaptureReader.Open(path, new CaptureReaderOptions { BufferSize = options.BufferSize, KeepMetadataBlocks = false });
        return new CaptureFileSource(reader, options, null);
    }

    /// <summary>Opens a capture arriving on a stream (stdin, a pipe, a socket); it need not be seekable.</summary>
    /// <inheritdoc cref="Open(string, CaptureFileSourceOptions?)"/>
    public static CaptureFileSource Open(Stream stream, CaptureFileSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= new CaptureFileSourceOptions();
        var handOver = new HandOverStream(stream, options.LeaveOpen) { Enabled = options.HandOverBeforeRead ?? !stream.CanSeek };
        CaptureReader reader;
        try
        {
            reader = CaptureReader.Open(handOver, new CaptureReaderOptions { BufferSize = options.BufferSize, KeepMetadataBlocks = false });
        }
        catch
        {
            handOver.Dispose();
            throw;
        }
        return new CaptureFileSource(reader, options, handOver);
    }

    /// <summary>The reader (format, compression, interfaces seen so far).</summary>
    public CaptureReader Reader => _reader;

    /// <summary>The file's first interface (what libpcap reports as the file's link type and snap
    /// length); null when the file has no interface at all (a pcapng file without an Interface
    /// Description Block and without packets).</summary>
    public InterfaceDescription? FirstInterface { get; }

    /// <summary>Null while the file was whole; after <see cref="Run"/>, a line saying where it was cut short.</summary>
    public string? Truncation => _reader.Truncation;

    /// <summary>True when <see cref="CaptureFileSourceOptions.MaxFrames"/> stopped the source.</summary>
    public bool ReachedMaxFrames { get; private set; }

    /// <summary>Frames must pass this filter (compiled per interface kind); null: every frame passes.
    /// Set it before <see cref="Run"/>.</summary>
    public InterfaceFilters? Filter { get; set; }

    /// <summary>Compiles <see cref="Filter"/> for the first interface now, so that a bad expression is
    /// reported before any output exists (later interfaces compile when they appear).</summary>
    /// <exception cref="FilterCompileException">The expression does not compile for that link type.</exception>
    public void CompileFilter()
    {
        if (FirstInterface is not null) FilterFor(FirstInterface);
    }

    /// <summary>The section being read was written in the other byte order than this machine's
    /// (libpcap compiles some link types' filters differently for such files).</summary>
    public bool IsByteSwapped => _reader switch
    {
        PcapReader pcap => pcap.Header.IsBigEndian == BitConverter.IsLittleEndian,
        PcapNgReader ng => ng.Section.IsBigEndian == BitConverter.IsLittleEndian,
        _ => false,
    };

    private CbpfFilter? FilterFor(InterfaceDescription description)
    {
        InterfaceFilters? filter = Filter;
        if (filter is null || filter.IsEmpty) return null;
        return filter.For((LinkType)LinkTypeValues.ToLinuxDlt(description.LinkType), InterfaceFilters.EffectiveSnapLength(description), IsByteSwapped);
    }

    public void Run(FrameProducer producer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(producer);
        if (_handOver is not null) _handOver.Producer = producer;

        // Per-interface state in plain arrays indexed like the reader's interfaces.
        var interfaces = new FrameInterface[4];
        var filters = new CbpfFilter?[4];
        var snapLengths = new int[4];
        int known = 0;
        long limit = _options.MaxFrames ?? long.MaxValue;
        long accepted = 0;
        bool keepOptions = _options.KeepPacketOptions;
        bool carryData = _options.CarryFrameData;
        bool first = true;

        if (limit <= 0) return;
        while (!cancellationToken.IsCancellationRequested)
        {
            CapturePacket packet;
            if (first && _hasPending)
            {
                packet = _pending;
                _hasPending = false;
                _pending = default;
            }
            else if (!_reader.TryReadPacket(out packet))
            {
                break;
            }
            first = false;

            int index = packet.InterfaceIndex;
            if (index >= known)
            {
                known = Announce(producer, ref interfaces, ref filters, ref snapLengths, known);
                if (index >= known) throw new CaptureFormatException($"packet on interface {index}, but the file describes only {known}");
            }
            FrameInterface frameInterface = interfaces[index];
            frameInterface.ReceivedCount++;
            ReadOnlySpan<byte> data = packet.Data.Span;
            // libpcap cuts a record longer than the file's snapshot length down to it before
            // filtering, and tcpdump writes it so.
            if (data.Length > snapLengths[index]) data = data[..snapLengths[index]];
            CbpfFilter? filter = filters[index];
            if (filter is not null && filter.Run(data, packet.OriginalLength) == 0) continue;
            frameInterface.AcceptedCount++;

            // The pipeline's index: it differs from the file's when sources share a pipeline (-V).
            var header = new FrameHeader(packet.Timestamp, frameInterface.Index, frameInterface.LinkType, packet.OriginalLength);
            if (!carryData)
            {
                producer.Write(header, default);
            }
            else if (keepOptions)
            {
                PacketOptions options = packet.Options;
                producer.Write(header, data, options.Raw.Span, options.IsBigEndian);
            }
            else
            {
                producer.Write(header, data);
            }

            if (++accepted >= limit)
            {
                ReachedMaxFrames = true;
                break;
            }
        }
    }

    /// <summary>Announces the interfaces the reader has seen since the last call; returns how many are known.</summary>
    private int Announce(FrameProducer producer, ref FrameInterface[] interfaces, ref CbpfFilter?[] filters, ref int[] snapLengths, int known)
    {
        IReadOnlyList<InterfaceDescription> seen = _reader.Interfaces;
        if (seen.Count > interfaces.Length)
        {
            int size = Math.Max(seen.Count, interfaces.Length * 2);
            Array.Resize(ref interfaces, size);
            Array.Resize(ref filters, size);
            Array.Resize(ref snapLengths, size);
        }
        for (int i = known; i < seen.Count; i++)
        {
            interfaces[i] = producer.AddInterface(seen[i]);
            filters[i] = FilterFor(seen[i]);
            snapLengths[i] = InterfaceFilters.EffectiveSnapLength(seen[i]);
        }
        return seen.Count;
    }

    public void Dispose()
    {
        _reader.Dispose();
    }

    /// <summary>Hands the producer's pending frames on before each read of the underlying stream,
    /// which may block for as long as the writer at the other end of a pipe likes.</summary>
    private sealed class HandOverStream(Stream inner, bool leaveOpen) : Stream
    {
        public FrameProducer? Producer { get; set; }
        public bool Enabled { get; init; } = true;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (Enabled) Producer?.Flush();
            return inner.Read(buffer);
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
