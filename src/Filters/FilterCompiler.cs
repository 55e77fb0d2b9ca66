using KdtCapture.Filters.Cbpf;

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
        throw new NotImplementedException("filter compiler under construction");
    }
}
