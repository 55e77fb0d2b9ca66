using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;

namespace KdtCapture.Capture.Devices;

/// <summary>
/// One filter expression compiled for every link layer a capture file uses. libpcap compiles a
/// savefile's filter once, for the file's single link type; a pcapng file may have interfaces
/// of several link types (and sections of both byte orders), so the program is compiled per
/// (link type, byte order), as SharpPcap would have compiled it on a file of that kind alone.
/// Immutable apart from its cache, so a device can swap filters while another thread reads.
/// </summary>
internal sealed class CaptureFileFilter
{
    // SharpPcap compiles with optimize=1 and netmask 0 (not PCAP_NETMASK_UNKNOWN).
    private const uint SharpPcapNetmask = 0;

    private readonly Lock _gate = new();
    private readonly List<Entry> _entries = [];

    private readonly record struct Entry(int Dlt, bool Swapped, CbpfFilter? Filter, string? Error);

    private CaptureFileFilter(string expression) => Expression = expression;

    public string Expression { get; }

    /// <summary>Compiles <paramref name="expression"/> for each of <paramref name="linkLayers"/>.</summary>
    /// <exception cref="FilterCompileException">The expression does not compile for one of them; libpcap's message.</exception>
    public static CaptureFileFilter Create(string expression, IReadOnlyList<CaptureLinkLayer> linkLayers)
    {
        var filter = new CaptureFileFilter(expression);
        foreach (var l in linkLayers)
        {
            if (!filter.TryGet(l, out _, out string? error))
                throw new FilterCompileException(error!);
        }
        return filter;
    }

    /// <summary>The filter for packets of <paramref name="linkLayer"/>, compiled on first use.</summary>
    public bool TryGet(CaptureLinkLayer linkLayer, out CbpfFilter? filter, out string? error)
    {
        lock (_gate)
        {
            foreach (var e in _entries)
            {
                if (e.Dlt == linkLayer.Dlt && e.Swapped == linkLayer.ByteSwapped)
                {
                    filter = e.Filter;
                    error = e.Error;
                    return e.Filter is not null;
                }
            }
            Entry entry;
            try
            {
                CbpfProgram program = FilterCompiler.Compile(Expression, (LinkType)linkLayer.Dlt, new FilterCompileOptions
                {
                    Netmask = SharpPcapNetmask,
                    ForSavefile = true,
                    SavefileByteSwapped = linkLayer.ByteSwapped,
                    Snaplen = linkLayer.Snaplen,
                });
                entry = new Entry(linkLayer.Dlt, linkLayer.ByteSwapped, CbpfFilter.Create(program), null);
            }
            catch (FilterCompileException e)
            {
                entry = new Entry(linkLayer.Dlt, linkLayer.ByteSwapped, null, e.Message);
            }
            _entries.Add(entry);
            filter = entry.Filter;
            error = entry.Error;
            return filter is not null;
        }
    }
}

/// <summary>What a filter compilation needs to know about one interface of a capture file.</summary>
/// <param name="Dlt">The Linux DLT_* value (what libpcap's pcap_datalink reports).</param>
/// <param name="ByteSwapped">The interface's section is in the other byte order than this machine.</param>
/// <param name="Snaplen">The snapshot length libpcap gives the handle: packets are cut to it, and an accepting filter returns it.</param>
internal readonly record struct CaptureLinkLayer(int Dlt, bool ByteSwapped, int Snaplen);
