using KdtCapture.Capture.Taps;
using KdtCapture.Filters;

namespace KdtCapture.Capture.Live;

/// <summary>How a <see cref="LiveInterface"/> is opened; the defaults are tcpdump's.</summary>
public sealed class LiveInterfaceOptions
{
    /// <summary>libpcap's MAXIMUM_SNAPLEN, tcpdump's default.</summary>
    public const int MaximumSnapLength = 262144;

    /// <summary>Bytes kept of each packet (<c>-s</c>). Default 262144.</summary>
    public int SnapLength { get; init; } = MaximumSnapLength;

    /// <summary>Put the interface in promiscuous mode (tcpdump's default; <c>-p</c> turns it off).</summary>
    public bool Promiscuous { get; init; } = true;

    /// <summary>Kernel buffer in bytes (<c>-B</c> gives KiB); null: libpcap's default (2 MiB).</summary>
    public int? BufferBytes { get; init; }

    /// <summary>Deliver each packet as it arrives instead of in blocks (<c>--immediate-mode</c>).</summary>
    public bool Immediate { get; init; }

    /// <summary>Packet buffer timeout in milliseconds (tcpdump uses 1000).</summary>
    public int TimeoutMilliseconds { get; init; } = 1000;

    /// <summary>Nanosecond time stamps from the kernel (<c>--time-stamp-precision=nano</c>).</summary>
    public bool NanosecondTimestamps { get; init; }

    /// <summary>Time stamp type by libpcap's name (<c>-j</c>: host, host_lowprec, host_hiprec, adapter, ...);
    /// null: the device's default. One the device cannot set is a warning, as in tcpdump.</summary>
    public string? TimestampType { get; init; }

    /// <summary>Monitor (rfmon) mode on a Wi-Fi device (<c>-I</c>).</summary>
    public bool MonitorMode { get; init; }

    /// <summary>Direction (<c>-Q</c>, the same values as libpcap's pcap_direction_t); null leaves libpcap's default (both).</summary>
    public CaptureDirection? Direction { get; init; }

    /// <summary>Link type to switch to after opening (<c>-y</c>); null: the interface's default
    /// (LINUX_SLL2 on "any", as tcpdump 4.99 asks for).</summary>
    public LinkType? LinkType { get; init; }
}
