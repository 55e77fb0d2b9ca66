using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// The kernel's own print of the skb:kfree_skb event in a tracefs instance of the test's own, for
/// one thread: the oracle for the drop reason (print fmt's __print_symbolic over enum
/// skb_drop_reason) and the location (%pS). Removed on Dispose.
/// </summary>
internal sealed partial class KernelDropTrace : IDisposable
{
    private const string Tracing = "/sys/kernel/tracing";
    private readonly string _instance;

    public KernelDropTrace(int tid)
    {
        if (!File.Exists($"{Tracing}/events/skb/kfree_skb/format"))
            Assert.Skip($"needs tracefs with the skb:kfree_skb event ({Tracing})");
        _instance = $"{Tracing}/instances/kdtt_drops_{Environment.ProcessId}_{tid}";
        if (Directory.Exists(_instance))
            Directory.Delete(_instance);
        Directory.CreateDirectory(_instance);
        File.WriteAllText($"{_instance}/set_event_pid", tid.ToString(CultureInfo.InvariantCulture));
        File.WriteAllText($"{_instance}/events/skb/kfree_skb/filter", "protocol == 2048");
        File.WriteAllText($"{_instance}/events/skb/kfree_skb/enable", "1");
    }

    [GeneratedRegex(@"kfree_skb: .* location=(?<symbol>[\w.]+\+0x[0-9a-f]+)/0x[0-9a-f]+ reason: (?<reason>\w+)")]
    private static partial Regex Line();

    /// <summary>(reason, symbol+0xoffset) of every IPv4 drop the thread saw, in order.</summary>
    public List<(string Reason, string Location)> Drops()
    {
        File.WriteAllText($"{_instance}/events/skb/kfree_skb/enable", "0");
        var drops = new List<(string, string)>();
        foreach (string line in File.ReadLines($"{_instance}/trace"))
            if (Line().Match(line) is { Success: true } m)
                drops.Add((m.Groups["reason"].Value, m.Groups["symbol"].Value));
        return drops;
    }

    public void Dispose()
    {
        try
        {
            File.WriteAllText($"{_instance}/events/skb/kfree_skb/enable", "0");
        }
        catch (IOException)
        {
        }
        Directory.Delete(_instance);
    }
}

[Collection(KernelTapCollection.Name)]
public sealed partial class DropwatchTests
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int gettid();

    [GeneratedRegex(@" reason=(?<reason>\w+) location=(?<location>[\w.]+\+0x[0-9a-f]+)$")]
    private static partial Regex DropWords();

    private static (string Reason, string Location) Drop(CapturedFrame f)
    {
        Match m = DropWords().Match(f.Comment!);
        Assert.True(m.Success, $"no reason/location in: {f.Comment}");
        return (m.Groups["reason"].Value, m.Groups["location"].Value);
    }

    /// <summary>Sends datagrams to a closed loopback port from a thread of its own; returns that thread's id.</summary>
    private static int SendFromOwnThread(int port, int count, Action<int> beforeSending)
    {
        int tid = 0;
        var sender = new Thread(() =>
        {
            tid = gettid();
            beforeSending(tid);
            Assert.Equal(count, TapTestKit.SendUdp(port, count));
        });
        sender.Start();
        sender.Join();
        return tid;
    }

    [Fact]
    public void Udp_to_a_closed_loopback_port_is_dropped_with_the_reason_and_location_the_kernel_prints()
    {
        TapTestKit.RequireTaps();
        int closed = TapTestKit.FreshPort();
        // The filter narrows the dropwatch to these datagrams; other drops of the machine stay in the kernel.
        using var capture = new RunningCapture(TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { Filter = $"udp dst port {closed}", Immediate = true }));
        KernelDropTrace? trace = null;
        try
        {
            SendFromOwnThread(closed, 3, tid => trace = new KernelDropTrace(tid));
            capture.WaitFor(3);
            Thread.Sleep(200);
            capture.Stop();
            var kernel = trace!.Drops();
            var frames = capture.Sink.Frames;
            Assert.Equal(3, frames.Count);
            foreach (var f in frames)
            {
                var drop = Drop(f);
                Assert.True(kernel.Contains(drop), $"the kernel printed no drop {drop} for the sending thread; it printed: {string.Join("; ", kernel)}");
            }
            // Per the kernel's print, the sender's own datagrams went for want of a socket.
            Assert.Equal(3, kernel.Count(k => k == Drop(frames[0])));
            Assert.Equal("NO_SOCKET", Drop(frames[0]).Reason);
        }
        finally
        {
            trace?.Dispose();
        }
    }

    [Fact]
    public void Drop_reason_selection_keeps_or_leaves_out_reasons_in_the_kernel()
    {
        TapTestKit.RequireTaps();
        int closed = TapTestKit.FreshPort();
        string filter = $"udp dst port {closed}";
        using var kept = new RunningCapture(TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { Filter = filter, Immediate = true, DropReasons = "no_socket,TCP_CSUM" }));
        using var leftOut = new RunningCapture(TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { Filter = filter, Immediate = true, DropReasons = "-SKB_DROP_REASON_NO_SOCKET" }));
        using var others = new RunningCapture(TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { Filter = filter, Immediate = true, DropReasons = "-NOT_SPECIFIED" }));
        Assert.Equal(4, TapTestKit.SendUdp(closed, 4));
        kept.WaitFor(4);
        others.WaitFor(4);
        Thread.Sleep(300);
        kept.Stop();
        leftOut.Stop();
        others.Stop();
        Assert.Equal(4, kept.Sink.Count);
        Assert.Equal(4, others.Sink.Count);
        Assert.Equal(0, leftOut.Sink.Count);
        // Left out in the kernel: the program ran for them and sent nothing up.
        TapCounters c = leftOut.Source.ReadCounters()[0];
        Assert.True(c.Filtered >= 4, $"filtered {c.Filtered}");
    }

    [Fact]
    public void Drop_reason_names_the_kernel_lacks_are_refused_with_the_near_ones()
    {
        TapTestKit.RequireTaps();
        var e = Assert.Throws<TapException>(() => TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { DropReasons = "SOCKET" }));
        Assert.StartsWith("--drop-reason: this kernel has no drop reason 'SOCKET' (did you mean NO_SOCKET, ", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<TapException>(() => TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { DropReasons = "NO_SOCKET" }));
        Assert.Equal("--drop-reason selects frames of taps that have a drop reason: add -i tp_btf/kfree_skb", e.Message);
        e = Assert.Throws<TapException>(() => TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { DropReasons = "NO_SOCKET,-TCP_CSUM" }));
        Assert.Contains("not both", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tcp_to_a_closed_port_in_a_namespace_of_our_own_is_dropped_with_the_kernels_reason()
    {
        TapTestKit.RequireTaps();
        string ns = $"kdtt-d-{Environment.ProcessId}";
        if (File.Exists("/run/netns/" + ns))
            TapTestKit.Run("ip", "netns", "del", ns);
        TapTestKit.Run("ip", "netns", "add", ns);
        try
        {
            TapTestKit.Run("ip", "-n", ns, "link", "set", "lo", "up");
            uint inode = VethPair.NetnsInode(ns);
            int port = TapTestKit.FreshPort();
            // Nothing else runs in the namespace: its loopback carries only this connection attempt
            // (a SYN dropped for want of a socket, answered by a RST). The filter keeps the SYN.
            using var capture = new RunningCapture(TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { Filter = $"tcp dst port {port}", Immediate = true }));
            string script = "import os,socket,sys\nprint(os.getpid(), flush=True)\nsys.stdin.readline()\n" +
                $"try:\n socket.create_connection(('127.0.0.1', {port}), timeout=5)\n print('connected')\nexcept ConnectionRefusedError:\n print('refused')\n";
            var start = new ProcessStartInfo("ip", ["netns", "exec", ns, "python3", "-c", script]) { RedirectStandardInput = true, RedirectStandardOutput = true };
            using var client = Process.Start(start)!;
            int pid = int.Parse(client.StandardOutput.ReadLine()!, CultureInfo.InvariantCulture);
            List<(string Reason, string Location)> kernel;
            using (var trace = new KernelDropTrace(pid))
            {
                client.StandardInput.WriteLine("go");
                client.StandardInput.Flush();
                Assert.Equal("refused", client.StandardOutput.ReadLine());
                client.WaitForExit();
                capture.WaitFor(1);
                Thread.Sleep(200);
                kernel = trace.Drops();
            }
            capture.Stop();
            var frame = Assert.Single(capture.Sink.Frames);
            Assert.Contains($" netns={inode} ", frame.Comment, StringComparison.Ordinal);
            Assert.Contains($"[{pid}] ", frame.Comment, StringComparison.Ordinal);
            var drop = Drop(frame);
            Assert.True(kernel.Contains(drop), $"the kernel printed no drop {drop} for the client; it printed: {string.Join("; ", kernel)}");
            Assert.Equal("NO_SOCKET", drop.Reason);
            Assert.StartsWith("tcp_v4_rcv+0x", drop.Location, StringComparison.Ordinal);
        }
        finally
        {
            TapTestKit.Run("ip", "netns", "del", ns);
        }
    }
}
