namespace KdtCapture.Benchmarks;

/// <summary>What is measured: expressions people type, filters people run. No names that need DNS.</summary>
internal static class Workloads
{
    /// <summary>For compile throughput: a mix of everyday filters (all numeric, so no lookups).</summary>
    public static readonly string[] CompileExpressions =
    [
        "tcp port 443",
        "udp and dst port 53",
        "host 192.168.1.10",
        "src net 10.0.0.0/8 and not dst net 10.0.0.0/8",
        "ip6 and tcp dst port 22",
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        "vlan 100 and ip",
        "vlan and udp portrange 5000-5100",
        "icmp or icmp6",
        "arp",
        "ether host 00:11:22:33:44:55",
        "ip[2:2] > 1000",
        "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
        "port 80 or port 443 or port 8080 or port 8443",
        "host 192.0.2.1 and not port 22",
        "ip6 net 2001:db8::/32",
        "greater 1000 and tcp",
        "icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply",
        "not broadcast and not multicast",
        "(tcp or udp) and (src host 10.1.2.3 or dst host 10.1.2.4) and port 53",
        "ether proto 0x88cc",
        "udp port 67 or udp port 68",
    ];

    /// <summary>For filter execution: from one instruction pair to long or-chains and indirect loads.</summary>
    public static readonly string[] ExecutionFilters =
    [
        "ip",
        "tcp port 443",
        "host 192.168.1.10 and not port 22",
        "port 53 or port 80 or port 443 or port 8080",
        "tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0",
        "vlan and (tcp port 80 or udp port 53)",
        "icmp or icmp6 or arp",
        "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
    ];
}
