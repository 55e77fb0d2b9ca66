namespace KdtCapture.Filters;

/// <summary>
/// An expression libpcap would refuse. <see cref="Exception.Message"/> is libpcap's own text
/// (e.g. "syntax error", "unknown host 'foo'"), so tools can print it as tcpdump does.
/// </summary>
public sealed class FilterCompileException : Exception
{
    public FilterCompileException(string message) : base(message) { }
}
