using System.Diagnostics;
using System.Net;
using KdtCapture.Bpf.Features;
using KdtCapture.Capture.Devices;
using KdtCapture.Capture.Tests.Taps;
using KdtCapture.Filters;
using KdtCapture.Testing;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace KdtCapture.Capture.Tests.Devices;

/// <summary>
/// <see cref="KdtTapDevice"/> on the real kernel: datagrams the test sends on loopback, captured at
/// tp_btf/net_dev_queue by code written against SharpPcap's interfaces only, checked against what
/// was sent (addresses, ports, payload), PacketDotNet's decoding, libpcap's filter errors and the
/// kernel's counts; the same code then reads the packets back from a file through
/// <see cref="CaptureFileDevice"/> and SharpPcap's own file device.
/// </summary>
[Collection(KernelTapCollection.Name)]
public sealed class KdtTapDeviceTests
{
    private const string Tap = "tp_btf/net_dev_queue";
    private const int Packets = 12;

    /// <summary>A SharpPcap program: open, filter, background capture with the event, stop. Knows
    /// nothing of kdt beyond the line that made <paramref name="device"/>.</summary>
    private static (List<RawCapture> Packets, List<CaptureStoppedEventStatus> Stops, ICaptureStatistics? Statistics) CaptureWithEvents(
        ICaptureDevice device, string filter, Action traffic, int expected)
    {
        var packets = new List<RawCapture>();
        var stops = new List<CaptureStoppedEventStatus>();
        // Handlers first, as SharpPcap's examples do: opening keeps them.
        device.OnPacketArrival += (_, e) =>
        {
            lock (packets) packets.Add(e.GetPacket());
        };
        device.OnCaptureStopped += (_, status) =>
        {
            lock (stops) stops.Add(status);
        };
        device.Open(new DeviceConfiguration { Immediate = true });
        try
        {
            device.Filter = filter;
            device.StartCapture();
            Assert.True(device.Started);
            traffic();
            var clock = Stopwatch.StartNew();
            while (Count(packets) < expected && clock.Elapsed < TimeSpan.FromSeconds(15))
                Thread.Sleep(20);
            // Anything more (there must be nothing) would come now.
            Thread.Sleep(200);
            device.StopCapture();
            Assert.False(device.Started);
            return ([.. packets], [.. stops], device.Statistics);
        }
        finally
        {
            device.Close();
        }
    }

    private static int Count(List<RawCapture> packets)
    {
        lock (packets) return packets.Count;
    }

    /// <summary>The datagram <see cref="TapTestKit.SendUdp"/> sent as number <paramref name="i"/>, decoded by PacketDotNet.</summary>
    private static void AssertSentDatagram(RawCapture raw, int port, int i)
    {
        Packet packet = raw.GetPacket();
        var ip = packet.Extract<IPv4Packet>();
        Assert.NotNull(ip);
        Assert.Equal(IPAddress.Loopback, ip.DestinationAddress);
        var udp = packet.Extract<UdpPacket>();
        Assert.NotNull(udp);
        Assert.Equal(port, udp.DestinationPort);
        byte[] payload = udp.PayloadData;
        Assert.Equal(64, payload.Length);
        Assert.Equal(i, BitConverter.ToInt32(payload, 0));
        Assert.Equal(0xd7, payload[4]);
    }

    [Fact]
    public void A_SharpPcap_program_captures_at_the_tap_with_events_and_statistics()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        ICaptureDevice device = new KdtTapDevice(Tap);
        DateTime before = DateTime.UtcNow;
        var (packets, stops, statistics) = CaptureWithEvents(device, $"udp dst port {port}",
            () => Assert.Equal(Packets, TapTestKit.SendUdp(port, Packets)), Packets);
        DateTime after = DateTime.UtcNow;

        Assert.Equal(Packets, packets.Count);
        // Per-CPU rings may reorder a sender that changed CPU: the payload numbers them.
        var ordered = packets.OrderBy(p => p.Timeval.Value).ToList();
        for (int i = 0; i < Packets; i++)
        {
            RawCapture raw = ordered[i];
            // Loopback has an Ethernet-style header (all zero addresses) at net_dev_queue.
            Assert.Equal(LinkLayers.Ethernet, raw.LinkLayerType);
            Assert.Equal(14 + 20 + 8 + 64, raw.Data.Length);
            Assert.Equal(raw.Data.Length, raw.PacketLength);
            Assert.InRange(raw.Timeval.Date, before.AddSeconds(-1), after.AddSeconds(1));
            AssertSentDatagram(raw, port, i);
        }
        Assert.Equal([CaptureStoppedEventStatus.CompletedWithoutError], stops);
        Assert.NotNull(statistics);
        Assert.Equal((uint)Packets, statistics.ReceivedPackets);
        Assert.Equal(0u, statistics.DroppedPackets);
        Assert.Equal(0u, statistics.InterfaceDroppedPackets);
    }

    [Fact]
    public void GetNextPacket_reads_the_packets_and_times_out_on_silence()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        using var device = new KdtTapDevice(Tap);
        device.Open(new DeviceConfiguration { ReadTimeout = 300, Immediate = true, TimestampResolution = TimestampResolution.Nanosecond });
        device.Filter = $"udp dst port {port}";
        Assert.Equal(TimestampResolution.Nanosecond, device.TimestampResolution);

        var clock = Stopwatch.StartNew();
        Assert.Equal(GetPacketStatus.ReadTimeout, device.GetNextPacket(out _));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"returned after {clock.Elapsed}");

        Assert.Equal(Packets, TapTestKit.SendUdp(port, Packets));
        var got = new List<RawCapture>();
        int nanoFractions = 0;
        while (got.Count < Packets && device.GetNextPacket(out PacketCapture e) == GetPacketStatus.PacketRead)
        {
            Assert.Equal(((PcapHeader)e.Header).CaptureLength, (uint)e.Data.Length);
            // Nanoseconds asked for: the fraction is not a whole number of microseconds (1 in 1000 would be).
            nanoFractions += e.Header.Timeval.Value * 1_000_000 % 1 != 0 ? 1 : 0;
            got.Add(e.GetPacket());
        }
        Assert.Equal(Packets, got.Count);
        Assert.True(nanoFractions >= Packets - 2, $"{nanoFractions} of {Packets} time stamps have nanoseconds");
        var ordered = got.OrderBy(p => p.Timeval.Value).ToList();
        for (int i = 0; i < Packets; i++)
            AssertSentDatagram(ordered[i], port, i);
        Assert.Equal(GetPacketStatus.ReadTimeout, device.GetNextPacket(out _));
        Assert.Equal(LinkLayers.Ethernet, device.LinkType);
    }

    [Fact]
    public async Task CaptureAsync_enumerates_in_place_and_ends_on_cancellation()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        using var device = new KdtTapDevice(Tap);
        device.Open(new DeviceConfiguration { Immediate = true });
        device.Filter = $"udp dst port {port}";
        Assert.Equal(Packets, TapTestKit.SendUdp(port, Packets));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var seen = new List<(long Ns, RawCapture Raw, string? Comment, ulong? Skb)>();
        TapPacket first = default;
        await foreach (TapPacket p in device.CaptureAsync(timeout.Token))
        {
            if (seen.Count == 0)
                first = p;
            Assert.Equal(KdtCapture.Filters.LinkType.EN10MB, p.LinkType);
            Assert.Equal((uint)p.Data.Length, p.OriginalLength);
            seen.Add((p.Timestamp.ToUnixNanoseconds(), p.GetPacket(), p.Comment, p.SkbAddress));
            if (seen.Count == Packets)
                break;
        }
        Assert.Equal(Packets, seen.Count);
        // The view is of the pipeline's buffer: once the enumeration moved on it refuses to be read.
        Assert.Throws<InvalidOperationException>(() => first.Data.Length);
        var ordered = seen.OrderBy(s => s.Ns).ToList();
        for (int i = 0; i < Packets; i++)
        {
            AssertSentDatagram(ordered[i].Raw, port, i);
            // The comment names the tracepoint and this process.
            Assert.StartsWith("net_dev_queue ", ordered[i].Comment);
            Assert.Contains($"[{Environment.ProcessId}]", ordered[i].Comment, StringComparison.Ordinal);
            Assert.NotNull(ordered[i].Skb);
        }

        // Cancelling ends the enumeration without an exception.
        using var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        int more = 0;
        await foreach (TapPacket p in device.CaptureAsync(soon.Token))
            more++;
        Assert.Equal(0, more);
    }

    [Fact]
    public void Setting_the_filter_during_a_capture_switches_to_the_new_filter()
    {
        TapTestKit.RequireTaps();
        int a = TapTestKit.FreshPort(), b = TapTestKit.FreshPort();
        using var device = new KdtTapDevice(Tap);
        var ports = new List<int>();
        device.Open(new DeviceConfiguration { Immediate = true });
        device.Filter = $"udp dst port {a}";
        device.OnPacketArrival += (_, e) =>
        {
            var udp = e.GetPacket().GetPacket().Extract<UdpPacket>();
            lock (ports) ports.Add(udp?.DestinationPort ?? -1);
        };
        device.StartCapture();
        TapTestKit.SendUdp(a, 3);
        TapTestKit.SendUdp(b, 3);
        WaitFor(ports, 3);
        device.Filter = $"udp dst port {b}";
        TapTestKit.SendUdp(a, 4);
        TapTestKit.SendUdp(b, 4);
        WaitFor(ports, 7);
        Thread.Sleep(200);
        device.StopCapture();
        lock (ports)
            Assert.Equal([a, a, a, b, b, b, b], ports);
    }

    private static void WaitFor(List<int> items, int count)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            lock (items)
                if (items.Count >= count) return;
            Thread.Sleep(20);
        }
    }

    [Fact]
    public void A_handler_that_closes_the_device_ends_the_capture_once_and_it_opens_again()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        using var device = new KdtTapDevice(Tap);
        int arrived = 0;
        var stops = new List<CaptureStoppedEventStatus>();
        device.OnCaptureStopped += (_, status) =>
        {
            lock (stops) stops.Add(status);
        };
        device.Open(new DeviceConfiguration { Immediate = true });
        device.Filter = $"udp dst port {port}";
        device.OnPacketArrival += (_, _) =>
        {
            Interlocked.Increment(ref arrived);
            device.StopCapture();
            device.Close();
        };
        device.StartCapture();
        TapTestKit.SendUdp(port, 3);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            lock (stops)
                if (stops.Count > 0) break;
            Thread.Sleep(20);
        }
        Thread.Sleep(200);
        Assert.Equal(1, Volatile.Read(ref arrived));
        lock (stops)
            Assert.Equal([CaptureStoppedEventStatus.CompletedWithoutError], stops);
        Assert.False(device.Opened);

        // Opened again, it captures again (the closed session's programs are gone, a new one loads).
        device.Open(new DeviceConfiguration { ReadTimeout = 2000, Immediate = true });
        device.Filter = $"udp dst port {port}";
        TapTestKit.SendUdp(port, 2);
        Assert.Equal(GetPacketStatus.PacketRead, device.GetNextPacket(out _));
        Assert.Equal(GetPacketStatus.PacketRead, device.GetNextPacket(out _));
    }

    [Fact]
    public void Refusals_are_SharpPcap_exceptions_of_one_line()
    {
        TapTestKit.RequireTaps();
        using var device = new KdtTapDevice(Tap);
        Assert.Throws<DeviceNotReadyException>(() => device.Filter = "tcp");
        Assert.Throws<DeviceNotReadyException>(() => device.GetNextPacket(out _));
        Assert.Throws<DeviceNotReadyException>(() => device.StartCapture());
        Assert.Null(device.Statistics);

        device.Open();
        // libpcap's own message for the same mistake.
        string libpcap = LibPcapOracle.Compile("udp port ninety", KdtCapture.Filters.LinkType.EN10MB).Error!;
        var bad = Assert.Throws<PcapException>(() => device.Filter = "udp port ninety");
        Assert.Equal(libpcap, bad.Message);
        Assert.Equal(libpcap, device.LastError);
        Assert.Throws<DeviceNotReadyException>(() => device.StartCapture()); // no handler
        device.Close();

        var unknown = Assert.Throws<PcapException>(() => new KdtTapDevice("tp_btf/kdx_no_such_tracepoint").Open());
        Assert.DoesNotContain('\n', unknown.Message);
        Assert.Contains("kdx_no_such_tracepoint", unknown.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new KdtTapDevice("eth0"));

        if (!BpfFeatures.HasAttachKind(BpfAttachKind.Fentry))
        {
            var refused = Assert.Throws<PcapException>(() => new KdtTapDevice("fentry/ip_output").Open());
            Assert.Contains("tp_btf/net_dev_queue", refused.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_device_list_offers_the_taps_this_kernel_attaches()
    {
        TapTestKit.RequireTaps();
        var names = KdtTapDeviceList.New().Select(d => d.Name).ToList();
        // The tracepoints exist on every kernel with BTF since 5.5; tracefs shows them too.
        foreach (string tp in new[] { "net_dev_queue", "netif_receive_skb", "kfree_skb" })
        {
            Assert.True(Directory.Exists($"/sys/kernel/tracing/events/{(tp == "kfree_skb" ? "skb" : "net")}/{tp}") || !Directory.Exists("/sys/kernel/tracing/events"));
            Assert.Contains($"tp_btf/{tp}", names);
        }
        Assert.Equal(BpfFeatures.HasAttachKind(BpfAttachKind.Fentry), names.Contains("fentry/ip_output"));
        Assert.Same(KdtTapDeviceList.Instance, KdtTapDeviceList.Instance);
        Assert.NotNull(KdtTapDeviceList.Instance["tp_btf/net_dev_queue"]);
    }

    [Fact]
    public void The_same_SharpPcap_code_reads_the_capture_back_from_a_file_device()
    {
        TapTestKit.RequireTaps();
        int port = TapTestKit.FreshPort();
        var (captured, _, _) = CaptureWithEvents(new KdtTapDevice(Tap), $"udp dst port {port}",
            () => TapTestKit.SendUdp(port, Packets), Packets);
        Assert.Equal(Packets, captured.Count);
        string path = Path.Combine(Path.GetTempPath(), $"kdx-tapdevice-{Environment.ProcessId}-{port}.pcap");
        try
        {
            // Written with SharpPcap's own writer: one link type (Ethernet) here.
            using (var writer = new CaptureFileWriterDevice(path))
            {
                writer.Open(new DeviceConfiguration { LinkLayerType = LinkLayers.Ethernet });
                foreach (RawCapture raw in captured)
                    writer.Write(raw);
            }
            foreach (ICaptureDevice file in new ICaptureDevice[] { new CaptureFileDevice(path), new CaptureFileReaderDevice(path) })
            {
                var (again, stops, statistics) = CaptureWithEvents(file, "", () => { }, Packets);
                Assert.Equal(captured.Select(r => (r.Timeval.Value, Convert.ToHexString(r.Data))),
                    again.Select(r => (r.Timeval.Value, Convert.ToHexString(r.Data))));
                if (file is CaptureFileDevice)
                    Assert.Equal([CaptureStoppedEventStatus.CompletedWithoutError], stops);
                Assert.Null(statistics);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
