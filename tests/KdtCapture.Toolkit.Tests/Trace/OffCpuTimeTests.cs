using System.Diagnostics;
using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>offcputime against a process that sleeps a known time in nanosleep.</summary>
public sealed class OffCpuTimeTests
{
    /// <summary>Runs a copy of sleep(1) for 0.3 s and returns (its pid, its comm, how long it lived by the wall clock).</summary>
    private static (int Pid, TimeSpan Lived) Sleep(string sleep)
    {
        var clock = Stopwatch.StartNew();
        using var p = TraceRun.Start(sleep, "0.3");
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return (p.Id, clock.Elapsed);
    }

    [Fact]
    public void TheSleepersOffCpuTimeIsInNanosleepsStack()
    {
        var tool = new OffCpuTime();
        TraceRun.SkipUnlessSupported(tool);
        string sleep = TraceRun.CopyBinary("/bin/sleep", "kdr-off-");
        try
        {
            string comm = TraceRun.CommOf(sleep);
            (int Pid, TimeSpan Lived) run = default;
            var result = TraceRun.Json(tool, new TraceToolOptions { Comm = comm }, () => run = Sleep(sleep));
            var stacks = Assert.Single(result).GetProperty("stacks").EnumerateArray().ToList();
            Assert.NotEmpty(stacks);
            Assert.All(stacks, s =>
            {
                Assert.Equal(comm, s.GetProperty("comm").GetString());
                Assert.Equal(run.Pid, s.GetProperty("pid").GetInt32());
            });
            // The 0.3 s sleep is one stretch off-CPU from clock_nanosleep; all the time off-CPU
            // fits in the process's life.
            var nanosleep = stacks.Where(s => s.GetProperty("kernel_stack").EnumerateArray().Any(f => f.GetString() == "do_nanosleep")).ToList();
            Assert.InRange(nanosleep.Sum(s => s.GetProperty("total_us").GetInt64()), 300_000, (long)run.Lived.TotalMicroseconds);
            Assert.InRange(stacks.Sum(s => s.GetProperty("total_us").GetInt64()), 300_000, (long)run.Lived.TotalMicroseconds);
            // Innermost first: the scheduler, then the sleep, then the system call.
            var frames = nanosleep[0].GetProperty("kernel_stack").EnumerateArray().Select(f => f.GetString()!).ToList();
            Assert.True(frames.IndexOf("do_nanosleep") < frames.FindIndex(f => f.Contains("clock_nanosleep", StringComparison.Ordinal)), string.Join(";", frames));
            Assert.Contains(frames.Take(frames.IndexOf("do_nanosleep")), f => f.Contains("schedule", StringComparison.Ordinal));
            // The tool's own program and the tracepoint's call into it are not part of the stack.
            Assert.DoesNotContain(frames, OffCpuTime.IsTracingFrame);
            Assert.Equal("__schedule", frames[0]);
        }
        finally
        {
            File.Delete(sleep);
        }
    }

    [Fact]
    public void FoldedLinesAreCommThenFramesOutermostFirst()
    {
        var tool = new OffCpuTime();
        TraceRun.SkipUnlessSupported(tool);
        string sleep = TraceRun.CopyBinary("/bin/sleep", "kdr-off-");
        try
        {
            string comm = TraceRun.CommOf(sleep);
            string text = TraceRun.Text(tool, new TraceToolOptions { Comm = comm, Folded = true, MinBlockMicroseconds = 100_000 }, () => Sleep(sleep));
            // Only the long sleep passes --min-block 100000.
            string line = Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            var (path, value) = (line[..line.LastIndexOf(' ')], long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            var parts = path.Split(';');
            Assert.Equal(comm, parts[0]);
            Assert.True(Array.IndexOf(parts, "do_nanosleep") > Array.FindIndex(parts, f => f.Contains("clock_nanosleep", StringComparison.Ordinal)), path);
            Assert.InRange(value, 300_000, 60_000_000);
        }
        finally
        {
            File.Delete(sleep);
        }
    }
}
