using KdtCapture.Capture.Printing.Internal;
using KdtCapture.Filters;

namespace KdtCapture.Capture.Printing;

/// <summary>
/// Prints packets as tcpdump 4.99 prints them: one line per packet (more with -v, -x and friends), the same
/// text <c>tcpdump -r FILE</c> prints for Ethernet, VLAN, Linux cooked (v1, v2), raw IP, BSD loopback,
/// ARP, IPv4, IPv6 (extension and mobility headers), TCP, UDP, ICMP, ICMPv6 and DNS; tcpdump's first line
/// for common application and routing protocols (BOOTP/DHCP, DHCPv6, NTP, BGP, OpenFlow, RESP, Kerberos,
/// AFS RX, HSRP, VRRP, BFD, Babel, sFlow, PTP, VXLAN, Geneve, PIM, OSPF, EIGRP, STP, AoE, ...); and a short
/// tcpdump-like summary for the rest.
/// </summary>
/// <remarks>
/// <para>
/// A printer keeps what tcpdump keeps between packets: the previous and first time stamps (for -ttt and
/// -ttttt), the initial sequence numbers of every TCP conversation (for relative numbering) and name
/// lookups. Use one printer per output stream; it is not thread-safe.
/// </para>
/// <para>
/// Decoding never throws for malformed or truncated packets: where tcpdump's printer stops at the end of
/// the captured bytes, the line ends in tcpdump's " [|proto]" marker. Text is built in a reused buffer and
/// handed to the writer once per packet.
/// </para>
/// </remarks>
public sealed partial class PacketPrinter
{
    // tcpdump refuses to dissect packets claiming more than this (MAXIMUM_SNAPLEN).
    private const uint MaximumSnaplen = 262144;

    private readonly TextWriter? _writer;
    private readonly TextBuffer _o = new();
    private readonly NameResolver? _names;
    private readonly bool _numeric;
    private readonly int _vflag;
    private readonly bool _eflag;
    private readonly bool _qflag;

    // tcpdump's ndo_protocol: the name printed in " [|name]" when a read runs past the captured bytes.
    private string _proto = "";
    // tcpdump's ndo_ll_hdr_len: how much of the packet -x and -X leave out.
    private int _llHeaderLength;
    private uint _packetCount;

    /// <summary>A printer that writes each packet's text to <paramref name="output"/>.</summary>
    public PacketPrinter(TextWriter output, PacketPrinterOptions? options = null)
        : this(options)
    {
        ArgumentNullException.ThrowIfNull(output);
        _writer = output;
    }

    /// <summary>A printer for <see cref="Format"/> only.</summary>
    public PacketPrinter(PacketPrinterOptions? options = null)
    {
        Options = options ?? new PacketPrinterOptions();
        _numeric = Options.Numeric;
        _vflag = Math.Max(0, Options.Verbosity);
        _eflag = Options.LinkHeader;
        _qflag = Options.Quiet;
        if (!_numeric)
            _names = new NameResolver(Options.ResolveHostsWithDns, Options.HostNamesWithoutDomain);
    }

    public PacketPrinterOptions Options { get; }

    /// <summary>Packets printed so far (the number -# prints).</summary>
    public long PacketCount => _packetCount;

    /// <summary>
    /// Packets whose decoding failed in a way no malformed input should cause (a decoder bug). Each was still
    /// printed, cut short with tcpdump's " [|proto]" mark; a count above zero is worth a bug report.
    /// </summary>
    public long DecoderFaults { get; private set; }

    /// <summary>Forgets the time reference of -ttt/-ttttt and all TCP conversations, as a new tcpdump process would.</summary>
    public void Reset()
    {
        _packetCount = 0;
        _timeReferenceSet = false;
        _tcp4.Clear();
        _tcp6.Clear();
    }

    /// <summary>
    /// Prints one packet to the writer given at construction.
    /// </summary>
    /// <param name="linkType">The link-layer header type of <paramref name="data"/>.</param>
    /// <param name="timestampNanoseconds">Capture time, nanoseconds since the Unix epoch (UTC).</param>
    /// <param name="data">The captured bytes.</param>
    /// <param name="originalLength">The packet's length on the wire (pcap's len, pcapng's original length).</param>
    /// <param name="annotations">pcapng comments, flags and interface name, if any.</param>
    public void Print(LinkType linkType, long timestampNanoseconds, ReadOnlySpan<byte> data, long originalLength,
        in PacketAnnotations annotations = default)
        => Print(linkType, timestampNanoseconds, data, originalLength, prefixUtf8: default, annotations);

    /// <summary>
    /// Prints one packet with <paramref name="prefixUtf8"/> (UTF-8 text, e.g. a kernel tap's
    /// "ip_output curl[1234]") after the time stamp, where tcpdump -i any puts the interface.
    /// </summary>
    public void Print(LinkType linkType, long timestampNanoseconds, ReadOnlySpan<byte> data, long originalLength,
        ReadOnlySpan<byte> prefixUtf8, in PacketAnnotations annotations = default)
    {
        if (_writer is null)
            throw new InvalidOperationException("This printer has no writer; use Format, or construct it with a TextWriter.");
        FormatPacket(linkType, timestampNanoseconds, data, originalLength, annotations, prefixUtf8);
        _writer.Write(_o.Span);
    }

    /// <summary>The text <see cref="Print"/> would write for the packet (with its final newline).</summary>
    public string Format(LinkType linkType, long timestampNanoseconds, ReadOnlySpan<byte> data, long originalLength,
        in PacketAnnotations annotations = default)
    {
        FormatPacket(linkType, timestampNanoseconds, data, originalLength, annotations);
        return _o.ToString();
    }

    private void FormatPacket(LinkType linkType, long timestampNanoseconds, ReadOnlySpan<byte> data, long originalLength,
        in PacketAnnotations annotations, ReadOnlySpan<byte> prefixUtf8 = default)
    {
        _o.Clear();
        _packetCount++;
        if (Options.PacketNumbers)
        {
            _o.AppendPadded(_packetCount, 5);
            _o.Append("  ");
        }

        uint caplen = (uint)data.Length;
        uint len = originalLength < 0 ? 0 : originalLength > uint.MaxValue ? uint.MaxValue : (uint)originalLength;
        if (PrintInvalidHeader(caplen, len))
        {
            _o.Append("]\n");
            return;
        }

        PrintTimestamp(timestampNanoseconds);
        if (Options.InterfaceNames && annotations.InterfaceName is { } ifName)
        {
            _o.Append(ifName);
            _o.Append(' ');
        }
        if (!prefixUtf8.IsEmpty)
        {
            // Short (a function and a process name); decoded on the stack, nothing allocated.
            Span<char> chars = stackalloc char[256];
            ReadOnlySpan<byte> text = prefixUtf8.Length <= chars.Length ? prefixUtf8 : prefixUtf8[..chars.Length];
            int n = System.Text.Encoding.UTF8.GetChars(text, chars);
            _o.Append(chars[..n]);
            _o.Append(' ');
        }

        _proto = "";
        _llHeaderLength = 0;
        try
        {
            PrintLinkLayer(linkType, data, len);
        }
        catch (TruncatedException)
        {
            PrintTruncated();
            _llHeaderLength = 0;
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidOperationException
                                      or OverflowException or ArithmeticException)
        {
            // A decoder bug must not cost the capture: say so the way tcpdump flags a packet it cannot follow.
            DecoderFaults++;
            PrintTruncated();
            _llHeaderLength = 0;
        }

        if (_vflag > 0)
            PrintAnnotations(annotations);
        PrintRawBytes(data, caplen);
        _o.Append('\n');
    }

    private bool PrintInvalidHeader(uint caplen, uint len)
    {
        bool invalid = false;
        if (caplen == 0)
        {
            invalid = true;
            _o.Append("[Invalid header: caplen==0");
        }
        if (len == 0)
        {
            _o.Append(invalid ? "," : "[Invalid header:");
            invalid = true;
            _o.Append(" len==0");
        }
        else if (len < caplen)
        {
            _o.Append(invalid ? "," : "[Invalid header:");
            invalid = true;
            _o.Append(" len(");
            _o.Append(len);
            _o.Append(") < caplen(");
            _o.Append(caplen);
            _o.Append(')');
        }
        if (caplen > MaximumSnaplen)
        {
            _o.Append(invalid ? "," : "[Invalid header:");
            invalid = true;
            _o.Append(" caplen(");
            _o.Append(caplen);
            _o.Append(") > 262144");
        }
        if (len > MaximumSnaplen)
        {
            _o.Append(invalid ? "," : "[Invalid header:");
            invalid = true;
            _o.Append(" len(");
            _o.Append(len);
            _o.Append(") > 262144");
        }
        return invalid;
    }

    /// <summary>tcpdump's nd_print_trunc: " [|proto]".</summary>
    private void PrintTruncated()
    {
        _o.Append(" [|");
        _o.Append(_proto);
        _o.Append(']');
    }

    /// <summary>tcpdump's nd_print_invalid.</summary>
    private void PrintInvalid() => _o.Append(" (invalid)");

    private void PrintLinkLayer(LinkType linkType, ReadOnlySpan<byte> p, uint length)
    {
        switch (linkType)
        {
            case LinkType.EN10MB:
                _proto = "ether";
                _llHeaderLength += EtherPrint(p, 0, length);
                break;
            case LinkType.LINUX_SLL:
                SllPrint(p, length);
                break;
            case LinkType.LINUX_SLL2:
                Sll2Print(p, length);
                break;
            case LinkType.NULL:
            case LinkType.LOOP:
                NullPrint(p, length);
                break;
            case LinkType.RAW:
            case LinkType.IPV4:
            case LinkType.IPV6:
                _proto = "raw";
                if (_eflag)
                    _o.Append("ip: ");
                IpNPrint(p, 0, length);
                break;
            default:
                UnsupportedPrint(linkType, p, length);
                break;
        }
    }

    /// <summary>
    /// Link types without a decoder here (802.11, PPP, ...): a one-line summary naming the link type; -x and
    /// -X show the bytes.
    /// </summary>
    private void UnsupportedPrint(LinkType linkType, ReadOnlySpan<byte> p, uint length)
    {
        _proto = "unsupported";
        if (LinkTypes.GetName(linkType) is { } name)
            _o.Append(name);
        else
        {
            _o.Append("DLT ");
            _o.Append((int)linkType);
        }
        _o.Append(", length ");
        _o.Append(length);
    }
}
