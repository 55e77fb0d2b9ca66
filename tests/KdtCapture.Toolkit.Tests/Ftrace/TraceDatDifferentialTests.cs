using System.Diagnostics;
using KdtCapture.Cli.Ftrace;

namespace KdtCapture.Toolkit.Tests.Ftrace;

/// <summary>
/// trace.dat both ways against trace-cmd: what `kdt ftrace record` writes, `trace-cmd report` reads
/// with the same lines as `kdt ftrace report`; what trace-cmd writes (v7 compressed is its default;
/// converted to v6 and to uncompressed v7), `kdt ftrace report` prints as trace-cmd report does.
/// The events are ones the test causes: a process exec, its openat calls, the scheduler switching.
/// </summary>
public sealed class TraceDatDifferentialTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kdf-ftrace-").FullName;
    private readonly string _instance = $"kdf-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    public void Dispose()
    {
        string path = $"/sys/kernel/tracing/instances/{_instance}";
        if (Directory.Exists(path))
        {
            File.WriteAllText(Path.Combine(path, "events/enable"), "0");
            Directory.Delete(path);
        }
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void TraceCmdReadsWhatKdtRecords()
    {
        if (TraceCmd.Missing() is { } why)
            Assert.Skip(why);

        string dat = Path.Combine(_dir, "kdt.dat");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = FtraceCommand.Run(["record", "-B", _instance, "-e", "sched:sched_switch", "-e", "syscalls:sys_enter_openat",
            "-e", "sched:sched_process_exec", "-o", dat, "--", "/bin/sh", "-c", "/bin/cat /etc/hostname > /dev/null"], stdout, stderr, CancellationToken.None);
        Assert.True(status == 0, stderr.ToString());
        Assert.False(Directory.Exists($"/sys/kernel/tracing/instances/{_instance}"), "record left its instance behind");
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dat));

        var oracle = TraceCmd.Run("report", dat);
        Assert.True(oracle.ExitCode == 0, oracle.Stderr);
        var theirs = TraceCmd.Lines(oracle.Stdout);
        var ours = Report(dat);

        // The exec of cat the test caused, and its openat calls, are there as trace-cmd decodes them.
        Assert.Contains(theirs, l => l.Contains("sched_process_exec:", StringComparison.Ordinal) && l.Contains("filename=/bin/cat", StringComparison.Ordinal));
        Assert.Contains(theirs, l => l.Contains("sys_enter_openat:", StringComparison.Ordinal));
        Assert.Contains(theirs, l => l.Contains("sched_switch:", StringComparison.Ordinal));
        Assert.Equal(CountByEvent(theirs), CountByEvent(ours));
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public void KdtReportsWhatTraceCmdRecords()
    {
        if (TraceCmd.Missing() is { } why)
            Assert.Skip(why);

        string v7 = Path.Combine(_dir, "trace-cmd.dat");
        // trace-cmd reads /proc/kallsyms' size and then its text; when BPF programs come and go
        // meanwhile (other tests load them) it gives up: the scenario is run again, up to 5 times.
        (int ExitCode, string Stdout, string Stderr) extract = default;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            RecordWithTracefs();
            extract = TraceCmd.Run("extract", "-B", _instance, "-o", v7);
            if (extract.ExitCode == 0 || !extract.Stderr.Contains("kallsyms", StringComparison.Ordinal))
                break;
        }
        Assert.True(extract.ExitCode == 0, extract.Stderr);
        string v6 = Path.Combine(_dir, "v6.dat"), plain = Path.Combine(_dir, "v7-plain.dat");
        Assert.Equal(0, TraceCmd.Run("convert", "--file-version", "6", "-i", v7, "-o", v6).ExitCode);
        Assert.Equal(0, TraceCmd.Run("convert", "--compression", "none", "-i", v7, "-o", plain).ExitCode);

        var theirs = TraceCmd.Lines(TraceCmd.Run("report", v7).Stdout);
        Assert.Contains(theirs, l => l.Contains("sched_process_exec:", StringComparison.Ordinal) && l.Contains("filename=/bin/cat", StringComparison.Ordinal));
        Assert.Contains(theirs, l => l.Contains("sched_wakeup:", StringComparison.Ordinal));
        Assert.Contains(theirs, l => l.Contains(" sys_enter:", StringComparison.Ordinal) && l.Contains("NR ", StringComparison.Ordinal));
        Assert.Equal(theirs, Report(v6));
        Assert.Equal(theirs, Report(plain));
    }

    /// <summary>
    /// trace-cmd record refuses to run where the function tracer is refused (it clears
    /// set_ftrace_filter first), so the instance is set up here and trace-cmd extract reads it.
    /// </summary>
    private void RecordWithTracefs()
    {
        string instance = $"/sys/kernel/tracing/instances/{_instance}";
        if (Directory.Exists(instance))
        {
            File.WriteAllText(Path.Combine(instance, "events/enable"), "0");
            Directory.Delete(instance);
        }
        Directory.CreateDirectory(instance);
        // Whole systems and events whose print formats use casts, ?:, __print_flags with kernel
        // constant expressions, __print_symbolic, arrays (REC->args[i]), %pS/%ps, printk string
        // pointers and trace-cmd's plugins (sched, hrtimer, kmem). Left out, where libtraceevent
        // itself prints what C would not: sock_recv_length (nested ?:), timer_start (flags), futex.
        foreach (var e in (string[])["sched", "irq", "kmem/kmalloc", "kmem/kfree", "kmem/mm_page_alloc", "kmem/mm_page_free", "timer/hrtimer_start",
            "timer/hrtimer_expire_entry", "timer/hrtimer_setup", "raw_syscalls/sys_enter", "syscalls/sys_enter_openat", "syscalls/sys_exit_openat", "rcu/rcu_utilization"])
        {
            if (File.Exists(Path.Combine(instance, "events", e, "enable")))
                File.WriteAllText(Path.Combine(instance, "events", e, "enable"), "1");
        }
        File.WriteAllText(Path.Combine(instance, "tracing_on"), "1");
        using (var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "/bin/cat /etc/hostname /etc/os-release > /dev/null"]) { UseShellExecute = false })!)
            p.WaitForExit();
        File.WriteAllText(Path.Combine(instance, "tracing_on"), "0");
    }

    [Fact]
    public void ACompressedVersion7SaysHowToConvertIt()
    {
        if (TraceCmd.Missing() is { } why)
            Assert.Skip(why);
        string v7 = Path.Combine(_dir, "trace-cmd.dat");
        (int ExitCode, string Stdout, string Stderr) extract = default;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            RecordWithTracefs();
            extract = TraceCmd.Run("extract", "-B", _instance, "-o", v7);
            if (extract.ExitCode == 0 || !extract.Stderr.Contains("kallsyms", StringComparison.Ordinal))
                break;
        }
        Assert.True(extract.ExitCode == 0, extract.Stderr);
        var dump = TraceCmd.Run("dump", "--summary", v7);
        if (!dump.Stdout.Contains("zstd", StringComparison.Ordinal) && !dump.Stdout.Contains("zlib", StringComparison.Ordinal))
            Assert.Skip("this trace-cmd does not compress by default");

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(1, FtraceCommand.Run(["report", v7], stdout, stderr, CancellationToken.None));
        string error = stderr.ToString();
        Assert.Equal(error.Length - 1, error.IndexOf('\n'));
        Assert.Contains("trace-cmd convert", error, StringComparison.Ordinal);
    }

    private static string[] Report(string path)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = FtraceCommand.Run(["report", path], stdout, stderr, CancellationToken.None);
        Assert.True(status == 0, stderr.ToString());
        return TraceCmd.Lines(stdout.ToString());
    }

    private static SortedDictionary<string, int> CountByEvent(IEnumerable<string> lines)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var m = System.Text.RegularExpressions.Regex.Match(line, @"\] \d+\.\d{6}: ([a-z_0-9]+):");
            string key = m.Success ? m.Groups[1].Value : line;
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }
}
