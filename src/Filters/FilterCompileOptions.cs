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

    public static FilterCompileOptions Default { get; } = new();
}
