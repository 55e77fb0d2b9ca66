using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.CodeGen;
using KdtCapture.Filters.Icode;
using KdtCapture.Filters.Optimizer;
using KdtCapture.Filters.Syntax;

namespace KdtCapture.Filters;

/// <summary>Compiles pcap-filter(7) expressions to classic BPF, producing what libpcap 1.10's pcap_compile produces.</summary>
public static class FilterCompiler
{
    /// <summary>Compiles <paramref name="expression"/> for frames of <paramref name="linkType"/>.</summary>
    /// <exception cref="FilterCompileException">The expression is invalid for this link type; the message is libpcap's.</exception>
    public static CbpfProgram Compile(string expression, LinkType linkType, FilterCompileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(expression);
        options ??= FilterCompileOptions.Default;
        if (options.Snaplen == 0)
            throw new FilterCompileException("snaplen of 0 rejects all packets");

        var arena = IcodeArena.Rent();
        try
        {
            var gen = new CodeGenerator(linkType, options, arena);
            FilterParser.Parse(expression, gen);
            if (gen.Icode.Root is null)
                gen.FinishEmpty();

            if (options.Optimize && !gen.NoOptimize)
            {
                IcodeOptimizer.Optimize(gen.Icode);
                var root = gen.Icode.Root;
                if (root is null || (root.S.Code == (Cbpf.Cbpf.Ret | Cbpf.Cbpf.K) && root.S.K == 0))
                    throw new FilterCompileException("expression rejects all packets");
            }
            return new CbpfProgram(IcodeLinearizer.ToInstructions(gen.Icode));
        }
        finally
        {
            // The graph is garbage now; its blocks serve the next compilation on this thread.
            arena.Return();
        }
    }
}
