using System.Diagnostics;
using System.Text.Json;
using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>execsnoop, exitsnoop, opensnoop and syscount against processes and calls the tests make.</summary>
public sealed class ProcessToolTests
{
    private static List<string> Strings(JsonElement array)
    {
        var list = new List<string>();
        foreach (var e in array.EnumerateArray())
            list.Add(e.GetString()!);
        return list;
    }

    [Fact]
    public void ExecsnoopSeesEachExecWithArgumentsPidAndParent()
    {
        string binary = TraceRun.CopyBinary("/bin/true", "kdr-exe-");
        try
        {
            string comm = TraceRun.CommOf(binary);
            var pids = new List<int>();
            var events = TraceRun.Json(new ExecSnoop(), new TraceToolOptions { Comm = comm }, () =>
            {
                for (int i = 0; i < 3; i++)
                {
                    using var p = TraceRun.Start(binary, $"first{i}", "with space", "");
                    pids.Add(p.Id);
                    p.WaitForExit();
                }
            });
            Assert.Equal(3, events.Count);
            for (int i = 0; i < 3; i++)
            {
                var e = events[i];
                Assert.Equal(pids[i], e.GetProperty("pid").GetInt32());
                Assert.Equal(Environment.ProcessId, e.GetProperty("ppid").GetInt32());
                Assert.Equal(comm, e.GetProperty("comm").GetString());
                Assert.Equal(0, e.GetProperty("ret").GetInt32());
                Assert.Equal([binary, $"first{i}", "with space", ""], Strings(e.GetProperty("args")));
                Assert.False(e.GetProperty("truncated").GetBoolean());
            }
        }
        finally
        {
            File.Delete(binary);
        }
    }

    [Fact]
    public void ExecsnoopCutsArgumentsAfterTwentyAndSaysSo()
    {
        string binary = TraceRun.CopyBinary("/bin/true", "kdr-exe-");
        try
        {
            var args = Enumerable.Range(0, 25).Select(i => "arg" + i).ToArray();
            var events = TraceRun.Json(new ExecSnoop(), new TraceToolOptions { Comm = TraceRun.CommOf(binary) }, () =>
            {
                using var p = TraceRun.Start(binary, args);
                p.WaitForExit();
            });
            var e = Assert.Single(events);
            Assert.Equal([binary, .. args[..19]], Strings(e.GetProperty("args")));
            Assert.True(e.GetProperty("truncated").GetBoolean());
        }
        finally
        {
            File.Delete(binary);
        }
    }

    [Fact]
    public void ExecsnoopShowsFailedExecsOnlyWithX()
    {
        // The shell's exec of a missing file fails with ENOENT; the comm stays the shell's.
        string shell = TraceRun.CopyBinary("/bin/sh", "kdr-sh-");
        string missing = shell + "-missing";
        try
        {
            void TryExec()
            {
                using var p = TraceRun.Start(shell, "-c", $"exec {missing} one two");
                p.WaitForExit();
                Assert.Equal(127, p.ExitCode);
            }
            var options = new TraceToolOptions { Comm = TraceRun.CommOf(shell) };
            var withX = TraceRun.Json(new ExecSnoop(), options with { IncludeFailed = true }, TryExec);
            // The shell's own exec (successful) and the failed one.
            Assert.Equal(2, withX.Count);
            Assert.Equal(0, withX[0].GetProperty("ret").GetInt32());
            Assert.Equal([shell, "-c", $"exec {missing} one two"], Strings(withX[0].GetProperty("args")));
            Assert.Equal(-2, withX[1].GetProperty("ret").GetInt32());
            Assert.Equal([missing, "one", "two"], Strings(withX[1].GetProperty("args")));
            Assert.Equal(withX[0].GetProperty("pid").GetInt32(), withX[1].GetProperty("pid").GetInt32());
            var withoutX = TraceRun.Json(new ExecSnoop(), options, TryExec);
            var e = Assert.Single(withoutX);
            Assert.Equal(0, e.GetProperty("ret").GetInt32());
        }
        finally
        {
            File.Delete(shell);
        }
    }

    [Fact]
    public void ExitsnoopSeesExitCodesAndSignals()
    {
        string shell = TraceRun.CopyBinary("/bin/sh", "kdr-sh-");
        try
        {
            var pids = new List<int>();
            var events = TraceRun.Json(new ExitSnoop(), new TraceToolOptions { Comm = TraceRun.CommOf(shell) }, () =>
            {
                foreach (string script in new[] { "exit 3", "kill -9 $$", "exit 0" })
                {
                    using var p = TraceRun.Start(shell, "-c", script);
                    pids.Add(p.Id);
                    p.WaitForExit();
                }
            });
            Assert.Equal(3, events.Count);
            Assert.Equal(pids, events.Select(e => e.GetProperty("pid").GetInt32()));
            Assert.All(events, e => Assert.Equal(Environment.ProcessId, e.GetProperty("ppid").GetInt32()));
            Assert.All(events, e => Assert.Equal(e.GetProperty("pid").GetInt32(), e.GetProperty("tid").GetInt32()));
            Assert.Equal(["code 3", "signal 9 (KILL)", "0"], events.Select(e => e.GetProperty("status").GetString()));
            Assert.Equal([3, 0, 0], events.Select(e => e.GetProperty("exit_code").GetInt32()));
            Assert.Equal([0, 9, 0], events.Select(e => e.GetProperty("signal").GetInt32()));
            Assert.All(events, e => Assert.InRange(e.GetProperty("age_s").GetDouble(), 0, 60));
        }
        finally
        {
            File.Delete(shell);
        }
    }

    [Fact]
    public void OpensnoopSeesThisThreadsOpensWithFdOrErrno()
    {
        string existing = Path.GetTempFileName();
        string missing = existing + "-kdr-missing";
        int tid = 0;
        try
        {
            var events = TraceRun.Json(new OpenSnoop(), new TraceToolOptions { Pid = Environment.ProcessId }, () =>
            {
                tid = TraceRun.gettid();
                using (File.OpenRead(existing))
                {
                }
                Assert.Throws<FileNotFoundException>(() => File.OpenRead(missing));
            });
            var found = Assert.Single(events, e => e.GetProperty("path").GetString() == existing);
            Assert.True(found.GetProperty("fd").GetInt32() >= 0);
            Assert.Equal(0, found.GetProperty("err").GetInt32());
            Assert.Equal(tid, found.GetProperty("tid").GetInt32());
            Assert.Equal(Environment.ProcessId, found.GetProperty("pid").GetInt32());
            var failed = Assert.Single(events, e => e.GetProperty("path").GetString() == missing);
            Assert.Equal(-1, failed.GetProperty("fd").GetInt32());
            Assert.Equal(2, failed.GetProperty("err").GetInt32()); // ENOENT
        }
        finally
        {
            File.Delete(existing);
        }
    }

    [Fact]
    public void OpensnoopXKeepsFailedOpensAndTFiltersTheThread()
    {
        string existing = Path.GetTempFileName();
        string missing = existing + "-kdr-missing";
        string otherThreads = existing + "-kdr-other";
        try
        {
            int tid = TraceRun.gettid();
            var events = TraceRun.Json(new OpenSnoop(), new TraceToolOptions { Tid = tid, FailedOnly = true }, () =>
            {
                using (File.OpenRead(existing))
                {
                }
                Assert.Throws<FileNotFoundException>(() => File.OpenRead(missing));
                var other = new Thread(() => Assert.Throws<FileNotFoundException>(() => File.OpenRead(otherThreads)));
                other.Start();
                other.Join();
            });
            Assert.DoesNotContain(events, e => e.GetProperty("path").GetString() == existing);
            Assert.DoesNotContain(events, e => e.GetProperty("path").GetString() == otherThreads);
            Assert.Single(events, e => e.GetProperty("path").GetString() == missing);
            Assert.All(events, e => Assert.Equal(tid, e.GetProperty("tid").GetInt32()));
        }
        finally
        {
            File.Delete(existing);
        }
    }

    private static JsonElement Row(List<JsonElement> tables, string array, string key, string value) =>
        Assert.Single(tables).GetProperty(array).EnumerateArray().Single(r => r.GetProperty(key).ToString() == value);

    [Fact]
    public void SyscountCountsExactlyTheCallsMade()
    {
        var tables = TraceRun.Json(new SysCount(), new TraceToolOptions { Pid = Environment.ProcessId, Top = 500 }, () =>
        {
            for (int i = 0; i < 1000; i++)
                TraceRun.getppid();
        });
        Assert.Equal(1000, Row(tables, "syscalls", "syscall", "getppid").GetProperty("count").GetInt32());
    }

    [Fact]
    public void SyscountLatencyAndFailedWithErrno()
    {
        var tables = TraceRun.Json(new SysCount(),
            new TraceToolOptions { Pid = Environment.ProcessId, Top = 500, Latency = true, FailedOnly = true, Errno = 9 }, () =>
            {
                for (int i = 0; i < 250; i++)
                    TraceRun.close(-1); // EBADF
                for (int i = 0; i < 100; i++)
                    TraceRun.getppid(); // never fails: not counted
            });
        var close = Row(tables, "syscalls", "syscall", "close");
        Assert.Equal(250, close.GetProperty("count").GetInt32());
        Assert.True(close.GetProperty("total_us").GetDouble() > 0);
        Assert.DoesNotContain(Assert.Single(tables).GetProperty("syscalls").EnumerateArray(), r => r.GetProperty("syscall").GetString() == "getppid");
    }

    [Fact]
    public void SyscountByProcessNamesThisProcess()
    {
        var tables = TraceRun.Json(new SysCount(), new TraceToolOptions { Pid = Environment.ProcessId, PerProcess = true }, () =>
        {
            for (int i = 0; i < 300; i++)
                TraceRun.getppid();
        });
        var row = Row(tables, "processes", "pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(row.GetProperty("count").GetInt32() >= 300);
        Assert.Equal(File.ReadAllText("/proc/self/comm").Trim(), row.GetProperty("comm").GetString());
    }

    [Fact]
    public void SyscountTextIsBccsTable()
    {
        var tool = new SysCount();
        string text = TraceRun.Text(tool, new TraceToolOptions { Pid = Environment.ProcessId, Top = 3 }, () =>
        {
            for (int i = 0; i < 5000; i++)
                TraceRun.getppid();
        });
        var lines = text.Split('\n');
        Assert.Equal("Tracing syscalls, printing top 3... Ctrl+C to quit.", lines[0]);
        Assert.Matches(@"^\[\d\d:\d\d:\d\d\]$", lines[1]);
        Assert.Equal("SYSCALL                   COUNT", lines[2]);
        // getppid was called most: it is the first row, name left in 22 columns, count right in 8.
        Assert.Matches(@"^getppid                 +\d{4,}$", lines[3]);
        Assert.Equal(23 + 8, lines[3].Length);
    }
}
