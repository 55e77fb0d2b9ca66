using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Pipeline;

/// <summary>
/// One filter expression compiled for every kind of interface a capture brings: once per
/// (link type, snap length, byte order), as libpcap compiles it for a savefile of that kind, run
/// by the fastest engine the runtime allows (IL under the JIT, the fast interpreter under Native AOT).
/// </summary>
public sealed class InterfaceFilters
{
    private readonly Dictionary<(LinkType, int, bool), CbpfFilter> _compiled = [];
    private readonly FilterCompileOptions _template;

    /// <param name="expression">A pcap-filter(7) expression; empty or blank means every frame passes.</param>
    /// <param name="optimize">Run libpcap's optimizer (tcpdump's default; <c>-O</c> turns it off).</param>
    /// <param name="forSavefile">Compile as libpcap does for a capture file (true) or a live Linux socket.</param>
    public InterfaceFilters(string expression, bool optimize = true, bool forSavefile = true)
    {
        ArgumentNullException.ThrowIfNull(expression);
        Expression = expression;
        IsEmpty = string.IsNullOrWhiteSpace(expression);
        _template = new FilterCompileOptions
        {
            Optimize = optimize,
            // tcpdump has no network to take a netmask from when it reads a file, and uses 0.
            Netmask = 0,
            ForSavefile = forSavefile,
        };
    }

    public string Expression { get; }

    /// <summary>No expression: nothing is filtered.</summary>
    public bool IsEmpty { get; }

    /// <summary>The filter for frames of an interface, or null when there is no expression.</summary>
    /// <param name="linkType">The interface's link type (a Linux DLT value).</param>
    /// <param name="snapLength">Its snap length as libpcap reports it (see <see cref="EffectiveSnapLength"/>).</param>
    /// <param name="byteSwapped">The file was written in the other byte order than this machine's.</param>
    /// <exception cref="FilterCompileException">The expression does not compile for this link type (libpcap's message).</exception>
    public CbpfFilter? For(LinkType linkType, int snapLength, bool byteSwapped)
    {
        if (IsEmpty) return null;
        var key = (linkType, snapLength, byteSwapped);
        if (_compiled.TryGetValue(key, out CbpfFilter? filter)) return filter;
        CbpfProgram program = FilterCompiler.Compile(Expression, linkType, new FilterCompileOptions
        {
            Optimize = _template.Optimize,
            Netmask = _template.Netmask,
            ForSavefile = _template.ForSavefile,
            Snaplen = snapLength,
            SavefileByteSwapped = byteSwapped,
        });
        filter = CbpfFilter.Create(program);
        _compiled[key] = filter;
        return filter;
    }

    /// <summary>
    /// The snap length libpcap reports for an interface of a capture file: the one recorded, or
    /// when that is 0 (pcapng's "no limit"), the largest libpcap allows for the link type.
    /// </summary>
    public static int EffectiveSnapLength(InterfaceDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        uint snap = description.SnapLength;
        if (snap == 0) return MaxSnapLength((LinkType)LinkTypeValues.ToLinuxDlt(description.LinkType));
        return snap > int.MaxValue ? int.MaxValue : (int)snap;
    }

    /// <summary>libpcap's max_snaplen_for_dlt.</summary>
    public static int MaxSnapLength(LinkType linkType) => linkType switch
    {
        LinkType.DBUS => 128 * 1024 * 1024,
        LinkType.EBHSCR => 8 * 1024 * 1024,
        LinkType.USBPCAP => 1024 * 1024,
        _ => 262144,
    };
}
