namespace KdtCapture.Capture.Printing.Internal;

/// <summary>The fixed names tcpdump 4.99 prints for protocol numbers (its tok tables), as data.</summary>
internal static class NameTables
{
    /// <summary>Ethernet types tcpdump names in "ethertype NAME (0x....)" and ARP's protocol field.</summary>
    public static string? EtherType(ushort type) => type switch
    {
        0x0800 => "IPv4",
        0x8847 => "MPLS unicast",
        0x8848 => "MPLS multicast",
        0x86dd => "IPv6",
        0x8100 => "802.1Q",
        0x9100 => "802.1Q-9100",
        0x88a8 => "802.1Q-QinQ",
        0x9200 => "802.1Q-9200",
        0x88e5 => "802.1AE MACsec",
        0x0200 => "PUP",
        0x0806 => "ARP",
        0x8035 => "Reverse ARP",
        0x0600 => "NS",
        0x0500 => "Sprite",
        0x1000 => "Trail",
        0x6001 => "MOP DL",
        0x6002 => "MOP RC",
        0x6003 => "DN",
        0x6004 => "LAT",
        0x6007 => "SCA",
        0x6558 => "TEB",
        0x8038 => "Lanbridge",
        0x803c => "DEC DNS",
        0x803e => "DEC DTS",
        0x805b => "VEXP",
        0x805c => "VPROD",
        0x809b => "Appletalk",
        0x80f3 => "Appletalk ARP",
        0x8137 => "IPX",
        0x880b => "PPP",
        0x8808 => "MPCP",
        0x8809 => "Slow Protocols",
        0x8863 => "PPPoE D",
        0x8864 => "PPPoE S",
        0x888e => "EAPOL",
        0x8899 => "Realtek protocols",
        0x886f => "MS NLB heartbeat",
        0x8870 => "Jumbo",
        0x894f => "NSH",
        0x9000 => "Loopback",
        0xfefe => "OSI",
        0x00fe => "GRE-OSI",
        0xabcd => "CFM (old)",
        0x8902 => "CFM",
        0x893a => "IEEE1905.1",
        0x88cc => "LLDP",
        0x88ca => "TIPC",
        0x0707 => "GeoNet (old)",
        0x8947 => "GeoNet",
        0x1111 => "CALM FAST",
        0x88a2 => "AoE",
        0x88f7 => "PTP",
        0xd28b => "Arista Vendor Specific Protocol",
        _ => null,
    };

    /// <summary>tcpdump's ipproto_values: the names in "proto TCP (6)" and "next-header TCP (6)".</summary>
    public static string? IpProto(byte proto) => proto switch
    {
        0 => "Options",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        8 => "EGP",
        9 => "IGRP",
        17 => "UDP",
        33 => "DCCP",
        41 => "IPv6",
        43 => "Routing",
        44 => "Fragment",
        46 => "RSVP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        55 => "Mobile IP",
        58 => "ICMPv6",
        62 => "Mobile IP (old)",
        88 => "EIGRP",
        89 => "OSPF",
        103 => "PIM",
        108 => "Compressed IP",
        112 => "VRRP",
        113 => "PGM",
        132 => "SCTP",
        135 => "Mobility",
        143 => "Ethernet",
        _ => null,
    };

    // tcpdump 4.99's built-in netdb protocol names (IANA keywords spelled as /etc/protocols spells them),
    // printed without -n for protocols it has no printer for; measured from tcpdump itself.
    private const string NetdbNames =
        "hopopt|icmp|igmp|ggp|ipencap|st|tcp|cbt|egp|igp|bbn-rcc-mon|nvp-ii|pup|argus|emcon|xnet|chaos|udp|mux|dcn-meas" +
        "|hmp|prm|xns-idp|trunk-1|trunk-2|leaf-1|leaf-2|rdp|irtp|iso-tp4|netblt|mfe-nsp|merit-inp|dccp|3pc|idpr|xtp|ddp" +
        "|idpr-cmtp|tp++|il|ipv6|sdrp|ipv6-route|ipv6-frag|idrp|rsvp|gre|dsr|bna|esp|ah|i-nlsp|swipe|narp|mobile|tlsp|s" +
        "kip|ipv6-icmp|ipv6-nonxt|ipv6-opts||cftp||sat-expak|kryptolan|rvd|ippc||sat-mon|visa|ipcv|cpnx|rspf|wsn|pvp|br" +
        "-sat-mon|sun-nd|wb-mon|wb-expak|iso-ip|vmtp|secure-vmtp|vines|ttp|nsfnet-igp|dgp|tcf|eigrp|ospf|sprite-rpc|lar" +
        "p|mtp|ax.25|ipip|micp|scc-sp|etherip|encap||gmtp|ifmp|pnni|pim|aris|scps|qnx|a/n|ipcomp|snp|compaq-peer|ipx-in" +
        "-ip|vrrp|pgm||l2tp|ddx|iatp|stp|srp|uti|smp|sm|ptp|isis|fire|crtp|crudp|sscopmce|iplt|sps|pipe|sctp|fc|rsvp-e2" +
        "e-ignore|mobility-header|udplite|mpls-in-ip|manet|hip|shim6|wesp|rohc";

    private static readonly string?[] Netdb = BuildNetdb();

    private static string?[] BuildNetdb()
    {
        var names = new string?[256];
        var parts = NetdbNames.Split('|');
        for (int i = 0; i < parts.Length; i++)
            names[i] = parts[i].Length == 0 ? null : parts[i];
        names[253] = "exptest-253";
        names[254] = "exptest-254";
        names[255] = "reserved";
        return names;
    }

    /// <summary>tcpdump's netdb_protoname: the lower-case protocol name, or null.</summary>
    public static string? NetdbProto(byte proto) => Netdb[proto];

    /// <summary>tcpdump's "ip-proto-N" spellings, cached so printing them allocates nothing.</summary>
    public static string IpProtoNumber(byte proto) => IpProtoNumbers[proto];

    private static readonly string[] IpProtoNumbers = Enumerable.Range(0, 256).Select(i => "ip-proto-" + i).ToArray();

    /// <summary>tcpdump's oui_values: vendor names printed after MAC addresses without -n.</summary>
    public static string? Oui(uint oui) => oui switch
    {
        0x000000 => "Ethernet",
        0x00000c => "Cisco",
        0x00005e => "IANA",
        0x000081 => "Nortel Networks SONMP",
        0x0000f8 => "Cisco bridged",
        0x0080c2 => "Ethernet bridged",
        0x00a03e => "ATM Forum",
        0x00e02f => "DOCSIS Spanning Tree",
        0x080007 => "Appletalk",
        0x009069 => "Juniper",
        0x080009 => "Hewlett-Packard",
        0x00120f => "IEEE 802.3 Private",
        0x0012bb => "ANSI/TIA",
        0x001b21 => "DCBX",
        0x002320 => "Nicira Networks",
        0x5c16c7 => "Big Switch Networks",
        0xb0d2f5 => "Vello Systems",
        0x002481 => "HP",
        0x0004ea => "HP-Labs",
        0x748771 => "Infoblox Inc",
        0xa42305 => "Open Networking Lab",
        0x00049f => "Freescale",
        0x0015ad => "Netronome",
        0x001018 => "Broadcom",
        0x00e004 => "PMC-Sierra",
        0xd0f0db => "Ericsson",
        _ => null,
    };

    /// <summary>BSD address families in DLT_NULL/DLT_LOOP headers.</summary>
    public static string? BsdAddressFamily(uint family) => family switch
    {
        2 => "IPv4",
        6 => "NS",
        7 => "ISO",
        16 => "Appletalk",
        23 => "IPX",
        24 or 28 or 30 => "IPv6",
        _ => null,
    };
}
