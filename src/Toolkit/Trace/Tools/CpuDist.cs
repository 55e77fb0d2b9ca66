namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>cpudist: how long tasks run on a CPU each time (or, with -O, how long they stay
/// off it), as bcc's cpudist: log2 histograms in µs (-m ms), per process (-P) or thread (-L).</summary>
public sealed class CpuDist : HistogramTool
{
    public override string Name => "cpudist";

    public override string Summary => "on-CPU (or with -O off-CPU) time per scheduling as a log2 histogram";

    public override IReadOnlyList<string> Tracepoints { get; } = ["sched_switch"];

    private protected override string ObjectName => "cpudist";

    private protected override string What => "on-CPU time";

    private protected override Dictionary<string, byte[]> Constants(TraceToolOptions options) => new()
    {
        ["per"] = BitConverter.GetBytes(options.PerThread ? 2u : options.PerProcess ? 1u : 0u),
        ["milliseconds"] = TraceSession.Flag(options.Milliseconds),
        ["offcpu"] = TraceSession.Flag(options.OffCpu),
    };

    private protected override string WhatFor(TraceToolOptions options) => options.OffCpu ? "off-CPU time" : "on-CPU time";
}
