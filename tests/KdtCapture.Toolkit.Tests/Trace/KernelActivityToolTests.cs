using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>cpudist, softirqs and lockstat against work the test makes: sleeping threads,
/// loopback traffic, threads fighting over their process's mmap_lock.</summary>
public sealed class KernelActivityToolTests
{
    private static long Sum(JsonElement histogram, Func<long, bool> lowMatches) =>
        histogram.GetProperty("buckets").EnumerateArray()
            .Where(b => lowMatches(b.GetProperty("low").GetInt64()))
            .Sum(b => b.GetProperty("count").GetInt64());

    /// <summary>voluntary_ctxt_switches + nonvoluntary_ctxt_switches of the calling thread, and the voluntary ones.</summary>
    private static (long All, long Voluntary) ContextSwitches()
    {
        long voluntary = 0, involuntary = 0;
        foreach (string line in File.ReadLines("/proc/thread-self/status"))
        {
            if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                voluntary = long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                involuntary = long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        return (voluntary + involuntary, voluntary);
    }

    [Fact]
    public void CpudistOffCpuSeesEachSleepOfTheTracedThread()
    {
        var go = new ManualResetEventSlim();
        int tid = 0;
        var started = new ManualResetEventSlim();
        (long All, long Voluntary) before = default, after = default;
        var sleeper = new Thread(() =>
        {
            tid = TraceRun.gettid();
            // Once before the tool attaches: the first call's JIT work may block (more switches) before it reads.
            ContextSwitches();
            started.Set();
            go.Wait(TestContext.Current.CancellationToken);
            before = ContextSwitches();
            for (int i = 0; i < 20; i++)
                Thread.Sleep(20);
            after = ContextSwitches();
        })
        { IsBackground = true };
        sleeper.Start();
        started.Wait(TestContext.Current.CancellationToken);
        var result = TraceRun.Json(new CpuDist(), new TraceToolOptions { Tid = tid, OffCpu = true, Milliseconds = true }, () =>
        {
            go.Set();
            sleeper.Join();
        });
        var hist = Assert.Single(Assert.Single(result).GetProperty("histograms").EnumerateArray());
        Assert.Equal("msecs", Assert.Single(result).GetProperty("unit").GetString());
        // The kernel counts every time the thread left a CPU: each is one off-CPU stretch. Those between the two
        // readings are all in the histogram; so may be the end of the go wait and a preemption or two between
        // the go signal and the first reading (the thread is runnable then, on a busy machine not running).
        long stretches = after.All - before.All;
        Assert.True(after.Voluntary - before.Voluntary >= 20, $"{after.Voluntary - before.Voluntary} voluntary switches for 20 sleeps");
        Assert.InRange(Sum(hist, _ => true), stretches, stretches + 3);
        // Each 20 ms sleep is a stretch of at least 16 ms (slot 16 -> 31 or above), unless something cut it in two:
        // a preemption just before it blocked, or a signal (the runtime's GC suspends threads with one) waking the
        // sleep early to go on sleeping. Each stretch beyond the 20 cuts at most one sleep.
        long extra = stretches - 20;
        Assert.InRange(Sum(hist, low => low >= 16), Math.Max(0, 20 - extra), 21);
    }

    [Fact]
    public void SoftirqsCountsNetRxForLoopbackTraffic()
    {
        var result = TraceRun.Json(new SoftIrqs(), new TraceToolOptions { Count = true }, () =>
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            using var client = new TcpClient();
            client.Connect((IPEndPoint)listener.LocalEndpoint);
            using var server = listener.AcceptTcpClient();
            var buffer = new byte[1000];
            for (int i = 0; i < 50; i++)
            {
                client.GetStream().Write(buffer);
                server.GetStream().ReadExactly(buffer);
            }
        });
        var table = Assert.Single(result);
        Assert.Empty(table.GetProperty("histograms").EnumerateArray());
        var rows = table.GetProperty("softirqs").EnumerateArray().ToList();
        // Loopback delivery runs NET_RX for every segment the client sends.
        var netRx = Assert.Single(rows, r => r.GetProperty("softirq").GetString() == "net_rx");
        Assert.True(netRx.GetProperty("count").GetInt64() >= 50);
        Assert.True(netRx.GetProperty("total_ns").GetInt64() > 0);
        Assert.All(rows, r => Assert.Contains(r.GetProperty("softirq").GetString(), SoftIrqs.VectorNames));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern nint mmap(nint address, nint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", SetLastError = true)]
    private static extern int munmap(nint address, nint length);

    [Fact]
    public void LockstatSeesThreadsContendingTheProcesssMmapLock()
    {
        // Four threads map, touch and unmap memory: each mmap/munmap takes the process's
        // mmap_lock for writing and each page fault for reading, so they wait on each other.
        var result = TraceRun.Json(new LockStat(), new TraceToolOptions { Pid = Environment.ProcessId, Top = 1000 }, () =>
        {
            var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                const int Length = 256 * 1024;
                for (int i = 0; i < 3000; i++)
                {
                    nint p = mmap(0, Length, 3 /* PROT_READ|PROT_WRITE */, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
                    Assert.NotEqual(-1, p);
                    for (int off = 0; off < Length; off += 4096)
                        Marshal.WriteByte(p, off, 1);
                    munmap(p, Length);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        });
        var table = Assert.Single(result);
        var rows = table.GetProperty("locks").EnumerateArray().ToList();
        Assert.Contains(rows, r => r.GetProperty("type").GetString()!.StartsWith("rwsem:", StringComparison.Ordinal)
            && r.GetProperty("caller").GetString() != "(no stack)");
        foreach (var r in rows)
        {
            long count = r.GetProperty("contended").GetInt64();
            Assert.True(count > 0);
            Assert.True(r.GetProperty("max_ns").GetInt64() <= r.GetProperty("total_ns").GetInt64());
            Assert.Equal(r.GetProperty("total_ns").GetInt64() / count, r.GetProperty("avg_ns").GetInt64());
        }
        // Every wait is in the histogram once and in one row once.
        var hist = Assert.Single(table.GetProperty("histograms").EnumerateArray());
        Assert.Equal(rows.Sum(r => r.GetProperty("contended").GetInt64()), hist.GetProperty("total").GetInt64());
    }

    [Theory]
    [InlineData(32u, "mutex")]
    [InlineData(33u, "mutex")]
    [InlineData(1u, "spinlock")]
    [InlineData(2u, "rwsem:R")]
    [InlineData(4u, "rwsem:W")]
    [InlineData(3u, "rwlock:R")]
    [InlineData(5u, "rwlock:W")]
    [InlineData(8u, "rtmutex")]
    [InlineData(16u | 2u, "pcpu-sem:R")]
    [InlineData(16u | 4u, "pcpu-sem:W")]
    public void LockTypesFollowTheTracepointsFlags(uint flags, string type) =>
        Assert.Equal(type, LockStat.TypeOf(flags));
}
