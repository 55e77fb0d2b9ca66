namespace KdtCapture.Toolkit.Trace;

/// <summary>
/// One `kdt trace` tool: its name and one-line description, the tracepoints it attaches to
/// (for <see cref="TraceSupport"/>), and the run itself, which loads its program from
/// native/bpf-progs/trace, prints events or summaries to <c>output</c> and returns when the
/// duration ends or the token is cancelled (Ctrl-C), after printing its summary.
/// </summary>
public abstract class TraceTool
{
    private protected TraceTool()
    {
    }

    public abstract string Name { get; }

    /// <summary>One line for <c>kdt trace --list</c>.</summary>
    public abstract string Summary { get; }

    /// <summary>The BTF-typed tracepoints (tp_btf names) the tool attaches to.</summary>
    public abstract IReadOnlyList<string> Tracepoints { get; }

    /// <summary>Whether the tool prints a summary (histogram or table) rather than one line per event.</summary>
    public abstract bool IsSummary { get; }

    /// <summary>Whether -p/-t/-c apply: false where the events happen in interrupt or timer
    /// context and belong to no process (bcc's tools of that kind have no such options).</summary>
    public virtual bool SelectsProcesses => true;

    /// <summary>Whether <see cref="TraceToolOptions.HeatmapPath"/> applies.</summary>
    public virtual bool SupportsHeatmap => false;

    /// <summary>
    /// Runs the tool. Throws <see cref="TraceException"/> (one line, what to do instead) when it
    /// cannot run; kernel failures surface as KdtCapture.Bpf exceptions.
    /// </summary>
    public abstract void Run(TraceToolOptions options, TextWriter output, TextWriter diagnostics, CancellationToken cancellationToken);
}

/// <summary>A trace tool cannot run as asked; the message is one sentence saying why and what to do.</summary>
public sealed class TraceException(string message) : Exception(message);
