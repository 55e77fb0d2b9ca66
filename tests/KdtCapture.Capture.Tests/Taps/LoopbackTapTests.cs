using KdtCapture.Capture.Taps;
using KdtCapture.Filters;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// Taps on loopback traffic the test sends itself, compared with tcpdump's AF_PACKET capture of
/// the same packets: exact counts, the same bytes, link types, metadata of the sender.
/// </summary>
[Collection(KernelTapCollection.Name)]
public sealed class LoopbackTapTests
{
    private const int Packets = 25;

    /// <summary>The sending thread's id and comm, as the kernel knows them.</summary>
    private static (int Tid, string Comm) CurrentTask()
    {
        string target = new FileInfo("/proc/thread-self").LinkTarget!; // "PID/task/TID"
        int tid = int.Parse(target[(target.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return (tid, File.ReadAllText("/proc/thread-self/comm").TrimEnd('\n'));
    }

    private static (List<CapturedFrame> Frames, List<byte[]> Oracle, TapCounters Counters, (int Tid, string Comm) Task) CaptureWithOracle(
        string spec, string filter, TapSourceOptions? options = null, int count = Packets, int size = 64)
    {
        int port = TapTestKit.FreshPort();
        string expression = $"udp dst port {port}";
        string pcap = Path.Combine(Path.GetTempPath(), $"kdt-tap-oracle-{Environment.ProcessId}-{port}.pcap");
        try
        {
            using var tcpdump = new TcpdumpCapture(pcap, "lo", expression);
            using var capture = new RunningCapture(TapTestKit.Open(spec, new TapSourceOptions
            {
                Filter = filter.Replace("PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal),
                SnapLength = options?.SnapLength ?? 262144,
                LinkType = options?.LinkType,
                Immediate = true,
            }));
            (int Tid, string Comm) task = default;
            var sender = new Thread(() =>
            {
                task = CurrentTask();
                Assert.Equal(count, TapTestKit.SendUdp(port, count, size, paced: true));
            });
            sender.Start();
            sender.Join();
            capture.WaitFor(count);
            tcpdump.Stop();
            var oracle = TapTestKit.ReadPackets(pcap);
            Assert.True(oracle.Count == count, $"tcpdump captured {oracle.Count} of {count}: {tcpdump.Messages}");
            // Anything still in flight would arrive now: stop only when both sides have settled.
            Thread.Sleep(200);
            TapCounters counters = capture.Source.ReadCounters()[0];
            capture.Stop();
            // Each CPU has its own ring, so a sender that moved between CPUs can be read out of order;
            // the kernel's time stamps restore the order AF_PACKET's single ring keeps.
            var frames = capture.Sink.Frames.OrderBy(f => f.TimestampNs).ToList();
            return (frames, oracle, counters, task);
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Theory]
    [InlineData("tp_btf/net_dev_queue")]
    [InlineData("raw_tp/net_dev_queue")]
    [InlineData("tp_btf/netif_receive_skb")]
    [InlineData("raw_tp/netif_receive_skb")]
    public void Every_packet_arrives_once_with_the_bytes_AF_PACKET_sees(string spec)
    {
        TapTestKit.RequireTaps();
        var (frames, oracle, counters, task) = CaptureWithOracle(spec, "udp dst port PORT");

        Assert.Equal(Packets, oracle.Count);
        Assert.Equal(Packets, frames.Count);
        for (int i = 0; i < Packets; i++)
        {
            Assert.Equal(LinkType.EN10MB, frames[i].LinkType);
            Assert.Equal(spec, frames[i].InterfaceName);
            Assert.Equal(Convert.ToHexString(oracle[i]), Convert.ToHexString(frames[i].Data));
            Assert.Equal((uint)oracle[i].Length, frames[i].OriginalLength);
        }
        // The receive side runs in softirq context, not necessarily the sender's: check the sender's
        // identity where the packet leaves.
        string comment = frames[0].Comment!;
        string target = spec[(spec.IndexOf('/') + 1)..];
        Assert.StartsWith(target + " ", comment, StringComparison.Ordinal);
        Assert.Contains(" ifindex=1(lo) ", comment, StringComparison.Ordinal);
        Assert.Contains($" netns={NetnsInode()} ", comment, StringComparison.Ordinal);
        if (target == "net_dev_queue")
        {
            Assert.StartsWith($"{target} {task.Comm.Replace(' ', '?')}[{Environment.ProcessId}] tid={task.Tid} ", comment, StringComparison.Ordinal);
            Assert.Equal(PacketDirection.Outbound, PacketFlags.GetDirection(frames[0].Flags!.Value));
        }
        else
        {
            Assert.Equal(PacketDirection.Inbound, PacketFlags.GetDirection(frames[0].Flags!.Value));
        }
        Assert.Equal($"{target} {comment.Split(' ')[1]}", TapComment.ConsolePrefix(comment).ToString());
        // Every run of the program is accounted for: delivered, filtered out, skipped or lost.
        Assert.Equal(0, counters.Lost);
        Assert.True(counters.Runs - counters.Filtered - counters.Skipped >= Packets);
    }

    [Fact]
    public void Snap_length_is_applied_in_the_kernel()
    {
        TapTestKit.RequireTaps();
        var (frames, oracle, _, _) = CaptureWithOracle("tp_btf/net_dev_queue", "udp dst port PORT", new TapSourceOptions { SnapLength = 60 }, count: 5, size: 500);
        Assert.Equal(5, frames.Count);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(60, frames[i].Data.Length);
            Assert.Equal((uint)oracle[i].Length, frames[i].OriginalLength);
            Assert.Equal(Convert.ToHexString(oracle[i].AsSpan(0, 60)), Convert.ToHexString(frames[i].Data));
        }
    }

    [Theory]
    [InlineData("tp_btf/net_dev_queue")]
    [InlineData("tp_btf/netif_receive_skb")]
    public void Forced_RAW_starts_at_the_network_header(string spec)
    {
        TapTestKit.RequireTaps();
        var (frames, oracle, _, _) = CaptureWithOracle(spec, "udp dst port PORT", new TapSourceOptions { LinkType = LinkType.RAW }, count: 5);
        Assert.Equal(5, frames.Count);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(LinkType.RAW, frames[i].LinkType);
            Assert.Equal(Convert.ToHexString(oracle[i].AsSpan(14)), Convert.ToHexString(frames[i].Data));
            Assert.Equal((uint)oracle[i].Length - 14, frames[i].OriginalLength);
        }
    }

    /// <summary>-y with a link type other than EN10MB/RAW: frames start at skb->data and carry that link type
    /// (on loopback's transmit path skb->data is the MAC header, so the bytes are tcpdump's).</summary>
    [Fact]
    public void Other_forced_link_types_start_at_skb_data()
    {
        TapTestKit.RequireTaps();
        // No filter (an 802.11 filter would not match these bytes): the test picks its own frames out.
        var (frames, oracle, _, _) = CaptureWithOracle("tp_btf/net_dev_queue", "", new TapSourceOptions { LinkType = LinkType.IEEE802_11 }, count: 5);
        var expected = oracle.Select(Convert.ToHexString).ToHashSet();
        var mine = frames.Where(f => expected.Contains(Convert.ToHexString(f.Data))).ToList();
        Assert.Equal(5, mine.Count);
        Assert.All(frames, f => Assert.Equal(LinkType.IEEE802_11, f.LinkType));
    }

    [Fact]
    public void The_kernel_filter_drops_what_it_should()
    {
        TapTestKit.RequireTaps();
        int wanted = TapTestKit.FreshPort(), other = TapTestKit.FreshPort();
        using var capture = new RunningCapture(TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { Filter = $"udp dst port {wanted}", Immediate = true }));
        Assert.True(capture.Source.FiltersInKernel);
        TapCounters before = capture.Source.ReadCounters()[0];
        Assert.Equal(40, TapTestKit.SendUdp(other, 40));
        Assert.Equal(10, TapTestKit.SendUdp(wanted, 10));
        capture.WaitFor(10);
        Thread.Sleep(200);
        TapCounters after = capture.Source.ReadCounters()[0];
        capture.Stop();
        Assert.Equal(10, capture.Sink.Count);
        // The 40 other datagrams ran the program and were refused there: they never left the kernel.
        Assert.True(after.Filtered - before.Filtered >= 40, $"filtered {after.Filtered - before.Filtered}");
        Assert.Equal(after.Runs - after.Filtered - after.Skipped - after.Lost, capture.Sink.Count);
    }

    [Fact]
    public void Kfree_skb_names_the_drop_reason_and_location()
    {
        TapTestKit.RequireTaps();
        int closed = TapTestKit.FreshPort();
        using var capture = new RunningCapture(TapTestKit.Open("tp_btf/kfree_skb", new TapSourceOptions { Filter = $"udp dst port {closed}", Immediate = true }));
        // Nobody listens on the port: UDP frees each datagram with reason NO_SOCKET.
        Assert.Equal(3, TapTestKit.SendUdp(closed, 3));
        capture.WaitFor(3);
        capture.Stop();
        var frames = capture.Sink.Frames;
        Assert.Equal(3, frames.Count);
        foreach (var f in frames)
        {
            Assert.Contains(" reason=NO_SOCKET", f.Comment, StringComparison.Ordinal);
            Assert.Matches(@" location=[A-Za-z_][\w.]*\+0x[0-9a-f]+", f.Comment);
        }
    }

    internal static uint NetnsInode(string path = "/proc/self/ns/net")
    {
        string target = new FileInfo(path).LinkTarget!;
        return uint.Parse(target[(target.IndexOf('[') + 1)..target.IndexOf(']')], System.Globalization.CultureInfo.InvariantCulture);
    }
}
