using System.Net;
using KdtCapture.Cli.Tests.Offline;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests.Live;

/// <summary>
/// kdt capture -i against tcpdump -i on the same traffic, both capturing at once: the same packets
/// byte for byte, the kernel filter doing the selection (tcpdump's "received by filter" counts only
/// what the kernel accepted), -c, -Q, the statistics lines, and files that survive SIGINT/SIGTERM.
/// </summary>
[Collection("live capture")]
public sealed class LiveCaptureTests
{
    [Fact]
    public void LoopbackCaptureEqualsTcpdump()
    {
        LiveRequirements.Require();
        using var dir = new TempDir();
        int port = Traffic.FreePort();
        int other = Traffic.FreePort();
        string filter = $"udp dst port {port}";
        // Immediate mode on both: without it a stop can come before the kernel hands over its
        // current block (1 s timeout), and each tool would lose a different tail. Immediate mode
        // gives loopback (MTU 65536) ring slots of 64 KiB: 2 MiB holds ~30, so both get 64 MiB.
        using var tcpdump = Capturer.Tcpdump(["--immediate-mode", "-B", "65536", "-i", "lo", "-w", dir["t.pcap"], filter]);
        using var kdt = Capturer.Kdt(["--immediate-mode", "-B", "65536", "-i", "lo", "-w", dir["k.pcapng"], filter]);
        tcpdump.WaitListening();
        kdt.WaitListening();

        const int matching = 40;
        // Traffic the filter must reject in the kernel, interleaved with traffic it selects.
        Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, other), 25, "reject");
        Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, port), matching, "select");
        Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, other), 25, "reject");
        Thread.Sleep(300);
        tcpdump.Stop();
        kdt.Stop();

        Assert.True(kdt.ExitCode == 0, kdt.Stderr);
        var expected = Captures.Read(dir["t.pcap"]);
        var actual = Captures.Read(dir["k.pcapng"]);
        Assert.True(matching == expected.Count, $"tcpdump captured {expected.Count} of {matching}:\n{tcpdump.Stderr}\nkdt:\n{kdt.Stderr}");
        AssertSameBytes(expected, actual, kdt.Stderr);
        // Only what the kernel filter accepted is counted (loopback sees each datagram leave and
        // arrive: libpcap keeps one, the counter has both).
        Assert.Equal(tcpdump.Statistic("packets received by filter"), kdt.Statistic("packets received by filter"));
        Assert.Equal(matching, kdt.Statistic("packets captured"));
        Assert.Equal(0, kdt.Statistic("packets dropped by kernel"));
        Assert.Contains("kdt: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n", kdt.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void VethInNamespaceEqualsTcpdump()
    {
        LiveRequirements.Require();
        using var veth = new VethPair();
        using var dir = new TempDir();
        const int port = 7777;
        using var tcpdump = Capturer.Tcpdump(["--immediate-mode", "-B", "65536", "-i", VethPair.InterfaceA, "-w", dir["t.pcap"], "udp"], veth.NamespaceA);
        using var kdt = Capturer.Kdt(["--immediate-mode", "-B", "65536", "-i", VethPair.InterfaceA, "-w", dir["k.pcapng"], "udp"], veth.NamespaceA);
        tcpdump.WaitListening();
        kdt.WaitListening();

        veth.SendUdp(fromB: true, port, 20, "in");
        veth.SendUdp(fromB: false, port, 15, "out");
        Thread.Sleep(300);
        tcpdump.Stop();
        kdt.Stop("TERM");

        Assert.True(kdt.ExitCode == 0, kdt.Stderr);
        var expected = Captures.Read(dir["t.pcap"]);
        Assert.Equal(35, expected.Count);
        AssertSameBytes(expected, Captures.Read(dir["k.pcapng"]), kdt.Stderr);
        Assert.Equal(tcpdump.Statistic("packets received by filter"), kdt.Statistic("packets received by filter"));
    }

    [Theory]
    [InlineData("in", 20)]
    [InlineData("out", 15)]
    [InlineData("inout", 35)]
    public void DirectionSelectsAsTcpdump(string direction, int count)
    {
        LiveRequirements.Require();
        using var veth = new VethPair();
        using var dir = new TempDir();
        using var tcpdump = Capturer.Tcpdump(["--immediate-mode", "-B", "65536", "-Q", direction, "-i", VethPair.InterfaceA, "-w", dir["t.pcap"], "udp"], veth.NamespaceA);
        using var kdt = Capturer.Kdt(["--immediate-mode", "-B", "65536", "-Q", direction, "-i", VethPair.InterfaceA, "-w", dir["k.pcapng"], "udp"], veth.NamespaceA);
        tcpdump.WaitListening();
        kdt.WaitListening();
        veth.SendUdp(fromB: true, 7777, 20, "in");
        veth.SendUdp(fromB: false, 7777, 15, "out");
        Thread.Sleep(300);
        tcpdump.Stop();
        kdt.Stop();

        var expected = Captures.Read(dir["t.pcap"]);
        Assert.Equal(count, expected.Count);
        AssertSameBytes(expected, Captures.Read(dir["k.pcapng"]), kdt.Stderr);
    }

    [Fact]
    public void CountStopsAfterThatManyPackets()
    {
        LiveRequirements.Require();
        int port = Traffic.FreePort();
        using var kdt = Capturer.Kdt(["-i", "lo", "-n", "-c", "3", $"udp dst port {port}"]);
        kdt.WaitListening();
        Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, port), 10, "count");
        kdt.WaitExit();

        Assert.True(kdt.ExitCode == 0, kdt.Stderr);
        string[] lines = kdt.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Contains($"IP 127.0.0.1.", l, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Contains($" > 127.0.0.1.{port}: UDP, length ", l, StringComparison.Ordinal));
        Assert.Equal(3, kdt.Statistic("packets captured"));
        string[] err = kdt.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("kdt: verbose output suppressed, use -v[v]... for full protocol decode", err[0]);
        Assert.Equal("listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes", err[1]);
        Assert.Equal(["3 packets captured"], err[2..3]);
        Assert.EndsWith(" packets received by filter", err[3], StringComparison.Ordinal);
        Assert.Equal("0 packets dropped by kernel", err[4]);
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void StopSignalLeavesValidFileWithStatistics(string signal)
    {
        LiveRequirements.Require();
        Tool.Require("tshark");
        using var dir = new TempDir();
        int port = Traffic.FreePort();
        using var kdt = Capturer.Kdt(["-i", "lo", "-w", dir["k.pcapng"], $"udp dst port {port}"]);
        kdt.WaitListening();
        // A flood is still running when the signal arrives.
        bool flooding = true;
        var sender = new Thread(() =>
        {
            while (Volatile.Read(ref flooding))
                Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, port), 200, "flood");
        });
        sender.Start();
        Thread.Sleep(500);
        kdt.Stop(signal);
        Volatile.Write(ref flooding, false);
        sender.Join();

        Assert.True(kdt.ExitCode == 0, kdt.Stderr);
        long captured = kdt.Statistic("packets captured");
        Assert.True(captured > 0, kdt.Stderr);
        var tshark = Tool.Run("tshark", "-r", dir["k.pcapng"], "-T", "fields", "-e", "frame.number");
        Assert.True(tshark.ExitCode == 0, tshark.ToString());
        Assert.Equal(captured, tshark.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        using var reader = (PcapNgReader)CaptureReader.Open(dir["k.pcapng"]);
        var blocks = reader.ReadAllBlocks().ToList();
        Assert.Null(reader.Truncation);
        InterfaceStatisticsBlock stats = Assert.Single(blocks.OfType<InterfaceStatisticsBlock>());
        Assert.Equal((ulong)captured, stats.Delivered);
        Assert.Equal((ulong)kdt.Statistic("packets received by filter"), stats.Received);
        Assert.Equal((ulong)kdt.Statistic("packets dropped by kernel"), stats.OsDropped);
        InterfaceDescription idb = Assert.Single(blocks.OfType<InterfaceDescription>());
        Assert.Equal("lo", idb.Name);
        Assert.Equal($"udp dst port {port}", idb.Filter?.Expression);
    }

    /// <summary>A tap alone writing a file (its reader thread writes the file itself): a flood
    /// stopped by a signal leaves a file tshark reads whole, every datagram sent is captured or
    /// reported as dropped, and every frame carries the tap's comment, direction and skb.</summary>
    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void TapFloodStoppedBySignalLeavesValidFileAndAccountsForEveryDatagram(string signal)
    {
        LiveRequirements.Require();
        Tool.Require("tshark");
        using var dir = new TempDir();
        int port = Traffic.FreePort();
        using var kdt = Capturer.Kdt(["-i", "tp_btf/net_dev_queue", "-w", dir["t.pcapng"], $"udp dst port {port}"]);
        kdt.WaitListening();
        bool flooding = true;
        long sent = 0;
        var sender = new Thread(() =>
        {
            while (Volatile.Read(ref flooding))
            {
                Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, port), 200, "flood");
                sent += 200;
            }
        });
        sender.Start();
        Thread.Sleep(500);
        Volatile.Write(ref flooding, false);
        sender.Join();
        // Every datagram was queued to lo before the signal: the tap has seen them all.
        kdt.Stop(signal);

        Assert.True(kdt.ExitCode == 0, kdt.Stderr);
        long captured = kdt.Statistic("packets captured");
        Assert.True(captured > 0, kdt.Stderr);
        Assert.Equal(sent, captured + kdt.Statistic("packets dropped by kernel"));
        var tshark = Tool.Run("tshark", "-r", dir["t.pcapng"], "-T", "fields", "-E", "separator=|",
            "-e", "udp.dstport", "-e", "frame.packet_flags_direction", "-e", "frame.packet_id", "-e", "frame.comment");
        Assert.True(tshark.ExitCode == 0, tshark.ToString());
        string[] lines = tshark.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(captured, lines.Length);
        foreach (string line in lines)
        {
            string[] f = line.Split('|');
            Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), f[0]);
            Assert.Equal("0x00000002", f[1]);
            // The comment names the skb that epb_packetid holds, and the sending process.
            ulong skb = ulong.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.StartsWith($"net_dev_queue ", f[3], StringComparison.Ordinal);
            Assert.Contains($"[{Environment.ProcessId}] ", f[3], StringComparison.Ordinal);
            Assert.Contains($" skb=0x{skb:x} ", f[3], StringComparison.Ordinal);
        }

        using var reader = (PcapNgReader)CaptureReader.Open(dir["t.pcapng"]);
        var blocks = reader.ReadAllBlocks().ToList();
        Assert.Null(reader.Truncation);
        InterfaceStatisticsBlock stats = Assert.Single(blocks.OfType<InterfaceStatisticsBlock>());
        Assert.Equal((ulong)captured, stats.Delivered);
        Assert.Equal("tp_btf/net_dev_queue", Assert.Single(blocks.OfType<InterfaceDescription>()).Name);
    }

    [Fact]
    public void SeveralInterfacesGoToOneFileWithAnInterfaceBlockEach()
    {
        LiveRequirements.Require();
        using var veth = new VethPair();
        using var dir = new TempDir();
        // Inside namespace A: its loopback and its veth, one capture.
        using var kdt = Capturer.Kdt(["--immediate-mode", "-B", "65536", "-i", "lo", "-i", VethPair.InterfaceA, "-w", dir["k.pcapng"], "udp"], veth.NamespaceA);
        kdt.WaitListening(2);
        veth.SendUdp(fromB: true, 7777, 12, "veth");
        VethPair.Exec(veth.NamespaceA, "bash", "-c", "for i in 1 2 3 4 5; do printf x > /dev/udp/127.0.0.1/7777; done");
        Thread.Sleep(300);
        kdt.Stop();

        Assert.True(kdt.ExitCode == 0, kdt.Stderr);
        using var reader = (PcapNgReader)CaptureReader.Open(dir["k.pcapng"]);
        var blocks = reader.ReadAllBlocks().ToList();
        var idbs = blocks.OfType<InterfaceDescription>().ToList();
        Assert.Equal(["lo", VethPair.InterfaceA], idbs.Select(i => i.Name));
        var packets = blocks.OfType<EnhancedPacketBlock>().ToList();
        Assert.Equal(5, packets.Count(p => p.InterfaceId == 0));
        Assert.Equal(12, packets.Count(p => p.InterfaceId == 1));
        Assert.Equal(2, blocks.OfType<InterfaceStatisticsBlock>().Count());
    }

    [Fact]
    public void TapAndInterfaceTogetherSeeTheSamePackets()
    {
        LiveRequirements.Require();
        if (!KdtCapture.Bpf.Features.BpfFeatures.HasAttachKind(KdtCapture.Bpf.Features.BpfAttachKind.TpBtf))
            Assert.Skip("this kernel cannot attach tp_btf programs");
        using var dir = new TempDir();
        int port = Traffic.FreePort();
        using var kdt = Capturer.Kdt(["--immediate-mode", "-B", "65536", "-i", "tp_btf/net_dev_queue", "-i", "lo", "-w", dir["k.pcapng"], $"udp dst port {port}"]);
        kdt.WaitListening(2);
        const int sent = 25;
        Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, port), sent, "mixed");
        Thread.Sleep(500);
        kdt.Stop();

        Assert.True(kdt.ExitCode == 0, kdt.Stderr);
        using var reader = (PcapNgReader)CaptureReader.Open(dir["k.pcapng"]);
        var blocks = reader.ReadAllBlocks().ToList();
        var idbs = blocks.OfType<InterfaceDescription>().ToList();
        int lo = idbs.FindIndex(i => i.Name == "lo");
        int tap = idbs.FindIndex(i => i.Name == "tp_btf/net_dev_queue");
        Assert.True(lo >= 0 && tap >= 0, string.Join(", ", idbs.Select(i => i.Name)));
        var packets = blocks.OfType<EnhancedPacketBlock>().ToList();
        var fromLo = packets.Where(p => p.InterfaceId == lo).Select(p => p.Data.ToArray()).ToList();
        var fromTap = packets.Where(p => p.InterfaceId == tap).Select(p => p.Data.ToArray()).ToList();
        Assert.Equal(sent, fromLo.Count);
        Assert.Equal(sent, fromTap.Count);
        // Loopback frames have an all-zero Ethernet header at net_dev_queue too: the same bytes. The
        // tap reads per-CPU rings, so its order may differ when the sender changes CPU: compare as sets.
        Assert.Equal(fromLo.Select(Convert.ToHexString).Order(StringComparer.Ordinal), fromTap.Select(Convert.ToHexString).Order(StringComparer.Ordinal));
        Assert.Equal(2 * sent, kdt.Statistic("packets captured"));
    }

    private static void AssertSameBytes(List<ReadPacket> expected, List<ReadPacket> actual, string kdtStderr)
    {
        Assert.True(expected.Count == actual.Count, $"kdt captured {actual.Count} packets, tcpdump {expected.Count}\n{kdtStderr}\nfirst kdt: {(actual.Count > 0 ? actual[0] : null)}\nfirst tcpdump: {(expected.Count > 0 ? expected[0] : null)}");
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].Data.AsSpan().SequenceEqual(actual[i].Data), $"packet {i + 1} differs\n tcpdump {expected[i]}\n kdt     {actual[i]}");
            Assert.Equal(expected[i].OriginalLength, actual[i].OriginalLength);
        }
    }
}
