using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Semantic;

/// <summary>
/// The captures of tcpdump's test suite (../shared/corpora/tcpdump-tests, read in place), as libpcap reads them:
/// those whose link type the compiler supports, and why the others are left out.
/// </summary>
public static class CaptureCorpus
{
    /// <summary>One capture file as libpcap's pcap_next_ex returns it.</summary>
    public sealed record Capture(string Path, LibPcapOracle.FileInfo Info, IReadOnlyList<LibPcapOracle.Packet> Packets, string? ReadError)
    {
        public string Name => System.IO.Path.GetFileName(Path);

        public LinkType LinkType => Info.LinkType;

        /// <summary>Our options for filtering this file as tcpdump -r does: its snapshot length and byte order, netmask 0.</summary>
        public FilterCompileOptions Options(bool optimize) => new()
        {
            Optimize = optimize,
            Snaplen = Info.Snaplen,
            Netmask = LibPcapOracle.TcpdumpNetmask,
            ForSavefile = true,
            SavefileByteSwapped = Info.Swapped,
        };

        public override string ToString()
            => $"{Name} ({FilterDifferential.NameOf(LinkType)}{(Info.Swapped ? ", byte-swapped" : "")}, {Packets.Count} packets)";
    }

    /// <summary>The corpus directory, or null when it is not on this machine (KDT_TCPDUMP_TESTS overrides the search).</summary>
    public static string? Directory { get; } = Find();

    private static readonly Lazy<(List<Capture> Usable, List<(string Name, string Reason)> Skipped)> Loaded = new(Load);

    /// <summary>The captures of a supported link type (in name order), including the packets read before a read error.</summary>
    public static IReadOnlyList<Capture> Usable => Loaded.Value.Usable;

    /// <summary>Captures left out: libpcap cannot open them (its error), or their link type is not one we compile for.</summary>
    public static IReadOnlyList<(string Name, string Reason)> Skipped => Loaded.Value.Skipped;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, LibPcapOracle.FileInfo, bool), LibPcapOracle.CompileResult> Programs = new();

    /// <summary>
    /// libpcap's program for an expression on a capture, compiled on the file's own handle as tcpdump -r compiles it
    /// (memoized: it depends on the file only through its link type, snapshot length and byte order).
    /// </summary>
    public static LibPcapOracle.CompileResult LibpcapProgram(Capture capture, string expression, bool optimize = true)
        => Programs.GetOrAdd((expression, capture.Info, optimize),
            _ => LibPcapOracle.CompileForFile(capture.Path, expression, optimize));

    private static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("KDT_TCPDUMP_TESTS");
        if (!string.IsNullOrEmpty(env))
            return System.IO.Directory.Exists(env) ? env : null;
        var rel = System.IO.Path.Combine("shared", "corpora", "tcpdump-tests");
        foreach (var start in new[] { System.IO.Path.GetDirectoryName(FilterCorpus.DefaultPath)!, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = System.IO.Path.Combine(dir.FullName, rel);
                if (System.IO.Directory.Exists(candidate))
                    return candidate;
            }
        }
        return System.IO.Directory.Exists("/work/shared/corpora/tcpdump-tests") ? "/work/shared/corpora/tcpdump-tests" : null;
    }

    private static (List<Capture>, List<(string, string)>) Load()
    {
        var usable = new List<Capture>();
        var skipped = new List<(string, string)>();
        if (Directory is null)
            return (usable, skipped);
        var supported = new HashSet<LinkType>(FilterDifferential.LinkTypes);
        var files = System.IO.Directory.EnumerateFiles(Directory)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var read = LibPcapOracle.ReadFile(file, out string? error);
            if (read is not { } r)
            {
                skipped.Add((System.IO.Path.GetFileName(file), $"libpcap cannot read it: {error}"));
                continue;
            }
            if (!supported.Contains(r.LinkType))
            {
                skipped.Add((System.IO.Path.GetFileName(file), $"link type {FilterDifferential.NameOf(r.LinkType)} is not one we compile for"));
                continue;
            }
            var info = LibPcapOracle.ReadFileInfo(file, out _)!.Value;
            usable.Add(new Capture(file, info, r.Packets, error));
        }
        return (usable, skipped);
    }
}
