using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>tcpdump's options as taps take them: -Q, -c, user-space filtering, several taps at once.</summary>
[Collection(KernelTapCollection.Name)]
public sealed class TapOptionsTests
{
    [Fact]
    public void Several_taps_see_the_same_skb_on_its_way()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        var resolver = TapResolver.ForKernel();
        var taps = resolver.Resolve([TapSpec.Parse("tp_btf/net_dev_queue"), TapSpec.Parse("tp_btf/netif_receive_skb")]);
        using var capture = new RunningCapture(TapSource.Open(taps, new TapSourceOptions { Filter = $"udp dst port {port}", Immediate = true }));
        Assert.Equal(6, TapTestKit.SendUdp(port, 6, paced: true));
        capture.WaitFor(12);
        Thread.Sleep(200);
        capture.Stop();
        var frames = capture.Sink.Frames.OrderBy(f => f.TimestampNs).ToList(); // per-CPU rings may reorder
        var sent = frames.Where(f => f.InterfaceName == "tp_btf/net_dev_queue").ToList();
        var received = frames.Where(f => f.InterfaceName == "tp_btf/netif_receive_skb").ToList();
        Assert.Equal(6, sent.Count);
        Assert.Equal(6, received.Count);
        // Loopback hands the very skb it was given to the receive path: the same packet id (skb address), the same bytes.
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(sent[i].PacketId, received[i].PacketId);
            Assert.Equal(sent[i].Data, received[i].Data);
            Assert.True(received[i].TimestampNs >= sent[i].TimestampNs);
        }
    }

    [Fact]
    public void Count_limit_stops_after_that_many_frames()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        using var capture = new RunningCapture(TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { Filter = $"udp dst port {port}", MaxFrames = 4, Immediate = true }));
        Assert.Equal(10, TapTestKit.SendUdp(port, 10));
        capture.WaitFor(10); // waits its full time only if the limit were ignored
        capture.Stop();
        Assert.Equal(4, capture.Sink.Count);
        Assert.True(capture.Source.ReachedMaxFrames);
    }

    [Fact]
    public void User_space_filtering_gives_the_same_frames()
    {
        TapTestKit.RequireTaps();
        int wanted = TapTestKit.FreshPort(), other = TapTestKit.FreshPort();
        using var capture = new RunningCapture(TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { Filter = $"udp dst port {wanted}", KernelFilter = false, Immediate = true }));
        Assert.False(capture.Source.FiltersInKernel);
        Assert.Equal(20, TapTestKit.SendUdp(other, 20));
        Assert.Equal(5, TapTestKit.SendUdp(wanted, 5));
        capture.WaitFor(5);
        Thread.Sleep(200);
        var result = capture.Stop();
        Assert.Equal(5, capture.Sink.Count);
        Assert.All(capture.Sink.Frames, f => Assert.Equal(wanted, (f.Data[36] << 8) | f.Data[37]));
        // The refused frames were received but not accepted.
        Assert.True(result.Interfaces.Total(i => i.Received) - result.Interfaces.Total(i => i.Accepted) >= 20);
    }

    [Fact]
    public void Filter_too_large_for_the_kernel_falls_back_with_a_notice()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        // 3000 alternatives, unoptimized (-O): beyond what the translator hands the verifier.
        string huge = string.Join(" or ", Enumerable.Range(0, 3000).Select(i => $"host 10.{i / 250}.{i % 250}.1")) + $" or udp dst port {port}";
        var program = KdtCapture.Filters.FilterCompiler.Compile(huge, KdtCapture.Filters.LinkType.EN10MB, new KdtCapture.Filters.FilterCompileOptions { Optimize = false, Netmask = 0 });
        Assert.False(KdtCapture.Filters.Ebpf.EbpfTranslator.TryTranslate(program.Instructions, null, out _, out var refusal));
        Assert.Equal(KdtCapture.Filters.Ebpf.EbpfTranslationFailure.TooLarge, refusal.Failure);
        using var capture = new RunningCapture(TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { Filter = huge, Optimize = false, Immediate = true }));
        Assert.False(capture.Source.FiltersInKernel);
        Assert.Contains(capture.Source.Notices, n => n.Contains("filtering in user space", StringComparison.Ordinal));
        Assert.Equal(3, TapTestKit.SendUdp(port, 3));
        capture.WaitFor(3);
        capture.Stop();
        Assert.Equal(3, capture.Sink.Count);
    }

    [Fact]
    public void Direction_leaves_out_taps_of_the_other_way()
    {
        TapTestKit.RequireTaps();
        var resolver = TapResolver.ForKernel();
        var both = resolver.Resolve([TapSpec.Parse("tp_btf/net_dev_queue"), TapSpec.Parse("tp_btf/netif_receive_skb")]);
        using (var source = TapSource.Open(both, new TapSourceOptions { Direction = CaptureDirection.In }))
        {
            Assert.Equal("tp_btf/netif_receive_skb", Assert.Single(source.Taps).Spec.Text);
            Assert.Contains(source.Notices, n => n.StartsWith("tp_btf/net_dev_queue sees only sent packets", StringComparison.Ordinal));
        }
        var e = Assert.Throws<TapException>(() => TapSource.Open(resolver.Resolve(TapSpec.Parse("tp_btf/net_dev_queue")), new TapSourceOptions { Direction = CaptureDirection.In }));
        Assert.StartsWith("-Q in leaves no tap", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_filter_that_does_not_compile_is_one_line()
    {
        TapTestKit.RequireTaps();
        var e = Assert.Throws<TapException>(() => TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { Filter = "udp port" }));
        Assert.DoesNotContain('\n', e.Message);
    }
}
