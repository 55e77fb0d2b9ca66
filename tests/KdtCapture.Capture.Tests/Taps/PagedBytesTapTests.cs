using System.Net;
using System.Net.Sockets;
using KdtCapture.Capture.Taps;
using KdtCapture.Filters;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// Filters that read bytes outside an skb's linear area. TCP over loopback keeps only the headers
/// linear (the payload sits in page fragments: loopback does scatter-gather), so a filter on a
/// payload byte cannot be answered from the linear bytes: the kernel leaves those packets to user
/// space, which runs the same filter on the whole frame. tcpdump's AF_PACKET socket (its filter reads
/// paged bytes) on the same traffic is the oracle.
/// </summary>
[Collection(KernelTapCollection.Name)]
public sealed class PagedBytesTapTests
{
    private const int Writes = 12;
    private const int WriteSize = 8000;

    /// <summary>Writes <see cref="Writes"/> chunks over a loopback TCP connection to <paramref name="port"/>, one segment each;
    /// the payload byte at 3000 of every even chunk is 0xab, of every odd one 0x11.</summary>
    private static void SendTcp(int port)
    {
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        using var client = new TcpClient { NoDelay = true };
        client.Connect(IPAddress.Loopback, port);
        using var accepted = listener.AcceptTcpClient();
        var reader = new Thread(() =>
        {
            var buffer = new byte[65536];
            using var stream = accepted.GetStream();
            while (stream.Read(buffer) > 0)
            {
            }
        }) { IsBackground = true };
        reader.Start();
        using var stream = client.GetStream();
        var chunk = new byte[WriteSize];
        for (int i = 0; i < Writes; i++)
        {
            chunk.AsSpan().Fill((byte)i);
            chunk[3000] = (byte)(i % 2 == 0 ? 0xab : 0x11);
            stream.Write(chunk);
            stream.Flush();
            // One write, one segment: let it be sent and acknowledged before the next (no coalescing).
            Thread.Sleep(30);
        }
        client.Client.Shutdown(SocketShutdown.Send);
        reader.Join(TimeSpan.FromSeconds(5));
    }

    private static (List<CapturedFrame> Frames, List<byte[]> Oracle, TapCounters Counters) Capture(string spec, int snapLength)
    {
        int port = TapTestKit.FreshPort();
        string expression = $"tcp dst port {port} and tcp[((tcp[12] & 0xf0) >> 2) + 3000:1] = 0xab";
        string pcap = Path.Combine(Path.GetTempPath(), $"kdk-paged-{Environment.ProcessId}-{port}.pcap");
        try
        {
            using var tcpdump = new TcpdumpCapture(pcap, "lo", expression);
            using var capture = new RunningCapture(TapTestKit.Open(spec, new TapSourceOptions { Filter = expression, SnapLength = snapLength, Immediate = true }));
            SendTcp(port);
            capture.WaitFor(Writes / 2);
            Thread.Sleep(300);
            tcpdump.Stop();
            TapCounters counters = capture.Source.ReadCounters()[0];
            capture.Stop();
            return (capture.Sink.Frames.OrderBy(f => f.TimestampNs).ToList(), TapTestKit.ReadPackets(pcap), counters);
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Fact]
    public void A_filter_on_paged_payload_bytes_matches_what_tcpdump_matches()
    {
        TapTestKit.RequireTaps();
        var (frames, oracle, counters) = Capture("tp_btf/net_dev_queue", 262144);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"runs {counters.Runs}, filtered in the kernel {counters.Filtered}, undecided {counters.Undecided}, of which matched {counters.UndecidedMatched}; tcpdump {oracle.Count}");

        Assert.True(oracle.Count >= Writes / 2, $"tcpdump matched {oracle.Count} segments");
        Assert.Equal(oracle.Count, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.Equal(LinkType.EN10MB, frames[i].LinkType);
            Assert.Equal((uint)oracle[i].Length, frames[i].OriginalLength);
            Assert.Equal(Convert.ToHexString(oracle[i]), Convert.ToHexString(frames[i].Data));
        }
        // The payload was paged: every data segment (matching or not) was left to user space, which kept the matching ones.
        Assert.True(counters.Undecided >= Writes, $"{counters.Undecided} undecided");
        Assert.Equal(frames.Count, counters.UndecidedMatched);
        Assert.Equal(frames.Count, counters.Accepted);
    }

    [Fact]
    public void Undecided_frames_are_cut_to_the_snapshot_length_after_the_filter()
    {
        TapTestKit.RequireTaps();
        var (frames, oracle, counters) = Capture("tp_btf/net_dev_queue", 200);
        Assert.True(oracle.Count >= Writes / 2, $"tcpdump matched {oracle.Count} segments");
        Assert.Equal(oracle.Count, frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.Equal(200, frames[i].Data.Length);
            Assert.Equal((uint)oracle[i].Length, frames[i].OriginalLength);
            Assert.Equal(Convert.ToHexString(oracle[i].AsSpan(0, 200)), Convert.ToHexString(frames[i].Data));
        }
        Assert.Equal(frames.Count, counters.UndecidedMatched);
    }

    [Fact]
    public void Linear_only_taps_cannot_read_paged_bytes_and_say_so_in_the_counts()
    {
        TapTestKit.RequireTaps();
        // raw_tp copies only the linear bytes: the filter's load of a paged byte fails there as
        // libpcap's does on a short buffer, so no segment matches, and each is counted as undecided.
        var (frames, oracle, counters) = Capture("raw_tp/net_dev_queue", 262144);
        Assert.True(oracle.Count >= Writes / 2, $"tcpdump matched {oracle.Count} segments");
        Assert.Empty(frames);
        Assert.True(counters.Undecided >= Writes, $"{counters.Undecided} undecided");
        Assert.Equal(0, counters.UndecidedMatched);
    }
}
