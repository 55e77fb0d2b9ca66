namespace KdtCapture.Filters.Cbpf;

/// <summary>
/// Linux ancillary-data loads: an absolute load at <see cref="Cbpf.AncillaryBase"/> + offset reads
/// socket-buffer metadata instead of packet bytes in the kernel (SKF_AD_* in linux/filter.h).
/// In userland there is no socket buffer: libpcap's bpf_filter sees these offsets as past the end
/// of the packet, so they make the program return 0.
/// </summary>
public static class CbpfAncillary
{
    public const uint Protocol = 0;
    public const uint PacketType = 4;
    public const uint InterfaceIndex = 8;
    public const uint NetlinkAttribute = 12;
    public const uint NetlinkAttributeNested = 16;
    public const uint Mark = 20;
    public const uint Queue = 24;
    public const uint HardwareType = 28;
    public const uint ReceiveHash = 32;
    public const uint Cpu = 36;
    public const uint AluXorX = 40;
    public const uint VlanTag = 44;
    public const uint VlanTagPresent = 48;
    public const uint PayloadOffset = 52;
    public const uint Random = 56;
    public const uint VlanTpid = 60;

    /// <summary>One past the last ancillary offset libpcap 1.10 knows (SKF_AD_MAX).</summary>
    public const uint End = 64;

    /// <summary>
    /// The name tcpdump -d prints for an absolute load at <paramref name="k"/> ("proto" for
    /// <c>ld [proto]</c>), or null when <paramref name="k"/> is not a known ancillary offset.
    /// </summary>
    public static string? Name(uint k)
    {
        uint offset = unchecked(k - Cbpf.AncillaryBase);
        return offset switch
        {
            Protocol => "proto",
            PacketType => "type",
            InterfaceIndex => "ifidx",
            NetlinkAttribute => "nla",
            NetlinkAttributeNested => "nlan",
            Mark => "mark",
            Queue => "queue",
            HardwareType => "hatype",
            ReceiveHash => "rxhash",
            Cpu => "cpu",
            AluXorX => "xor_x",
            VlanTag => "vlan_tci",
            VlanTagPresent => "vlanp",
            PayloadOffset => "poff",
            Random => "random",
            VlanTpid => "vlan_tpid",
            _ => null,
        };
    }
}
