namespace KdtCapture.PcapNg;

/// <summary>How a <see cref="CaptureWriter"/> writes. Every property has a documented default.</summary>
public sealed class CaptureWriterOptions
{
    /// <summary>pcapng or pcap. Null (default): pcap when the path ends in ".pcap" (before any
    /// ".lz4"/".gz"), else pcapng. Streams default to pcapng.</summary>
    public CaptureFileFormat? Format { get; init; }

    /// <summary>Compression. Null (default): LZ4 for a ".lz4" path, gzip for ".gz", else none.</summary>
    public CaptureCompression? Compression { get; init; }

    /// <summary>Write big-endian sections/headers (default little-endian, the host order here).</summary>
    public bool BigEndian { get; init; }

    /// <summary>The pcapng Section Header Block's options. Default: <c>shb_userappl</c> "kdt"
    /// and <c>shb_os</c> from the running system.</summary>
    public SectionHeader? Section { get; init; }

    /// <summary>Classic pcap only: nanosecond timestamps (magic 0xa1b23c4d). Null (default):
    /// nanoseconds when the first interface's resolution is finer than microseconds.</summary>
    public bool? PcapNanoseconds { get; init; }

    /// <summary>Bytes buffered before the stream sees them. Default 1 MiB.</summary>
    public int BufferSize { get; init; } = 1 << 20;

    /// <summary>Flush after every packet (tcpdump -U). Default false.</summary>
    public bool FlushEachPacket { get; init; }

    /// <summary>Called for each interface when the writer closes (and, when rotating, when each
    /// file closes); a non-null result is written as an Interface Statistics Block.</summary>
    public Func<int, InterfaceDescription, InterfaceStatistics?>? CloseStatistics { get; init; }

    /// <summary>Mode of files this writer creates. Default 0600: captures often hold secrets.</summary>
    public UnixFileMode FileMode { get; init; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Leave a stream passed to <see cref="CaptureWriter.Create(Stream, CaptureWriterOptions?)"/>
    /// open on dispose. Default false.</summary>
    public bool LeaveOpen { get; init; }

    /// <summary>LZ4 block size in bytes (64 KiB, 256 KiB, 1 MiB or 4 MiB). Default 4 MiB.</summary>
    public int Lz4BlockSize { get; init; } = 4 << 20;

    /// <summary>LZ4 high-compression level (0 = fast, as <c>lz4 -1</c>; 3–12 = HC). Default 0.</summary>
    public int Lz4Level { get; init; }

    internal static readonly CaptureWriterOptions Default = new();
}

/// <summary>Interface counters for an Interface Statistics Block (see the mapping on
/// <see cref="InterfaceStatisticsBlock"/>).</summary>
public sealed record InterfaceStatistics
{
    /// <summary>When the counters were taken; null = now.</summary>
    public PacketTimestamp? Timestamp { get; init; }
    public PacketTimestamp? StartTime { get; init; }
    public PacketTimestamp? EndTime { get; init; }
    /// <summary>Packets the interface or tap saw (<c>isb_ifrecv</c>).</summary>
    public ulong? Received { get; init; }
    /// <summary>Dropped by the interface (<c>isb_ifdrop</c>).</summary>
    public ulong? InterfaceDropped { get; init; }
    /// <summary>Accepted by the filter (<c>isb_filteraccept</c>).</summary>
    public ulong? FilterAccepted { get; init; }
    /// <summary>Dropped in the kernel, e.g. ring or perf buffer full (<c>isb_osdrop</c>).</summary>
    public ulong? OsDropped { get; init; }
    /// <summary>Delivered to the file (<c>isb_usrdeliv</c>).</summary>
    public ulong? Delivered { get; init; }
    public IReadOnlyList<string> Comments { get; init; } = [];
    public IReadOnlyList<CustomOption> CustomOptions { get; init; } = [];
}

/// <summary>
/// Options of one packet being written as an Enhanced Packet Block. A struct passed by
/// reference, so packets without options cost nothing; classic pcap ignores all of it.
/// </summary>
public readonly struct PacketWriteOptions
{
    /// <summary><c>opt_comment</c>.</summary>
    public string? Comment { get; init; }
    /// <summary>More comments after <see cref="Comment"/>.</summary>
    public IReadOnlyList<string>? MoreComments { get; init; }
    /// <summary><c>epb_flags</c> (build with <see cref="PacketFlags.Create"/>).</summary>
    public uint? Flags { get; init; }
    public ulong? DropCount { get; init; }
    public ulong? PacketId { get; init; }
    public uint? Queue { get; init; }
    public ProcessThreadId? ProcessThread { get; init; }
    public IReadOnlyList<PacketHash>? Hashes { get; init; }
    public IReadOnlyList<PacketVerdict>? Verdicts { get; init; }
    public IReadOnlyList<CustomOption>? CustomOptions { get; init; }
    /// <summary>Options copied from a read packet (the copy rules of
    /// <see cref="PcapNgWriter.CopyBlock"/> apply), written after the ones above.</summary>
    public PacketOptions Copied { get; init; }

    /// <summary>Nothing but <see cref="Copied"/> options (a frame passed on from a source).</summary>
    internal bool OnlyCopied => Comment is null && MoreComments is null && Flags is null && DropCount is null &&
        PacketId is null && Queue is null && ProcessThread is null && Hashes is null && Verdicts is null &&
        CustomOptions is null && !Copied.IsEmpty;

    internal bool IsEmpty => Comment is null && MoreComments is null && Flags is null && DropCount is null &&
        PacketId is null && Queue is null && ProcessThread is null && Hashes is null && Verdicts is null &&
        CustomOptions is null && Copied.IsEmpty;
}
