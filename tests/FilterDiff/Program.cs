// FilterDiff: how far our pcap-filter compiler agrees with libpcap 1.10 (tcpdump -d), per link type and mode.
//
//   dotnet run -c Release --project tests/FilterDiff -- [options] [EXPRESSION ...]
//
// Runs the corpus (tests/KdtCapture.Filters.Tests/Corpus/expressions.pcapf), a file of expressions, or the
// expressions given, over the link types, compiles each with FilterCompiler and with libpcap (in-process, the
// library tcpdump -d uses: snaplen 262144, netmask 0), prints both as -d/-dd/-ddd and compares the texts, and
// compares error messages where libpcap refuses. Prints agreement per link type and overall, then the first
// mismatches with both texts side by side. Exit code 0 when everything agrees, 1 when something differs, 2 on bad usage.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;

namespace KdtCapture.FilterDiff;

internal static class Program
{
    private const string Usage = """
        usage: dotnet run -c Release --project tests/FilterDiff -- [options] [EXPRESSION ...]

        What to run (default: the whole corpus):
          EXPRESSION ...          these expressions (quote each one for the shell)
          -f, --file FILE         expressions from FILE, one a line ('#' comments; corpus syntax: "error:" marks, quoting)
          -c, --corpus FILE       another corpus file
          -g, --group TEXT        only corpus groups whose "###" heading contains TEXT (repeatable)
          -l, --line N[-M]        only corpus entries on these lines
          -r, --random N          N random expressions drawn from the whole language instead (about 1 in 12 damaged)
              --seed S            the random generator's seed (default: a new one, printed so the run can be repeated)
          -y, --link-types LIST   comma-separated link types (default: EN10MB,RAW,IPV4,IPV6,LINUX_SLL,LINUX_SLL2,
                                  NULL,LOOP,IEEE802_11,IEEE802_11_RADIO,PPP)

        What to compare:
          -O, --unoptimized-only  only tcpdump -O (no optimizer)
              --optimized-only    only the optimizer's output
              --d-only            only -d text (skip -dd and -ddd: faster)
              --strict-printer    never print our programs with libpcap's printer (by default it stands in for
                                  CbpfPrinter while that throws NotImplementedException; the header says so)

        What to show:
          -m, --mismatches N      show the first N mismatches (default 10, 0 for none)
              --mode MODE         only show mismatches of one mode: O-d, d, dd, ddd, O-dd, O-ddd, error, O-error
              --unified           show mismatches as a unified first-difference excerpt instead of side by side
          -w, --width N           column width of the side-by-side view (default 56)
              --list              after the summary, list every expression that disagrees somewhere (one line each)
              --save FILE         write every expression that disagrees somewhere to FILE (re-run it with -f FILE)
              --oracle            do not run our compiler: show what libpcap does with each expression on each link type
              --check-corpus      do not run our compiler: check the corpus against libpcap ("error:" marks, duplicates)
          -j, --jobs N            parallel workers (default: processor count; libpcap itself is serialized)
          -q, --quiet             only the summary table
          -h, --help
        """;

    private sealed class Settings
    {
        public List<string> Expressions { get; } = [];
        public string? File;
        public string? Corpus;
        public List<string> Groups { get; } = [];
        public (int From, int To)? Lines;
        public List<LinkType> LinkTypes { get; } = [];
        public bool UnoptimizedOnly, OptimizedOnly, DOnly, StrictPrinter, Unified, List, OracleOnly, CheckCorpus, Quiet;
        public int Mismatches = 10;
        public int Width = 56;
        public string? Mode;
        public int Random;
        public int? Seed;
        public string? Save;
        public int Jobs = Environment.ProcessorCount;
    }

    private static int Main(string[] args)
    {
        Settings s;
        try
        {
            s = ParseArgs(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"FilterDiff: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (s is null)
            return 0;
        if (!LibPcapOracle.IsAvailable)
        {
            Console.Error.WriteLine("FilterDiff: libpcap (libpcap.so.0.8) is not installed; apt-get install libpcap0.8");
            return 2;
        }

        IReadOnlyList<CorpusEntry> entries;
        try
        {
            entries = SelectEntries(s);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"FilterDiff: {e.Message}");
            return 2;
        }
        if (entries.Count == 0)
        {
            Console.Error.WriteLine("FilterDiff: no expressions selected");
            return 2;
        }
        var linkTypes = s.LinkTypes.Count > 0 ? s.LinkTypes.ToArray() : FilterDifferential.LinkTypes;
        if (s.CheckCorpus)
            return CheckCorpus(entries, linkTypes);
        return s.OracleOnly ? ShowOracle(entries, linkTypes) : Compare(s, entries, linkTypes);
    }

    private static Settings ParseArgs(string[] args)
    {
        var s = new Settings();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int NextInt() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
                : throw new ArgumentException($"{a} needs a number");
            switch (a)
            {
                case "-h" or "--help":
                    Console.WriteLine(Usage);
                    return null!;
                case "-f" or "--file": s.File = Next(); break;
                case "-c" or "--corpus": s.Corpus = Next(); break;
                case "-g" or "--group": s.Groups.Add(Next()); break;
                case "-l" or "--line":
                {
                    var v = Next().Split('-', 2);
                    if (!int.TryParse(v[0], CultureInfo.InvariantCulture, out int from)
                        || !int.TryParse(v.Length > 1 ? v[1] : v[0], CultureInfo.InvariantCulture, out int to))
                        throw new ArgumentException($"{a} takes N or N-M");
                    s.Lines = (from, to);
                    break;
                }
                case "-y" or "--link-types":
                    foreach (var name in Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!LinkTypes.TryParse(name, out var lt))
                            throw new ArgumentException($"unknown link type '{name}'");
                        s.LinkTypes.Add(lt);
                    }
                    break;
                case "-O" or "--unoptimized-only": s.UnoptimizedOnly = true; break;
                case "--optimized-only": s.OptimizedOnly = true; break;
                case "--d-only": s.DOnly = true; break;
                case "--strict-printer": s.StrictPrinter = true; break;
                case "-m" or "--mismatches": s.Mismatches = NextInt(); break;
                case "--mode":
                    s.Mode = Next().TrimStart('-').Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
                    if (s.Mode is not ("O-D" or "D" or "DD" or "DDD" or "O-DD" or "O-DDD" or "ERROR" or "O-ERROR"))
                        throw new ArgumentException($"unknown mode '{s.Mode}'");
                    break;
                case "--unified": s.Unified = true; break;
                case "-w" or "--width": s.Width = Math.Max(20, NextInt()); break;
                case "--list": s.List = true; break;
                case "--oracle": s.OracleOnly = true; break;
                case "-r" or "--random": s.Random = NextInt(); break;
                case "--seed": s.Seed = NextInt(); break;
                case "--save": s.Save = Next(); break;
                case "--check-corpus": s.CheckCorpus = true; break;
                case "-j" or "--jobs": s.Jobs = Math.Max(1, NextInt()); break;
                case "-q" or "--quiet": s.Quiet = true; break;
                case "--": s.Expressions.AddRange(args[(i + 1)..]); i = args.Length; break;
                default:
                    if (a.Length > 1 && a[0] == '-')
                        throw new ArgumentException($"unknown option {a} (put expressions that start with '-' after --)");
                    s.Expressions.Add(a);
                    break;
            }
        }
        if (s.UnoptimizedOnly && s.OptimizedOnly)
            throw new ArgumentException("--unoptimized-only and --optimized-only exclude each other");
        return s;
    }

    private static IReadOnlyList<CorpusEntry> SelectEntries(Settings s)
    {
        IReadOnlyList<CorpusEntry> entries;
        if (s.Random > 0)
        {
            int seed = s.Seed ?? System.Random.Shared.Next(1, int.MaxValue);
            Console.WriteLine($"FilterDiff: {s.Random} random expressions, --seed {seed}");
            return FilterCorpus.FromExpressions(new RandomExpressions(seed).Take(s.Random), $"random, seed {seed}");
        }
        if (s.Expressions.Count > 0)
            entries = FilterCorpus.FromExpressions(s.Expressions, "command line");
        else if (s.File is not null)
            entries = FilterCorpus.Load(s.File);
        else
            entries = FilterCorpus.Load(s.Corpus ?? FilterCorpus.DefaultPath);
        return entries
            .Where(e => s.Groups.Count == 0 || s.Groups.Any(g => e.Group.Contains(g, StringComparison.OrdinalIgnoreCase)))
            .Where(e => s.Lines is not { } r || (e.Line >= r.From && e.Line <= r.To))
            .ToList();
    }

    // ---------------------------------------------------------------- comparison

    private static readonly string[] Columns = ["-O -d", "-d", "-dd", "-ddd", "errors"];

    private static string Column(DiffCheck c) => c.Kind == CheckKind.Error ? "errors"
        : c.Optimize ? FilterDifferential.StyleFlag(c.Style)
        : c.Style == CbpfDumpStyle.Readable ? "-O -d" : "-O other";

    private static int Compare(Settings s, IReadOnlyList<CorpusEntry> entries, LinkType[] linkTypes)
    {
        var styles = s.DOnly ? new[] { CbpfDumpStyle.Readable } : FilterDifferential.Styles;
        bool[] modes = s.UnoptimizedOnly ? [false] : s.OptimizedOnly ? [true] : [false, true];
        bool printerFallback = !s.StrictPrinter && PrinterMissing();
        FilterDifferential.HangGuard = Timeout.InfiniteTimeSpan; // the watchdog below names slow expressions instead

        var results = new List<DiffCheck>[entries.Count];
        var sw = Stopwatch.StartNew();
        var slow = new ConcurrentDictionary<int, long>();
        var reported = new ConcurrentDictionary<int, byte>();
        using var watchdog = new Timer(_ =>
        {
            foreach (var (idx, started) in slow)
            {
                if (Stopwatch.GetElapsedTime(started).TotalSeconds > 5 && reported.TryAdd(idx, 0))
                    Console.Error.WriteLine($"FilterDiff: line {entries[idx].Line} takes over 5 s (name lookups? a loop?): {entries[idx].Display}");
            }
        }, null, 5000, 5000);
        Parallel.For(0, entries.Count, new ParallelOptions { MaxDegreeOfParallelism = s.Jobs }, i =>
        {
            slow[i] = Stopwatch.GetTimestamp();
            var list = new List<DiffCheck>();
            foreach (var lt in linkTypes)
                foreach (bool opt in modes)
                    list.AddRange(FilterDifferential.Compare(entries[i].Expression, lt, opt, styles, printerFallback));
            results[i] = list;
            slow.TryRemove(i, out _);
        });
        var elapsed = sw.Elapsed;

        var all = results.SelectMany(r => r).ToList();
        var outp = new StringBuilder();
        outp.Append(CultureInfo.InvariantCulture, $"FilterDiff: {entries.Count} expressions × {linkTypes.Length} link types");
        outp.Append(CultureInfo.InvariantCulture, $" × {(modes.Length == 2 ? "unoptimized and optimized" : modes[0] ? "optimized" : "unoptimized (-O)")}");
        outp.Append(CultureInfo.InvariantCulture, $", {all.Count} comparisons against {LibPcapOracle.Version} in {elapsed.TotalSeconds:0.0} s\n");
        if (printerFallback)
            outp.Append("note: CbpfPrinter is not implemented yet; our programs are printed with libpcap's bpf_image/bpf_dump (--strict-printer to refuse)\n");
        var crashes = all.Where(c => c.Actual.StartsWith('[') && !c.Actual.StartsWith("[error]", StringComparison.Ordinal)
                                     && !c.Actual.StartsWith("[compiled", StringComparison.Ordinal))
            .GroupBy(c => c.Actual.Split(']')[0] + "]").OrderByDescending(g => g.Count()).ToList();
        foreach (var g in crashes)
            outp.Append(CultureInfo.InvariantCulture, $"note: ours failed with {g.Key} in {g.Count()} comparisons (e.g. {Trim(g.First().Actual, 100)})\n");
        outp.Append('\n');
        AppendTable(outp, all, linkTypes);

        int agreeingExprs = results.Count(r => r.All(c => c.Agrees));
        outp.Append(CultureInfo.InvariantCulture, $"\nexpressions agreeing everywhere: {agreeingExprs}/{entries.Count} ({Pct(agreeingExprs, entries.Count)})\n");
        var expectErrorWrong = entries.Select((e, i) => (e, r: results[i]))
            .Where(x => x.e.ExpectError && x.r.Any(c => c.Kind == CheckKind.Listing))
            .ToList();
        foreach (var (e, _) in expectErrorWrong)
            outp.Append(CultureInfo.InvariantCulture, $"corpus: line {e.Line} is marked \"error:\" but libpcap compiles it somewhere: {e.Display}\n");
        Console.Write(outp.ToString());

        if (!s.Quiet && s.Mismatches > 0)
            ShowMismatches(s, entries, results);
        if (!s.Quiet && s.List)
            ListDisagreeing(entries, results);
        if (s.Save is not null)
        {
            var disagreeing = entries.Where((_, i) => results[i].Any(c => !c.Agrees)).Select(e => e.Display).ToList();
            File.WriteAllLines(s.Save, disagreeing);
            Console.WriteLine($"\n{disagreeing.Count} disagreeing expressions written to {s.Save}");
        }
        return all.All(c => c.Agrees) ? 0 : 1;
    }

    private static void AppendTable(StringBuilder outp, List<DiffCheck> all, LinkType[] linkTypes)
    {
        const int w = 22;
        outp.Append("link type".PadRight(18));
        foreach (var col in Columns)
            outp.Append(col.PadLeft(w));
        outp.Append('\n');
        void Row(string name, IEnumerable<DiffCheck> checks)
        {
            var list = checks.ToList();
            outp.Append(name.PadRight(18));
            foreach (var col in Columns)
            {
                var inCol = list.Where(c => Column(c) == col).ToList();
                int ok = inCol.Count(c => c.Agrees);
                outp.Append((inCol.Count == 0 ? "—" : $"{ok}/{inCol.Count} {Pct(ok, inCol.Count),7}").PadLeft(w));
            }
            outp.Append('\n');
        }
        foreach (var lt in linkTypes)
            Row(FilterDifferential.NameOf(lt), all.Where(c => c.LinkType == lt));
        Row("overall", all);
        var other = all.Where(c => Column(c) == "-O other").ToList();
        if (other.Count > 0)
            outp.Append(CultureInfo.InvariantCulture, $"(-O -dd and -O -ddd: {other.Count(c => c.Agrees)}/{other.Count} {Pct(other.Count(c => c.Agrees), other.Count)})\n");
        outp.Append("(-O -d/-d/-dd/-ddd: where libpcap compiles, our text equals tcpdump's; errors: where libpcap refuses, we refuse with its message)\n");
    }

    private static void ShowMismatches(Settings s, IReadOnlyList<CorpusEntry> entries, List<DiffCheck>[] results)
    {
        int shown = 0;
        int total = 0;
        var sb = new StringBuilder();
        for (int i = 0; i < entries.Count; i++)
        {
            // One mismatch per (link type, mode): the first differing style says enough.
            var bad = results[i].Where(c => !c.Agrees)
                .Where(c => s.Mode is null || ModeKey(c) == s.Mode)
                .GroupBy(c => (c.LinkType, c.Optimize)).Select(g => g.First()).ToList();
            total += bad.Count;
            foreach (var c in bad)
            {
                if (shown >= s.Mismatches)
                    continue;
                shown++;
                sb.Append(CultureInfo.InvariantCulture, $"\n#{shown}  line {entries[i].Line} [{entries[i].Group}]: {entries[i].Display}\n");
                sb.Append(CultureInfo.InvariantCulture, $"    tcpdump {c.Options} '{entries[i].Display}'   ({c.Mode})\n");
                string label = c.Kind == CheckKind.Error ? "libpcap error" : "libpcap (tcpdump)";
                sb.Append(s.Unified
                    ? FilterDifferential.FirstDifference(c.Expected, c.Actual, expectedLabel: label)
                    : FilterDifferential.SideBySide(c.Expected, c.Actual, s.Width, expectedLabel: label));
            }
        }
        Console.Write(sb.ToString());
        if (total > shown)
            Console.WriteLine($"\n… {total - shown} more mismatching (link type, mode) pairs; -m N shows more, --list names the expressions");
    }

    private static string ModeKey(DiffCheck c) => c.Kind == CheckKind.Error
        ? (c.Optimize ? "ERROR" : "O-ERROR")
        : (c.Optimize ? "" : "O-") + FilterDifferential.StyleFlag(c.Style).TrimStart('-').ToUpperInvariant();

    private static void ListDisagreeing(IReadOnlyList<CorpusEntry> entries, List<DiffCheck>[] results)
    {
        Console.WriteLine("\nexpressions that disagree (line: expression — link types/modes):");
        for (int i = 0; i < entries.Count; i++)
        {
            var bad = results[i].Where(c => !c.Agrees).ToList();
            if (bad.Count == 0)
                continue;
            var where = bad.GroupBy(c => c.Mode).Select(g =>
                $"{g.Key}: {string.Join(",", g.Select(c => FilterDifferential.NameOf(c.LinkType)).Distinct())}");
            Console.WriteLine($"{entries[i].Line}: {entries[i].Display} — {string.Join("; ", where)}");
        }
    }

    private static bool PrinterMissing()
    {
        try
        {
            CbpfPrinter.Format([CbpfInstruction.Stmt(Cbpf.Ret | Cbpf.K, 0)], CbpfDumpStyle.Readable);
            return false;
        }
        catch (NotImplementedException)
        {
            return true;
        }
    }

    // ---------------------------------------------------------------- oracle view

    private static int ShowOracle(IReadOnlyList<CorpusEntry> entries, LinkType[] linkTypes)
    {
        var sb = new StringBuilder();
        foreach (var e in entries)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{e.Line}: {(e.ExpectError ? "error: " : "")}{e.Display}\n");
            var verdicts = linkTypes.Select(lt =>
            {
                var u = FilterDifferential.Oracle(e.Expression, lt, optimize: false);
                var o = FilterDifferential.Oracle(e.Expression, lt, optimize: true);
                string v = (u.Succeeded, o.Succeeded) switch
                {
                    (true, true) => $"ok ({u.Instructions!.Length}/{o.Instructions!.Length} insns)",
                    (true, false) => $"ok only with -O; optimized: {o.Error}",
                    (false, _) => $"error: {u.Error}",
                };
                return (lt, v);
            });
            foreach (var g in verdicts.GroupBy(x => x.v.StartsWith("ok (", StringComparison.Ordinal) ? "ok" : x.v))
                sb.Append(CultureInfo.InvariantCulture, $"    {g.Key}: {string.Join(" ", g.Select(x => FilterDifferential.NameOf(x.lt)))}\n");
        }
        Console.Write(sb.ToString());
        return 0;
    }

    private static int CheckCorpus(IReadOnlyList<CorpusEntry> entries, LinkType[] linkTypes)
    {
        int problems = 0;
        foreach (var dup in entries.GroupBy(e => e.Expression).Where(g => g.Count() > 1))
        {
            problems++;
            Console.WriteLine($"duplicate: {FilterCorpus.Quote(dup.Key)} on lines {string.Join(", ", dup.Select(e => e.Line))}");
        }
        int errors = 0;
        foreach (var e in entries)
        {
            var accepted = linkTypes.Where(lt => FilterDifferential.Oracle(e.Expression, lt, optimize: false).Succeeded).ToList();
            if (e.ExpectError)
                errors++;
            if (e.ExpectError && accepted.Count > 0)
            {
                problems++;
                Console.WriteLine($"{e.Line}: marked error: but libpcap compiles it on {string.Join(",", accepted.Select(FilterDifferential.NameOf))}: {e.Display}");
            }
            else if (!e.ExpectError && accepted.Count == 0)
            {
                problems++;
                var msgs = linkTypes.Select(lt => FilterDifferential.Oracle(e.Expression, lt, optimize: false).Error).Distinct();
                Console.WriteLine($"{e.Line}: unmarked but libpcap refuses it everywhere ({string.Join(" | ", msgs)}): {e.Display}");
            }
        }
        Console.WriteLine($"{entries.Count} expressions ({errors} marked error:, {entries.Select(e => e.Group).Distinct().Count()} groups), {problems} problems");
        return problems == 0 ? 0 : 1;
    }

    private static string Pct(int ok, int total) => total == 0 ? "—" : (100.0 * ok / total).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string Trim(string s, int n)
    {
        s = s.Replace('\n', ' ');
        return s.Length > n ? s[..n] + "…" : s;
    }
}
