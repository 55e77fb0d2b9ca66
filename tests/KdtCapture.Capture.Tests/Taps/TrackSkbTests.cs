using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using KdtCapture.Capture.Taps;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// Two namespaces of the test's own joined by a veth pair, with a VXLAN tunnel over it: a datagram
/// sent to the tunnel's far end is encapsulated on the way (outer UDP to 4789) and decapsulated on
/// arrival, in the same skb — what <c>--track-skb</c> must follow although the outer headers no
/// longer match the filter. Removed afterwards.
/// </summary>
public sealed class TrackNamespaces : IDisposable
{
    public TrackNamespaces()
    {
        int n = Environment.ProcessId % 200 + 20;
        Subnet = $"10.236.{n}";
        Inner = $"10.237.{n}";
        A = $"kdtt-a-{Environment.ProcessId}";
        B = $"kdtt-b-{Environment.ProcessId}";
        Cleanup();
        try
        {
            TapTestKit.Run("ip", "netns", "add", A);
            TapTestKit.Run("ip", "netns", "add", B);
            TapTestKit.Run("ip", "link", "add", "kdttva", "netns", A, "type", "veth", "peer", "name", "kdttvb", "netns", B);
            Side(A, "kdttva", "kdttxa", ".1", ".2");
            Side(B, "kdttvb", "kdttxb", ".2", ".1");
            // Neighbours fixed up front (outer and inner): no ARP among the counted frames.
            Neighbour(A, "kdttva", Subnet + ".2", B, "kdttvb");
            Neighbour(B, "kdttvb", Subnet + ".1", A, "kdttva");
            Neighbour(A, "kdttxa", Inner + ".2", B, "kdttxb");
            Neighbour(B, "kdttxb", Inner + ".1", A, "kdttxa");
        }
        catch
        {
            Cleanup();
            throw;
        }
    }

    public string A { get; }
    public string B { get; }
    /// <summary>The veth pair's /24 (.1 in A, .2 in B).</summary>
    public string Subnet { get; }
    /// <summary>The tunnel's /24 (.1 in A, .2 in B).</summary>
    public string Inner { get; }

    private void Side(string ns, string veth, string vxlan, string self, string peer)
    {
        TapTestKit.Run("ip", "-n", ns, "addr", "add", Subnet + self + "/24", "dev", veth);
        TapTestKit.Run("ip", "-n", ns, "link", "set", veth, "up");
        TapTestKit.Run("ip", "-n", ns, "link", "add", vxlan, "type", "vxlan", "id", "42", "local", Subnet + self, "remote", Subnet + peer,
            "dstport", "4789", "dev", veth);
        TapTestKit.Run("ip", "-n", ns, "addr", "add", Inner + self + "/24", "dev", vxlan);
        TapTestKit.Run("ip", "-n", ns, "link", "set", vxlan, "up");
    }

    private static void Neighbour(string ns, string device, string address, string peerNs, string peerDevice)
    {
        string mac = TapTestKit.Run("ip", "netns", "exec", peerNs, "cat", $"/sys/class/net/{peerDevice}/address").Trim();
        TapTestKit.Run("ip", "-n", ns, "neigh", "replace", address, "lladdr", mac, "dev", device, "nud", "permanent");
    }

    /// <summary>Sends datagrams carrying "kdtt-N" (N = 0, 1, ...) from A to B's tunnel address, 50 ms apart.</summary>
    public void SendThroughTunnel(int port, int count)
    {
        string script = $"import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n" +
            $"for i in range({count}):\n s.sendto(b'kdtt-%d' % i, ('{Inner}.2', {port}))\n time.sleep(0.05)\n";
        using var sender = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", A, "python3", "-c", script]))!;
        sender.WaitForExit();
        Assert.Equal(0, sender.ExitCode);
    }

    private void Cleanup()
    {
        foreach (string ns in new[] { A, B })
            if (File.Exists("/run/netns/" + ns))
                Process.Start("ip", ["netns", "del", ns])!.WaitForExit();
    }

    public void Dispose() => Cleanup();
}

[Collection(KernelTapCollection.Name)]
public sealed class TrackSkbTests
{
    /// <summary>Every tracepoint of this kernel with an skb argument (BTF's btf_trace_* typedefs), small rings: there are ~30.</summary>
    private static TapSource OpenEveryTracepoint(string filter, bool track) =>
        TapSource.Open(TapResolver.ForKernel().Resolve(TapSpec.Parse("tp_btf/*")), new TapSourceOptions
        {
            Filter = filter,
            TrackSkb = track,
            Immediate = true,
            BufferSizeKiB = 256,
        });

    private static int Datagram(CapturedFrame f)
    {
        ReadOnlySpan<byte> data = f.Data;
        int at = data.IndexOf("kdtt-"u8);
        return at < 0 || at + 5 >= data.Length ? -1 : data[at + 5] - '0';
    }

    private static string Tap(CapturedFrame f) => f.InterfaceName["tp_btf/".Length..];

    private static bool Tracked(CapturedFrame f) => f.Comment!.EndsWith(" track", StringComparison.Ordinal);

    [Fact]
    public void A_tunnelled_datagram_is_followed_through_encapsulation_at_every_tracepoint_it_passes()
    {
        TapTestKit.RequireTaps();
        using var net = new TrackNamespaces();
        int port = TapTestKit.FreshPort();
        string filter = $"udp port {port}";
        // The same traffic captured with and without tracking, at the same time, on every skb tracepoint.
        using var tracked = new RunningCapture(OpenEveryTracepoint(filter, track: true));
        using var plain = new RunningCapture(OpenEveryTracepoint(filter, track: false));
        Thread.Sleep(200);
        net.SendThroughTunnel(port, 3);
        Thread.Sleep(500);
        tracked.WaitFor(3 * 8);
        tracked.Stop();
        plain.Stop();

        var matcher = new Dictionary<LinkType, CbpfFilter>();
        bool Matches(CapturedFrame f)
        {
            if (!matcher.TryGetValue(f.LinkType, out var m))
                matcher[f.LinkType] = m = CbpfFilter.Create(FilterCompiler.Compile(filter, f.LinkType, new FilterCompileOptions { Netmask = 0 }));
            return m.Run(f.Data, f.OriginalLength) != 0;
        }

        // Per-tap, per-CPU rings: the kernel's order is the time stamps' (the source's reordering is best effort).
        var trackedFrames = tracked.Sink.Frames.OrderBy(f => f.TimestampNs).ToList();
        var plainFrames = plain.Sink.Frames.OrderBy(f => f.TimestampNs).ToList();
        for (int i = 0; i < 3; i++)
        {
            var path = trackedFrames.Where(f => Datagram(f) == i).ToList();
            var untracked = plainFrames.Where(f => Datagram(f) == i).ToList();
            string pathText = string.Join("\n", path.Select(f => f.Comment));
            Assert.NotEmpty(untracked);
            // One skb the whole way (epb_packetid and the comment say the same).
            Assert.Single(path.Select(f => f.PacketId).Distinct());
            Assert.All(path, f => Assert.Contains($" skb=0x{path[0].PacketId:x} ", f.Comment, StringComparison.Ordinal));
            // Frames the filter matches are what the capture without tracking saw, tap for tap;
            // the others are marked and are the encapsulated ones (outer UDP to 4789).
            Assert.All(path, f => Assert.Equal(!Matches(f), Tracked(f)));
            Assert.Equal(untracked.Select(Tap), path.Where(f => !Tracked(f)).Select(Tap));
            var outer = path.Where(Tracked).ToList();
            Assert.True(outer.Count >= 4, $"datagram {i}: {outer.Count} frames followed past the filter:\n{pathText}");
            Assert.All(outer, f => Assert.True(f.Data.AsSpan().IndexOf(new byte[] { 0x12, 0xb5 }) >= 0, $"not VXLAN-encapsulated: {f.Comment}"));
            // The hops in the kernel's order: queued on the tunnel device (inner), on the veth (outer),
            // into the veth's peer, received outer then inner, dropped for want of a socket.
            string sequence = string.Join(' ', path.Select(f => Tap(f) + (Tracked(f) ? "*" : "")));
            Assert.True(Regex.IsMatch(sequence, @"^net_dev_queue net_dev_start_xmit net_dev_queue\* net_dev_start_xmit\* (netif_rx_entry\* )?netif_rx\* net_dev_xmit\* .*netif_receive_skb\* .*netif_receive_skb .*kfree_skb$"),
                $"datagram {i}: {sequence}\n{pathText}");
            Assert.EndsWith(" reason=NO_SOCKET", Regex.Replace(path[^1].Comment!, " location=\\S+", ""), StringComparison.Ordinal);
        }
        // Freed skbs are forgotten: nothing stays tracked after the capture's own kfree_skb frames.
        Assert.Equal(0, tracked.Source.TrackedSkbCount());
    }
}

/// <summary>
/// --track-skb across BPF trampolines: a filter that only the RAW frame at fentry/ip_output matches
/// (<c>link[0] == 0x45</c>: there the frame starts at the IP header; on lo's EN10MB frames it is the
/// first byte of a zero MAC address) starts following the skb, which is then captured at
/// fentry/ip_rcv (and fentry/__dev_queue_xmit once its MAC header is set) because it is followed. This machine refuses
/// fentry, so it skips here with the refusal; <see cref="GuestTrackSkbTests"/> runs it in the VM guest.
/// </summary>
[Collection(KernelTapCollection.Name)]
public sealed class TrackSkbTrampolineTests
{
    private static readonly string[] Taps = ["fentry/ip_output", "fentry/__dev_queue_xmit", "fentry/ip_rcv"];

    [Fact]
    public void Fentry_taps_follow_the_skb_that_matched_at_ip_output()
    {
        TapTestKit.RequireTaps();
        if (TapResolver.AttachKindRefusal(TapKind.Fentry, "ip_output") is { } refusal)
            Assert.Skip(refusal + " — this test runs in the VM guest (tests/vm)");
        using var receiver = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        receiver.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        int port = ((System.Net.IPEndPoint)receiver.LocalEndPoint!).Port;
        string filter = $"link[0] == 0x45 and udp dst port {port}";
        TapSource Open(bool track) => TapSource.Open(TapResolver.ForKernel().Resolve(Taps.Select(TapSpec.Parse)),
            new TapSourceOptions { Filter = filter, TrackSkb = track, Immediate = true, BufferSizeKiB = 1024 });
        using var tracked = new RunningCapture(Open(track: true));
        using var plain = new RunningCapture(Open(track: false));
        const int sent = 5;
        Assert.Equal(sent, TapTestKit.SendUdp(port, sent, 64, paced: true));
        // Read them: the socket frees each skb (consume_skb, kfree_skbmem), which ends its following.
        byte[] buffer = new byte[256];
        receiver.ReceiveTimeout = 5000;
        for (int i = 0; i < sent; i++)
            Assert.Equal(64, receiver.Receive(buffer));
        tracked.WaitFor(3 * sent);
        plain.WaitFor(sent);
        Thread.Sleep(300);
        tracked.Stop();
        plain.Stop();
        // With kfree_skbmem traceable here, freed skbs are forgotten by the cleanup program.
        Assert.Contains("--track-skb: freed skbs are forgotten at ", string.Join("\n", tracked.Source.Notices), StringComparison.Ordinal);

        // Without tracking the filter matches where frames are RAW: at ip_output, and wherever the MAC
        // header is not set yet; never at ip_rcv (lo's EN10MB frame, a zero MAC first).
        var plainFrames = plain.Sink.Frames.OrderBy(f => f.TimestampNs).ToList();
        Assert.All(plainFrames, f => Assert.Equal(LinkType.RAW, f.LinkType));
        Assert.Equal(sent, plainFrames.Count(f => f.InterfaceName == "fentry/ip_output"));
        Assert.DoesNotContain(plainFrames, f => f.InterfaceName == "fentry/ip_rcv");
        var frames = tracked.Sink.Frames.OrderBy(f => f.TimestampNs).ToList();
        Assert.Equal(3 * sent, frames.Count);
        for (int i = 0; i < sent; i++)
        {
            var path = frames.Skip(3 * i).Take(3).ToList();
            string text = string.Join("\n", path.Select(f => f.Comment));
            Assert.Equal(Taps, path.Select(f => f.InterfaceName));
            Assert.Single(path.Select(f => f.PacketId).Distinct());
            Assert.Equal(i, BitConverter.ToInt32(path[0].Data, 28)); // the datagram's own sequence number
            // Frames the filter matched are the untracked capture's, tap for tap; ip_rcv's is followed.
            Assert.All(path, f => Assert.Equal(f.LinkType != LinkType.RAW, f.Comment!.EndsWith(" track", StringComparison.Ordinal)));
            Assert.Equal(LinkType.RAW, path[0].LinkType);
            Assert.Equal(LinkType.EN10MB, path[2].LinkType);
        }
        Assert.Equal(plainFrames.Select(f => f.InterfaceName), frames.Where(f => !f.Comment!.EndsWith(" track", StringComparison.Ordinal)).Select(f => f.InterfaceName));
        Assert.Equal(0, tracked.Source.TrackedSkbCount());
    }
}

/// <summary>Runs <see cref="TrackSkbTrampolineTests"/> in the VM guest (one boot), where it must pass.</summary>
public sealed class GuestTrackSkbTests
{
    [Fact]
    public void Tracking_across_trampoline_taps_passes_in_the_guest()
    {
        if (VmHarness.IsGuest)
            Assert.Skip("already in the guest");
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("the guest runs the tests as root; run this as root");
        if (!VmHarness.IsAvailable(out var reason))
            Assert.Skip(reason);
        var (tests, run) = VmHarness.RunTestClass(typeof(TrackSkbTrampolineTests), TimeSpan.FromMinutes(15), TestContext.Current.CancellationToken);
        var test = Assert.Single(tests);
        Assert.True(test.Result == "Pass", $"{test.Name}: {test.Result} in the guest: {test.Details}\n{run.Stderr}");
    }
}
