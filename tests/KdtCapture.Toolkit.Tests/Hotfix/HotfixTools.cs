using System.Diagnostics;
using KdtCapture.Testing;

namespace KdtCapture.Toolkit.Tests.Hotfix;

/// <summary>The test modules tests/vm/build-livepatch builds (once per process), and the programs that serve as oracles.</summary>
internal static class HotfixTools
{
    public const string Marker = "kdt-hotfix-marker";

    private static readonly Lazy<(string? Directory, string Reason)> s_modules = new(Build);

    /// <summary>The directory with kdt_hotfix_marker.ko, kdt_hotfix_sleeper.ko, kdt_hotfix_stall.ko and kdt_hotfix_marker-wrong-vermagic.ko; skips the test with the reason when they cannot be built here.</summary>
    public static string ModulesOrSkip()
    {
        var (dir, reason) = s_modules.Value;
        if (dir is null)
            Assert.Skip(reason);
        return dir;
    }

    public static string Module(string file) => Path.Combine(ModulesOrSkip(), file);

    private static (string?, string) Build()
    {
        string script = Path.Combine(Path.GetDirectoryName(VmHarness.Script)!, "build-livepatch");
        if (!File.Exists(script))
            return (null, $"{script} is missing");
        var r = Run(script, [], TimeSpan.FromMinutes(10));
        if (r.ExitCode == VmHarness.ExitUnavailable)
            return (null, $"the test livepatch cannot be built here: {LastLine(r.Stderr)}");
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"tests/vm/build-livepatch failed: exit {r.ExitCode}\n{r.Stderr}");
        return (r.Stdout.Trim(), "");
    }

    /// <summary>The program's path, or a skip saying how to install it.</summary>
    public static string ToolOrSkip(string name, string package)
    {
        foreach (var dir in new[] { "/usr/bin", "/usr/sbin", "/bin", "/sbin" })
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        Assert.Skip($"{name} is not installed (apt-get install {package})");
        return "";
    }

    public static (int ExitCode, string Stdout, string Stderr) Run(string program, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {timeout}");
        }
        return (p.ExitCode, stdout, stderr.Result);
    }

    private static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no reason given)" : lines[^1];
    }
}
