using KdtCapture.Filters.Icode;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// libpcap's filter optimizer (bpf_optimize of libpcap 1.10.3), step for step, so that the programs
/// it leaves behind are the ones tcpdump prints: data-flow analysis, value numbering with constant
/// folding, peephole rules and dead-store elimination inside blocks, branch threading and the
/// or/and pull-ups between them, repeated until nothing changes; then equal blocks are merged and
/// a root that branches nowhere is skipped.
/// </summary>
internal static class IcodeOptimizer
{
    /// <summary>Optimizes the graph in place; <see cref="IcodeGraph.Root"/> may change.</summary>
    /// <exception cref="FilterCompileException">With libpcap's text, e.g. "division by zero" found by constant folding.</exception>
    public static void Optimize(IcodeGraph ic)
    {
        ArgumentNullException.ThrowIfNull(ic);
        var state = OptimizerState.For(ic);
        try
        {
            state.Run(doStatements: false);
            state.Run(doStatements: true);
            state.InternBlocks();
            state.Store();
        }
        finally
        {
            state.Release();
        }
        OptimizerState.SkipJumplessRoot(ic);
    }
}
