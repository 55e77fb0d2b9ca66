namespace KdtCapture.Cli.Tests;

/// <summary>The reference: Debian's tcpdump (4.99.3 with libpcap 1.10.3 on Debian 12).</summary>
public static class Tcpdump
{
    private static readonly string? s_path = new[] { "/usr/sbin/tcpdump", "/usr/bin/tcpdump" }
        .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "tcpdump")))
        .FirstOrDefault(File.Exists);

    public static string? Location => s_path;

    /// <summary>Skips the calling test, with the reason, when tcpdump is not installed.</summary>
    public static void RequireInstalled()
    {
        if (s_path is null)
            Assert.Skip("tcpdump is not installed (apt-get install tcpdump); kdt is compared against it");
    }

    /// <summary>Skips the calling test unless tcpdump can open interfaces (it needs root for -i, even with -d).</summary>
    public static void RequireLiveInterfaces()
    {
        RequireInstalled();
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("tcpdump -i needs root to open an interface, even with -d; run the tests as root");
    }

    public static ProcessResult Run(IReadOnlyList<string> args)
    {
        RequireInstalled();
        return ProcessRunner.Run(s_path!, args, TimeSpan.FromSeconds(60));
    }
}
