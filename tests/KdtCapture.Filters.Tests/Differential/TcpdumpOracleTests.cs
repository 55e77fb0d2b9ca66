using System.Globalization;
using System.Text;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Differential;

/// <summary>
/// The in-process oracle is tcpdump: on a sample of the corpus (valid and invalid expressions, every link type,
/// with and without -O, all of -d/-dd/-ddd), <c>tcpdump -y LT [-O] -d… EXPR</c> prints exactly the text the
/// differential tests expect (libpcap's program through <see cref="LibPcapOracle.Dump"/>, snaplen 262144, netmask 0),
/// or, for an invalid expression, "tcpdump: MESSAGE" on stderr with exit code 1 and nothing on stdout.
/// </summary>
public sealed class TcpdumpOracleTests
{
    /// <summary>Expressions that probe the settings tcpdump compiles with, plus every n-th corpus entry.</summary>
    private static readonly string[] Probes =
    [
        "ip broadcast",                       // needs netmask 0: PCAP_NETMASK_UNKNOWN refuses it
        "ip and not ip",                      // "expression rejects all packets" only when optimized
        "",                                   // the empty filter
        "tcp\nand\tport 80",                  // blanks other than spaces inside one argument
        "inbound",
        "host localhost",
        "port http",
        "vlan 10 and vlan 20 and tcp",
        "ip6 protochain 6",
        "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn",
        "host foo.invalid",
        "ether host 10.0.0.1",
        "port 70000",
        "len / 0 = 1",
        "type mgt subtype beacon",
    ];

    private static List<string> SampleExpressions()
    {
        var entries = FilterCorpus.Entries;
        int step = Math.Max(1, entries.Count / 30);
        return Probes.Concat(entries.Where((_, i) => i % step == step / 2).Select(e => e.Expression)).Distinct().ToList();
    }

    public static IEnumerable<TheoryDataRow<string>> Sample()
        => SampleExpressions().Select(e => new TheoryDataRow<string>(e) { TestDisplayName = $"tcpdump -d {FilterCorpus.Quote(e)}" });

    private static readonly (bool Optimize, CbpfDumpStyle Style)[] Modes =
    [
        (true, CbpfDumpStyle.Readable), (true, CbpfDumpStyle.CArray), (true, CbpfDumpStyle.Decimal),
        (false, CbpfDumpStyle.CArray), (false, CbpfDumpStyle.Decimal),
    ];

    [Theory]
    [MemberData(nameof(Sample))]
    public void Tcpdump_prints_what_the_in_process_oracle_gives(string expression)
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        if (Tcpdump.Executable is null)
            Assert.Skip("tcpdump is not installed");

        // Each link type: "-O -d" always, and one more mode, rotating so the sample covers them all.
        var runs = new List<(LinkType Lt, bool Optimize, CbpfDumpStyle Style)>();
        int seed = expression.Length;
        for (int i = 0; i < FilterDifferential.LinkTypes.Length; i++)
        {
            var lt = FilterDifferential.LinkTypes[i];
            runs.Add((lt, false, CbpfDumpStyle.Readable));
            var (o, s) = Modes[(i + seed) % Modes.Length];
            runs.Add((lt, o, s));
        }

        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(runs, new ParallelOptions { MaxDegreeOfParallelism = 4 }, run =>
        {
            var oracle = FilterDifferential.Oracle(expression, run.Lt, run.Optimize);
            string expectedOut = oracle.Succeeded ? LibPcapOracle.Dump(oracle.Instructions, run.Style) : "";
            string expectedErr = oracle.Succeeded ? "" : $"tcpdump: {oracle.Error}\n";
            int expectedExit = oracle.Succeeded ? 0 : 1;

            var args = new List<string> { "-y", FilterDifferential.NameOf(run.Lt) };
            if (!run.Optimize)
                args.Add("-O");
            args.Add(FilterDifferential.StyleFlag(run.Style));
            args.Add("--");
            args.Add(expression);
            var r = Tcpdump.Run(args);
            if (r.ExitCode != expectedExit || r.Stdout != expectedOut || r.Stderr != expectedErr)
            {
                var sb = new StringBuilder();
                sb.Append(CultureInfo.InvariantCulture, $"== tcpdump {string.Join(' ', args.SkipLast(1))} '{FilterCorpus.Quote(expression)}': exit {r.ExitCode} (oracle says {expectedExit})\n");
                if (r.Stdout != expectedOut)
                    sb.Append(FilterDifferential.FirstDifference(expectedOut, r.Stdout, expectedLabel: "in-process oracle", actualLabel: "tcpdump stdout"));
                if (r.Stderr != expectedErr)
                    sb.Append(CultureInfo.InvariantCulture, $"stderr: expected {Escape(expectedErr)}, tcpdump printed {Escape(r.Stderr)}\n");
                failures.Add(sb.ToString());
            }
        });
        Assert.True(failures.IsEmpty, $"tcpdump and the in-process oracle differ on {failures.Count} of {runs.Count} runs:\n" + string.Join("\n", failures));
    }

    private static string Escape(string s) => "\"" + s.Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    [Fact]
    public void Sample_holds_valid_and_invalid_expressions_on_every_link_type()
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        var sample = SampleExpressions();
        Assert.InRange(sample.Count, 36, 60);
        foreach (var lt in FilterDifferential.LinkTypes)
        {
            Assert.Contains(sample, e => FilterDifferential.Oracle(e, lt, optimize: true).Succeeded);
            Assert.Contains(sample, e => !FilterDifferential.Oracle(e, lt, optimize: false).Succeeded);
        }
    }
}
