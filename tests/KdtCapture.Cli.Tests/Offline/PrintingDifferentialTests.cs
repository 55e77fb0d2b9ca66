namespace KdtCapture.Cli.Tests.Offline;

/// <summary>
/// Without -w, <c>kdt capture -r</c> prints what <c>tcpdump -r</c> prints, line for line, for captures of
/// the core protocols (TCP with options and MPTCP, DNS over UDP and TCP, ARP, ICMPv6, STP, IGMP, NTP),
/// under several option sets. TZ is fixed so both print the same wall-clock times.
/// </summary>
public sealed class PrintingDifferentialTests
{
    private static readonly Dictionary<string, string?> Utc = new() { ["TZ"] = "UTC" };

    public static readonly TheoryData<string> Files =
    [
        "mptcp-v0.pcap", "ssh.pcap", "edns-opts.pcap", "dns_tcp.pcap", "arp-oobr.pcap", "icmp6-rfc8335.pcap",
        "print-flags.pcap", "tfo-5c1fa7f9ae91.pcap", "IGMP_V2.pcap", "ntp.pcap", "802.1D_spanning_tree.pcap", "nhrp.pcapng",
    ];

    public static readonly string[] OptionSets =
    [
        "-n", "-n -t", "-n -tt", "-n -ttt", "-n -tttt", "-n -ttttt", "-n -e", "-n -q", "-n -S", "-n -#",
        "-n -c 3", "-n --nano", "-n -tt --time-stamp-precision=nano", "-n -x", "-n -xx", "-n -X", "-n -A", "-nn -e -q",
        "-n tcp", "-n -e udp or arp",
    ];

    [Theory]
    [MemberData(nameof(Files))]
    public void PrintsWhatTcpdumpPrints(string file)
    {
        Tcpdump.RequireInstalled();
        string input = Corpus.Tcpdump(file);
        foreach (string options in OptionSets)
        {
            string[] args = [.. Words.Split(options), "-r", input];
            var tcpdump = ProcessRunner.Run(Tcpdump.Location!, args, TimeSpan.FromSeconds(60), environment: Utc);
            var kdt = Kdt.Run(["capture", .. args], Utc);
            string context = $"{file} {options}";
            Assert.True(tcpdump.ExitCode == kdt.ExitCode, $"{context}: exit {kdt.ExitCode}, tcpdump {tcpdump.ExitCode}: {kdt.Stderr}");
            Assert.True(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal) == kdt.Stderr, $"{context}: stderr\n{kdt.Stderr}\ntcpdump:\n{tcpdump.Stderr}");
            if (tcpdump.Stdout != kdt.Stdout)
            {
                string[] expected = tcpdump.Stdout.Split('\n');
                string[] actual = kdt.Stdout.Split('\n');
                int first = Enumerable.Range(0, Math.Min(expected.Length, actual.Length)).FirstOrDefault(i => expected[i] != actual[i], -1);
                Assert.Fail(first < 0
                    ? $"{context}: {actual.Length} lines, tcpdump {expected.Length}"
                    : $"{context}: line {first + 1} differs\n tcpdump: {expected[first]}\n kdt:     {actual[first]}");
            }
        }
    }
}
