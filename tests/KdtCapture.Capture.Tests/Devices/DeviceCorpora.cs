namespace KdtCapture.Capture.Tests.Devices;

/// <summary>The shared corpora (../shared/corpora beside the repository, or KDT_CORPORA), read in place.</summary>
internal static class DeviceCorpora
{
    private static readonly Lazy<string?> Root = new(() =>
    {
        string? env = Environment.GetEnvironmentVariable("KDT_CORPORA");
        if (env is not null && Directory.Exists(env))
            return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "corpora");
            if (Directory.Exists(candidate))
                return candidate;
        }
        return Directory.Exists("/work/shared/corpora") ? "/work/shared/corpora" : null;
    });

    /// <summary>A corpus folder, or a skip naming what is missing.</summary>
    public static string Require(string name)
    {
        string? root = Root.Value;
        string? path = root is null ? null : Path.Combine(root, name);
        if (path is null || !Directory.Exists(path))
            Assert.Skip($"needs the {name} corpus (../shared/corpora/{name} or KDT_CORPORA)");
        return path!;
    }

    /// <summary>Every capture in tcpdump's test corpus, by name.</summary>
    public static string[] TcpdumpCaptures()
    {
        string root = Require("tcpdump-tests");
        var files = Directory.GetFiles(root)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .ToArray();
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    /// <summary>Every pcapng file of the conformance corpus (both byte orders).</summary>
    public static string[] ConformanceFiles()
    {
        string root = Require("pcapng-conformance");
        var files = Directory.GetFiles(root, "*.pcapng", SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }
}
