using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using KdtCapture.Toolkit.Trace;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>
/// Runs a trace tool in-process on its own thread: waits until its programs are attached, runs
/// the workload, lets the last events reach the ring buffer, stops it as Ctrl-C would and
/// returns what it printed. Skips (with the reason) where the kernel or the user cannot run it.
/// </summary>
internal static class TraceRun
{
    public static string Text(TraceTool tool, TraceToolOptions options, Action workload, TimeSpan? settle = null)
    {
        SkipUnlessSupported(tool);
        using var ready = new ManualResetEventSlim();
        using var stop = new CancellationTokenSource();
        var output = new StringWriter();
        var diagnostics = new StringWriter();
        Exception? failure = null;
        var run = options with { Ready = ready.Set };
        var thread = new Thread(() =>
        {
            try
            {
                tool.Run(run, output, diagnostics, stop.Token);
            }
            catch (Exception e)
            {
                failure = e;
                ready.Set();
            }
        })
        { IsBackground = true, Name = "kdr-trace-" + tool.Name };
        thread.Start();
        Assert.True(ready.Wait(TimeSpan.FromSeconds(120)), $"{tool.Name} did not attach within 2 minutes");
        if (failure is not null)
            throw new InvalidOperationException($"{tool.Name} failed to start: {failure.Message}", failure);
        try
        {
            workload();
        }
        finally
        {
            // Events are written before the traced call returns; softirq work (TCP closes,
            // drops) and exits may finish a moment later.
            Thread.Sleep(settle ?? TimeSpan.FromMilliseconds(300));
            stop.Cancel();
            Assert.True(thread.Join(TimeSpan.FromSeconds(60)), $"{tool.Name} did not stop within a minute of cancellation");
        }
        if (failure is not null)
            throw new InvalidOperationException($"{tool.Name} failed: {failure.Message}", failure);
        Assert.DoesNotContain("lost", diagnostics.ToString(), StringComparison.Ordinal);
        return output.ToString();
    }

    /// <summary>The tool's --json lines, parsed.</summary>
    public static List<JsonElement> Json(TraceTool tool, TraceToolOptions options, Action workload, TimeSpan? settle = null)
    {
        string text = Text(tool, options with { Json = true }, workload, settle);
        var list = new List<JsonElement>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            list.Add(JsonDocument.Parse(line).RootElement.Clone());
        return list;
    }

    public static void SkipUnlessSupported(TraceTool tool)
    {
        string? why = TraceSupport.WhyNot(tool);
        if (why is not null)
            Assert.Skip(why);
    }

    [DllImport("libc", SetLastError = true)]
    public static extern int gettid();

    [DllImport("libc", SetLastError = true)]
    public static extern int getppid();

    [DllImport("libc", SetLastError = true)]
    public static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern int kill(int pid, int signal);

    /// <summary>A copy of a system binary under a unique name, so its comm picks out our processes.</summary>
    public static string CopyBinary(string source, string prefix)
    {
        string name = prefix + Guid.NewGuid().ToString("N")[..6];
        string path = Path.Combine(Path.GetTempPath(), name);
        File.Copy(source, path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>The comm the kernel gives a process exec'd from <paramref name="path"/>: its file name, 15 bytes at most.</summary>
    public static string CommOf(string path)
    {
        string name = Path.GetFileName(path);
        return name.Length > 15 ? name[..15] : name;
    }

    public static Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
    }

    public static (int ExitCode, string Output) RunToEnd(string file, params string[] args)
    {
        using var p = Start(file, args);
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr);
    }
}
