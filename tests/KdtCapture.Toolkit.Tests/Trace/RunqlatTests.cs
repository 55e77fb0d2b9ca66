using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>runqlat against a thread of the test that sleeps and wakes a known number of times.</summary>
public sealed class RunqlatTests
{
    /// <summary>A thread that waits for the go, then sleeps <paramref name="sleeps"/> times for 2 ms.</summary>
    private sealed class Sleeper : IDisposable
    {
        private readonly ManualResetEventSlim _go = new();
        private readonly ManualResetEventSlim _started = new();
        private readonly Thread _thread;

        public Sleeper(int sleeps)
        {
            _thread = new Thread(() =>
            {
                Tid = TraceRun.gettid();
                _started.Set();
                _go.Wait();
                for (int i = 0; i < sleeps; i++)
                    Thread.Sleep(2);
            })
            { IsBackground = true, Name = "kdr-sleeper" };
            _thread.Start();
            _started.Wait();
        }

        public int Tid { get; private set; }

        public void Run()
        {
            _go.Set();
            _thread.Join();
        }

        public void Dispose()
        {
            _go.Set();
            _go.Dispose();
            _started.Dispose();
        }
    }

    [Fact]
    public void CountsEveryWakeupOfTheTracedThread()
    {
        using var sleeper = new Sleeper(50);
        var result = TraceRun.Json(new RunqLat(), new TraceToolOptions { Tid = sleeper.Tid, PerThread = true }, sleeper.Run);
        var table = Assert.Single(result);
        Assert.Equal("usecs", table.GetProperty("unit").GetString());
        var hist = Assert.Single(table.GetProperty("histograms").EnumerateArray());
        Assert.Equal(sleeper.Tid, hist.GetProperty("tid").GetInt32());
        // 50 wakeups from the sleeps; the go signal may add one (if the thread had stopped
        // spinning and slept), a preemption a few.
        Assert.InRange(hist.GetProperty("total").GetInt32(), 50, 60);
        long sum = 0;
        foreach (var b in hist.GetProperty("buckets").EnumerateArray())
        {
            sum += b.GetProperty("count").GetInt64();
            Assert.True(b.GetProperty("low").GetInt64() <= b.GetProperty("high").GetInt64());
        }
        Assert.Equal(hist.GetProperty("total").GetInt64(), sum);
    }

    [Fact]
    public void TextIsBccsHistogramAndTheHeatmapIsWritten()
    {
        using var sleeper = new Sleeper(400);
        string svg = Path.Combine(Path.GetTempPath(), "kdr-runq-" + Guid.NewGuid().ToString("N")[..6] + ".svg");
        try
        {
            string text = TraceRun.Text(new RunqLat(), new TraceToolOptions { Tid = sleeper.Tid, HeatmapPath = svg }, sleeper.Run,
                settle: TimeSpan.FromMilliseconds(1200));
            var lines = text.Split('\n');
            Assert.Equal("Tracing run queue latency... Hit Ctrl-C to end.", lines[0]);
            Assert.Equal("", lines[1]);
            Assert.Equal("     usecs               : count     distribution", lines[2]);
            Assert.Matches(@"^ {9}0 -> 1 {10}: \d+ +\|[* ]{40}\|$", lines[3]);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(svg));
            var doc = System.Xml.Linq.XDocument.Load(svg);
            System.Xml.Linq.XNamespace ns = "http://www.w3.org/2000/svg";
            var cells = doc.Root!.Elements(ns + "rect").Skip(1).ToList();
            Assert.NotEmpty(cells);
            // The counts in the heatmap's cells add up to the counts of the histogram.
            long histogram = lines.Skip(3).Where(l => l.Contains("->", StringComparison.Ordinal))
                .Sum(l => long.Parse(l.Split(':')[1].Split('|')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture));
            long inCells = cells.Sum(c => long.Parse(c.Element(ns + "title")!.Value.Split(": ")[1], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(histogram, inCells);
            // 400 wakeups, less those under 1 µs (slot 0 is not drawn, as in bcc), plus
            // preemptions, which a loaded machine has many of.
            Assert.InRange(histogram, 1, 1000);
        }
        finally
        {
            File.Delete(svg);
        }
    }
}
