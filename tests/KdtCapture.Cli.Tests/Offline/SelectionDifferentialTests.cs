namespace KdtCapture.Cli.Tests.Offline;

/// <summary>
/// <c>kdt capture -r X -w Y EXPR</c> selects the same packets as <c>tcpdump -r X -w Y EXPR</c>:
/// both outputs are read back and compared packet by packet (bytes, wire length, time stamp to the
/// nanosecond; tcpdump writes with --nano so that it keeps what the input holds).
/// </summary>
public sealed class SelectionDifferentialTests
{
    public static readonly TheoryData<string> Files =
    [
        "mptcp-v0.pcap", "afs.pcap", "arp-oobr.pcap", "pim-packet-assortment.pcap", "of13_ericsson.pcapng",
        "ssh.pcap", "edns-opts.pcap", "dhcp-rfc4388.pcap", "resp_1_benchmark.pcap", "forces3.pcap",
        "icmp6-rfc8335.pcap", "vrrp.pcap", "erspan-type-ii-3.pcap", "802.1ad_QinQ.pcap", "dns-badcookie.pcap",
        "OSPFv3_NBMA_adjacencies.pcap", "ISIS_p2p_adjacency.pcap", "nhrp.pcapng", "bgp-orf.pcapng", "bootp_asan.pcap",
    ];

    public static readonly string[] Expressions =
    [
        "", "tcp", "udp", "tcp port 80 or tcp port 443", "ip6", "icmp or icmp6", "arp", "vlan", "not ip",
        "greater 200", "ip[8] < 64", "udp port 53", "tcp[tcpflags] & tcp-syn != 0", "ether multicast",
    ];

    [Theory]
    [MemberData(nameof(Files))]
    public void SameSelectionAsTcpdump(string file)
    {
        Tcpdump.RequireInstalled();
        string input = Corpus.Tcpdump(file);
        using var dir = new TempDir();
        foreach (string expression in Expressions)
            AssertSameSelection(input, expression, dir);
    }

    /// <summary>
    /// Captures whose time stamps a classic pcap file (tcpdump's output) cannot hold as kdt's pcapng
    /// does: fractions of a second of a million microseconds or more (kdt carries the time they
    /// mean into the seconds; tcpdump copies the fields), and times after 2106 (tcpdump's 32-bit
    /// seconds wrap).
    /// </summary>
    private static readonly HashSet<string> TimesPcapCannotHold =
        ["timestamp_invalid_micro.pcap", "time_2106_overflow.pcapng", "time_2107.pcapng"];

    /// <summary>Every capture of the corpus that tcpdump reads, with one expression that
    /// touches every link type's code generator.</summary>
    [Fact]
    public void WholeCorpusSameSelectionAsTcpdump()
    {
        Tcpdump.RequireInstalled();
        if (!Corpus.TcpdumpNames().Any())
            Assert.Skip("the corpora are not beside the repository (../shared/corpora) and KDT_CORPORA is not set");
        var failures = new List<string>();
        int compared = 0;
        using var dir = new TempDir();
        foreach (string name in Corpus.TcpdumpNames())
        {
            if (TimesPcapCannotHold.Contains(name))
                continue;
            string input = Corpus.Tcpdump(name);
            var tcpdump = Tcpdump.Run(["-Z", "root", "--nano", "-r", input, "-w", dir["t.pcap"], "ip or ip6"]);
            if (tcpdump.ExitCode != 0)
                continue; // files tcpdump refuses (or filters it cannot compile) are covered by the error tests
            var kdt = Kdt.Run("capture", "-r", input, "-w", dir["k.pcapng"], "ip or ip6");
            if (kdt.ExitCode != 0)
            {
                failures.Add($"{name}: kdt failed: {kdt.Stderr.Trim()}");
                continue;
            }
            var expected = Captures.Read(dir["t.pcap"]);
            var actual = Captures.Read(dir["k.pcapng"]);
            compared++;
            if (expected.Count != actual.Count)
                failures.Add($"{name}: kdt selected {actual.Count} packets, tcpdump {expected.Count}");
            else if (expected.Zip(actual).FirstOrDefault(p => !p.First.SameAs(p.Second)) is var (e, a) && e is not null)
                failures.Add($"{name}: packets differ\n tcpdump {e}\n kdt     {a}");
        }
        Assert.True(compared > 700, $"only {compared} corpus files compared");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    internal static void AssertSameSelection(string input, string expression, TempDir dir, params string[] more)
    {
        string[] filter = expression.Length == 0 ? [] : [expression];
        var tcpdump = Tcpdump.Run(["-Z", "root", "--nano", .. more, "-r", input, "-w", dir["t.pcap"], .. filter]);
        var kdt = Kdt.Run(["capture", .. more, "-r", input, "-w", dir["k.pcapng"], .. filter]);
        string context = $"{Path.GetFileName(input)} '{expression}' {string.Join(' ', more)}";
        Assert.True(tcpdump.ExitCode == kdt.ExitCode, $"{context}: exit {kdt.ExitCode}, tcpdump {tcpdump.ExitCode}\n{kdt.Stderr}\n{tcpdump.Stderr}");
        if (tcpdump.ExitCode != 0)
        {
            string message = tcpdump.Stderr.Split('\n').First(l => l.StartsWith("tcpdump: ", StringComparison.Ordinal))["tcpdump: ".Length..];
            Assert.Contains(message, kdt.Stderr, StringComparison.Ordinal);
            return;
        }
        Assert.Equal(tcpdump.Stderr, kdt.Stderr);
        Captures.AssertSamePackets(Captures.Read(dir["t.pcap"]), Captures.Read(dir["k.pcapng"]), context);
    }
}
