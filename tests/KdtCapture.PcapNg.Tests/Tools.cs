using System.Diagnostics;

namespace KdtCapture.PcapNg.Tests;

/// <summary>Runs the external reference tools (tcpdump, tshark, capinfos, lz4); tests that need a
/// missing one skip with the reason.</summary>
internal static class Tools
{
    private static readonly string[] Dirs = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"];

    public static string? Find(string name)
    {
        foreach (string d in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(Dirs))
        {
            if (d.Length == 0) continue;
            string p = Path.Combine(d, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    public static string Require(string name) =>
        Find(name) ?? throw new InvalidOperationException("unreachable");

    public static void SkipUnless(string name)
    {
        if (Find(name) is null) Assert.Skip($"{name} is not installed (apt-get install {(name is "capinfos" or "tshark" ? "tshark" : name)})");
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(string name, params string[] args)
    {
        var psi = new ProcessStartInfo(Require(name))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["TZ"] = "UTC";
        using var p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} {string.Join(' ', args)} did not finish in 120 s");
        }
        return new Result(p.ExitCode, output, err.Result);
    }
}
