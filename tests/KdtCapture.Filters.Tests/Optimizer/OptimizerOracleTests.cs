using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Icode;
using KdtCapture.Filters.Optimizer;
using KdtCapture.Testing;
using static KdtCapture.Filters.Cbpf.Cbpf;
using static KdtCapture.Filters.Tests.Optimizer.OptimizerOracle;

namespace KdtCapture.Filters.Tests.Optimizer;

/// <summary>
/// The optimizer and linearizer against libpcap 1.10.3, on the graphs libpcap's own code generator
/// built (rebuilt from its unoptimized programs), over the corpus and every link type.
/// </summary>
public class OptimizerOracleTests(ITestOutputHelper output)
{
    public static TheoryData<LinkType> LinkTypes => new(OptimizerCorpus.LinkTypes);

    [Theory]
    [MemberData(nameof(LinkTypes))]
    public void LinearizedGraphsMatchLibpcapUnoptimizedPrograms(LinkType linkType) =>
        RunCorpus(OptimizerCorpus.Expressions, linkType, CheckUnoptimized, minimumCompared: 80);

    [Theory]
    [MemberData(nameof(LinkTypes))]
    public void OptimizedGraphsMatchLibpcapOptimizedPrograms(LinkType linkType) =>
        RunCorpus(OptimizerCorpus.Expressions, linkType, CheckOptimized, minimumCompared: 80);

    /// <summary>The project's shared expression corpus (Corpus/expressions.pcapf), valid entries only.</summary>
    private static IEnumerable<string> SharedCorpus => FilterCorpus.Entries.Where(e => !e.ExpectError).Select(e => e.Expression);

    [Theory]
    [MemberData(nameof(LinkTypes))]
    public void SharedCorpusLinearizesLikeLibpcap(LinkType linkType) =>
        RunCorpus(SharedCorpus, linkType, CheckUnoptimized, minimumCompared: 80);

    [Theory]
    [MemberData(nameof(LinkTypes))]
    public void SharedCorpusOptimizesLikeLibpcap(LinkType linkType) =>
        RunCorpus(SharedCorpus, linkType, CheckOptimized, minimumCompared: 80);

    [Theory]
    [InlineData("ip6 protochain 6", LinkType.EN10MB)]
    [InlineData("ip protochain 17 or udp", LinkType.EN10MB)]
    [InlineData("protochain 6", LinkType.LINUX_SLL)]
    [InlineData("geneve 10 and ip", LinkType.EN10MB)]
    [InlineData("ip", LinkType.IEEE802_11)]
    [InlineData("tcp port 80", LinkType.IEEE802_11_RADIO)]
    public void JumpsInsideStatementListsAreLaidOutLikeLibpcap(string expression, LinkType linkType)
    {
        RequireLibpcap();
        var unoptimized = LibPcapOracle.Compile(expression, linkType, optimize: false);
        Assert.True(unoptimized.Succeeded, unoptimized.Error);
        var rebuilt = FlatProgramGraph.Rebuild(unoptimized.Instructions!);
        Assert.True(rebuilt.HasStatementJumps, "the rebuilt graph should have jumps inside a statement list");

        var ours = IcodeLinearizer.ToInstructions(rebuilt.Graph);
        Assert.True(Same(unoptimized.Instructions!, ours), SideBySide(unoptimized.Instructions!, ours));
        // libpcap does not optimize such programs at all.
        var optimized = LibPcapOracle.Compile(expression, linkType, optimize: true);
        Assert.True(Same(unoptimized.Instructions!, optimized.Instructions!));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LongBranchesGetJumpsLikeLibpcap(bool optimize)
    {
        RequireLibpcap();
        string expression = string.Join(" or ", Enumerable.Range(1, 150).Select(i => $"host 10.0.0.{i}")) + " or tcp port 80";
        var expected = LibPcapOracle.Compile(expression, LinkType.EN10MB, optimize);
        Assert.True(expected.Succeeded, expected.Error);
        Assert.Contains(expected.Instructions!, i => i.Code == (Jmp | Ja));

        var unoptimized = LibPcapOracle.Compile(expression, LinkType.EN10MB, optimize: false);
        var graph = FlatProgramGraph.Rebuild(unoptimized.Instructions!).Graph;
        if (optimize)
            IcodeOptimizer.Optimize(graph);
        var ours = IcodeLinearizer.ToInstructions(graph);
        Assert.True(Same(expected.Instructions!, ours), SideBySide(expected.Instructions!, ours));
    }

    [Fact]
    public void GraphsTooDeepToWalkRecursivelyOptimizeLikeLibpcap()
    {
        RequireLibpcap();
        string expression = string.Join(" or ", Enumerable.Range(0, 400).Select(i => $"ether host 00:00:00:00:{i / 256:x2}:{i % 256:x2}"));
        var unoptimized = LibPcapOracle.Compile(expression, LinkType.EN10MB, optimize: false);
        var expected = LibPcapOracle.Compile(expression, LinkType.EN10MB);
        Assert.True(expected.Succeeded, expected.Error);
        var graph = FlatProgramGraph.Rebuild(unoptimized.Instructions!).Graph;
        Assert.True(Depth(graph.Root!, []) > IcodeOptimizerDepthLimit, "the graph should be deeper than the recursive walk goes");

        IcodeOptimizer.Optimize(graph);
        var ours = IcodeLinearizer.ToInstructions(graph);
        Assert.True(Same(expected.Instructions!, ours), SideBySide(expected.Instructions!, ours));
    }

    private static int IcodeOptimizerDepthLimit => OptimizerState.MaxRecursionDepth;

    /// <summary>Longest path from <paramref name="b"/> to a return, in blocks.</summary>
    private static int Depth(Block b, Dictionary<Block, int> memo)
    {
        var stack = new Stack<(Block Block, bool Expanded)>();
        stack.Push((b, false));
        while (stack.Count > 0)
        {
            var (x, expanded) = stack.Pop();
            if (memo.ContainsKey(x))
                continue;
            if (x.Jt is null)
            {
                memo[x] = 1;
            }
            else if (expanded)
            {
                memo[x] = Math.Max(memo[x.Jt], memo[x.Jf!]) + 1;
            }
            else
            {
                stack.Push((x, true));
                stack.Push((x.Jf!, false));
                stack.Push((x.Jt, false));
            }
        }
        return memo[b];
    }

    [Theory]
    [InlineData("1 = 2")]
    [InlineData("tcp and udp")]
    [InlineData("ip[0] = 1 and ip[0] = 2")]
    public void ExpressionsRejectingEverythingOptimizeToReturnZero(string expression)
    {
        RequireLibpcap();
        Assert.Equal(RejectsAllPackets, LibPcapOracle.Compile(expression, LinkType.EN10MB).Error);
        var unoptimized = LibPcapOracle.Compile(expression, LinkType.EN10MB, optimize: false);
        var graph = FlatProgramGraph.Rebuild(unoptimized.Instructions!).Graph;
        IcodeOptimizer.Optimize(graph);
        Assert.Equal(Ret | K, graph.Root!.S.Code);
        Assert.Equal(0u, graph.Root.S.K);
        Assert.Null(graph.Root.Stmts);
    }

    [Theory]
    [InlineData("ip[0] / (1 - 1) = 0")]
    [InlineData("ip[0] % (2 - 2) = 0")]
    [InlineData("ip[0] << (2 + 38) = 0")]
    public void ConstantFoldingErrorsCarryLibpcapText(string expression)
    {
        RequireLibpcap();
        var expected = LibPcapOracle.Compile(expression, LinkType.EN10MB);
        Assert.False(expected.Succeeded);
        var unoptimized = LibPcapOracle.Compile(expression, LinkType.EN10MB, optimize: false);
        var graph = FlatProgramGraph.Rebuild(unoptimized.Instructions!).Graph;
        var e = Assert.Throws<FilterCompileException>(() => IcodeOptimizer.Optimize(graph));
        Assert.Equal(expected.Error, e.Message);
    }

    private void RunCorpus(IEnumerable<string> expressions, LinkType linkType, Func<string, LinkType, Result> check, int minimumCompared)
    {
        RequireLibpcap();
        int agree = 0, invalid = 0, notOptimized = 0;
        var failures = new List<string>();
        foreach (string expression in expressions)
        {
            Result r;
            try
            {
                r = check(expression, linkType);
            }
            catch (Exception e)
            {
                r = new Result(Outcome.Disagree, e.ToString());
            }
            switch (r.Outcome)
            {
                case Outcome.Agree: agree++; break;
                case Outcome.Invalid: invalid++; break;
                case Outcome.NotOptimized: notOptimized++; break;
                default: failures.Add($"{linkType} \"{expression}\":\n{r.Detail}"); break;
            }
        }
        int compared = agree + failures.Count;
        output.WriteLine($"{linkType}: {agree}/{compared} agree; {invalid} invalid for this link type; {notOptimized} left unoptimized by libpcap");
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {compared} differ from libpcap; the first ones:\n" + string.Join("\n", failures.Take(3)));
        Assert.True(compared >= minimumCompared, $"only {compared} expressions compiled for {linkType}");
    }

    private static void RequireLibpcap()
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap0.8 is not installed");
    }
}
