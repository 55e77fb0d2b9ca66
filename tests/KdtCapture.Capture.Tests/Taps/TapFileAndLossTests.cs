using System.Diagnostics;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>Tap captures written to pcapng (read back by tshark and capinfos) and losses under a flood, counted exactly.</summary>
[Collection(KernelTapCollection.Name)]
public sealed class TapFileAndLossTests
{
    [Fact]
    public void Pcapng_file_shows_the_metadata_in_tshark()
    {
        TapTestKit.RequireTaps();
        if (!File.Exists("/usr/bin/tshark"))
            Assert.Skip("tshark is not installed");
        int port = TapTestKit.FreshPort();
        string path = Path.Combine(Path.GetTempPath(), $"kdt-tap-{Environment.ProcessId}-{port}.pcapng");
        try
        {
            var source = TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { Filter = $"udp dst port {port}", Immediate = true });
            var sink = new CaptureFileSink(path);
            using var stop = new CancellationTokenSource();
            FramePipelineResult? result = null;
            var run = new Thread(() => result = FramePipeline.Run(source, [sink], stop.Token, new FramePipelineOptions { DropWhenFull = true, StopGracePeriod = TimeSpan.FromSeconds(5) }));
            run.Start();
            Assert.Equal(7, TapTestKit.SendUdp(port, 7));
            var clock = Stopwatch.StartNew();
            while (source.ReadCounters()[0] is var c && c.Runs - c.Filtered < 7 && clock.Elapsed < TimeSpan.FromSeconds(10))
                Thread.Sleep(20);
            Thread.Sleep(300);
            stop.Cancel();
            run.Join();
            source.Dispose();
            Assert.Equal(7, result!.FramesDelivered);

            string fields = TapTestKit.Run("tshark", "-r", path, "-T", "fields", "-E", "separator=|", "-e", "frame.comment", "-e", "frame.interface_name",
                "-e", "frame.packet_flags_direction", "-e", "udp.dstport");
            var lines = fields.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(7, lines.Length);
            foreach (string line in lines)
            {
                var f = line.Split('|');
                Assert.StartsWith("net_dev_queue ", f[0], StringComparison.Ordinal);
                Assert.Contains($"[{Environment.ProcessId}] tid=", f[0], StringComparison.Ordinal);
                Assert.Equal("tp_btf/net_dev_queue", f[1]);
                Assert.Equal(2, Convert.ToInt32(f[2], 16)); // outbound
                Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), f[3]);
            }
            string info = TapTestKit.Run("capinfos", "-c", "-E", "-I", path);
            Assert.Contains("Number of packets:   7", info, StringComparison.Ordinal);
            Assert.Contains("Ethernet", info, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A flood into a small perf buffer: whatever the kernel could not hand over is counted by the
    /// program (lost) and the pipeline (dropped when its batches are full); nothing goes missing
    /// unaccounted: sent = captured + reported drops, exactly.
    /// </summary>
    [Theory]
    [InlineData(128, 2)]   // a small perf buffer and pipeline: losses in the kernel and the pipeline
    [InlineData(null, 8)]  // the defaults
    public void Flood_losses_are_reported_exactly(int? bufferKiB, int batches)
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        const int perThread = 60000;
        using var capture = new RunningCapture(TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions
        {
            Filter = $"udp dst port {port}",
            BufferSizeKiB = bufferKiB,
        }), new FramePipelineOptions { DropWhenFull = true, Batches = batches, BatchFrames = batches == 2 ? 256 : 4096, StopGracePeriod = TimeSpan.FromSeconds(5) });
        var clockSend = Stopwatch.StartNew();
        int sent = 0;
        var senders = Enumerable.Range(0, 2).Select(_ => new Thread(() => Interlocked.Add(ref sent, TapTestKit.SendUdp(port, perThread, 900)))).ToList();
        senders.ForEach(t => t.Start());
        senders.ForEach(t => t.Join());
        double seconds = clockSend.Elapsed.TotalSeconds;
        // Wait until every sent packet is either delivered or counted as lost.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var c = capture.Source.ReadCounters()[0];
            if (c.Runs - c.Filtered - c.Skipped >= sent && capture.Sink.Count + c.Lost >= sent - 0)
                break;
            Thread.Sleep(50);
        }
        Thread.Sleep(300);
        var result = capture.Stop();
        var counters = capture.Source.ReadCounters()[0];
        long pipelineDrops = result.Interfaces.Total(i => i.DroppedInPipeline);
        long kernelDrops = result.Interfaces.Total(i => i.DroppedInKernel ?? 0);
        Assert.Equal(counters.Lost, kernelDrops);
        Assert.Equal(sent, capture.Sink.Count + kernelDrops + pipelineDrops);
        TestContext.Current.SendDiagnosticMessage($"flood (-B {bufferKiB?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default"}, {batches} batches): sent {sent} in {seconds:F2} s ({sent / seconds:F0}/s), captured {capture.Sink.Count}, lost in kernel {kernelDrops}, dropped in pipeline {pipelineDrops}");
    }

    /// <summary>Nothing is allocated per frame: capturing 20000 packets sent by another process (bash)
    /// allocates less than 4 bytes per frame in all (what there is comes per batch or per wait).</summary>
    [Fact]
    public void No_allocation_per_frame()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        const int packets = 20000;
        var counter = new CountingSink();
        var source = TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { Filter = $"udp dst port {port}" });
        using var stop = new CancellationTokenSource();
        var run = new Thread(() => FramePipeline.Run(source, [counter], stop.Token, new FramePipelineOptions { DropWhenFull = true, StopGracePeriod = TimeSpan.FromSeconds(5) }));
        run.Start();
        // Warm up: the first frames announce the interface, load kallsyms-free paths, JIT the handlers.
        TapTestKit.SendUdp(port, 200);
        var clock = Stopwatch.StartNew();
        while (counter.Count < 200 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(10);
        Thread.Sleep(300);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        TapTestKit.Run("bash", "-c", $"for i in $(seq {packets}); do printf x > /dev/udp/127.0.0.1/{port}; done");
        clock.Restart();
        while (counter.Count < 200 + packets && clock.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(10);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        TestContext.Current.SendDiagnosticMessage($"allocation: {allocated} bytes for {counter.Count - 200} frames in {clock.Elapsed.TotalSeconds:F1} s");
        stop.Cancel();
        run.Join();
        source.Dispose();
        Assert.Equal(200 + packets, counter.Count);
        // Batches, waits and the test's own polling allocate a little; per frame it would be megabytes.
        Assert.True(allocated < packets * 4, $"{allocated} bytes allocated for {packets} frames");
    }
}
