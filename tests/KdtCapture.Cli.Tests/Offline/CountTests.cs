namespace KdtCapture.Cli.Tests.Offline;

/// <summary>--count and -c against tcpdump.</summary>
public sealed class CountTests
{
    [Theory]
    [InlineData("mptcp-v0.pcap", "")]
    [InlineData("mptcp-v0.pcap", "tcp[tcpflags] & tcp-ack != 0")]
    [InlineData("arp-oobr.pcap", "arp")]
    [InlineData("afs.pcap", "udp and not port 7000")]
    [InlineData("3560_CDP.pcap", "tcp")]
    [InlineData("of13_ericsson.pcapng", "tcp")]
    [InlineData("3560_CDP.pcap", "-c 1")]
    [InlineData("afs.pcap", "-c 7 udp")]
    public void CountPrintsWhatTcpdumpPrints(string file, string rest)
    {
        Tcpdump.RequireInstalled();
        string input = Corpus.Tcpdump(file);
        string[] args = ["--count", "-r", input, .. Words.Split(rest)];
        var tcpdump = Tcpdump.Run(args);
        var kdt = Kdt.Run(["capture", .. args]);
        Assert.Equal(0, tcpdump.ExitCode);
        Assert.Equal(tcpdump.ExitCode, kdt.ExitCode);
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
        Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
    }

    [Theory]
    [InlineData("mptcp-v0.pcap", "1", "")]
    [InlineData("mptcp-v0.pcap", "10", "tcp[tcpflags] & tcp-push != 0")]
    [InlineData("afs.pcap", "100", "udp")]
    [InlineData("arp-oobr.pcap", "5000", "")]
    public void CountLimitSelectsTheFirstMatches(string file, string count, string expression)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        SelectionDifferentialTests.AssertSameSelection(Corpus.Tcpdump(file), expression, dir, "-c", count);
    }
}
