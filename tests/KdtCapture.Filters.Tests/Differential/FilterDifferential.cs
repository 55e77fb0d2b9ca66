using System.Text;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;

namespace KdtCapture.Testing;

/// <summary>What one comparison looks at.</summary>
public enum CheckKind
{
    /// <summary>libpcap compiled the expression: our listing in one dump style must be its text.</summary>
    Listing,
    /// <summary>libpcap refused the expression: we must refuse it with its message.</summary>
    Error,
}

/// <summary>
/// One comparison between libpcap and our compiler: an expression, a link type, optimizer on or off, and
/// either one dump style (libpcap compiled it) or the error (libpcap refused it).
/// <see cref="Expected"/> and <see cref="Actual"/> are the texts compared: listings as tcpdump prints them,
/// error messages as pcap_geterr gives them; our non-FilterCompileException failures read "[Type] message".
/// </summary>
public sealed record DiffCheck(string Expression, LinkType LinkType, bool Optimize, CheckKind Kind,
    CbpfDumpStyle Style, string Expected, string Actual, bool Agrees)
{
    /// <summary>The tcpdump options that print this text, e.g. "-y EN10MB -O -dd".</summary>
    public string Options => FilterDifferential.TcpdumpOptions(LinkType, Optimize, Kind == CheckKind.Error ? CbpfDumpStyle.Readable : Style);

    /// <summary>The short name of the mode: "-O -d", "-d", "-dd", "-ddd", "-O -dd", ... or "error"/"-O error".</summary>
    public string Mode => Kind == CheckKind.Error
        ? (Optimize ? "error" : "-O error")
        : (Optimize ? "" : "-O ") + FilterDifferential.StyleFlag(Style);
}

/// <summary>
/// Compares our compiler (FilterCompiler + CbpfPrinter) with libpcap 1.10 (the in-process oracle, the library
/// tcpdump -d runs), with tcpdump's settings: snaplen 262144 and netmask 0.
/// Shared by the differential tests and the FilterDiff tool; no test framework here.
/// </summary>
public static class FilterDifferential
{
    /// <summary>The link types the compiler supports, in the order reports list them.</summary>
    public static readonly LinkType[] LinkTypes =
    [
        LinkType.EN10MB, LinkType.RAW, LinkType.IPV4, LinkType.IPV6, LinkType.LINUX_SLL, LinkType.LINUX_SLL2,
        LinkType.NULL, LinkType.LOOP, LinkType.IEEE802_11, LinkType.IEEE802_11_RADIO, LinkType.PPP,
    ];

    public static readonly CbpfDumpStyle[] Styles = [CbpfDumpStyle.Readable, CbpfDumpStyle.CArray, CbpfDumpStyle.Decimal];

    public const int Snaplen = 262144;

    /// <summary>
    /// How long one compile of ours may run before it is reported as hung (a guard, not a benchmark); each compile then
    /// runs on a pool thread. <see cref="Timeout.InfiniteTimeSpan"/> compiles inline (FilterDiff, which has its own watchdog).
    /// </summary>
    public static TimeSpan HangGuard { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Our compile options for a mode: tcpdump's snaplen and netmask (0 with -d).</summary>
    public static FilterCompileOptions Options(bool optimize)
        => new() { Optimize = optimize, Snaplen = Snaplen, Netmask = LibPcapOracle.TcpdumpNetmask };

    public static string StyleFlag(CbpfDumpStyle style) => style switch
    {
        CbpfDumpStyle.Readable => "-d",
        CbpfDumpStyle.CArray => "-dd",
        CbpfDumpStyle.Decimal => "-ddd",
        _ => throw new ArgumentOutOfRangeException(nameof(style)),
    };

    public static string TcpdumpOptions(LinkType linkType, bool optimize, CbpfDumpStyle style)
        => $"-y {NameOf(linkType)}{(optimize ? "" : " -O")} {StyleFlag(style)}";

    public static string NameOf(LinkType lt) => KdtCapture.Filters.LinkTypes.GetName(lt) ?? ((int)lt).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, LinkType, bool), LibPcapOracle.CompileResult> OracleCache = new();

    /// <summary>libpcap's verdict for one expression, link type and mode (memoized: name lookups can be slow here).</summary>
    public static LibPcapOracle.CompileResult Oracle(string expression, LinkType linkType, bool optimize)
        => OracleCache.GetOrAdd((expression, linkType, optimize),
            static key => LibPcapOracle.Compile(key.Item1, key.Item2, key.Item3, Snaplen, LibPcapOracle.TcpdumpNetmask));

    /// <summary>What our compiler does: a program, or the exception it threw (a hang is a TimeoutException).</summary>
    public readonly record struct OurResult(CbpfProgram? Program, Exception? Failure);

    public static OurResult Ours(string expression, LinkType linkType, bool optimize)
        => Ours(expression, linkType, Options(optimize));

    /// <summary>What our compiler does with explicit options (see <see cref="Ours(string, LinkType, bool)"/>).</summary>
    public static OurResult Ours(string expression, LinkType linkType, FilterCompileOptions options)
    {
        if (HangGuard == Timeout.InfiniteTimeSpan)
        {
            try
            {
                return new OurResult(FilterCompiler.Compile(expression, linkType, options), null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return new OurResult(null, e);
            }
        }
        var task = Task.Run(() => FilterCompiler.Compile(expression, linkType, options));
        try
        {
            if (!task.Wait(HangGuard))
                return new OurResult(null, new TimeoutException($"FilterCompiler.Compile did not return within {HangGuard.TotalSeconds:0} s"));
            return new OurResult(task.Result, null);
        }
        catch (AggregateException ae) when (ae.InnerExceptions.Count == 1)
        {
            return new OurResult(null, ae.InnerExceptions[0]);
        }
    }

    /// <summary>Our text for a failure: the message for a FilterCompileException, "[Type] message" for anything else.</summary>
    public static string Describe(Exception e) => e is FilterCompileException
        ? e.Message
        : $"[{e.GetType().Name}] {FirstLine(e.Message)}";

    private static string FirstLine(string s)
    {
        int nl = s.IndexOf('\n', StringComparison.Ordinal);
        return nl < 0 ? s : s[..nl];
    }

    /// <summary>Our listing in one style, or "[printer Type] message" when the printer fails.</summary>
    public static string OurListing(CbpfProgram program, CbpfDumpStyle style, bool fallBackToOraclePrinter = false)
    {
        try
        {
            return CbpfPrinter.Format(program.Instructions, style);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (fallBackToOraclePrinter && e is NotImplementedException)
                return LibPcapOracle.Dump(program.Instructions, style);
            return $"[printer {e.GetType().Name}] {FirstLine(e.Message)}";
        }
    }

    /// <summary>
    /// All comparisons for one expression on one link type in one mode: one per dump style when libpcap compiles it,
    /// one error comparison when it refuses it.
    /// </summary>
    /// <param name="fallBackToOraclePrinter">Print our instructions with libpcap's printer while CbpfPrinter is not written
    /// (the FilterDiff tool's choice; the tests never fall back).</param>
    public static List<DiffCheck> Compare(string expression, LinkType linkType, bool optimize,
        IReadOnlyCollection<CbpfDumpStyle>? styles = null, bool fallBackToOraclePrinter = false)
    {
        styles ??= Styles;
        var oracle = Oracle(expression, linkType, optimize);
        var ours = Ours(expression, linkType, optimize);
        var checks = new List<DiffCheck>(styles.Count);
        if (!oracle.Succeeded)
        {
            string actual;
            bool agrees = false;
            if (ours.Failure is FilterCompileException fce)
            {
                actual = fce.Message;
                agrees = fce.Message == oracle.Error;
            }
            else if (ours.Failure is not null)
            {
                actual = Describe(ours.Failure);
            }
            else
            {
                actual = "[compiled, no error]\n" + OurListing(ours.Program!, CbpfDumpStyle.Readable, fallBackToOraclePrinter: true);
            }
            checks.Add(new DiffCheck(expression, linkType, optimize, CheckKind.Error, CbpfDumpStyle.Readable, oracle.Error!, actual, agrees));
            return checks;
        }
        foreach (var style in styles)
        {
            string expected = LibPcapOracle.Dump(oracle.Instructions, style);
            string actual = ours.Failure is not null
                ? (ours.Failure is FilterCompileException ? "[error] " : "") + Describe(ours.Failure)
                : OurListing(ours.Program!, style, fallBackToOraclePrinter);
            checks.Add(new DiffCheck(expression, linkType, optimize, CheckKind.Listing, style, expected, actual, expected == actual));
        }
        return checks;
    }

    /// <summary>All comparisons of one expression: every link type, optimized and not, every style.</summary>
    public static List<DiffCheck> CompareAll(string expression, IReadOnlyCollection<LinkType>? linkTypes = null,
        IReadOnlyCollection<CbpfDumpStyle>? styles = null, bool fallBackToOraclePrinter = false)
    {
        var all = new List<DiffCheck>();
        foreach (var lt in linkTypes ?? LinkTypes)
        {
            foreach (bool optimize in (ReadOnlySpan<bool>)[false, true])
                all.AddRange(Compare(expression, lt, optimize, styles, fallBackToOraclePrinter));
        }
        return all;
    }

    /// <summary>
    /// A unified-diff excerpt around the first line where <paramref name="actual"/> leaves <paramref name="expected"/>:
    /// a few lines of common context, then the differing lines of each side.
    /// </summary>
    public static string FirstDifference(string expected, string actual, int context = 2, int shown = 6,
        string expectedLabel = "libpcap", string actualLabel = "ours")
    {
        var e = SplitLines(expected);
        var a = SplitLines(actual);
        int i = 0;
        while (i < e.Length && i < a.Length && e[i] == a[i])
            i++;
        var sb = new StringBuilder();
        sb.Append("--- ").Append(expectedLabel).Append(" (").Append(e.Length).Append(" lines)\n");
        sb.Append("+++ ").Append(actualLabel).Append(" (").Append(a.Length).Append(" lines)\n");
        sb.Append("@@ first difference at line ").Append(i + 1).Append(" @@\n");
        for (int c = Math.Max(0, i - context); c < i; c++)
            sb.Append(' ').Append(e[c]).Append('\n');
        for (int c = i; c < Math.Min(e.Length, i + shown); c++)
            sb.Append('-').Append(e[c]).Append('\n');
        if (e.Length > i + shown)
            sb.Append("-…\n");
        for (int c = i; c < Math.Min(a.Length, i + shown); c++)
            sb.Append('+').Append(a[c]).Append('\n');
        if (a.Length > i + shown)
            sb.Append("+…\n");
        if (i == e.Length && i == a.Length)
            sb.Append(" (the texts differ only in their final newline)\n");
        return sb.ToString();
    }

    /// <summary>The two texts side by side, "|" between the columns and "*" on the lines that differ.</summary>
    public static string SideBySide(string expected, string actual, int width = 48, int maxLines = 60,
        string expectedLabel = "libpcap", string actualLabel = "ours")
    {
        var e = SplitLines(expected);
        var a = SplitLines(actual);
        var sb = new StringBuilder();
        sb.Append("  ").Append(Fit(expectedLabel, width)).Append(" | ").Append(actualLabel).Append('\n');
        sb.Append("  ").Append(new string('-', width)).Append("-+-").Append(new string('-', width)).Append('\n');
        int n = Math.Max(e.Length, a.Length);
        for (int i = 0; i < Math.Min(n, maxLines); i++)
        {
            string l = i < e.Length ? e[i] : "";
            string r = i < a.Length ? a[i] : "";
            bool same = i < e.Length && i < a.Length && l == r;
            sb.Append(same ? "  " : "* ").Append(Fit(l, width)).Append(" | ").Append(r).Append('\n');
        }
        if (n > maxLines)
            sb.Append("  … ").Append(n - maxLines).Append(" more lines\n");
        return sb.ToString();
    }

    private static string Fit(string s, int width)
    {
        s = s.Replace('\t', ' ');
        return s.Length > width ? s[..(width - 1)] + "…" : s.PadRight(width);
    }

    private static string[] SplitLines(string s)
    {
        if (s.EndsWith('\n'))
            s = s[..^1];
        return s.Length == 0 ? [] : s.Split('\n');
    }
}
