using System.Globalization;
using System.Text;
using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Differential;

/// <summary>
/// Every corpus expression, on every supported link type, unoptimized (-O) and optimized, printed as -d, -dd and
/// -ddd: our compiler and printer must give libpcap 1.10's text exactly (tcpdump -d's library, in-process, with
/// tcpdump's snaplen and netmask), and where libpcap refuses the expression, a FilterCompileException with its message.
/// One case per expression; a failure lists every link type and mode that differs and shows the first
/// difference of each distinct mismatch.
/// </summary>
public sealed class CorpusDifferentialTests
{
    public static IEnumerable<TheoryDataRow<string>> Expressions()
        => FilterCorpus.Entries.Select(e => new TheoryDataRow<string>(e.Expression)
        {
            TestDisplayName = $"corpus line {e.Line} [{e.Group}]: {e.Display}",
        });

    [Theory]
    [MemberData(nameof(Expressions))]
    public void Compiles_and_prints_as_libpcap_on_every_link_type(string expression)
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        var checks = FilterDifferential.CompareAll(expression);
        var bad = checks.Where(c => !c.Agrees).ToList();
        if (bad.Count > 0)
            Assert.Fail(Report(expression, checks, bad));
    }

    /// <summary>The failure text: where we differ, then each distinct difference once.</summary>
    internal static string Report(string expression, List<DiffCheck> checks, List<DiffCheck> bad, int maxExcerpts = 4)
    {
        var sb = new StringBuilder();
        string shown = FilterCorpus.Quote(expression);
        sb.Append(CultureInfo.InvariantCulture,
            $"{bad.Count} of {checks.Count} comparisons with {LibPcapOracle.Version} differ for {shown}\n");
        foreach (var byLinkType in bad.GroupBy(c => c.LinkType))
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"  {FilterDifferential.NameOf(byLinkType.Key),-17} {string.Join(", ", byLinkType.Select(c => c.Mode))}\n");
        }
        var distinct = bad.GroupBy(c => (c.Kind, c.Expected, c.Actual)).ToList();
        foreach (var group in distinct.Take(maxExcerpts))
        {
            var first = group.First();
            sb.Append(CultureInfo.InvariantCulture, $"\n== tcpdump {first.Options} '{shown}'");
            int others = group.Count() - 1;
            if (others > 0)
            {
                var also = group.Skip(1).Select(c => $"{FilterDifferential.NameOf(c.LinkType)} {c.Mode}").Take(6);
                sb.Append(CultureInfo.InvariantCulture, $"  (same difference in {others} more: {string.Join(", ", also)}{(others > 6 ? ", …" : "")})");
            }
            sb.Append('\n');
            if (first.Kind == CheckKind.Error)
            {
                sb.Append("libpcap refuses it: ").Append(first.Expected).Append('\n');
                sb.Append("ours:               ").Append(first.Actual.Replace("\n", "\n                    ", StringComparison.Ordinal)).Append('\n');
            }
            else
            {
                sb.Append(FilterDifferential.FirstDifference(first.Expected, first.Actual));
            }
        }
        if (distinct.Count > maxExcerpts)
            sb.Append(CultureInfo.InvariantCulture, $"\n… and {distinct.Count - maxExcerpts} more distinct differences (dotnet run --project tests/FilterDiff -- '{shown}' shows them all)\n");
        return sb.ToString();
    }
}
