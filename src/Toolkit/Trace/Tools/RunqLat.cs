namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>runqlat: how long runnable tasks wait on a run queue (wakeup or preemption to
/// running), as bcc's runqlat: log2 histograms in µs (-m ms), per process (-P) or thread (-L).</summary>
public sealed class RunqLat : HistogramTool
{
    public override string Name => "runqlat";

    public override string Summary => "run queue (scheduler) latency as a log2 histogram";

    public override IReadOnlyList<string> Tracepoints { get; } = ["sched_wakeup", "sched_wakeup_new", "sched_switch"];

    private protected override string ObjectName => "runqlat";

    private protected override string What => "run queue latency";

    private protected override Dictionary<string, byte[]> Constants(TraceToolOptions options) => new()
    {
        ["per"] = BitConverter.GetBytes(options.PerThread ? 2u : options.PerProcess ? 1u : 0u),
        ["milliseconds"] = TraceSession.Flag(options.Milliseconds),
    };
}
