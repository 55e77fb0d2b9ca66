using System.Globalization;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>softirqs: time spent in each softirq vector, as bcc's softirqs: a table of totals
/// (µs, or counts with --count) or, with --dist, a log2 histogram per vector.</summary>
public sealed class SoftIrqs : IrqTimeTool
{
    /// <summary>The kernel's softirq vectors in order (include/linux/interrupt.h), named as bcc names them.</summary>
    public static readonly string[] VectorNames = ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"];

    public override string Name => "softirqs";

    public override string Summary => "time spent in each softirq vector: totals, counts or histograms";

    public override IReadOnlyList<string> Tracepoints { get; } = ["softirq_entry", "softirq_exit"];

    private protected override string ObjectName => "softirqs";

    private protected override string What => "soft irq event time";

    private protected override string Kind => "softirq";

    private protected override int NameWidth => 16;

    private protected override string SectionName(uint id) => VectorName(id);

    public static string VectorName(uint vector) =>
        vector < VectorNames.Length ? VectorNames[vector] : vector.ToString(CultureInfo.InvariantCulture);
}
