using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests.Offline;

/// <summary>
/// A pcapng file with an Ethernet and a raw-IP interface (libpcap refuses such files; kdt compiles
/// the filter for each). The expected answer comes from tcpdump run on each interface's packets
/// as a file of its own.
/// </summary>
public sealed class MultiLinkTypeTests
{
    [Theory]
    [InlineData("tcp")]
    [InlineData("tcp[tcpflags] & tcp-push != 0")]
    [InlineData("ip and len > 100")]
    [InlineData("")]
    public void FilterCompiledPerInterface(string expression)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        int count = WriteMixed(dir);
        string[] filter = expression.Length == 0 ? [] : [expression];

        var kdt = Kdt.Run(["capture", "-r", dir["mixed.pcapng"], "-w", dir["out.pcapng"], .. filter]);
        Assert.True(kdt.ExitCode == 0, kdt.ToString());
        var expectedTimes = new HashSet<long>();
        foreach (string part in new[] { "eth.pcap", "raw.pcap" })
        {
            var t = Tcpdump.Run(["-Z", "root", "--nano", "-r", dir[part], "-w", dir["t-" + part], .. filter]);
            Assert.True(t.ExitCode == 0, t.ToString());
            foreach (var p in Captures.Read(dir["t-" + part])) expectedTimes.Add(p.TimestampNs);
        }
        using var reader = CaptureReader.Open(dir["out.pcapng"]);
        var selected = new List<long>();
        while (reader.TryReadPacket(out CapturePacket p))
        {
            selected.Add(p.Timestamp.ToUnixNanoseconds());
            // Each packet stays on its interface: Ethernet on 0, raw IP on 1.
            Assert.Equal(reader.Interfaces[p.InterfaceIndex].LinkType == LinkTypeValues.Ethernet, p.Data.Span[12] == 0x08);
        }
        Assert.Equal(2, reader.Interfaces.Count);
        Assert.Equal(expectedTimes.Order(), selected);
        Assert.True(expression.Length != 0 || selected.Count == count);
    }

    [Fact]
    public void PrintsEachPacketForItsLinkType()
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        WriteMixed(dir);
        var env = new Dictionary<string, string?> { ["TZ"] = "UTC" };
        // Absolute sequence numbers: tcpdump sees each half of a conversation in a file of its own.
        string[] options = ["-n", "-tt", "-S"];
        var lines = new List<string>();
        foreach (string part in new[] { "eth.pcap", "raw.pcap" })
        {
            var t = ProcessRunner.Run(Tcpdump.Location!, [.. options, "-r", dir[part]], TimeSpan.FromSeconds(60), environment: env);
            Assert.Equal(0, t.ExitCode);
            lines.AddRange(t.Stdout.TrimEnd('\n').Split('\n'));
        }
        var kdt = Kdt.Run(["capture", .. options, "-r", dir["mixed.pcapng"]], env);
        Assert.True(kdt.ExitCode == 0, kdt.ToString());
        Assert.Equal(lines.Order(StringComparer.Ordinal), kdt.Stdout.TrimEnd('\n').Split('\n'));
    }

    /// <summary>TCP packets from the corpus, alternately as Ethernet frames and (without their
    /// Ethernet header) as raw IP, in one pcapng file and in two pcap files.</summary>
    private static int WriteMixed(TempDir dir)
    {
        var packets = Captures.Read(Corpus.Tcpdump("mptcp-v0.pcap")).Take(60).ToList();
        using var mixed = CaptureWriter.Create(dir["mixed.pcapng"]);
        using var eth = CaptureWriter.Create(dir["eth.pcap"]);
        using var raw = CaptureWriter.Create(dir["raw.pcap"]);
        mixed.AddInterface(new InterfaceDescription { LinkType = LinkTypeValues.Ethernet, SnapLength = 65535, Name = "eth0" });
        mixed.AddInterface(new InterfaceDescription { LinkType = LinkTypeValues.Raw, SnapLength = 65535, Name = "fentry/ip_output" });
        eth.AddInterface(new InterfaceDescription { LinkType = LinkTypeValues.Ethernet, SnapLength = 65535 });
        raw.AddInterface(new InterfaceDescription { LinkType = LinkTypeValues.Raw, SnapLength = 65535 });
        for (int i = 0; i < packets.Count; i++)
        {
            var p = packets[i];
            var time = PacketTimestamp.FromUnixNanoseconds(p.TimestampNs + i * 1000L);
            if (i % 2 == 0)
            {
                mixed.WritePacket(0, time, p.Data, p.OriginalLength, default);
                eth.WritePacket(0, time, p.Data, p.OriginalLength, default);
            }
            else
            {
                mixed.WritePacket(1, time, p.Data.AsSpan(14), p.OriginalLength - 14, default);
                raw.WritePacket(0, time, p.Data.AsSpan(14), p.OriginalLength - 14, default);
            }
        }
        return packets.Count;
    }
}
