using System.Diagnostics;

namespace KdtCapture.Testing;

/// <summary>Runs the installed tcpdump (the reference the in-process oracle stands in for).</summary>
public static class Tcpdump
{
    /// <summary>The tcpdump executable, or null when none is installed.</summary>
    public static string? Executable { get; } = Find();

    public sealed record Result(int ExitCode, string Stdout, string Stderr, byte[] StdoutBytes);

    private static string? Find()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin"]);
        return dirs.Select(d => Path.Combine(d, "tcpdump")).FirstOrDefault(File.Exists);
    }

    /// <summary>Runs tcpdump with these arguments (no shell), in the C locale; stdout is kept as bytes and as text.</summary>
    public static Result Run(IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        if (Executable is null)
            throw new InvalidOperationException("tcpdump is not installed");
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
            psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["TZ"] = "UTC";
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"tcpdump {string.Join(' ', psi.ArgumentList)} did not finish");
        }
        copy.Wait();
        var bytes = stdout.ToArray();
        return new Result(p.ExitCode, System.Text.Encoding.UTF8.GetString(bytes), stderr.Result, bytes);
    }
}
