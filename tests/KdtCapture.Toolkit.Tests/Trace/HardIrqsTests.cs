using System.Globalization;
using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>hardirqs against the interrupts of disk writes the test makes, checked against
/// /proc/interrupts read around the run (the kernel's own count of the same interrupts).</summary>
public sealed class HardIrqsTests
{
    /// <summary>/proc/interrupts' numbered lines: handler names (as the last column lists them) → count summed over CPUs.</summary>
    private static Dictionary<string, long> Interrupts()
    {
        var lines = File.ReadAllLines("/proc/interrupts");
        int cpus = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in lines.Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < cpus + 2 || !int.TryParse(fields[0].TrimEnd(':'), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                continue;
            long sum = 0;
            for (int i = 1; i <= cpus; i++)
                sum += long.Parse(fields[i], CultureInfo.InvariantCulture);
            // "... IO-APIC 4-edge ttyS0" or "... PCI-MSIX-0000:00:02.0 1-edge virtio1-req.0": the handlers are last.
            counts[fields[^1]] = sum;
        }
        return counts;
    }

    /// <summary>Small writes each made durable with fsync: every one reaches the disk, whose completions interrupt.</summary>
    private static void SyncedWrites()
    {
        string path = Path.Combine(Path.GetTempPath(), "kdr-irq-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            var block = new byte[4096];
            for (int i = 0; i < 20; i++)
            {
                file.Write(block);
                file.Flush(true);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CountsAgreeWithProcInterruptsAroundTheRun()
    {
        var tool = new HardIrqs();
        TraceRun.SkipUnlessSupported(tool);
        Dictionary<string, long> outerBefore = Interrupts(), innerBefore = [], innerAfter = [];
        var result = TraceRun.Json(tool, new TraceToolOptions { Count = true }, () =>
        {
            innerBefore = Interrupts();
            SyncedWrites();
            innerAfter = Interrupts();
        });
        var outerAfter = Interrupts();
        var table = Assert.Single(result);
        Assert.Empty(table.GetProperty("histograms").EnumerateArray());
        var rows = table.GetProperty("hardirqs").EnumerateArray().ToList();
        Assert.NotEmpty(rows);
        bool grew = false;
        foreach (var row in rows)
        {
            string name = row.GetProperty("hardirq").GetString()!;
            long count = row.GetProperty("count").GetInt64();
            // Every handler kdt names is one /proc/interrupts names; the interrupts it counted
            // happened between the outer reads, and it saw at least those between the inner ones.
            Assert.True(outerAfter.ContainsKey(name), $"'{name}' is not a handler in /proc/interrupts");
            long inner = innerAfter[name] - innerBefore.GetValueOrDefault(name);
            long outer = outerAfter[name] - outerBefore.GetValueOrDefault(name);
            Assert.InRange(count, inner, outer);
            Assert.True(row.GetProperty("total_ns").GetInt64() > 0);
            grew |= inner > 0;
        }
        Assert.True(grew, "no interrupt counted while the disk was written");
        // A line that took interrupts in the inner window is in the table.
        foreach (var (name, after) in innerAfter)
        {
            if (after > innerBefore.GetValueOrDefault(name))
                Assert.Contains(rows, r => r.GetProperty("hardirq").GetString() == name);
        }
    }

    [Fact]
    public void DistributionHasAHistogramPerHandlerAndNoTable()
    {
        var tool = new HardIrqs();
        TraceRun.SkipUnlessSupported(tool);
        var text = TraceRun.Text(tool, new TraceToolOptions { Distribution = true, Nanoseconds = true }, SyncedWrites);
        Assert.StartsWith("Tracing hard irq event time... Hit Ctrl-C to end.\n", text, StringComparison.Ordinal);
        Assert.Contains("\nhardirq = ", text, StringComparison.Ordinal);
        Assert.Contains("     nsecs               : count     distribution\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("TOTAL_", text, StringComparison.Ordinal);
        var names = Interrupts().Keys.ToHashSet();
        foreach (string line in text.Split('\n').Where(l => l.StartsWith("hardirq = ", StringComparison.Ordinal)))
            Assert.Contains(line["hardirq = ".Length..], names);
    }
}
