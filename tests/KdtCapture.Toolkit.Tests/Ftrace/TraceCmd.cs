using System.Diagnostics;

namespace KdtCapture.Toolkit.Tests.Ftrace;

/// <summary>Debian's trace-cmd, the oracle for trace.dat files and report lines.</summary>
internal static class TraceCmd
{
    public static string? Path { get; } = Find();

    public static bool IsRoot => Environment.UserName == "root";

    public static string? TraceFs { get; } = File.Exists("/sys/kernel/tracing/trace") ? "/sys/kernel/tracing" : null;

    /// <summary>Why a test that needs trace-cmd, tracefs and root cannot run here, or null.</summary>
    public static string? Missing()
    {
        if (!IsRoot)
            return "tracefs instances need root";
        if (TraceFs is null)
            return "tracefs is not mounted at /sys/kernel/tracing";
        if (Path is null)
            return "trace-cmd is not installed (apt install trace-cmd; test.sh installs it)";
        return null;
    }

    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            string candidate = System.IO.Path.Combine(dir, "trace-cmd");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var start = new ProcessStartInfo(Path!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(true);
            throw new TimeoutException($"trace-cmd {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return (p.ExitCode, stdout, stderr.Result);
    }

    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
