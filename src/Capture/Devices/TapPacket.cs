using KdtCapture.Capture.Pipeline;
using KdtCapture.Filters;
using KdtCapture.PcapNg;
using SharpPcap;

namespace KdtCapture.Capture.Devices;

/// <summary>
/// A packet from <see cref="KdtTapDevice.CaptureAsync"/>: a view of the frame where the capture
/// pipeline holds it, valid until the enumeration moves on (reading it later throws
/// <see cref="InvalidOperationException"/>). Nothing is allocated per packet unless asked:
/// <see cref="GetPacket"/> copies into a SharpPcap <see cref="RawCapture"/>, <see cref="Comment"/>
/// makes a string.
/// </summary>
public readonly struct TapPacket
{
    private readonly TapSession _session;
    private readonly FrameBatch _batch;
    private readonly int _index;
    private readonly int _generation;

    internal TapPacket(TapSession session, FrameBatch batch, int index)
    {
        _session = session;
        _batch = batch;
        _index = index;
        _generation = session.Generation;
    }

    private Frame Frame
    {
        get
        {
            if (_session is null || _session.Generation != _generation)
                throw new InvalidOperationException("the packet is no longer valid: read it before the enumeration moves on (GetPacket() keeps a copy)");
            return _batch[_index];
        }
    }

    /// <summary>The captured bytes (at most the snap length), starting at the link-layer header of <see cref="LinkType"/>.</summary>
    public ReadOnlySpan<byte> Data => Frame.Data;

    /// <summary>The packet's length in the kernel (skb->len from where the frame starts).</summary>
    public uint OriginalLength => Frame.OriginalLength;

    /// <summary>Kernel time of the capture, moved to the wall clock, in nanoseconds.</summary>
    public PacketTimestamp Timestamp => Frame.Timestamp;

    /// <summary>EN10MB where the skb had an Ethernet (or loopback) MAC header, RAW (IPv4/IPv6) otherwise, or what was forced.</summary>
    public LinkType LinkType => Frame.LinkType;

    /// <summary><see cref="LinkType"/> as PacketDotNet names it (Linux DLT values, as pcap_datalink reports).</summary>
    public PacketDotNet.LinkLayers LinkLayer => (PacketDotNet.LinkLayers)(int)Frame.LinkType;

    /// <summary>The pcapng options of the frame: the comment (tap, process, cpu, ifindex, netns, skb…),
    /// flags (direction) and packet id (the skb's address), read in place.</summary>
    public PacketOptions Options => Frame.Options;

    /// <summary>The tap's metadata as text ("net_dev_queue ping[1234] tid=1234 cpu=0 ifindex=1(lo) …"); allocates.</summary>
    public string? Comment => Frame.Options is { IsEmpty: false } o ? o.Comment : null;

    /// <summary>The skb's address (the same skb seen at two taps has the same one); null when unknown.</summary>
    public ulong? SkbAddress => Frame.Options is { IsEmpty: false } o ? o.PacketId : null;

    /// <summary>The packet as a SharpPcap <see cref="RawCapture"/> (a copy, kept as long as wanted),
    /// time stamp at <paramref name="resolution"/>.</summary>
    public RawCapture GetPacket(SharpPcap.TimestampResolution resolution = SharpPcap.TimestampResolution.Microsecond)
    {
        Frame frame = Frame;
        PacketTimestamp ts = frame.Timestamp;
        ulong fraction = resolution == SharpPcap.TimestampResolution.Nanosecond ? ts.Nanoseconds : ts.Microseconds;
        var timeval = new PosixTimeval(unchecked((ulong)ts.UnixSeconds), fraction, resolution);
        return new RawCapture((PacketDotNet.LinkLayers)(int)frame.LinkType, timeval, frame.Data.ToArray(), (int)frame.OriginalLength);
    }
}
