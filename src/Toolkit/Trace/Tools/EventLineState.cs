namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// What a tool that prints one line per event carries into its event handler: the options, where
/// lines go, the clock for -T and the JSON writer for -j. Tools with more state derive from it.
/// </summary>
internal class EventLineState(TraceToolOptions options, TextWriter output)
{
    public readonly TraceToolOptions Options = options;
    public readonly TextWriter Output = output;
    public readonly WallClock Clock = new();
    public readonly JsonLines Json = new();
}
