using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using KdtCapture.Capture.Printing;
using KdtCapture.Filters;

namespace KdtCapture.Testing;

/// <summary>A tcpdump command line and the printer options that mean the same.</summary>
public sealed record PrintOptionSet(string Name, string[] TcpdumpArguments, PacketPrinterOptions Options)
{
    public override string ToString() => Name;
}

/// <summary>One packet: what tcpdump printed and what the printer printed, line by line.</summary>
public sealed record PacketComparison(string File, int Number, string Family, string[] Expected, string[] Actual)
{
    /// <summary>tcpdump's lines that the printer reproduced at the same place.</summary>
    public int IdenticalLines
    {
        get
        {
            int n = 0;
            for (int i = 0; i < Expected.Length; i++)
            {
                if (i < Actual.Length && Expected[i] == Actual[i])
                    n++;
            }
            return n;
        }
    }

    public bool Identical => Expected.Length == Actual.Length && IdenticalLines == Expected.Length;
}

/// <summary>Identical-line counts of one protocol family.</summary>
public sealed class FamilyScore
{
    public long Lines;
    public long Identical;
    public long Packets;

    public double Share => Lines == 0 ? 1 : (double)Identical / Lines;
}

/// <summary>
/// Compares <see cref="PacketPrinter"/> with the installed tcpdump (4.99.3) over tcpdump's own test captures:
/// each capture is read in place with libpcap (the in-process oracle), printed by the printer, and printed by
/// <c>tcpdump -# -r FILE</c> with the same options (packet numbers split tcpdump's output into packets; TZ=UTC
/// on both sides). Shared by the differential test and the PrintDiff tool; no test framework here.
/// </summary>
public static class PrinterDifferential
{
    /// <summary>The link types the printer decodes as tcpdump does.</summary>
    public static readonly LinkType[] LinkTypes =
    [
        LinkType.EN10MB, LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.RAW, LinkType.IPV4, LinkType.IPV6,
        LinkType.NULL, LinkType.LOOP,
    ];

    private static PacketPrinterOptions Base => new() { Numeric = true, TimeZone = TimeZoneInfo.Utc };

    /// <summary>The option sets the test measures; all with -n (names would need DNS).</summary>
    public static readonly PrintOptionSet[] OptionSets =
    [
        new("-n", ["-n"], Base),
        new("-n -e", ["-n", "-e"], Base with { LinkHeader = true }),
        new("-n -q", ["-n", "-q"], Base with { Quiet = true }),
        new("-n -tt", ["-n", "-tt"], Base with { Timestamps = TimestampFormat.Unix }),
        new("-n -ttt", ["-n", "-ttt"], Base with { Timestamps = TimestampFormat.DeltaSincePrevious }),
        new("-n -tttt", ["-n", "-tttt"], Base with { Timestamps = TimestampFormat.DateAndTime }),
        new("-n -ttttt", ["-n", "-ttttt"], Base with { Timestamps = TimestampFormat.DeltaSinceFirst }),
        new("-n --nano", ["-n", "--time-stamp-precision", "nano"], Base with { Precision = TimestampPrecision.Nanoseconds }),
        new("-n -v", ["-n", "-v"], Base with { Verbosity = 1 }),
        new("-n -v -K", ["-n", "-v", "-K"], Base with { Verbosity = 1, DontVerifyChecksums = true }),
        new("-n -S", ["-n", "-S"], Base with { AbsoluteTcpSequenceNumbers = true }),
        // tcpdump always runs with -# here (it splits the output into packets); this set makes the printer number too.
        new("-n -#", ["-n"], Base with { PacketNumbers = true }),
        new("-n -x", ["-n", "-x"], Base with { HexDump = HexDumpMode.Hex }),
        new("-n -xx", ["-n", "-xx"], Base with { HexDump = HexDumpMode.HexWithLinkHeader }),
        new("-n -X", ["-n", "-X"], Base with { HexDump = HexDumpMode.HexAndAscii }),
        new("-n -XX", ["-n", "-XX"], Base with { HexDump = HexDumpMode.HexAndAsciiWithLinkHeader }),
        new("-n -A", ["-n", "-A"], Base with { HexDump = HexDumpMode.Ascii }),
    ];

    /// <summary>More option sets the PrintDiff tool offers by name.</summary>
    public static readonly PrintOptionSet[] ExtraOptionSets =
    [
        new("-n -vv", ["-n", "-vv"], Base with { Verbosity = 2 }),
        new("-n -vvv", ["-n", "-vvv"], Base with { Verbosity = 3 }),
        new("-n -t", ["-n", "-t"], Base with { Timestamps = TimestampFormat.None }),
        new("-n -AA", ["-n", "-AA"], Base with { HexDump = HexDumpMode.AsciiWithLinkHeader }),
        new("-n -e -q", ["-n", "-e", "-q"], Base with { LinkHeader = true, Quiet = true }),
        new("-n -e -v", ["-n", "-e", "-v"], Base with { LinkHeader = true, Verbosity = 1 }),
        new("-n -v -x", ["-n", "-v", "-x"], Base with { Verbosity = 1, HexDump = HexDumpMode.Hex }),
        new("-n -ttt --nano", ["-n", "-ttt", "--time-stamp-precision", "nano"],
            Base with { Timestamps = TimestampFormat.DeltaSincePrevious, Precision = TimestampPrecision.Nanoseconds }),
    ];

    public static IEnumerable<PrintOptionSet> AllOptionSets => OptionSets.Concat(ExtraOptionSets);

    /// <summary>The families the printer promises tcpdump's exact text for.</summary>
    public static readonly string[] CoreFamilies =
        ["Ethernet", "ARP", "IPv4", "IPv6", "TCP", "UDP", "ICMP", "ICMPv6", "DNS"];

    public static string? TcpdumpPath { get; } =
        new[] { "/usr/bin/tcpdump", "/usr/sbin/tcpdump" }.FirstOrDefault(File.Exists);

    public static string? CorpusDirectory { get; } = FindCorpus();

    private static string? FindCorpus()
    {
        var env = Environment.GetEnvironmentVariable("KDT_TCPDUMP_TESTS");
        if (!string.IsNullOrEmpty(env))
            return Directory.Exists(env) ? env : null;
        var rel = Path.Combine("shared", "corpora", "tcpdump-tests");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, rel);
            if (Directory.Exists(candidate))
                return candidate;
        }
        return Directory.Exists("/work/shared/corpora/tcpdump-tests") ? "/work/shared/corpora/tcpdump-tests" : null;
    }

    /// <summary>One capture of the corpus as libpcap reads it.</summary>
    public sealed record Capture(string Path, LinkType LinkType, List<LibPcapOracle.TimedPacket> Packets)
    {
        public string Name => System.IO.Path.GetFileName(Path);
    }

    private static readonly Lazy<List<Capture>> Corpus = new(LoadCorpus);

    /// <summary>The corpus captures whose link type the printer decodes (libpcap must open them).</summary>
    public static IReadOnlyList<Capture> Captures => Corpus.Value;

    private static List<Capture> LoadCorpus()
    {
        var result = new List<Capture>();
        if (CorpusDirectory is null)
            return result;
        foreach (var path in Directory.EnumerateFiles(CorpusDirectory).Order(StringComparer.Ordinal))
        {
            if (!path.EndsWith(".pcap", StringComparison.Ordinal) && !path.EndsWith(".pcapng", StringComparison.Ordinal))
                continue;
            var read = LibPcapOracle.ReadFileWithTimestamps(path, out _);
            if (read is null || !LinkTypes.Contains(read.Value.LinkType) || read.Value.Packets.Count == 0)
                continue;
            result.Add(new Capture(path, read.Value.LinkType, read.Value.Packets));
        }
        return result;
    }

    public static Capture? Load(string path)
    {
        var read = LibPcapOracle.ReadFileWithTimestamps(path, out _);
        return read is null ? null : new Capture(path, read.Value.LinkType, read.Value.Packets);
    }

    /// <summary>tcpdump's output for a capture, one entry per packet (its lines, without the -# numbers).</summary>
    public static List<string[]> RunTcpdump(string path, IReadOnlyList<string> arguments)
    {
        if (TcpdumpPath is null)
            throw new InvalidOperationException("tcpdump is not installed");
        var psi = new ProcessStartInfo(TcpdumpPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.Latin1,
        };
        psi.Environment["TZ"] = "UTC";
        psi.ArgumentList.Add("-#");
        foreach (var a in arguments)
            psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("-r");
        psi.ArgumentList.Add(path);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var packets = new List<string[]>();
        var current = new List<string>();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            // "%5u  " opens each packet; only the next number in sequence counts, so no continuation line is taken for one.
            if (TryStripNumber(line, packets.Count + (current.Count > 0 ? 1 : 0) + 1, out var rest))
            {
                if (current.Count > 0)
                    packets.Add([.. current]);
                current.Clear();
                current.Add(rest);
            }
            else if (current.Count > 0)
                current.Add(line);
        }
        if (current.Count > 0)
            packets.Add([.. current]);
        process.WaitForExit();
        _ = stderr.Result;
        return packets;
    }

    private static bool TryStripNumber(string line, int expected, out string rest)
    {
        rest = "";
        int i = 0;
        while (i < line.Length && line[i] == ' ')
            i++;
        int start = i;
        while (i < line.Length && char.IsAsciiDigit(line[i]))
            i++;
        if (i == start || i + 2 > line.Length || line[i] != ' ' || line[i + 1] != ' ')
            return false;
        if (!int.TryParse(line.AsSpan(start, i - start), out int n) || n != expected)
            return false;
        if (n < 100000 ? i != 5 : start != 0)
            return false;
        rest = line[(i + 2)..];
        return true;
    }

    /// <summary>The printer's output for a capture, one entry per packet.</summary>
    public static List<string[]> RunPrinter(Capture capture, PacketPrinterOptions options)
    {
        var printer = new PacketPrinter(options);
        var result = new List<string[]>(capture.Packets.Count);
        foreach (var packet in capture.Packets)
        {
            var text = printer.Format(capture.LinkType, packet.TimestampNanoseconds, packet.Data, packet.WireLength);
            // Only the final newline goes: -A dumps of text protocols end in empty lines, as tcpdump's do.
            var lines = (text.EndsWith('\n') ? text[..^1] : text).Split('\n');
            // The printer's "%5u  " goes the way tcpdump's does: only the right number in the right format is taken
            // off, so a wrong one leaves the line different from tcpdump's.
            if (options.PacketNumbers)
                lines[0] = TryStripNumber(lines[0], result.Count + 1, out var rest) ? rest : "<no packet number> " + lines[0];
            result.Add(lines);
        }
        return result;
    }

    /// <summary>Both outputs of one capture, packet by packet, with each packet's protocol family.</summary>
    public static List<PacketComparison> Compare(Capture capture, PrintOptionSet set)
    {
        var expected = RunTcpdump(capture.Path, set.TcpdumpArguments);
        var actual = RunPrinter(capture, set.Options);
        var result = new List<PacketComparison>(capture.Packets.Count);
        int n = Math.Max(expected.Count, actual.Count);
        for (int i = 0; i < n; i++)
        {
            string family = i < capture.Packets.Count ? ProtocolFamilies.Classify(capture.LinkType, capture.Packets[i].Data) : "Other";
            result.Add(new PacketComparison(capture.Name, i + 1, family,
                i < expected.Count ? expected[i] : [], i < actual.Count ? actual[i] : []));
        }
        return result;
    }

    /// <summary>Compares every capture (in parallel) and tallies identical lines per family.</summary>
    public static (SortedDictionary<string, FamilyScore> Scores, List<PacketComparison> Differences) Measure(
        IEnumerable<Capture> captures, PrintOptionSet set)
    {
        var all = new ConcurrentBag<List<PacketComparison>>();
        Parallel.ForEach(captures, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            capture => all.Add(Compare(capture, set)));
        var scores = new SortedDictionary<string, FamilyScore>(StringComparer.Ordinal);
        var differences = new List<PacketComparison>();
        foreach (var packet in all.SelectMany(x => x).OrderBy(p => p.File, StringComparer.Ordinal).ThenBy(p => p.Number))
        {
            if (!scores.TryGetValue(packet.Family, out var score))
                scores[packet.Family] = score = new FamilyScore();
            score.Packets++;
            score.Lines += Math.Max(packet.Expected.Length, packet.Actual.Length);
            score.Identical += packet.IdenticalLines;
            if (!packet.Identical)
                differences.Add(packet);
        }
        return (scores, differences);
    }

    /// <summary>A table of shares per family: "family  lines  identical  share".</summary>
    public static string Report(string title, SortedDictionary<string, FamilyScore> scores)
    {
        var sb = new StringBuilder();
        sb.AppendLine(title);
        long lines = 0, same = 0, coreLines = 0, coreSame = 0;
        foreach (var (family, score) in scores)
        {
            sb.AppendLine(System.FormattableString.Invariant(
                $"  {family,-14} {score.Packets,7} packets {score.Lines,7} lines {score.Identical,7} identical {score.Share,8:P2}"));
            lines += score.Lines;
            same += score.Identical;
            if (CoreFamilies.Contains(family))
            {
                coreLines += score.Lines;
                coreSame += score.Identical;
            }
        }
        sb.AppendLine(System.FormattableString.Invariant(
            $"  {"core",-14} {"",7}         {coreLines,7} lines {coreSame,7} identical {(coreLines == 0 ? 1 : (double)coreSame / coreLines),8:P2}"));
        sb.AppendLine(System.FormattableString.Invariant(
            $"  {"all",-14} {"",7}         {lines,7} lines {same,7} identical {(lines == 0 ? 1 : (double)same / lines),8:P2}"));
        return sb.ToString();
    }

    /// <summary>One difference as a developer wants to see it: where, then tcpdump's and our lines.</summary>
    public static string Describe(PacketComparison c)
    {
        var sb = new StringBuilder();
        sb.Append(c.File).Append(" #").Append(c.Number).Append(" [").Append(c.Family).AppendLine("]");
        int n = Math.Max(c.Expected.Length, c.Actual.Length);
        for (int i = 0; i < n; i++)
        {
            string e = i < c.Expected.Length ? c.Expected[i] : "<none>";
            string a = i < c.Actual.Length ? c.Actual[i] : "<none>";
            if (e == a)
                sb.Append("  = ").AppendLine(e);
            else
            {
                sb.Append("  - ").AppendLine(e);
                sb.Append("  + ").AppendLine(a);
            }
        }
        return sb.ToString();
    }
}
