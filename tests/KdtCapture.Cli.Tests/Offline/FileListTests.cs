namespace KdtCapture.Cli.Tests.Offline;

/// <summary>-V FILE: the capture files named in FILE, read in turn, against tcpdump.</summary>
public sealed class FileListTests
{
    private static string WriteList(TempDir dir, params string[] lines)
    {
        string list = dir["files.txt"];
        File.WriteAllText(list, string.Concat(lines.Select(l => l + "\n")));
        return list;
    }

    private static string[] Corpora(params string[] names) => names.Select(n => n.Length == 0 || n.StartsWith('/') ? n : Corpus.Tcpdump(n)).ToArray();

    private static void AssertSameAsTcpdump(string[] args)
    {
        var tcpdump = Tcpdump.Run(args);
        var kdt = Kdt.Run(["capture", .. args]);
        Assert.Equal(tcpdump.ExitCode, kdt.ExitCode);
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
        Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
    }

    [Theory]
    [InlineData("-n", "mptcp-v0.pcap|dns_tcp.pcap|arp-oobr.pcap")]
    [InlineData("-n udp", "dns-uri.pcap|mptcp-v0.pcap|dns-badcookie.pcap")]
    [InlineData("--count", "mptcp-v0.pcap|802_15_4-data.pcap|arp-oobr.pcap")]
    [InlineData("-c 3 --count", "mptcp-v0.pcap|afs.pcap")] // tcpdump's -c counts per file
    [InlineData("-n", "dns_tcp.pcap|/nonexistent/kdt-file-list.pcap|mptcp-v0.pcap")]
    [InlineData("-n", "|dns_tcp.pcap")]
    public void ReadsEachFileInTurnAsTcpdumpDoes(string options, string files)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        string list = WriteList(dir, Corpora(files.Split('|')));
        AssertSameAsTcpdump(["-V", list, .. Words.Split(options)]);
    }

    [Fact]
    public void RefusalsAreTcpdumps()
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        File.WriteAllText(dir["empty.txt"], "");
        AssertSameAsTcpdump(["-V", dir["empty.txt"]]);
        AssertSameAsTcpdump(["-V", dir["missing.txt"]]);
        AssertSameAsTcpdump(["-V", WriteList(dir, Corpora("afs.pcap")), "-r", Corpus.Tcpdump("afs.pcap")]);
    }

    [Fact]
    public void ClassicPcapOutputTakesOneLinkTypeAsTcpdumps()
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        string list = WriteList(dir, Corpora("afs.pcap", "802_15_4-data.pcap"));
        var tcpdump = Tcpdump.Run(["-V", list, "-w", dir["t.pcap"]]);
        var kdt = Kdt.Run(["capture", "-V", list, "-w", dir["k.pcap"]]);
        Assert.Equal(1, tcpdump.ExitCode);
        Assert.Equal(tcpdump.ExitCode, kdt.ExitCode);
        Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
        // What was written before the refusal is the first file's packets, as tcpdump wrote them.
        Assert.Equal(Tcpdump.Run(["-n", "-r", dir["t.pcap"]]).Stdout, Tcpdump.Run(["-n", "-r", dir["k.pcap"]]).Stdout);
    }

    [Fact]
    public void PcapngOutputKeepsEveryFilesLinkType()
    {
        Tool.Require("tshark");
        using var dir = new TempDir();
        string[] inputs = Corpora("afs.pcap", "LINKTYPE_RAW_ipv4.pcap", "mptcp-v0.pcap");
        var kdt = Kdt.Run(["capture", "-V", WriteList(dir, inputs), "-w", dir["all.pcapng"]]);
        Assert.Equal(0, kdt.ExitCode);
        // libpcap reads one link type per file; tshark reads the pcapng back: the packets of the
        // three files in order, each with its own link type and bytes.
        string[] fields = ["-T", "fields", "-e", "frame.len", "-e", "frame.protocols", "-e", "frame.time_epoch"];
        string expected = string.Concat(inputs.Select(f => ProcessRunner.Run("tshark", ["-r", f, .. fields], TimeSpan.FromSeconds(60)).Stdout));
        var actual = ProcessRunner.Run("tshark", ["-r", dir["all.pcapng"], .. fields], TimeSpan.FromSeconds(60));
        Assert.Equal(0, actual.ExitCode);
        Assert.Equal(expected, actual.Stdout);
    }
}
