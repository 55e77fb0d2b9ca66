namespace KdtCapture.PcapNg.Tests;

/// <summary>Finds the shared corpora (../shared/corpora beside the repository).</summary>
internal static class Corpora
{
    private static readonly Lazy<string?> Root = new(() =>
    {
        string? env = Environment.GetEnvironmentVariable("KDT_CORPORA");
        if (env is not null && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "corpora");
            if (Directory.Exists(candidate)) return candidate;
            candidate = Path.Combine(dir.FullName, "..", "shared", "corpora");
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "KdtCapture.sln"))) return Path.GetFullPath(candidate);
        }
        return null;
    });

    public static string? Path_(string sub)
    {
        string? root = Root.Value;
        if (root is null) return null;
        string p = Path.Combine(root, sub);
        return Directory.Exists(p) ? p : null;
    }

    /// <summary>Stands for the files of a corpus that is not on this machine, so that a theory has one
    /// case, which skips with the reason, rather than no data (an error).</summary>
    public const string Missing = "(corpus not found)";

    public static string Require(string sub)
    {
        string? path = Path_(sub);
        if (path is null)
            Assert.Skip($"corpus {sub} not found (expected ../shared/corpora/{sub} beside the repository, or KDT_CORPORA)");
        return path;
    }

    public static IEnumerable<string> ConformanceFiles()
    {
        string? root = Path_("pcapng-conformance");
        if (root is null) return [Missing];
        return Directory.EnumerateFiles(root, "*.pcapng", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal);
    }

    public static IEnumerable<string> TcpdumpFiles()
    {
        string? root = Path_("tcpdump-tests");
        if (root is null) return [Missing];
        return Directory.EnumerateFiles(root).Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Select(Path.GetFileName).Order(StringComparer.Ordinal)!;
    }
}
