namespace KdtCapture.Filters.Tests.Optimizer;

/// <summary>
/// Expressions for comparing the optimizer and linearizer with libpcap: hand-written ones covering
/// the language, long or-chains (long jumps), and seeded random combinations of the primitives.
/// Expressions a link type does not support are simply skipped on it.
/// </summary>
internal static class OptimizerCorpus
{
    public static readonly LinkType[] LinkTypes =
    [
        LinkType.EN10MB, LinkType.RAW, LinkType.IPV4, LinkType.IPV6, LinkType.LINUX_SLL, LinkType.LINUX_SLL2,
        LinkType.NULL, LinkType.LOOP, LinkType.IEEE802_11, LinkType.IEEE802_11_RADIO, LinkType.PPP,
    ];

    /// <summary>Primitives, also the leaves of the random combinations.</summary>
    public static readonly string[] Primitives =
    [
        "ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "sctp", "igmp", "pim", "vrrp", "carp", "ah", "esp",
        "host 10.0.0.1", "src host 10.0.0.1", "dst host 192.168.1.1", "ip host 1.2.3.4", "ip src 1.2.3.4",
        "net 10.0.0.0/8", "src net 172.16.0.0/12", "dst net 192.168.0.0 mask 255.255.0.0", "net 10", "net 192.168",
        "host ::1", "host fe80::1", "ip6 host 2001:db8::1", "net 2001:db8::/32", "src net fe80::/10", "ip6 dst ff02::1",
        "port 80", "src port 53", "dst port 443", "tcp port 22", "udp port 53", "tcp dst port 80", "udp src port 67",
        "sctp port 9", "port domain", "tcp port http",
        "portrange 1000-2000", "tcp src portrange 1-1023", "udp dst portrange 5000-6000", "ip6 and portrange 10-20",
        "less 100", "greater 1500", "len > 64", "len <= 128", "len != 60",
        "ip[0] & 0xf != 5", "ip[2:2] - ((ip[0]&0xf)<<2) > 100", "tcp[tcpflags] & (tcp-syn|tcp-ack) != 0",
        "tcp[13] = 0x12", "tcp[tcpflags] = tcp-syn", "tcp[tcpflags] & tcp-rst != 0", "udp[8:2] = 0x1234",
        "icmp[icmptype] = icmp-echo", "icmp[icmptype] != icmp-echoreply", "icmp[0] != 8", "ip[6:2] & 0x1fff = 0",
        "ip6[6] = 17", "ip6[40] = 128", "icmp6[icmp6type] = icmp6-echo", "ether[0] & 1 = 1", "ether[12:2] > 0x600",
        "ip[1] * 2 + 3 = 7", "ip[0] / 2 = 2", "ip[0] % 3 = 1", "ip[0] ^ 0xff = 0xbb", "-ip[0] = 0xffffffb0",
        "ip[ip[0]&0xf] = 1", "tcp[(tcp[12]>>4)*4] = 0x47", "len - 14 > 100", "ip[0:4] = 0x45000054",
        "(ip[2:2] - 20) * 8 < 1000", "ip[0] & 0x0f << 2 = 20", "ip[3] | 1 = 1", "tcp[0:2] > 1023",
        "udp[0:2] = udp[2:2]", "ip[2:2] > len", "ip[9] = 6 and ip[9] = 6", "ip[8] < 5", "ip[8] >= 64",
        "tcp[4:4] & 0xffff0000 = 0", "ip[0] & 0xf0 = 0x40", "ip[0] >> 4 = 4", "tcp[12] >> 4 > 5",
        "1 + 1 = 2", "2 * 3 = 7", "len = len", "ip[0] - ip[0] = 0", "ip[1] + 0 = 3", "ip[1] * 0 = 0", "ip[1] & 0 = 0",
        "ip[1] | 0 = 1", "ip[1] ^ 0 = 1", "ip[1] << 0 = 1", "ip[1] >> 0 = 1", "ip[1] - 0 = 1",
        "ether host 00:11:22:33:44:55", "ether src 01:02:03:04:05:06", "ether dst ff:ff:ff:ff:ff:ff",
        "ether broadcast", "ether multicast", "ip multicast", "ip6 multicast", "ether proto 0x88cc",
        "ip proto 47", "ip6 proto 58", "proto \\tcp", "ip proto \\udp", "ether proto \\ip6",
        "vlan", "vlan 100", "vlan and ip", "vlan 10 and vlan 20", "vlan and tcp port 80",
        "mpls", "mpls 1000", "mpls and ip", "mpls 5 and mpls 6", "pppoed", "pppoes", "pppoes 0x27", "pppoes and ip",
        "pppoes 3 and tcp",
        "llc", "stp", "ipx", "netbeui", "iso", "clnp", "esis", "isis", "decnet", "atalk", "aarp", "decnet host 1.2",
        "decnet src 10.23",
        "wlan type mgt", "wlan type data", "type ctl subtype ack", "subtype beacon", "wlan subtype probe-req",
        "dir fromds", "dir tods", "wlan host 00:11:22:33:44:55", "wlan addr1 00:11:22:33:44:55",
        "wlan ra 00:11:22:33:44:55", "wlan ta 00:11:22:33:44:55", "wlan src 00:11:22:33:44:55",
        "inbound", "outbound",
        "tcp and (port 80 or port 443)", "not ip", "not tcp", "ip and not tcp", "udp or icmp",
    ];

    private static readonly string[] HandWritten =
    [
        "host 10.0.0.1 and (port 80 or port 443)",
        "tcp and not port 22 and not port 53",
        "src host 10.0.0.1 and dst net 192.168.0.0/16",
        "ip and (tcp or udp) and not icmp",
        "not (host 10.0.0.1 or host 10.0.0.2)",
        "(tcp[tcpflags] & tcp-syn != 0) and (tcp[tcpflags] & tcp-ack = 0)",
        "tcp port 80 and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)",
        "icmp or icmp6 or arp",
        "ip6 and tcp and port 443",
        "host 10.0.0.1 or host 10.0.0.2 or host 10.0.0.3",
        "port 1 or port 2 or port 3 or port 4",
        "tcp port 1 and tcp port 2",
        "udp port 53 or tcp port 53",
        "ip and ip and ip",
        "tcp or tcp",
        "not not ip",
        "ether src 00:11:22:33:44:55 or ether dst 00:11:22:33:44:55",
        "vlan and (ip or ip6)",
        "vlan 1 or vlan 2",
        "mpls and mpls and ip",
        "pppoes and (tcp port 80 or udp port 53)",
        "ip[0] & 0xf > 5 and tcp",
        "len > 100 and len < 200",
        "greater 64 and less 1500",
        "host 1.2.3.4 and not host 5.6.7.8 and port 80",
        "(ip or ip6) and (tcp or udp) and (port 53 or port 80)",
        "ip6[6] = 6 or ip6[6] = 17",
        "tcp[2:2] = 80 or tcp[0:2] = 80",
        "ip[0] / (1 - 1) = 0",
        "ip[0] % (2 - 2) = 0",
        "ip[0] << (2 + 38) = 0",
        "ip[0] >> (1 + 32) = 0",
        "ip[0] + 1 - 1 = ip[0]",
        "1 = 2",
        "ip and not ip",
        "tcp and udp",
        "ip[0] = 1 and ip[0] = 2",
        "len < 0",
        "ether[0] = 1 or ether[0] = 1",
        "icmp[icmptype] = icmp-echo or icmp[icmptype] = icmp-echoreply",
        "arp or rarp or ip",
        "udp and udp[8] = 0x45 and udp[9] = 0",
        "ip[2:2] + ip[4:2] * 2 - ip[6:2] / 4 > 1000",
        "x = 1",
        "ip[1] = 1 and ip[1] & 0 = 0",
        "ip6 protochain 6", "ip protochain 17", "protochain 6", "ip6 protochain 6 or tcp port 80",
        "geneve", "geneve 10", "geneve and ip", "geneve 10 and ip", "ip and geneve",
        "wlan type data and ip", "ip and wlan type data",
        // Known to exercise optimizer corner cases (from libpcap's bug tracker).
        "(ip[12:4] = 0x0a0a0a0a or ip[16:4] = 0x0a0a0a0a) and (not ((ip[12:4] = 0x0a0a0a0b or ip[16:4] = 0x0a0a0a0b)))",
        "len >= 2147483648 & 2147483648 or len < 0 | 2147483648",
        "len <= 4294967295 & 2147483647 and len > 2147483647 + 0",
        "tcp or 1/0 == 0",
        "tcp or tcp[100000] != 0",
        "proto ip and dst port 179",
        "ip[4:2] & 0x0fff >= 2140 and ip[4:2] & 0x0fff <= 2147",
        "src net 10.0.1.0/24 or src net 10.0.2.0/24",
        "src port 25 and (src net 10.0.1.0/24 or src net 10.0.2.0/24)",
        "(host 10.0.0.1 or host 10.0.0.2) and not (host 10.0.0.3 or host 10.0.0.4)",
        "(tcp port 80 or tcp port 8080) and not (tcp port 80 or tcp port 443)",
        "ip[0] = 0x45 or ip[0] = 0x46 or ip[0] = 0x45",
        "ether[12:2] = 0x800 and ether[12:2] = 0x800 and ip[9] = 6",
    ];

    private static readonly Lazy<List<string>> All = new(Build);

    public static IReadOnlyList<string> Expressions => All.Value;

    private static List<string> Build()
    {
        var list = new List<string>(Primitives);
        list.AddRange(HandWritten);
        list.AddRange(LongChains());
        list.AddRange(RandomCombinations(seed: 20240501, count: 900));
        list.AddRange(RandomRelations(seed: 7, count: 300));
        return list;
    }

    /// <summary>Or/and chains long enough that some branches need a <c>ja</c>.</summary>
    private static IEnumerable<string> LongChains()
    {
        foreach (int count in new[] { 20, 40, 70, 120 })
        {
            yield return string.Join(" or ", Enumerable.Range(1, count).Select(i => $"host 10.0.{i / 250}.{i % 250 + 1}"));
            yield return string.Join(" or ", Enumerable.Range(1, count).Select(i => $"port {i}"));
            yield return "tcp and (" + string.Join(" or ", Enumerable.Range(1, count).Select(i => $"dst port {1000 + i}")) + ")";
            yield return string.Join(" and ", Enumerable.Range(1, count).Select(i => $"not host 192.168.{i / 250}.{i % 250 + 1}"));
        }
        yield return string.Join(" or ", Enumerable.Range(1, 60).Select(i => $"(src host 10.1.1.{i} and dst port {i})"));
        yield return string.Join(" or ", Enumerable.Range(1, 50).Select(i => $"ip6 host 2001:db8::{i:x}"));
        yield return string.Join(" or ", Enumerable.Range(1, 80).Select(i => $"ether host 00:00:00:00:00:{i:x2}"));
        yield return "(" + string.Join(" or ", Enumerable.Range(1, 40).Select(i => $"net 10.{i}.0.0/16")) + ") and tcp";
        yield return string.Join(" or ", Enumerable.Range(1, 100).Select(i => $"vlan {i}"));
    }

    private static IEnumerable<string> RandomCombinations(int seed, int count)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
            yield return Combine(random, random.Next(1, 5));
    }

    private static readonly string[] ArithmeticLeaves =
    [
        "ip[0]", "ip[2:2]", "ip[12:4]", "ip[9]", "tcp[13]", "tcp[0:2]", "udp[2:2]", "ether[0]", "ether[12:2]",
        "ip6[6]", "icmp[0]", "len", "0", "1", "2", "7", "31", "32", "255", "0x1fff", "0xffffffff", "0x80000000",
    ];

    private static readonly string[] ArithmeticOperators = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"];

    private static readonly string[] Relations = ["=", "!=", "<", "<=", ">", ">="];

    /// <summary>Comparisons of random arithmetic, alone or joined, to drive constant folding and the peephole rules.</summary>
    private static IEnumerable<string> RandomRelations(int seed, int count)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            string relation = Relation(random);
            if (random.Next(3) == 0)
                relation += (random.Next(2) == 0 ? " and " : " or ") + Relation(random);
            yield return relation;
        }
    }

    private static string Relation(Random random) =>
        $"{Arithmetic(random, random.Next(0, 3))} {Relations[random.Next(Relations.Length)]} {Arithmetic(random, random.Next(0, 2))}";

    private static string Arithmetic(Random random, int depth)
    {
        if (depth == 0)
        {
            string leaf = ArithmeticLeaves[random.Next(ArithmeticLeaves.Length)];
            return random.Next(10) == 0 ? $"-{leaf}" : leaf;
        }
        string op = ArithmeticOperators[random.Next(ArithmeticOperators.Length)];
        return $"({Arithmetic(random, depth - 1)} {op} {Arithmetic(random, random.Next(depth))})";
    }

    private static string Combine(Random random, int depth)
    {
        if (depth == 0 || random.Next(4) == 0)
        {
            string leaf = Primitives[random.Next(Primitives.Length)];
            return random.Next(6) == 0 ? $"not ({leaf})" : $"({leaf})";
        }
        string left = Combine(random, depth - 1);
        string right = Combine(random, depth - 1);
        string op = random.Next(3) switch { 0 => "and", 1 => "or", _ => random.Next(2) == 0 ? "&&" : "||" };
        string combined = $"{left} {op} {right}";
        return random.Next(5) == 0 ? $"not ({combined})" : $"({combined})";
    }
}
