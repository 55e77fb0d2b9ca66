using KdtCapture.Filters;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Pipeline;

/// <summary>
/// One captured frame as a sink sees it: a view into a <see cref="FrameBatch"/>'s pooled buffer,
/// valid until the sink returns from <see cref="IFrameSink.Consume"/>.
/// </summary>
public readonly ref struct Frame
{
    internal Frame(in FrameBatch.Entry entry, byte[] buffer)
    {
        Timestamp = entry.Timestamp;
        InterfaceIndex = entry.InterfaceIndex;
        LinkType = entry.LinkType;
        OriginalLength = entry.OriginalLength;
        Data = new ReadOnlySpan<byte>(buffer, entry.DataOffset, entry.DataLength);
        Options = entry.OptionsLength == 0
            ? default
            : new PacketOptions(new ReadOnlyMemory<byte>(buffer, entry.OptionsOffset, entry.OptionsLength), entry.OptionsBigEndian);
    }

    /// <summary>Capture time, exactly as the source recorded it (resolution and offset included).</summary>
    public PacketTimestamp Timestamp { get; }

    /// <summary>Capture time in nanoseconds since the Unix epoch (truncated).</summary>
    public long TimestampNanoseconds => Timestamp.ToUnixNanoseconds();

    /// <summary>Index into the pipeline's <see cref="FrameInterfaces"/>.</summary>
    public int InterfaceIndex { get; }

    /// <summary>The link-layer header type of <see cref="Data"/> (a Linux DLT value).</summary>
    public LinkType LinkType { get; }

    /// <summary>The captured bytes.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>The frame's length on the wire.</summary>
    public uint OriginalLength { get; }

    /// <summary>pcapng packet options (comments, flags, packet id, custom metadata); empty when none.</summary>
    public PacketOptions Options { get; }
}

/// <summary>What a source knows about a frame besides its bytes.</summary>
public readonly record struct FrameHeader(PacketTimestamp Timestamp, int InterfaceIndex, LinkType LinkType, uint OriginalLength);
