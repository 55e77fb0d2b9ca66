using System.Buffers.Binary;
using KdtCapture.Filters;

namespace KdtCapture.Testing;

/// <summary>
/// Sorts a packet into the protocol family whose printer decides its text, from its bytes alone (never from
/// either printer's output), so the differential test can report how well each family matches tcpdump.
/// </summary>
/// <remarks>
/// Core families (tcpdump's exact text is promised): Ethernet (frames tcpdump dumps raw or cuts short at
/// the link layer), ARP, IPv4 and IPv6 (datagrams that end at the IP layer: non-first fragments, malformed or
/// truncated headers, unknown protocols), TCP, UDP, ICMP, ICMPv6, DNS (UDP/TCP port 53, mDNS 5353).
/// Others: TCP-app and UDP-app (payloads tcpdump hands to an application printer by port), IP-other
/// (GRE, OSPF, PIM, ...), Link-other (LLC/STP, LLDP, ... every non-IP Ethernet type tcpdump decodes).
/// </remarks>
public static class ProtocolFamilies
{
    // tcp_print's port dispatch (payload-bearing segments only).
    private static readonly HashSet<int> TcpAppPorts = [23, 25, 43, 179, 1723, 6379, 22, 10288, 6633, 6653, 21, 80, 8080, 554, 8554, 639, 323, 646, 2049];

    // udp_print's port dispatch, DNS apart.
    private static readonly HashSet<int> UdpAppPorts =
    [
        525, 69, 67, 68, 520, 654, 500, 4500, 7500, 8500, 161, 162, 123, 88, 750, 1701, 2103, 2104, 521, 546, 547, 5359,
        6696, 6697, 8231, 496, 1645, 1812, 1646, 1813, 1700, 3799, 921, 646, 698, 3503, 701, 1589, 6343, 12222, 12223,
        5060, 514, 8472, 4789, 6081, 4342, 4790, 17754, 6635, 319, 320, 30490, 2049,
    ];

    // Ethernet types ethertype_print decodes itself; anything else it dumps raw (family Ethernet).
    private static readonly HashSet<int> DecodedEtherTypes =
    [
        0x6003, 0x809b, 0x80f3, 0x8137, 0xfefe, 0x8863, 0x8864, 0x3c12, 0x3c13, 0x888e, 0x8899, 0x880b, 0x8808, 0x8809,
        0x8902, 0xabcd, 0x88cc, 0x894f, 0x9000, 0x8847, 0x8848, 0x88ca, 0x886f, 0x0707, 0x8947, 0x1111, 0x88a2, 0x88f7,
        0x88e5, 0xd28b, 0x8870,
    ];

    public static string Classify(LinkType linkType, ReadOnlySpan<byte> p)
    {
        switch (linkType)
        {
            case LinkType.EN10MB:
                return Ethernet(p);
            case LinkType.LINUX_SLL:
                return p.Length < 16 ? "Ethernet" : EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[14..]), p[16..], sll: true);
            case LinkType.LINUX_SLL2:
                return p.Length < 20 ? "Ethernet" : EtherType(BinaryPrimitives.ReadUInt16BigEndian(p), p[20..], sll: true);
            case LinkType.NULL:
            case LinkType.LOOP:
                if (p.Length < 4)
                    return "Ethernet";
                uint family = BinaryPrimitives.ReadUInt32LittleEndian(p);
                if ((family & 0xffff0000) != 0)
                    family = BinaryPrimitives.ReverseEndianness(family);
                return family switch
                {
                    2 => Ip(p[4..]),
                    24 or 28 or 30 => Ip6(p[4..]),
                    _ => family is 7 or 16 or 23 ? "Link-other" : "Ethernet",
                };
            case LinkType.RAW:
            case LinkType.IPV4:
            case LinkType.IPV6:
                if (p.Length < 1)
                    return "IPv4";
                return (p[0] >> 4) switch { 4 => Ip(p), 6 => Ip6(p), _ => "IPv4" };
            default:
                return "Link-other";
        }
    }

    private static string Ethernet(ReadOnlySpan<byte> p)
    {
        if (p.Length < 14)
            return "Ethernet";
        int off = 12;
        int type = BinaryPrimitives.ReadUInt16BigEndian(p[off..]);
        while (type is 0x8100 or 0x9100 or 0x9200 or 0x88a8)
        {
            if (p.Length < off + 6)
                return "Ethernet";
            off += 4;
            type = BinaryPrimitives.ReadUInt16BigEndian(p[off..]);
        }
        if (type <= 1500)
            return "Link-other"; // 802.3 + LLC
        return EtherType(type, p[(off + 2)..], sll: false);
    }

    private static string EtherType(int type, ReadOnlySpan<byte> p, bool sll)
    {
        if (sll && type == 0x8100)
        {
            if (p.Length < 4)
                return "Ethernet";
            return EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[2..]), p[4..], sll);
        }
        return type switch
        {
            0x0800 => Ip(p),
            0x86dd => Ip6(p),
            0x0806 or 0x8035 => "ARP",
            _ => type <= 1500 || DecodedEtherTypes.Contains(type) ? "Link-other" : "Ethernet",
        };
    }

    private static string Ip(ReadOnlySpan<byte> p)
    {
        if (p.Length < 20 || p[0] >> 4 != 4)
            return "IPv4";
        int hlen = (p[0] & 0xf) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (hlen < 20 || total < hlen || p.Length < hlen)
            return "IPv4";
        if ((BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x1fff) != 0)
            return "IPv4";
        var payload = p[hlen..Math.Min(p.Length, total)];
        return Transport(p[9], payload, v6: false);
    }

    private static string Ip6(ReadOnlySpan<byte> p)
    {
        if (p.Length < 40 || p[0] >> 4 != 6)
            return "IPv6";
        int nh = p[6];
        int off = 40;
        while (true)
        {
            switch (nh)
            {
                case 0:
                case 60:
                case 43:
                    if (p.Length < off + 2)
                        return "IPv6";
                    nh = p[off];
                    off += (p[off + 1] + 1) * 8;
                    continue;
                case 44:
                    if (p.Length < off + 8)
                        return "IPv6";
                    if ((BinaryPrimitives.ReadUInt16BigEndian(p[(off + 2)..]) & 0xfff8) != 0)
                        return "IPv6";
                    nh = p[off];
                    off += 8;
                    continue;
            }
            break;
        }
        if (off > p.Length)
            return "IPv6";
        return Transport(nh, p[off..], v6: true);
    }

    private static string Transport(int proto, ReadOnlySpan<byte> p, bool v6)
    {
        switch (proto)
        {
            case 6:
                if (p.Length < 20)
                    return "TCP";
                int sport = BinaryPrimitives.ReadUInt16BigEndian(p), dport = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
                int dataOffset = (p[12] >> 4) * 4;
                bool payload = p.Length > dataOffset;
                if (payload && (sport == 53 || dport == 53))
                    return "DNS";
                return payload && (TcpAppPorts.Contains(sport) || TcpAppPorts.Contains(dport)) ? "TCP-app" : "TCP";
            case 17:
                if (p.Length < 4)
                    return "UDP";
                int us = BinaryPrimitives.ReadUInt16BigEndian(p), ud = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
                if (us is 53 or 5353 || ud is 53 or 5353)
                    return "DNS";
                if (UdpAppPorts.Contains(us) || UdpAppPorts.Contains(ud) || us is >= 7000 and <= 7009
                    || ud is >= 7000 and <= 7009 || ud is 3456 or 4567 or 1985 or 3784 or 4784 or 6784 or 3785 || us == 49152)
                    return "UDP-app";
                return "UDP";
            case 1:
                return v6 ? "IPv6" : QuotingFamily(p, errorTypes: [3, 4, 5, 11, 12], v6: false) ?? "ICMP";
            case 58:
                return v6 ? QuotingFamily(p, errorTypes: [1, 2, 3, 4], v6: true) ?? "ICMPv6" : "IPv4";
            case 4:
                return Ip(p);
            case 41:
                return Ip6(p);
            default:
                // Protocols ip_demux_print hands to a printer; the rest end at the IP layer (" ip-proto-N len").
                return proto is 51 or 50 or 108 or 132 or 33 or 9 or 88 or 8 or 89 or 2 or 46 or 47 or 55 or 103 or 112
                    or 113 or 143 ? "IP-other" : v6 ? "IPv6" : "IPv4";
        }
    }

    /// <summary>
    /// An ICMP error quotes the datagram that caused it, and with -v tcpdump prints that datagram in full: when it
    /// is an application protocol's (AFS RX, SNMP, ...), the application printer writes those lines, so the packet
    /// counts in that application's family. Null when the quoted datagram is not an application's.
    /// </summary>
    private static string? QuotingFamily(ReadOnlySpan<byte> icmp, ReadOnlySpan<int> errorTypes, bool v6)
    {
        if (icmp.Length < 8 || !errorTypes.Contains(icmp[0]))
            return null;
        var quoted = icmp[8..];
        string family = v6 ? Ip6(quoted) : Ip(quoted);
        return family is "TCP-app" or "UDP-app" ? family : null;
    }
}
