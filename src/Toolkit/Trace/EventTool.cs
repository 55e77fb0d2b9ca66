using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Trace;

/// <summary>
/// A tool that prints one line (or one JSON object) per record of its program's `events` ring
/// buffer: opens the program with the tool's constants, prints the column header unless
/// --json, hands each record to <see cref="OnEvent"/> until the run ends, then says how many
/// records were lost. The snoop tools differ only in their records and lines.
/// </summary>
public abstract class EventTool : TraceTool
{
    private protected EventTool()
    {
    }

    public sealed override bool IsSummary => false;

    /// <summary>The embedded program (native/bpf-progs/trace/NAME.bpf.c); the tool's name by default.</summary>
    private protected virtual string ObjectName => Name;

    /// <summary>The tool's own .rodata constants for these options, beyond the process filter.</summary>
    private protected virtual Dictionary<string, byte[]>? Constants(TraceToolOptions options) => null;

    /// <summary>The column header for these options, or null for none.</summary>
    private protected abstract string? Header(TraceToolOptions options);

    /// <summary>What the event handler carries; tools with more state return their own kind.</summary>
    private protected virtual EventLineState CreateState(TraceToolOptions options, TextWriter output) => new(options, output);

    /// <summary>Decodes one record in place and prints it (or counts it).</summary>
    private protected abstract void OnEvent(EventLineState state, ReadOnlySpan<byte> record);

    /// <summary>Called every -i interval, for tools that also summarise (tcpretrans --count).</summary>
    private protected virtual void OnInterval(EventLineState state)
    {
    }

    /// <summary>Called once the programs are detached and the last records printed.</summary>
    private protected virtual void Finish(EventLineState state)
    {
    }

    public override void Run(TraceToolOptions options, TextWriter output, TextWriter diagnostics, CancellationToken cancellationToken)
    {
        using var session = TraceSession.Open(ObjectName, options, Constants(options));
        var state = CreateState(options, output);
        if (!options.Json && Header(options) is { } header)
            output.WriteLine(header);
        session.Run(options, state, OnEvent, options.Interval is null ? null : () => OnInterval(state), output, cancellationToken);
        Finish(state);
        output.Flush();
        session.ReportLost(diagnostics, Name);
    }
}
