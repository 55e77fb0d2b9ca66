using System.Text.RegularExpressions;
using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Corpus;

/// <summary>The expression corpus itself: big enough, no duplicates, "error:" marks as libpcap decides, the language covered.</summary>
public sealed partial class CorpusTests
{
    private static IReadOnlyList<CorpusEntry> Entries => FilterCorpus.Entries;

    [Fact]
    public void Corpus_has_at_least_600_distinct_expressions_in_named_groups()
    {
        Assert.True(Entries.Count >= 600, $"the corpus has {Entries.Count} expressions");
        var duplicates = Entries.GroupBy(e => e.Expression).Where(g => g.Count() > 1)
            .Select(g => $"{FilterCorpus.Quote(g.Key)} on lines {string.Join(", ", g.Select(e => e.Line))}").ToList();
        Assert.True(duplicates.Count == 0, "duplicate expressions:\n" + string.Join("\n", duplicates));
        var ungrouped = Entries.Where(e => e.Group.Length == 0).Select(e => e.ToString()).ToList();
        Assert.True(ungrouped.Count == 0, "expressions before the first ### heading:\n" + string.Join("\n", ungrouped));
        int errors = Entries.Count(e => e.ExpectError);
        Assert.InRange(errors, 100, Entries.Count - 400);
    }

    [Fact]
    public void Error_marks_are_what_libpcap_decides()
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        var problems = new List<string>();
        foreach (var e in Entries)
        {
            var accepted = FilterDifferential.LinkTypes
                .Where(lt => FilterDifferential.Oracle(e.Expression, lt, optimize: false).Succeeded).ToList();
            if (e.ExpectError && accepted.Count > 0)
                problems.Add($"{e}: marked error: but libpcap compiles it on {string.Join(",", accepted.Select(FilterDifferential.NameOf))}");
            if (!e.ExpectError && accepted.Count == 0)
            {
                string why = FilterDifferential.Oracle(e.Expression, FilterDifferential.LinkTypes[0], optimize: false).Error!;
                problems.Add($"{e}: libpcap refuses it on every link type ({why}) but it is not marked error:");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_link_type_meets_expressions_it_compiles_and_expressions_it_refuses()
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        var thin = new List<string>();
        foreach (var lt in FilterDifferential.LinkTypes)
        {
            int ok = Entries.Count(e => FilterDifferential.Oracle(e.Expression, lt, optimize: false).Succeeded);
            int optimizedAway = Entries.Count(e => FilterDifferential.Oracle(e.Expression, lt, optimize: false).Succeeded
                                                   && !FilterDifferential.Oracle(e.Expression, lt, optimize: true).Succeeded);
            int refusedHereOnly = Entries.Count(e => !e.ExpectError && !FilterDifferential.Oracle(e.Expression, lt, optimize: false).Succeeded);
            if (ok < 500 || optimizedAway < 5 || refusedHereOnly < 20)
                thin.Add($"{FilterDifferential.NameOf(lt)}: {ok} compile, {optimizedAway} only without the optimizer, {refusedHereOnly} valid elsewhere but refused here");
        }
        Assert.True(thin.Count == 0, "link types the corpus barely exercises:\n" + string.Join("\n", thin));
    }

    /// <summary>
    /// The words and operators of pcap-filter(7) as libpcap 1.10's scanner knows them; each must occur in the corpus
    /// (as a token of some expression), so that no part of the language goes untested.
    /// </summary>
    private static readonly string[] Keywords =
    [
        // qualifiers
        "host", "net", "mask", "port", "portrange", "proto", "protochain", "gateway", "src", "dst",
        "less", "greater", "len", "length", "byte", "broadcast", "multicast", "inbound", "outbound", "ifindex",
        // protocols
        "ether", "link", "ppp", "slip", "fddi", "tr", "wlan", "radio", "ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6",
        "sctp", "igmp", "igrp", "pim", "vrrp", "carp", "ah", "esp", "atalk", "aarp", "decnet", "lat", "sca", "moprc", "mopdl",
        "iso", "esis", "es-is", "isis", "is-is", "clnp", "l1", "l2", "iih", "lsp", "snp", "csnp", "psnp", "stp", "ipx", "netbeui",
        // encapsulations
        "vlan", "mpls", "pppoed", "pppoes", "geneve", "llc",
        // llc frame types
        "i", "s", "u", "rr", "rnr", "rej", "ui", "ua", "disc", "dm", "sabme", "test", "xid", "frmr",
        // 802.11
        "type", "subtype", "dir", "direction", "ra", "ta", "addr1", "addr2", "addr3", "addr4",
        "address1", "address2", "address3", "address4", "mgt", "ctl", "data", "beacon", "probe-req", "probe-resp",
        "assoc-req", "assoc-resp", "reassoc-req", "reassoc-resp", "atim", "disassoc", "auth", "deauth", "ps-poll", "rts",
        "cts", "ack", "cf-end", "cf-end-ack", "data-cf-ack", "data-cf-poll", "data-cf-ack-poll", "null", "cf-ack", "cf-poll",
        "cf-ack-poll", "qos-data", "qos-data-cf-ack", "qos-data-cf-poll", "qos-data-cf-ack-poll", "qos", "qos-cf-poll",
        "qos-cf-ack-poll", "nods", "tods", "fromds", "dstods",
        // named constants
        "tcpflags", "tcp-fin", "tcp-syn", "tcp-rst", "tcp-push", "tcp-ack", "tcp-urg", "tcp-ece", "tcp-cwr",
        "icmptype", "icmpcode", "icmp-echoreply", "icmp-unreach", "icmp-sourcequench", "icmp-redirect", "icmp-echo",
        "icmp-routeradvert", "icmp-routersolicit", "icmp-timxceed", "icmp-paramprob", "icmp-tstamp", "icmp-tstampreply",
        "icmp-ireq", "icmp-ireqreply", "icmp-maskreq", "icmp-maskreply", "icmp6type", "icmp6code", "icmp6-echo", "icmp6-echoreply",
        "icmp6-neighborsolicit", "icmp6-neighboradvert", "icmp6-routersolicit", "icmp6-routeradvert",
        // boolean words
        "and", "or", "not",
        // other link types' primitives (errors on ours)
        "on", "ifname", "rset", "ruleset", "rulenum", "srnr", "subrulenum", "reason", "action", "lane", "metac", "bcc", "oam",
        "oamf4", "oamf4ec", "oamf4sc", "sc", "ilmic", "vpi", "vci", "connectmsg", "metaconnect", "fisu", "lssu", "lsu", "msu",
        "hfisu", "hlssu", "hmsu", "sio", "opc", "dpc", "sls", "hsio", "hopc", "hdpc", "hsls",
        // names looked up in /etc files
        "localhost", "http", "domain", "ssh", "ftp-data", "ospf", "gre", "loopback",
    ];

    private static readonly string[] Operators =
        ["&&", "||", "!", "(", ")", "[", "]", ":", "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "=", "==", "!=", "<", "<=", ">", ">=", "\\"];

    [GeneratedRegex(@"[A-Za-z0-9_.\-]+")]
    private static partial Regex Word();

    [Fact]
    public void Corpus_uses_every_word_and_operator_of_the_language()
    {
        var words = new HashSet<string>(Entries.SelectMany(e => Word().Matches(e.Expression).Select(m => m.Value)), StringComparer.Ordinal);
        var missingWords = Keywords.Where(k => !words.Contains(k)).ToList();
        var missingOps = Operators.Where(op => !Entries.Any(e => !e.ExpectError && e.Expression.Contains(op, StringComparison.Ordinal))).ToList();
        Assert.True(missingWords.Count == 0 && missingOps.Count == 0,
            $"not in the corpus: words {string.Join(" ", missingWords)}; operators {string.Join(" ", missingOps)}");
    }

    [Fact]
    public void Corpus_has_ipv6_hex_octal_and_odd_spacing()
    {
        Assert.Contains(Entries, e => e.Expression.Contains("::", StringComparison.Ordinal) && !e.ExpectError);
        Assert.Contains(Entries, e => e.Expression.Contains("0x", StringComparison.Ordinal) && !e.ExpectError);
        Assert.Contains(Entries, e => Regex.IsMatch(e.Expression, @"(?<![0-9.x])0[0-7]+\b") && !e.ExpectError);
        Assert.Contains(Entries, e => e.Expression.Contains('\t', StringComparison.Ordinal));
        Assert.Contains(Entries, e => e.Expression.Contains('\n', StringComparison.Ordinal));
        Assert.Contains(Entries, e => e.Expression.Length == 0);
        Assert.Contains(Entries, e => e.Expression != e.Expression.Trim());
    }

    [Fact]
    public void Corpus_lines_read_back_as_written()
    {
        var text = """
            ### g1
            # a comment
            tcp  and   port 80
            error: ip[1:3] = 0
              "  tcp\t"
            "\"tcp\""
            error: "\\tcp"
            ""
            proto \tcp
            ### g2
            "a \\ b \x"
            """;
        var entries = FilterCorpus.Parse(text.Split('\n'));
        Assert.Equal(
            [
                ("tcp  and   port 80", false, "g1", 3),
                ("ip[1:3] = 0", true, "g1", 4),
                ("  tcp\t", false, "g1", 5),
                ("\"tcp\"", false, "g1", 6),
                ("\\tcp", true, "g1", 7),
                ("", false, "g1", 8),
                ("proto \\tcp", false, "g1", 9),
                ("a \\ b \\x", false, "g2", 11),
            ],
            entries.Select(e => (e.Expression, e.ExpectError, e.Group, e.Line)));
        foreach (var e in Entries)
        {
            var back = FilterCorpus.Parse([FilterCorpus.Quote(e.Expression)]);
            Assert.Equal(e.Expression, Assert.Single(back).Expression);
        }
        Assert.Equal(Entries.Count, FilterCorpus.Load(FilterCorpus.DefaultPath).Count);
    }
}
