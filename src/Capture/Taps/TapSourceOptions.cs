using KdtCapture.Filters;

namespace KdtCapture.Capture.Taps;

/// <summary>Which packets tcpdump's <c>-Q</c> keeps.</summary>
public enum CaptureDirection
{
    InOut,
    In,
    Out,
}

/// <summary>How a <see cref="TapSource"/> captures. Defaults are tcpdump's.</summary>
public sealed class TapSourceOptions
{
    /// <summary>A pcap-filter expression, applied in the kernel (compiled for EN10MB and RAW); null or blank: every packet.</summary>
    public string? Filter { get; init; }

    /// <summary>Run libpcap's optimizer on the filter (tcpdump's default; <c>-O</c> turns it off).</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>Bytes kept of each frame (<c>-s</c>), enforced in the kernel. Default 262144.</summary>
    public int SnapLength { get; init; } = 262144;

    /// <summary><c>-Q</c>: taps whose place in the stack sees only the other direction are left out; the
    /// others keep, in the kernel, only packets the program finds going this way (unknown ones are left out).</summary>
    public CaptureDirection Direction { get; init; } = CaptureDirection.InOut;

    /// <summary><c>-y</c>: EN10MB starts frames at the MAC header, RAW at the network header, any other
    /// link type at skb->data; frames that cannot have it are skipped and counted. Null picks per packet.</summary>
    public LinkType? LinkType { get; init; }

    /// <summary><c>-B</c>: the perf buffer in KiB, shared out among the CPUs (at least 64 KiB each).
    /// Null: 4 MiB per CPU.</summary>
    public int? BufferSizeKiB { get; init; }

    /// <summary><c>--immediate-mode</c>: hand every frame on at once rather than in batches.</summary>
    public bool Immediate { get; init; }

    /// <summary><c>-c</c>: stop after this many frames.</summary>
    public long? MaxFrames { get; init; }

    /// <summary><c>--drop-reason</c>: at taps with a drop reason (tp_btf/kfree_skb), keep only these
    /// reasons (<c>NO_SOCKET,TCP_CSUM</c>) or all but these (<c>-NOT_SPECIFIED</c>), decided in the kernel;
    /// see <see cref="Taps.DropReasons.Parse"/>. Null keeps every reason.</summary>
    public string? DropReasons { get; init; }

    /// <summary><c>--track-skb</c>: follow the skb of every packet the filter matches at any tap to every
    /// other tap until it is freed, sending it there even when the filter no longer matches (frames marked
    /// <c>track</c>). Needs the filter in the kernel.</summary>
    public bool TrackSkb { get; init; }
    /// <summary>
    /// <c>--pid</c>, <c>--comm</c>, <c>--cgroup</c>, <c>--netns</c> (<see cref="ProcessSelection.Resolve"/>): packets
    /// of other processes, cgroups or namespaces are left in the kernel before the filter runs. Sent
    /// packets belong to their socket's owner (else the sending task), received ones to the owner of
    /// the socket of their destination port; frames then name that owner.
    /// </summary>
    public ProcessSelection Selection { get; init; } = ProcessSelection.None;

    /// <summary>Filter in the kernel when the filter translates and verifies (default); false filters in user space.</summary>
    public bool KernelFilter { get; init; } = true;
}
