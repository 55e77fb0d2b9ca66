using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;
using static KdtCapture.Filters.Tests.Optimizer.OptimizerOracle;

namespace KdtCapture.Filters.Tests.Optimizer;

/// <summary>
/// The whole compiler against libpcap, judged for the optimizer's part: wherever our unoptimized
/// program equals libpcap's (so the code generator built the same graph), the optimized program
/// must equal libpcap's too. Expressions where the code generator differs are counted, not failed.
/// </summary>
public class EndToEndTests(ITestOutputHelper output)
{
    public static TheoryData<LinkType> LinkTypes => new(OptimizerCorpus.LinkTypes);

    [Theory]
    [MemberData(nameof(LinkTypes))]
    public void OptimizedProgramsMatchLibpcapWhereTheGraphsDo(LinkType linkType)
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap0.8 is not installed");
        var unoptimizedOptions = new FilterCompileOptions { Optimize = false };
        int agree = 0, invalid = 0, graphDiffers = 0;
        var failures = new List<string>();
        var graphDifferences = new List<string>();
        foreach (string expression in OptimizerCorpus.Expressions)
        {
            var expectedUnoptimized = LibPcapOracle.Compile(expression, linkType, optimize: false);
            if (!expectedUnoptimized.Succeeded)
            {
                invalid++;
                continue;
            }
            CbpfInstruction[] ours;
            try
            {
                ours = Instructions(FilterCompiler.Compile(expression, linkType, unoptimizedOptions));
            }
            catch (Exception e)
            {
                graphDiffers++;
                graphDifferences.Add($"\"{expression}\": {e.GetType().Name}: {e.Message}");
                continue;
            }
            if (!Same(expectedUnoptimized.Instructions!, ours))
            {
                graphDiffers++;
                graphDifferences.Add($"\"{expression}\"");
                continue;
            }

            var expected = LibPcapOracle.Compile(expression, linkType, optimize: true);
            string? problem;
            try
            {
                var program = Instructions(FilterCompiler.Compile(expression, linkType));
                problem = !expected.Succeeded ? $"libpcap fails with \"{expected.Error}\", we compile"
                    : Same(expected.Instructions!, program) ? null
                    : SideBySide(expected.Instructions!, program);
            }
            catch (FilterCompileException e)
            {
                problem = expected.Error == e.Message ? null : $"we fail with \"{e.Message}\", libpcap: {expected.Error ?? "compiles"}";
            }
            catch (Exception e)
            {
                problem = e.ToString();
            }
            if (problem is null)
                agree++;
            else
                failures.Add($"{linkType} \"{expression}\":\n{problem}");
        }
        output.WriteLine($"{linkType}: optimized {agree}/{agree + failures.Count} agree where the unoptimized programs do; " +
            $"{graphDiffers} with a different unoptimized program; {invalid} invalid");
        foreach (string d in graphDifferences.Take(10))
            output.WriteLine("  unoptimized differs: " + d);
        Assert.True(failures.Count == 0,
            $"{failures.Count} optimized programs differ from libpcap; the first ones:\n" + string.Join("\n", failures.Take(3)));
    }

    private static CbpfInstruction[] Instructions(CbpfProgram program) => program.ToArray();
}
