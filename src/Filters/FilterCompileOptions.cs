namespace KdtCapture.Filters;

/// <summary>How a filter expression is compiled; the defaults are tcpdump's.</summary>
public sealed class FilterCompileOptions
{
    /// <summary>libpcap's PCAP_NETMASK_UNKNOWN: "ip broadcast" is then an error, as in libpcap.</summary>
    public const uint NetmaskUnknown = 0xffffffff;

    /// <summary>Run the optimizer (tcpdump's default; <c>-O</c> turns it off).</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>The snapshot length the accepting <c>ret</c> returns; tcpdump's default is 262144.</summary>
    public int Snaplen { get; init; } = 262144;

    /// <summary>The IPv4 netmask of the capture network, for "ip broadcast"; host byte order.</summary>
    public uint Netmask { get; init; } = NetmaskUnknown;

    /// <summary>
    /// Compile for filtering a capture file rather than a live Linux socket, as libpcap does for
    /// pcap_open_offline: "inbound"/"ifindex" are then errors on most link types and BSD loopback
    /// IPv6 matches every BSD's AF_INET6.
    /// </summary>
    public bool ForSavefile { get; init; }

    /// <summary>With <see cref="ForSavefile"/>: the file was written in the other byte order.</summary>
    public bool SavefileByteSwapped { get; init; }

    /// <summary>
    /// The capture is a live Linux socket that may move the outermost VLAN tag into metadata
    /// (libpcap's BPF_SPECIAL_VLAN_HANDLING): "vlan" then also tests the kernel's tag.
    /// </summary>
    public bool KernelVlanTags { get; init; }

    public static FilterCompileOptions Default { get; } = new();
}
