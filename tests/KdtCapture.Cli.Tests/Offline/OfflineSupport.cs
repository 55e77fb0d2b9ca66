using System.Diagnostics;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests.Offline;

/// <summary>The shared corpora (../shared/corpora beside the repository, or $KDT_CORPORA).</summary>
internal static class Corpus
{
    private static readonly Lazy<string?> s_root = new(() =>
    {
        string? env = Environment.GetEnvironmentVariable("KDT_CORPORA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        string beside = Path.GetFullPath(Path.Combine(Kdt.RepositoryRoot, "..", "shared", "corpora"));
        return Directory.Exists(beside) ? beside : null;
    });

    /// <summary>A file of the tcpdump-tests corpus; skips the test when the corpus is absent.</summary>
    public static string Tcpdump(string name)
    {
        string? root = s_root.Value;
        if (root is null) Assert.Skip("the corpora are not beside the repository (../shared/corpora) and KDT_CORPORA is not set");
        string path = Path.Combine(root, "tcpdump-tests", name);
        Assert.True(File.Exists(path), $"corpus file {path} is missing");
        return path;
    }

    /// <summary>Every capture of the tcpdump-tests corpus (names), empty when the corpus is absent.</summary>
    public static IEnumerable<string> TcpdumpNames()
    {
        string? root = s_root.Value;
        if (root is null) return [];
        return Directory.EnumerateFiles(Path.Combine(root, "tcpdump-tests"))
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal);
    }
}

/// <summary>A private temporary directory, removed at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("kdt-cli-").FullName;
        // tcpdump, run as root, writes as the "tcpdump" user unless told -Z root; the tests pass -Z root.
    }

    public string Path { get; }

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>External tools besides tcpdump (tshark, capinfos, lz4); tests skip when one is missing.</summary>
internal static class Tool
{
    public static string Require(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/bin", "/usr/sbin", "/bin", "/sbin"]))
        {
            if (dir.Length == 0) continue;
            string p = System.IO.Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        Assert.Skip($"{name} is not installed (apt-get install {(name is "tshark" or "capinfos" ? "tshark" : name)})");
        return "";
    }

    public static ProcessResult Run(string name, params string[] args) => ProcessRunner.Run(Require(name), args, TimeSpan.FromSeconds(120));

    /// <summary>Runs a shell pipeline (for stdin/stdout plumbing between kdt and the tools).</summary>
    public static ProcessResult Shell(string script) =>
        ProcessRunner.Run("/bin/bash", ["-o", "pipefail", "-c", script], TimeSpan.FromSeconds(120),
            environment: new Dictionary<string, string?> { ["KDT"] = Kdt.Binary });
}

/// <summary>A packet as read back from a file, for comparing outputs.</summary>
internal sealed record ReadPacket(long TimestampNs, uint OriginalLength, byte[] Data, string? Comment, uint? Flags)
{
    public bool SameAs(ReadPacket other) =>
        TimestampNs == other.TimestampNs && OriginalLength == other.OriginalLength && Data.AsSpan().SequenceEqual(other.Data);

    public override string ToString() => $"{TimestampNs} {Data.Length}/{OriginalLength} {Convert.ToHexString(Data.AsSpan(0, Math.Min(24, Data.Length)))}";
}

internal static class Captures
{
    public static List<ReadPacket> Read(string path)
    {
        using var reader = CaptureReader.Open(path);
        return Read(reader);
    }

    public static List<ReadPacket> Read(CaptureReader reader)
    {
        var list = new List<ReadPacket>();
        while (reader.TryReadPacket(out CapturePacket p))
            list.Add(new ReadPacket(p.Timestamp.ToUnixNanoseconds(), p.OriginalLength, p.Data.ToArray(), p.Comment, p.Flags));
        Assert.Null(reader.Truncation);
        return list;
    }

    public static void AssertSamePackets(IReadOnlyList<ReadPacket> expected, IReadOnlyList<ReadPacket> actual, string context)
    {
        Assert.True(expected.Count == actual.Count, $"{context}: {actual.Count} packets, tcpdump selected {expected.Count}");
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i].SameAs(actual[i]), $"{context}: packet {i + 1} differs\n tcpdump {expected[i]}\n kdt     {actual[i]}");
    }

    /// <summary>Mode bits of a file (e.g. 0600).</summary>
    public static UnixFileMode Mode(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException() : File.GetUnixFileMode(path);

    /// <summary>Starts a process with stdin as a pipe we write to, stdout/stderr collected.</summary>
    public static Process StartWithInput(string fileName, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["LC_ALL"] = "C";
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
    }
}
