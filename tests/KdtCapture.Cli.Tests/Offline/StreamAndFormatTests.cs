using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests.Offline;

/// <summary>Output formats and plumbing: pcapng/pcap/LZ4 files, stdin and stdout, what other tools read back.</summary>
public sealed class StreamAndFormatTests
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public void PcapngByDefaultPcapBySuffixOrOption()
    {
        string input = Corpus.Tcpdump("mptcp-v0.pcap");
        using var dir = new TempDir();
        Assert.Equal(0, Kdt.Run("capture", "-r", input, "-w", dir["a.out"], "tcp").ExitCode);
        Assert.Equal(0, Kdt.Run("capture", "-r", input, "-w", dir["b.pcap"], "tcp").ExitCode);
        Assert.Equal(0, Kdt.Run("capture", "--pcap", "-r", input, "-w", dir["c.out"], "tcp").ExitCode);
        using (var a = CaptureReader.Open(dir["a.out"])) Assert.Equal(CaptureFileFormat.PcapNg, a.Format);
        using (var b = CaptureReader.Open(dir["b.pcap"])) Assert.Equal(CaptureFileFormat.Pcap, b.Format);
        using (var c = CaptureReader.Open(dir["c.out"])) Assert.Equal(CaptureFileFormat.Pcap, c.Format);
        foreach (string f in new[] { "a.out", "b.pcap", "c.out" })
        {
            Assert.Equal(OwnerReadWrite, Captures.Mode(dir[f]));
            // tcpdump reads all three back with the same packets as the original selection.
            var back = Tcpdump.Run(["--count", "-r", dir[f]]);
            Assert.Equal(0, back.ExitCode);
            Assert.Equal(Tcpdump.Run(["--count", "-r", input, "tcp"]).Stdout, back.Stdout);
        }
    }

    [Fact]
    public void StdinToStdoutRoundTripKeepsEveryPacket()
    {
        string input = Corpus.Tcpdump("of13_ericsson.pcapng");
        using var dir = new TempDir();
        var run = Tool.Shell($"cat '{input}' | \"$KDT\" capture -r - -w - | \"$KDT\" capture -r - -w '{dir["out.pcapng"]}'");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("reading from file -, link-type EN10MB (Ethernet), snapshot length 65535\n" +
                     "reading from file -, link-type EN10MB (Ethernet), snapshot length 65535\n", run.Stderr);
        Captures.AssertSamePackets(Captures.Read(input), Captures.Read(dir["out.pcapng"]), "stdin → stdout → file");
    }

    [Fact]
    public void StdoutIsReadByTshark()
    {
        Tool.Require("tshark");
        string input = Corpus.Tcpdump("mptcp-v0.pcap");
        int expected = Captures.Read(input).Count;
        foreach (string format in new[] { "", "--pcap" })
        {
            var run = Tool.Shell($"\"$KDT\" capture {format} -r '{input}' -w - | tshark -r - -T fields -e frame.number -e frame.len");
            Assert.True(run.ExitCode == 0, run.ToString());
            string[] lines = run.Stdout.TrimEnd('\n').Split('\n');
            Assert.Equal(expected, lines.Length);
            Assert.Equal($"{expected}\t{Captures.Read(input)[^1].OriginalLength}", lines[^1]);
        }
    }

    [Fact]
    public void Lz4OutputDecompressesWithLz4AndReadsInTshark()
    {
        Tool.Require("lz4");
        Tool.Require("tshark");
        string input = Corpus.Tcpdump("afs.pcap");
        using var dir = new TempDir();
        var kdt = Kdt.Run("capture", "-r", input, "-w", dir["x.pcapng.lz4"], "udp");
        Assert.True(kdt.ExitCode == 0, kdt.ToString());
        Assert.Equal(OwnerReadWrite, Captures.Mode(dir["x.pcapng.lz4"]));
        var lz4 = Tool.Run("lz4", "-d", "-q", dir["x.pcapng.lz4"], dir["x.pcapng"]);
        Assert.True(lz4.ExitCode == 0, lz4.ToString());
        var tshark = Tool.Run("tshark", "-r", dir["x.pcapng"], "-T", "fields", "-e", "frame.number");
        Assert.True(tshark.ExitCode == 0, tshark.ToString());
        var tcpdump = Tcpdump.Run(["-Z", "root", "--nano", "-r", input, "-w", dir["t.pcap"], "udp"]);
        Assert.Equal(0, tcpdump.ExitCode);
        var expected = Captures.Read(dir["t.pcap"]);
        Assert.Equal(expected.Count, tshark.Stdout.TrimEnd('\n').Split('\n').Length);
        Captures.AssertSamePackets(expected, Captures.Read(dir["x.pcapng"]), "lz4 -d output");
        // kdt reads its own LZ4 output, found by content.
        Captures.AssertSamePackets(expected, Captures.Read(dir["x.pcapng.lz4"]), "LZ4 read back");
    }

    [Fact]
    public void PcapngOutputKeepsInterfacesCommentsAndFlags()
    {
        Tool.Require("tshark");
        using var dir = new TempDir();
        var source = Captures.Read(Corpus.Tcpdump("mptcp-v0.pcap")).Take(6).ToList();
        using (var w = CaptureWriter.Create(dir["in.pcapng"]))
        {
            w.AddInterface(new InterfaceDescription
            {
                LinkType = LinkTypeValues.Ethernet, SnapLength = 1500, Name = "tp_btf/net_dev_queue",
                Description = "a kernel tap", TimestampResolution = TimestampResolution.Nanoseconds,
            });
            for (int i = 0; i < source.Count; i++)
            {
                w.WritePacket(0, PacketTimestamp.FromUnixNanoseconds(source[i].TimestampNs + 123), source[i].Data, source[i].OriginalLength,
                    new PacketWriteOptions { Comment = $"packet {i} from comm curl", Flags = PacketFlags.Create(PacketDirection.Outbound) });
            }
        }
        var kdt = Kdt.Run("capture", "-r", dir["in.pcapng"], "-w", dir["out.pcapng"]);
        Assert.True(kdt.ExitCode == 0, kdt.ToString());

        using var reader = (PcapNgReader)CaptureReader.Open(dir["out.pcapng"]);
        var back = Captures.Read(reader);
        Assert.Equal(source.Count, back.Count);
        InterfaceDescription idb = Assert.Single(reader.Interfaces);
        Assert.Equal("tp_btf/net_dev_queue", idb.Name);
        Assert.Equal("a kernel tap", idb.Description);
        Assert.Equal(1500u, idb.SnapLength);
        Assert.Equal(TimestampResolution.Nanoseconds, idb.TimestampResolution);
        for (int i = 0; i < back.Count; i++)
        {
            Assert.Equal(source[i].TimestampNs + 123, back[i].TimestampNs);
            Assert.Equal($"packet {i} from comm curl", back[i].Comment);
            Assert.Equal(PacketFlags.Create(PacketDirection.Outbound), back[i].Flags);
        }
        var tshark = Tool.Run("tshark", "-r", dir["out.pcapng"], "-T", "fields", "-e", "frame.comment");
        Assert.Contains("packet 5 from comm curl", tshark.Stdout, StringComparison.Ordinal);

        // And -v shows the comments when printing.
        var printed = Kdt.Run("capture", "-n", "-v", "-r", dir["in.pcapng"]);
        Assert.True(printed.ExitCode == 0, printed.ToString());
        Assert.Contains("packet 3 from comm curl", printed.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void StatisticsBlockAtClose()
    {
        string input = Corpus.Tcpdump("mptcp-v0.pcap");
        using var dir = new TempDir();
        Assert.Equal(0, Kdt.Run("capture", "-r", input, "-w", dir["s.pcapng"], "tcp[tcpflags] & tcp-syn != 0").ExitCode);
        int selected = Captures.Read(dir["s.pcapng"]).Count;
        using var reader = (PcapNgReader)CaptureReader.Open(dir["s.pcapng"]);
        var statistics = reader.ReadAllBlocks().OfType<InterfaceStatisticsBlock>().ToList();
        var isb = Assert.Single(statistics);
        // Received counts the whole file, accepted and delivered what the filter let through.
        Assert.Equal((ulong)Captures.Read(input).Count, isb.Received);
        Assert.Equal((ulong)selected, isb.FilterAccepted);
        Assert.Equal((ulong)selected, isb.Delivered);
    }
}
