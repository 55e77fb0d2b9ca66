namespace KdtCapture.PcapNg;

/// <summary>How a <see cref="CaptureReader"/> reads. Every property has a safe default.</summary>
public sealed class CaptureReaderOptions
{
    /// <summary>Size of the read buffer; it grows when a block is bigger. Default 1 MiB.</summary>
    public int BufferSize { get; init; } = 1 << 20;

    /// <summary>Largest pcapng block accepted; longer length fields are reported as malformed.
    /// Default 16 MiB, as libpcap.</summary>
    public int MaxBlockLength { get; init; } = 16 << 20;

    /// <summary>Largest classic pcap record accepted. Null (default): libpcap's maximum for the
    /// file's link type (256 KiB for most, more for D-Bus, EBHSCR and USBPcap).</summary>
    public int? MaxPcapRecordLength { get; init; }

    /// <summary>Throw <see cref="CaptureTruncatedException"/> when the file ends inside a record
    /// instead of ending quietly and setting <see cref="CaptureReader.Truncation"/>. Default false.</summary>
    public bool ThrowOnTruncation { get; init; }

    /// <summary>Keep (true) or skip (false) non-packet pcapng blocks seen by
    /// <see cref="CaptureReader.TryReadPacket"/> in <see cref="PcapNgReader.Statistics"/>,
    /// <see cref="PcapNgReader.NameResolution"/>, <see cref="PcapNgReader.DecryptionSecrets"/>
    /// and <see cref="PcapNgReader.OtherBlocks"/>. Default true.</summary>
    public bool KeepMetadataBlocks { get; init; } = true;

    /// <summary>Leave the stream open when the reader is disposed. Default false.</summary>
    public bool LeaveOpen { get; init; }

    internal static readonly CaptureReaderOptions Default = new();
}
