using System.Diagnostics;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// Each frame's direction, decided in the kernel per packet: the same loopback datagram leaves at
/// net_dev_queue and arrives at netif_receive_skb; at kfree_skb (a tap with no direction of its own)
/// the skb says it was received. tshark reading epb_flags from the file is the oracle; -Q selects in
/// the kernel.
/// </summary>
[Collection(KernelTapCollection.Name)]
public sealed class TapDirectionTests
{
    private const int Datagrams = 6;

    /// <summary>Runs taps into a pcapng file while <paramref name="send"/> runs; returns tshark's (interface, direction, dst port) per frame.</summary>
    private static List<(string Interface, int Direction, string Port)> CaptureToFile(string[] specs, TapSourceOptions options, Action send, int expected)
    {
        string path = Path.Combine(Path.GetTempPath(), $"kdk-direction-{Environment.ProcessId}-{TapTestKit.FreshPort()}.pcapng");
        try
        {
            var source = TapSource.Open(TapResolver.ForKernel().Resolve([.. specs.Select(TapSpec.Parse)]), options);
            var sink = new CaptureFileSink(path);
            using var stop = new CancellationTokenSource();
            var run = new Thread(() => FramePipeline.Run(source, [sink], stop.Token, new FramePipelineOptions { DropWhenFull = false, StopGracePeriod = TimeSpan.FromSeconds(5) }));
            run.Start();
            send();
            var clock = Stopwatch.StartNew();
            while (source.ReadCounters().Sum(c => c.Accepted) < expected && clock.Elapsed < TimeSpan.FromSeconds(10))
                Thread.Sleep(20);
            Thread.Sleep(300);
            stop.Cancel();
            run.Join();
            source.Dispose();
            string fields = TapTestKit.Run("tshark", "-r", path, "-T", "fields", "-E", "separator=|",
                "-e", "frame.interface_name", "-e", "frame.packet_flags_direction", "-e", "udp.dstport");
            return [.. fields.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).Select(f =>
                (f[0], f[1].Length == 0 ? 0 : Convert.ToInt32(f[1], 16), f[2]))];
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void RequireTshark()
    {
        TapTestKit.RequireTaps();
        if (!File.Exists("/usr/bin/tshark"))
            Assert.Skip("tshark is not installed");
    }

    [Fact]
    public void A_loopback_datagram_is_out_at_net_dev_queue_and_in_at_netif_receive_skb()
    {
        RequireTshark();
        int port = TapTestKit.FreshPort();
        var frames = CaptureToFile(["tp_btf/net_dev_queue", "tp_btf/netif_receive_skb"], new TapSourceOptions { Filter = $"udp dst port {port}", Immediate = true },
            () => Assert.Equal(Datagrams, TapTestKit.SendUdp(port, Datagrams)), 2 * Datagrams);
        string p = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // pcapng's epb_flags direction: 1 inbound, 2 outbound.
        Assert.Equal(Enumerable.Repeat(("tp_btf/net_dev_queue", 2, p), Datagrams), frames.Where(f => f.Interface == "tp_btf/net_dev_queue"));
        Assert.Equal(Enumerable.Repeat(("tp_btf/netif_receive_skb", 1, p), Datagrams), frames.Where(f => f.Interface == "tp_btf/netif_receive_skb"));
        Assert.Equal(2 * Datagrams, frames.Count);
    }

    [Fact]
    public void At_a_tap_without_a_direction_the_skb_tells_and_Q_selects_in_the_kernel()
    {
        RequireTshark();
        // Datagrams to a closed port are freed at kfree_skb after loopback received them (skb_iif set).
        int port = TapTestKit.FreshPort();
        string filter = $"udp dst port {port}";
        void Send() => Assert.Equal(Datagrams, TapTestKit.SendUdp(port, Datagrams));
        string p = port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var both = CaptureToFile(["tp_btf/kfree_skb"], new TapSourceOptions { Filter = filter, Immediate = true }, Send, Datagrams);
        Assert.Equal(Enumerable.Repeat(("tp_btf/kfree_skb", 1, p), Datagrams), both);

        var inbound = CaptureToFile(["tp_btf/kfree_skb"], new TapSourceOptions { Filter = filter, Immediate = true, Direction = CaptureDirection.In }, Send, Datagrams);
        Assert.Equal(Enumerable.Repeat(("tp_btf/kfree_skb", 1, p), Datagrams), inbound);

        // -Q out keeps the tap (it has no direction of its own) and leaves every one of these in the kernel, counted as filtered.
        var source = TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { Filter = filter, Immediate = true, Direction = CaptureDirection.Out });
        using var capture = new RunningCapture(source);
        Send();
        Thread.Sleep(500);
        TapCounters counters = source.ReadCounters()[0];
        capture.Stop();
        Assert.Equal(0, capture.Sink.Count);
        Assert.True(counters.Filtered >= Datagrams, $"{counters.Filtered} filtered of {counters.Runs} runs");
    }
}
