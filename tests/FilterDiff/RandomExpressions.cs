using System.Globalization;

namespace KdtCapture.FilterDiff;

/// <summary>
/// Random pcap-filter expressions drawn from the whole language (FilterDiff --random N): primitives of every kind,
/// arithmetic relations over packet loads, encapsulations, 802.11, boolean structure with implicit qualifier
/// carry-over, and a share of damaged expressions for the error paths. Deterministic for a seed.
/// </summary>
internal sealed class RandomExpressions(int seed)
{
    private readonly Random _r = new(seed);

    private static readonly string[] Protos = ["ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "sctp", "igmp", "igrp", "pim", "vrrp", "carp", "ah", "esp",
        "atalk", "aarp", "decnet", "lat", "sca", "moprc", "mopdl", "iso", "esis", "isis", "clnp", "l1", "l2", "iih", "lsp", "snp", "csnp", "psnp", "stp", "ipx", "netbeui"];
    private static readonly string[] LoadProtos = ["ether", "link", "ip", "ip6", "tcp", "udp", "icmp", "icmp6", "arp", "rarp", "sctp", "igmp", "pim", "vrrp", "radio", "ppp", "wlan"];
    private static readonly string[] Services = ["http", "https", "domain", "ssh", "telnet", "ftp", "ftp-data", "smtp", "ntp", "snmp", "bgp", "echo", "syslog", "ldap"];
    private static readonly string[] IpProtoNames = ["ospf", "gre", "egp", "rsvp", "ipip", "\\tcp", "\\udp", "\\icmp", "\\sctp", "\\pim", "\\igmp", "\\ah", "\\esp", "\\vrrp"];
    private static readonly string[] EtherProtoNames = ["\\ip", "\\ip6", "\\arp", "\\rarp", "\\atalk", "\\aarp", "\\decnet", "\\sca", "\\lat", "\\mopdl", "\\moprc", "\\iso", "\\stp", "\\ipx", "\\netbeui"];
    private static readonly string[] TcpFlags = ["tcp-fin", "tcp-syn", "tcp-rst", "tcp-push", "tcp-ack", "tcp-urg", "tcp-ece", "tcp-cwr"];
    private static readonly string[] IcmpTypes = ["icmp-echoreply", "icmp-unreach", "icmp-sourcequench", "icmp-redirect", "icmp-echo", "icmp-routeradvert",
        "icmp-routersolicit", "icmp-timxceed", "icmp-paramprob", "icmp-tstamp", "icmp-tstampreply", "icmp-ireq", "icmp-ireqreply", "icmp-maskreq", "icmp-maskreply"];
    private static readonly string[] Icmp6Types = ["icmp6-echo", "icmp6-echoreply", "icmp6-neighborsolicit", "icmp6-neighboradvert", "icmp6-routersolicit",
        "icmp6-routeradvert", "icmp6-redirect", "icmp6-destinationunreach", "icmp6-packettoobig", "icmp6-timeexceeded", "icmp6-parameterproblem"];
    private static readonly string[] LlcTypes = ["i", "s", "u", "rr", "rnr", "rej", "ui", "ua", "disc", "dm", "sabme", "test", "xid", "frmr"];
    private static readonly string[] WlanTypes = ["mgt", "ctl", "data"];
    private static readonly string[] MgtSub = ["assoc-req", "assoc-resp", "reassoc-req", "reassoc-resp", "probe-req", "probe-resp", "beacon", "atim", "disassoc", "auth", "deauth"];
    private static readonly string[] CtlSub = ["ps-poll", "rts", "cts", "ack", "cf-end", "cf-end-ack"];
    private static readonly string[] DataSub = ["data", "data-cf-ack", "data-cf-poll", "data-cf-ack-poll", "null", "cf-ack", "cf-poll", "cf-ack-poll",
        "qos-data", "qos-data-cf-ack", "qos-data-cf-poll", "qos-data-cf-ack-poll", "qos", "qos-cf-poll", "qos-cf-ack-poll"];
    private static readonly string[] Dirs = ["nods", "tods", "fromds", "dstods"];
    private static readonly string[] Relops = [">", "<", ">=", "<=", "=", "==", "!="];
    private static readonly string[] Arith = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"];
    private static readonly string[] DirQuals = ["src", "dst", "src or dst", "src and dst"];

    private T Pick<T>(IReadOnlyList<T> items) => items[_r.Next(items.Count)];
    private bool Chance(double p) => _r.NextDouble() < p;
    private string N(long max) => Number(_r.NextInt64(0, max + 1));

    /// <summary>A number in decimal, sometimes hex or octal as the scanner reads them.</summary>
    private string Number(long v) => _r.Next(8) switch
    {
        0 => "0x" + v.ToString("x", CultureInfo.InvariantCulture),
        1 when v > 0 => "0" + Convert.ToString(v, 8),
        _ => v.ToString(CultureInfo.InvariantCulture),
    };

    private string Ipv4() => _r.Next(6) switch
    {
        0 => "localhost",
        1 => $"192.168.{_r.Next(256)}.{_r.Next(256)}",
        _ => $"10.{_r.Next(256)}.{_r.Next(256)}.{_r.Next(256)}",
    };

    private string Ipv6() => _r.Next(4) switch
    {
        0 => "::1",
        1 => $"fe80::{_r.Next(65536):x}",
        2 => $"2001:db8:{_r.Next(65536):x}::{_r.Next(65536):x}",
        _ => $"ff02::{_r.Next(16):x}",
    };

    private string Mac() => _r.Next(5) switch
    {
        0 => "ff:ff:ff:ff:ff:ff",
        1 => string.Join("-", Enumerable.Range(0, 6).Select(_ => _r.Next(256).ToString("x2", CultureInfo.InvariantCulture))),
        2 => $"{_r.Next(65536):x4}.{_r.Next(65536):x4}.{_r.Next(65536):x4}",
        _ => string.Join(":", Enumerable.Range(0, 6).Select(_ => _r.Next(256).ToString("x", CultureInfo.InvariantCulture))),
    };

    private string Net4()
    {
        int bits = _r.Next(0, 33);
        uint addr = bits == 0 ? 0 : (uint)_r.NextInt64(0, 1L << 32) & (uint)(0xffffffffUL << (32 - bits));
        string dotted = $"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}";
        return _r.Next(5) switch
        {
            0 => $"{addr >> 24}",
            1 => $"{addr >> 24}.{(addr >> 16) & 255}",
            2 => $"{dotted} mask {IPMask(bits)}",
            3 when Chance(0.1) => $"{dotted}/{Math.Min(32, bits + 1 + _r.Next(3))}",
            _ => $"{dotted}/{bits}",
        };
    }

    private static string IPMask(int bits)
    {
        uint m = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
        return $"{m >> 24}.{(m >> 16) & 255}.{(m >> 8) & 255}.{m & 255}";
    }

    private string Net6() => _r.Next(3) switch
    {
        0 => $"fe80::/{_r.Next(8, 65)}",
        1 => $"2001:db8::/{_r.Next(16, 129)}",
        _ => "::/0",
    };

    private string Port() => Chance(0.25) ? Pick(Services) : N(Chance(0.05) ? 70000 : 65535);

    /// <summary>One primitive; <paramref name="carry"/> names what an implicit carry-over may repeat.</summary>
    private string Primitive(out string? carry)
    {
        carry = null;
        string Dir() => Chance(0.5) ? Pick(DirQuals) + " " : "";
        switch (_r.Next(32))
        {
            case 0:
            case 1:
            {
                string q = (Chance(0.3) ? Pick(new[] { "ip ", "arp ", "rarp ", "" }) : "") + Dir();
                carry = "host";
                return $"{q}host {Ipv4()}";
            }
            case 2:
                carry = "host";
                return $"{(Chance(0.3) ? "ip6 " : "")}{Dir()}host {Ipv6()}";
            case 3:
                carry = "net";
                return $"{(Chance(0.2) ? "ip " : "")}{Dir()}net {Net4()}";
            case 4:
                carry = "net";
                return $"{(Chance(0.2) ? "ip6 " : "")}{Dir()}net {Net6()}";
            case 5:
            case 6:
                carry = "port";
                return $"{(Chance(0.6) ? Pick(new[] { "tcp ", "udp ", "sctp " }) : "")}{Dir()}port {Port()}";
            case 7:
                return $"{(Chance(0.6) ? Pick(new[] { "tcp ", "udp ", "sctp " }) : "")}{Dir()}portrange {N(65535)}-{N(65535)}";
            case 8:
                carry = "ether host";
                return $"ether {Pick(new[] { "host", "src", "dst", "src host", "dst host" })} {Mac()}";
            case 9:
                return Pick(new[] { "ether broadcast", "ether multicast", "broadcast", "multicast", "ip broadcast", "ip multicast", "ip6 multicast" });
            case 10:
                return $"ether proto {(Chance(0.5) ? Pick(EtherProtoNames) : Number(_r.Next(2) == 0 ? _r.Next(1501) : _r.Next(65536)))}";
            case 11:
            case 12:
                return Pick(Protos);
            case 13:
                return $"{Pick(new[] { "ip", "ip6", "" })} proto {(Chance(0.4) ? Pick(IpProtoNames) : N(255))}".TrimStart();
            case 14:
                return $"{Pick(new[] { "ip6 ", "ip ", "" })}protochain {(Chance(0.3) ? Pick(new[] { "\\tcp", "\\udp", "gre" }) : N(255))}";
            case 15:
                return Pick(new[] { $"less {N(2000)}", $"greater {N(2000)}", $"len {Pick(Relops)} {N(2000)}", $"length {Pick(Relops)} {N(2000)}" });
            case 16:
            case 17:
            case 18:
                return $"{ArithExpr(3)} {Pick(Relops)} {ArithExpr(2)}";
            case 19:
                return _r.Next(4) switch
                {
                    0 => $"tcp[tcpflags] & ({Pick(TcpFlags)}|{Pick(TcpFlags)}) {Pick(new[] { "!=", "=" })} {(Chance(0.5) ? "0" : Pick(TcpFlags))}",
                    1 => $"icmp[icmptype] {Pick(new[] { "=", "!=" })} {Pick(IcmpTypes)}",
                    2 => $"icmp6[icmp6type] {Pick(new[] { "=", "!=" })} {Pick(Icmp6Types)}",
                    _ => $"icmp[icmpcode] = {N(15)}",
                };
            case 20:
                return Pick(new[] { "vlan", $"vlan {N(4095)}", "mpls", $"mpls {N(1048575)}", "pppoed", "pppoes", $"pppoes {N(65535)}", "geneve", $"geneve {N(16777215)}" });
            case 21:
                return Chance(0.5) ? "llc" : $"llc {Pick(LlcTypes)}";
            case 22:
            {
                string t = Pick(WlanTypes);
                string[] subs = t == "mgt" ? MgtSub : t == "ctl" ? CtlSub : DataSub;
                return _r.Next(4) switch
                {
                    0 => $"type {t}",
                    1 => $"type {t} subtype {Pick(subs)}",
                    2 => $"subtype {Pick(subs)}",
                    _ => $"dir {(Chance(0.7) ? Pick(Dirs) : N(3))}",
                };
            }
            case 23:
                carry = "wlan addr";
                return $"wlan {Pick(new[] { "host", "src", "dst", "ra", "ta", "addr1", "addr2", "addr3", "addr4" })} {Mac()}";
            case 24:
                return Pick(new[] { "inbound", "outbound", $"ifindex {N(10)}" });
            case 25:
                return $"decnet {Pick(new[] { "host", "src", "dst" })} {_r.Next(64)}.{_r.Next(1024)}";
            case 26:
                return $"byte {N(40)} {Pick(new[] { "=", "<", ">", "&", "|" })} {N(255)}";
            case 27:
            {
                carry = "host";
                string d = Dir();
                return d.Length > 0 ? d + Ipv4() : "host " + Ipv4();
            }
            case 28:
                // Parenthesised ids and "not" inside an id: "host (a or not b)", "port (80 or 443)".
                return _r.Next(3) switch
                {
                    0 => $"{Dir()}host ({Ipv4()} {Pick(new[] { "or", "and" })} {(Chance(0.3) ? "not " : "")}{Ipv4()})",
                    1 => $"{(Chance(0.5) ? Pick(new[] { "tcp ", "udp " }) : "")}port ({Port()} or {Port()})",
                    _ => Chance(0.5) ? $"host not {Ipv4()}" : $"{Pick(new[] { "tcp ", "udp ", "" })}port not {Port()}",
                };
            case 29:
                // Qualifier combinations, many of them refused: "tcp host", "ether net", "arp port".
            {
                // (Values are numeric or local names: an unknown host name would cost a DNS query per compile.)
                string q = Pick(new[] { "host", "net", "port", "portrange", "proto", "protochain", "broadcast", "multicast" });
                string v = q switch
                {
                    "host" => _r.Next(3) switch { 0 => Ipv4(), 1 => Ipv6(), _ => Mac() },
                    "net" => Chance(0.5) ? Net4() : Net6(),
                    "port" => Port(),
                    "portrange" => $"{N(100)}-{N(200)}",
                    "proto" or "protochain" => N(255),
                    _ => "",
                };
                return $"{Pick(Protos)} {Pick(new[] { "", "src ", "dst " })}{q} {v}".TrimEnd();
            }
            default:
                return $"{Pick(new[] { "tcp", "udp" })} {Pick(new[] { "src", "dst" })} port {Port()}";
        }
    }

    private string ArithExpr(int depth)
    {
        if (depth <= 0 || Chance(0.35))
        {
            return _r.Next(5) switch
            {
                0 => N(Chance(0.8) ? 255 : 0xffffffffL),
                1 => "len",
                _ => Load(depth - 1),
            };
        }
        return _r.Next(8) switch
        {
            0 => $"-{ArithExpr(depth - 1)}",
            1 => $"({ArithExpr(depth - 1)})",
            _ => $"{ArithExpr(depth - 1)} {Pick(Arith)} {ArithExpr(depth - 1)}",
        };
    }

    private string Load(int depth)
    {
        string proto = Pick(LoadProtos);
        string index = depth > 0 && Chance(0.2) ? ArithExpr(depth - 1) : N(Chance(0.9) ? 40 : 100000);
        string size = _r.Next(4) switch { 0 => ":1", 1 => ":2", 2 => ":4", _ => "" };
        return $"{proto}[{index}{size}]";
    }

    private string Expr(int depth)
    {
        if (depth <= 0 || Chance(0.3))
        {
            string p = Primitive(out string? carry);
            // Implicit qualifier carry-over: "host a or b", "port 80 or 443".
            if (carry is not null && Chance(0.25))
            {
                string more = carry switch
                {
                    "host" => Ipv4(),
                    "net" => Net4(),
                    "port" => Port(),
                    "ether host" or "wlan addr" => Mac(),
                    _ => "",
                };
                p += $" {Pick(new[] { "or", "and", "and not", "||" })} {more}";
            }
            return p;
        }
        return _r.Next(9) switch
        {
            0 => $"not {Expr(depth - 1)}",
            1 => $"!{Expr(depth - 1)}",
            2 => $"({Expr(depth - 1)})",
            3 => $"{Expr(depth - 1)} && {Expr(depth - 1)}",
            4 => $"{Expr(depth - 1)} || {Expr(depth - 1)}",
            5 or 6 => $"{Expr(depth - 1)} and {Expr(depth - 1)}",
            _ => $"{Expr(depth - 1)} or {Expr(depth - 1)}",
        };
    }

    private static readonly string[] Junk = ["and", "or", "not", "(", ")", "[", "]", "&&", "=", "+", ":", "-"];

    /// <summary>
    /// One expression; about one in twelve is damaged to reach the error paths: a value dropped, a keyword doubled or a
    /// stray operator inserted. (Never a word moved into an address's place: unknown host names cost a DNS query each.)
    /// </summary>
    public string Next()
    {
        string e = Expr(_r.Next(1, 5));
        if (Chance(1.0 / 12))
        {
            var tokens = e.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
            var values = Enumerable.Range(0, tokens.Count).Where(i => tokens[i].Any(char.IsAsciiDigit)).ToList();
            var words = Enumerable.Range(0, tokens.Count).Where(i => tokens[i].All(char.IsAsciiLetterLower)).ToList();
            int choice = _r.Next(3);
            if (choice == 0 && values.Count > 0)
                tokens.RemoveAt(Pick(values));
            else if (choice == 1 && words.Count > 0)
            {
                int i = Pick(words);
                tokens.Insert(i, tokens[i]);
            }
            else
                tokens.Insert(_r.Next(tokens.Count + 1), Pick(Junk));
            e = string.Join(' ', tokens);
        }
        return e;
    }

    public List<string> Take(int count)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<string>(count);
        int attempts = 0;
        while (list.Count < count && attempts++ < count * 20)
        {
            string e = Next();
            if (seen.Add(e))
                list.Add(e);
        }
        return list;
    }
}
