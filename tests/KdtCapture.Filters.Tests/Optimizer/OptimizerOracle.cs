using System.Text;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Icode;
using KdtCapture.Filters.Optimizer;
using KdtCapture.Testing;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Tests.Optimizer;

/// <summary>
/// Runs our optimizer and linearizer on the graph libpcap built for an expression (rebuilt from its
/// unoptimized program) and compares what comes out with libpcap's own programs.
/// </summary>
internal static class OptimizerOracle
{
    public const string RejectsAllPackets = "expression rejects all packets";

    public enum Outcome
    {
        /// <summary>libpcap does not compile the expression for this link type.</summary>
        Invalid,
        Agree,
        Disagree,
        /// <summary>libpcap leaves the expression unoptimized (jumps inside statement lists).</summary>
        NotOptimized,
    }

    public sealed record Result(Outcome Outcome, string? Detail = null);

    /// <summary>Linearizing libpcap's unoptimized graph must give libpcap's <c>-O</c> program.</summary>
    public static Result CheckUnoptimized(string expression, LinkType linkType) =>
        CheckUnoptimized(expression, linkType, LibPcapOracle.TcpdumpNetmask);

    /// <summary>Optimizing libpcap's graph, then linearizing it, must give libpcap's optimized program or error.</summary>
    public static Result CheckOptimized(string expression, LinkType linkType) =>
        CheckOptimized(expression, linkType, LibPcapOracle.TcpdumpNetmask);

    public static Result CheckUnoptimized(string expression, LinkType linkType, uint netmask)
    {
        var unoptimized = LibPcapOracle.Compile(expression, linkType, optimize: false, netmask: netmask);
        if (!unoptimized.Succeeded)
            return new Result(Outcome.Invalid);
        var rebuilt = FlatProgramGraph.Rebuild(unoptimized.Instructions!);
        CbpfInstruction[] ours;
        try
        {
            ours = IcodeLinearizer.ToInstructions(rebuilt.Graph);
        }
        catch (FilterCompileException e)
        {
            return new Result(Outcome.Disagree, $"linearizer failed: {e.Message}");
        }
        return Compare(unoptimized.Instructions!, ours);
    }

    public static Result CheckOptimized(string expression, LinkType linkType, uint netmask)
    {
        var unoptimized = LibPcapOracle.Compile(expression, linkType, optimize: false, netmask: netmask);
        if (!unoptimized.Succeeded)
            return new Result(Outcome.Invalid);
        var optimized = LibPcapOracle.Compile(expression, linkType, optimize: true, netmask: netmask);
        var rebuilt = FlatProgramGraph.Rebuild(unoptimized.Instructions!);
        if (rebuilt.HasStatementJumps)
        {
            // libpcap sets no_optimize for these; it must then print the same program both ways.
            return optimized.Succeeded && Same(optimized.Instructions!, unoptimized.Instructions!)
                ? new Result(Outcome.NotOptimized)
                : new Result(Outcome.Disagree, "libpcap optimized a program with jumps inside statement lists");
        }

        IcodeGraph graph = rebuilt.Graph;
        try
        {
            IcodeOptimizer.Optimize(graph);
        }
        catch (FilterCompileException e)
        {
            return optimized.Error == e.Message
                ? new Result(Outcome.Agree)
                : new Result(Outcome.Disagree, $"optimizer failed with \"{e.Message}\"; libpcap: {Describe(optimized)}");
        }

        Block root = graph.Root!;
        bool rejectsAll = root.S.Code == (Ret | K) && root.S.K == 0;
        if (!optimized.Succeeded)
        {
            return optimized.Error == RejectsAllPackets && rejectsAll
                ? new Result(Outcome.Agree)
                : new Result(Outcome.Disagree, $"libpcap failed with \"{optimized.Error}\"; our root is {root.S.Code:x} #{root.S.K}");
        }
        if (rejectsAll)
            return new Result(Outcome.Disagree, "our optimized program rejects all packets; libpcap's does not");

        CbpfInstruction[] ours;
        try
        {
            ours = IcodeLinearizer.ToInstructions(graph);
        }
        catch (FilterCompileException e)
        {
            return new Result(Outcome.Disagree, $"linearizer failed: {e.Message}");
        }
        return Compare(optimized.Instructions!, ours);
    }

    private static string Describe(LibPcapOracle.CompileResult r) =>
        r.Succeeded ? $"{r.Instructions!.Length} instructions" : $"\"{r.Error}\"";

    public static bool Same(CbpfInstruction[] a, CbpfInstruction[] b) => a.AsSpan().SequenceEqual(b);

    private static Result Compare(CbpfInstruction[] expected, CbpfInstruction[] actual) =>
        Same(expected, actual) ? new Result(Outcome.Agree) : new Result(Outcome.Disagree, SideBySide(expected, actual));

    /// <summary>Both listings, libpcap's on the left, with the first difference marked.</summary>
    public static string SideBySide(CbpfInstruction[] expected, CbpfInstruction[] actual)
    {
        var text = new StringBuilder();
        text.AppendLine($"libpcap: {expected.Length} instructions, ours: {actual.Length}");
        int n = Math.Max(expected.Length, actual.Length);
        bool marked = false;
        for (int i = 0; i < n; i++)
        {
            string left = i < expected.Length ? LibPcapOracle.Image(expected[i], i) : "";
            string right = i < actual.Length ? LibPcapOracle.Image(actual[i], i) : "";
            string mark = "  ";
            if (!marked && left != right)
            {
                mark = "=>";
                marked = true;
            }
            text.AppendLine($"{mark} {left,-48} | {right}");
        }
        return text.ToString();
    }
}
