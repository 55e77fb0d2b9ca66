using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// Application protocols that are common in captures and that tcpdump prints on one line without -v: their first
// line as tcpdump writes it. With -v, where tcpdump goes on to decode the body, these stop after the first line.
public sealed partial class PacketPrinter
{
    // ---- BGP (TCP 179) ----

    /// <summary>tcpdump's bgp_print says only ": BGP" without -v.</summary>
    private void BgpPrint()
    {
        _proto = "bgp";
        _o.Append(": BGP");
    }

    // ---- OpenFlow (TCP 6633, 6653) ----

    private enum LengthRule : byte { None, Fixed, Minimum }

    private readonly record struct OpenFlowMessage(string Name, LengthRule Rule, ushort Length);

    // Message types of OpenFlow 1.0 and 1.3 with the body length each must have (beyond the 8-byte header).
    private static readonly OpenFlowMessage[] OpenFlow10Messages =
    [
        new("HELLO", LengthRule.Minimum, 0), new("ERROR", LengthRule.Minimum, 4),
        new("ECHO_REQUEST", LengthRule.Minimum, 0), new("ECHO_REPLY", LengthRule.Minimum, 0),
        new("VENDOR", LengthRule.Minimum, 4), new("FEATURES_REQUEST", LengthRule.Fixed, 0),
        new("FEATURES_REPLY", LengthRule.Minimum, 24), new("GET_CONFIG_REQUEST", LengthRule.Fixed, 0),
        new("GET_CONFIG_REPLY", LengthRule.Fixed, 4), new("SET_CONFIG", LengthRule.Fixed, 4),
        new("PACKET_IN", LengthRule.Minimum, 10), new("FLOW_REMOVED", LengthRule.Fixed, 80),
        new("PORT_STATUS", LengthRule.Fixed, 56), new("PACKET_OUT", LengthRule.Minimum, 8),
        new("FLOW_MOD", LengthRule.Minimum, 64), new("PORT_MOD", LengthRule.Fixed, 24),
        new("STATS_REQUEST", LengthRule.Minimum, 4), new("STATS_REPLY", LengthRule.Minimum, 4),
        new("BARRIER_REQUEST", LengthRule.Fixed, 0), new("BARRIER_REPLY", LengthRule.Fixed, 0),
        new("QUEUE_GET_CONFIG_REQUEST", LengthRule.Fixed, 4), new("QUEUE_GET_CONFIG_REPLY", LengthRule.Minimum, 8),
    ];

    private static readonly OpenFlowMessage[] OpenFlow13Messages =
    [
        new("HELLO", LengthRule.Minimum, 0), new("ERROR", LengthRule.Minimum, 4),
        new("ECHO_REQUEST", LengthRule.Minimum, 0), new("ECHO_REPLY", LengthRule.Minimum, 0),
        new("EXPERIMENTER", LengthRule.Minimum, 8), new("FEATURES_REQUEST", LengthRule.Fixed, 0),
        new("FEATURES_REPLY", LengthRule.Fixed, 24), new("GET_CONFIG_REQUEST", LengthRule.Fixed, 0),
        new("GET_CONFIG_REPLY", LengthRule.Fixed, 4), new("SET_CONFIG", LengthRule.Fixed, 4),
        new("PACKET_IN", LengthRule.None, 0), new("FLOW_REMOVED", LengthRule.None, 0),
        new("PORT_STATUS", LengthRule.Fixed, 72), new("PACKET_OUT", LengthRule.None, 0),
        new("FLOW_MOD", LengthRule.None, 0), new("GROUP_MOD", LengthRule.None, 0),
        new("PORT_MOD", LengthRule.Fixed, 32), new("TABLE_MOD", LengthRule.Fixed, 8),
        new("MULTIPART_REQUEST", LengthRule.None, 0), new("MULTIPART_REPLY", LengthRule.None, 0),
        new("BARRIER_REQUEST", LengthRule.Fixed, 0), new("BARRIER_REPLY", LengthRule.Fixed, 0),
        new("QUEUE_GET_CONFIG_REQUEST", LengthRule.Fixed, 8), new("QUEUE_GET_CONFIG_REPLY", LengthRule.None, 0),
        new("ROLE_REQUEST", LengthRule.Fixed, 16), new("ROLE_REPLY", LengthRule.Fixed, 16),
        new("GET_ASYNC_REQUEST", LengthRule.Fixed, 0), new("GET_ASYNC_REPLY", LengthRule.Fixed, 24),
        new("SET_ASYNC", LengthRule.Fixed, 24), new("METER_MOD", LengthRule.None, 0),
    ];

    /// <summary>
    /// tcpdump's openflow_print: one "version, type, length, xid" line per message in the segment; the message
    /// bodies (which tcpdump decodes with -v) are checked for length and captured bytes only.
    /// </summary>
    private void OpenFlowPrint(ReadOnlySpan<byte> p, int cp, uint len)
    {
        _proto = "openflow";
        _o.Append(": OpenFlow");
        while (len != 0)
        {
            byte version = U8(p, cp);
            cp++;
            len--;
            _o.Append("\n\tversion ");
            if (version is >= 1 and <= 6)
            {
                _o.Append("1.");
                _o.Append((uint)version - 1);
            }
            else
            {
                _o.Append("unknown (0x");
                _o.AppendHexByte(version);
                _o.Append(')');
            }
            if (len < 1)
            {
                OpenFlowPartialHeader(p, cp, len);
                return;
            }
            byte type = U8(p, cp);
            cp++;
            len--;
            var table = version == 1 ? OpenFlow10Messages : version == 4 ? OpenFlow13Messages : null;
            bool known = table is not null && type < table.Length;
            if (known)
            {
                _o.Append(", type ");
                _o.Append(table![type].Name);
            }
            else
            {
                _o.Append(", type unknown (0x");
                _o.AppendHexByte(type);
                _o.Append(')');
            }
            if (len < 2)
            {
                OpenFlowPartialHeader(p, cp, len);
                return;
            }
            ushort length = U16(p, cp);
            cp += 2;
            len -= 2;
            _o.Append(", length ");
            _o.Append((uint)length);
            if (length < 8)
                _o.Append(" (too short!)");
            if (len < 4)
            {
                OpenFlowPartialHeader(p, cp, len);
                return;
            }
            _o.Append(", xid 0x");
            _o.AppendHex(U32(p, cp), 8);
            cp += 4;
            len -= 4;
            if (length < 8)
            {
                PrintInvalid();
                Check(p, cp, len);
                return;
            }

            // A message may run past this segment; its body is checked as far as it is declared, and the loop
            // goes on only while whole messages fit.
            uint body = length - 8u;
            if (known)
            {
                var message = table![type];
                if ((message.Rule == LengthRule.Fixed && body != message.Length)
                    || (message.Rule == LengthRule.Minimum && body < message.Length))
                    PrintInvalid();
            }
            Check(p, cp, body);
            if (body > len)
                break;
            cp += (int)body;
            len -= body;
        }
    }

    private void OpenFlowPartialHeader(ReadOnlySpan<byte> p, int cp, uint len)
    {
        _o.Append(" (end of TCP payload)");
        Check(p, cp, len);
    }

    // ---- BOOTP/DHCP (UDP 67, 68) ----

    /// <summary>tcpdump's bootp_print, first line: "BOOTP/DHCP, Request from MAC, length N".</summary>
    private void BootpPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "bootp";
        byte op = U8(p, cp);
        _o.Append("BOOTP/DHCP, ");
        switch (op)
        {
            case 1: _o.Append("Request"); break;
            case 2: _o.Append("Reply"); break;
            default:
                _o.Append("unknown (0x");
                _o.AppendHexByte(op);
                _o.Append(')');
                break;
        }
        byte htype = U8(p, cp + 1), hlen = U8(p, cp + 2);
        if (htype == 1 && hlen == 6 && op == 1)
        {
            Check(p, cp + 28, 6);
            _o.Append(" from ");
            Mac(p, cp + 28);
        }
        _o.Append(", length ");
        _o.Append(length);
    }

    // ---- HSRP (UDP 1985) ----

    /// <summary>tcpdump's hsrp_print (RFC 2281).</summary>
    private void HsrpPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "hsrp";
        byte version = U8(p, cp);
        _o.Append("HSRPv");
        _o.Append((uint)version);
        if (version != 0)
            return;
        _o.Append('-');
        byte op = U8(p, cp + 1);
        switch (op)
        {
            case 0: _o.Append("hello"); break;
            case 1: _o.Append("coup"); break;
            case 2: _o.Append("resign"); break;
            default:
                _o.Append("unknown (");
                _o.Append((uint)op);
                _o.Append(')');
                break;
        }
        _o.Append(' ');
        _o.Append(length);
        _o.Append(": state=");
        byte state = U8(p, cp + 2);
        switch (state)
        {
            case 0: _o.Append("initial"); break;
            case 1: _o.Append("learn"); break;
            case 2: _o.Append("listen"); break;
            case 4: _o.Append("speak"); break;
            case 8: _o.Append("standby"); break;
            case 16: _o.Append("active"); break;
            default:
                _o.Append("Unknown (");
                _o.Append((uint)state);
                _o.Append(')');
                break;
        }
        byte group = U8(p, cp + 6);
        _o.Append(" group=");
        _o.Append((uint)group);
        _o.Append(' ');
        byte reserved = U8(p, cp + 7);
        if (reserved != 0)
        {
            _o.Append("[reserved=");
            _o.Append((uint)reserved);
            _o.Append("!] ");
        }
        Check(p, cp + 16, 4);
        _o.Append("addr=");
        Ip4(p, cp + 16);
        if (_vflag > 0)
        {
            byte hello = U8(p, cp + 3);
            _o.Append(" hellotime=");
            RelativeTimePrint(hello);
            byte hold = U8(p, cp + 4);
            _o.Append(" holdtime=");
            RelativeTimePrint(hold);
            byte priority = U8(p, cp + 5);
            _o.Append(" priority=");
            _o.Append((uint)priority);
            _o.Append(" auth=\"");
            // nd_printjnp: up to 8 bytes, stopping at a NUL.
            for (int i = 0; i < 8; i++)
            {
                byte c = U8(p, cp + 8 + i);
                if (c == 0)
                    break;
                PrintEscapedChar(c);
            }
            _o.Append('"');
        }
    }

    // ---- BFD (UDP 3784, 4784, 6784 control; 3785 echo) ----

    /// <summary>tcpdump's bfd_print without -v (one line); with -v the same line, where tcpdump goes on.</summary>
    private void BfdPrint(ReadOnlySpan<byte> p, int cp, uint length, ushort port)
    {
        _proto = "bfd";
        if (port is 3784 or 4784 or 6784)
        {
            Check(p, cp, 24);
            byte versionDiag = U8(p, cp), flags = U8(p, cp + 1);
            int version = (versionDiag & 0xe0) >> 5;
            switch (version)
            {
                case 0:
                    _o.Append("BFDv0, Control, Flags: [");
                    BfdFlags(flags, v1: false);
                    _o.Append("], length: ");
                    _o.Append(length);
                    return;
                case 1:
                    _o.Append("BFDv1, ");
                    _o.Append(port switch { 3784 => "Control", 4784 => "Multihop", _ => "Lag" });
                    _o.Append(", State ");
                    _o.Append(((flags & 0xc0) >> 6) switch { 0 => "AdminDown", 1 => "Down", 2 => "Init", _ => "Up" });
                    _o.Append(", Flags: [");
                    BfdFlags((byte)(flags & 0x3f), v1: true);
                    _o.Append("], length: ");
                    _o.Append(length);
                    return;
                default:
                    _o.Append("BFDv");
                    _o.Append(version);
                    _o.Append(", Control, length: ");
                    _o.Append(length);
                    return;
            }
        }
        if (port == 3785)
        {
            _o.Append("BFD, Echo, length: ");
            _o.Append(length);
            return;
        }
        _o.Append("BFD, unknown (");
        _o.Append((uint)port);
        _o.Append("), length: ");
        _o.Append(length);
    }

    private void BfdFlags(byte flags, bool v1)
    {
        if (flags == 0)
        {
            _o.Append("none");
            return;
        }
        int start = _o.Length;
        if (!v1)
        {
            AppendFlag(flags, 0x80, "I Hear You", start);
            AppendFlag(flags, 0x40, "Demand", start);
        }
        AppendFlag(flags, 0x20, "Poll", start);
        AppendFlag(flags, 0x10, "Final", start);
        AppendFlag(flags, 0x08, "Control Plane Independent", start);
        AppendFlag(flags, 0x04, "Authentication Present", start);
        AppendFlag(flags, 0x02, v1 ? "Demand" : "Reserved", start);
        AppendFlag(flags, 0x01, v1 ? "Multipoint" : "Reserved", start);
    }

    // ---- Broadcom LI (UDP source port 49152) ----

    /// <summary>tcpdump's bcm_li_print: the shim header; with -v the packet it carries, too.</summary>
    private void BcmLiPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "bcm_li";
        if (length < 4)
        {
            _o.Append(" (length ");
            _o.Append(length);
            _o.Append(" < 4)");
            PrintInvalid();
            return;
        }
        uint shim = U32(p, cp);
        uint direction = (shim >> 29) & 7, type = (shim >> 25) & 0xf, subtype = (shim >> 22) & 7;
        cp += 4;
        length -= 4;
        if (_vflag > 0)
            _o.Append("\n    ");
        _o.Append("BCM-LI-SHIM: direction ");
        _o.Append(direction switch { 1 => "unused", 2 => "egress", 3 => "ingress", _ => "unknown" });
        _o.Append(", pkt-type ");
        _o.Append(type switch { 4 => "undecided", 5 => "ipv4", 6 => "ipv6", 7 => "ethernet", _ => "unknown" });
        _o.Append(", pkt-subtype ");
        _o.Append(subtype switch { 1 => "single VLAN tag", 2 => "double VLAN tag", 3 => "untagged", _ => "unknown" });
        _o.Append(", li-id ");
        _o.Append(shim & 0x3fffff);
        if (_vflag == 0)
        {
            Check(p, cp, length);
            return;
        }
        _o.Append("\n    ");
        switch (type)
        {
            case 7:
                EtherPrint(p, cp, length);
                break;
            case 5:
                IpPrint(p, cp, length);
                break;
            case 6:
                Ip6Print(p, cp, length);
                break;
            case 4:
                int v = U8(p, cp) >> 4;
                if (v == 4)
                    IpPrint(p, cp, length);
                else if (v == 6)
                    Ip6Print(p, cp, length);
                else
                    _o.Append("unknown payload");
                break;
            default:
                PrintInvalid();
                break;
        }
    }

    // ---- sFlow (UDP 6343) ----

    /// <summary>tcpdump's sflow_print, first line (with -v, the first line of its -v form).</summary>
    private void SflowPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "sflow";
        uint ipVersion = U32(p, cp + 4);
        if ((length < 28 && ipVersion == 1) || (length < 40 && ipVersion == 2))
        {
            uint v = U32(p, cp);
            _o.Append("sFlowv");
            _o.Append(v);
            _o.Append(" [length ");
            _o.Append(length);
            _o.Append(" < 28]");
            PrintInvalid();
            return;
        }
        Check(p, cp, 28);
        uint version = U32(p, cp);
        if (version != 5)
        {
            _o.Append("sFlow version ");
            _o.Append(version);
            _o.Append(" packet not supported");
            return;
        }
        bool v4 = ipVersion == 1;
        // The address, then agent id, sequence number, uptime and sample count follow it.
        int after = v4 ? cp + 12 : cp + 24;
        Check(p, cp + 8, v4 ? 4 : 16);
        uint agentId = U32(p, after);
        _o.Append("sFlowv5, ");
        _o.Append(v4 ? "IPv4" : "IPv6");
        _o.Append(" agent ");
        if (v4)
            Ip4(p, cp + 8);
        else
            Ip6(p, cp + 8);
        _o.Append(", agent-id ");
        _o.Append(agentId);
        if (_vflag > 0)
        {
            uint seq = U32(p, after + 4), uptime = U32(p, after + 8), samples = U32(p, after + 12);
            _o.Append(", seqnum ");
            _o.Append(seq);
            _o.Append(", uptime ");
            _o.Append(uptime);
            _o.Append(", samples ");
            _o.Append(samples);
        }
        _o.Append(", length ");
        _o.Append(length);
    }

    // ---- VXLAN (UDP 4789) and Geneve (UDP 6081) ----

    /// <summary>tcpdump's vxlan_print: the header, a newline, and the Ethernet frame it carries.</summary>
    private void VxlanPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "vxlan";
        _o.Append("VXLAN");
        if (length < 8)
        {
            PrintInvalid();
            return;
        }
        byte flags = U8(p, cp);
        _o.Append(", flags [");
        _o.Append((flags & 0x08) != 0 ? "I" : "invalid");
        _o.Append("] (0x");
        _o.AppendHexByte(flags);
        _o.Append("), ");
        uint vni = U24(p, cp + 4);
        _o.Append("vni ");
        _o.Append(vni);
        _o.Append('\n');
        Check(p, cp + 7, 1);
        EtherPrint(p, cp + 8, length - 8);
    }

    /// <summary>tcpdump's geneve_print: header, options (their size without -v), then the packet it carries.</summary>
    private void GenevePrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "geneve";
        _o.Append("Geneve");
        if (length < 8)
        {
            _o.Append(" [length ");
            _o.Append(length);
            _o.Append(" < 8]");
            PrintInvalid();
            return;
        }
        if (!Has(p, cp, 8))
        {
            PrintTruncated();
            return;
        }
        byte verOpt = p[cp];
        if (verOpt >> 6 != 0)
        {
            _o.Append(" ERROR: unknown-version ");
            _o.Append(verOpt >> 6);
            return;
        }
        byte flags = p[cp + 1];
        ushort prot = U16(p, cp + 2);
        uint vni = U24(p, cp + 4);
        byte reserved = p[cp + 7];
        cp += 8;
        length -= 8;
        _o.Append(", Flags [");
        if (flags == 0)
            _o.Append("none");
        else
        {
            if ((flags & 0x80) != 0)
                _o.Append('O');
            if ((flags & 0x40) != 0)
                _o.Append('C');
            for (int bit = 5, n = 1; bit >= 0; bit--, n++)
            {
                if ((flags & (1 << bit)) != 0)
                {
                    _o.Append('R');
                    _o.Append(n);
                }
            }
        }
        _o.Append("], vni 0x");
        _o.AppendHex(vni);
        if (reserved != 0)
        {
            _o.Append(", rsvd 0x");
            _o.AppendHex(reserved);
        }
        if (_eflag)
        {
            _o.Append(", proto ");
            _o.Append(Internal.NameTables.EtherType(prot) ?? "unknown");
            _o.Append(" (0x");
            _o.AppendHex(prot, 4);
            _o.Append(')');
        }
        uint optionsLength = (uint)(verOpt & 0x3f) * 4;
        if (length < optionsLength)
        {
            _o.Append(" truncated-geneve - ");
            _o.Append(optionsLength - length);
            _o.Append(" bytes missing");
            return;
        }
        if (!Has(p, cp, optionsLength))
        {
            PrintTruncated();
            return;
        }
        if (optionsLength > 0)
        {
            _o.Append(", options [");
            if (_vflag > 0)
                GeneveOptionsPrint(p, cp, optionsLength);
            else
            {
                _o.Append(optionsLength);
                _o.Append(" bytes");
            }
            _o.Append(']');
        }
        cp += (int)optionsLength;
        length -= optionsLength;
        _o.Append(_vflag < 1 ? ": " : "\n\t");
        uint caplen = p.Length > cp ? (uint)(p.Length - cp) : 0;
        if (!EtherTypeDispatch(prot, p, cp, length, caplen))
        {
            if (prot == 0x6558)
                EtherPrint(p, cp, length);
            else
            {
                _o.Append("geneve-proto-0x");
                _o.AppendHex(prot);
            }
        }
    }

    /// <summary>tcpdump's geneve_opts_print (-v): class, type and length of each option.</summary>
    private void GeneveOptionsPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        string separator = "";
        while (length > 0)
        {
            _o.Append(separator);
            separator = ", ";
            ushort optClass = U16(p, cp);
            byte type = U8(p, cp + 2);
            uint optLength = (uint)(U8(p, cp + 3) & 0x1f) * 4 + 4;
            _o.Append("class ");
            _o.Append(GeneveOptionClass(optClass));
            _o.Append(" (0x");
            _o.AppendHex(optClass);
            _o.Append(") type 0x");
            _o.AppendHex(type);
            _o.Append((type & 0x80) != 0 ? "(C)" : "");
            _o.Append(" len ");
            _o.Append(optLength);
            if (optLength > length)
            {
                _o.Append(" [bad length]");
                return;
            }
            if (_vflag > 1 && optLength > 4)
            {
                _o.Append(" data");
                for (uint i = 4; i < optLength; i += 4)
                {
                    _o.Append(' ');
                    _o.AppendHex(U32(p, cp + (int)i), 8);
                }
            }
            cp += (int)optLength;
            length -= optLength;
        }
    }

    private static string GeneveOptionClass(ushort c) => c switch
    {
        0x0100 => "Linux", 0x0101 => "Open vSwitch", 0x0102 => "Open Virtual Networking (OVN)",
        0x0103 => "In-band Network Telemetry (INT)", 0x0104 => "VMware",
        <= 0x00ff => "Standard", >= 0xfff0 => "Experimental", _ => "Unknown",
    };

    // ---- Babel (UDP 6696, 6697) ----

    /// <summary>tcpdump's babel_print without -v: version, body length and the message types ("hello ihu update/prefix").</summary>
    private void BabelPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "babel";
        _o.Append("babel");
        if (!Has(p, cp, 4))
        {
            PrintTruncated();
            return;
        }
        if (p[cp] != 42)
        {
            _o.Append(" invalid header");
            return;
        }
        byte version = p[cp + 1];
        _o.Append(' ');
        _o.Append((uint)version);
        if (version != 2)
        {
            _o.Append(" unknown version");
            return;
        }
        if (length < 4)
        {
            PrintInvalid();
            return;
        }
        uint body = U16(p, cp + 2);
        _o.Append(" (");
        _o.Append(body);
        _o.Append(')');
        length -= 4;
        cp += 4;
        if (length < body)
        {
            PrintInvalid();
            return;
        }
        int result = BabelMessagesPrint(p, cp, body, length);
        if (result == 0 && length != body)
        {
            _o.Append(" |");
            result = BabelMessagesPrint(p, cp + (int)body, length - body, length - body);
        }
        if (result == -1)
            PrintTruncated();
        else if (result == -2)
            PrintInvalid();
    }

    /// <summary>babel_print_v2_tlvs without -v: 0, or -1 for a truncation, -2 for an invalid message.</summary>
    private int BabelMessagesPrint(ReadOnlySpan<byte> p, int cp, uint tlvsLength, uint remaining)
    {
        uint i = 0;
        while (i < tlvsLength)
        {
            int message = cp + (int)i;
            if (i + 1 > tlvsLength || i + 1 > remaining)
                return -2;
            if (!Has(p, message, 1))
                return -1;
            byte type = p[message];
            if (type == 0)
            {
                _o.Append(" pad1");
                i++;
                continue;
            }
            if (i + 2 > tlvsLength || i + 2 > remaining)
                return -2;
            if (!Has(p, message, 2))
                return -1;
            uint len = p[message + 1];
            if (i + 2 + len > tlvsLength || i + 2 + len > remaining)
                return -2;
            if (!Has(p, message, 2 + len))
                return -1;
            switch (type)
            {
                case 1: _o.Append(" padN"); break;
                case 2: _o.Append(" ack-req"); break;
                case 3: _o.Append(" ack"); break;
                case 4: _o.Append(" hello"); break;
                case 5: _o.Append(" ihu"); break;
                case 6: _o.Append(" router-id"); break;
                case 7: _o.Append(" nh"); break;
                case 8:
                    _o.Append(" update");
                    if (len < 10)
                        return -2;
                    byte flags = p[message + 3];
                    if ((flags & 0x80) != 0)
                        _o.Append("/prefix");
                    if ((flags & 0x40) != 0)
                        _o.Append("/id");
                    if ((flags & 0x3f) != 0)
                        _o.Append("/unknown");
                    break;
                case 9: _o.Append(" route-request"); break;
                case 10: _o.Append(" seqno-request"); break;
                case 11: _o.Append(" tspc"); break;
                case 12: _o.Append(" hmac"); break;
                case 13: _o.Append(" ss-update"); break;
                case 14: _o.Append(" ss-request"); break;
                case 15: _o.Append(" ss-mh-request"); break;
                case 16: _o.Append(" mac"); break;
                case 17: _o.Append(" pc"); break;
                case 18: _o.Append(" challenge_request"); break;
                case 19: _o.Append(" challenge_reply"); break;
                default: _o.Append(" unknown"); break;
            }
            i += len + 2;
        }
        return 0;
    }

    // ---- VRRP (IP protocol 112), EIGRP (88), AoE (Ethernet type 0x88a2) ----

    /// <summary>tcpdump's vrrp_print: version, type, router id, priority, interval; addresses and checksum with -v.</summary>
    private void VrrpPrint(ReadOnlySpan<byte> p, int bp, uint length, in IpContext ip)
    {
        _proto = "vrrp";
        _o.Append("VRRP");
        byte first = U8(p, bp);
        int version = first >> 4, type = first & 0xf;
        _o.Append('v');
        _o.Append(version);
        if (type == 1)
            _o.Append(", Advertisement");
        else
        {
            _o.Append(", unknown type (");
            _o.Append(type);
            _o.Append(')');
        }
        int ttl = ip.Version == 4 ? ip.Packet[ip.Offset + 8] : ip.Packet[ip.Offset + 7];
        if (ttl != 255)
        {
            _o.Append(", (ttl ");
            _o.Append(ttl);
            _o.Append(')');
        }
        if (version is < 2 or > 3 || type != 1)
            return;
        byte vrid = U8(p, bp + 1), priority = U8(p, bp + 2);
        _o.Append(", vrid ");
        _o.Append((uint)vrid);
        _o.Append(", prio ");
        _o.Append((uint)priority);
        byte authType = 0;
        if (version == 2)
        {
            authType = U8(p, bp + 4);
            _o.Append(", authtype ");
            _o.Append(authType switch { 0 => "none", 1 => "simple", 2 => "ah", _ => "" });
            byte interval = U8(p, bp + 5);
            _o.Append(", intvl ");
            _o.Append((uint)interval);
            _o.Append("s, length ");
        }
        else
        {
            uint interval = (uint)(U8(p, bp + 4) & 0x0f) << 8 | U8(p, bp + 5);
            _o.Append(", intvl ");
            _o.Append(interval);
            _o.Append("cs, length ");
        }
        _o.Append(length);
        if (_vflag == 0)
            return;

        uint addresses = U8(p, bp + 3);
        if (Has(p, bp, length))
        {
            var data = p.Slice(bp, (int)length);
            ushort sum = version == 2 ? InternetChecksum(data)
                : ip.Version == 4 ? PseudoHeaderChecksum4(ip, data, 112) : PseudoHeaderChecksum6(ip, data, 112);
            if (sum != 0)
            {
                ushort field = U16(p, bp + 6);
                _o.Append(", (bad vrrp cksum ");
                _o.AppendHex(field);
                _o.Append(')');
            }
        }
        _o.Append(", addrs");
        if (addresses > 1)
        {
            _o.Append('(');
            _o.Append(addresses);
            _o.Append(')');
        }
        _o.Append(':');
        char separator = ' ';
        int at = bp + 8;
        for (uint i = 0; i < addresses; i++)
        {
            if (ip.Version == 4)
            {
                Check(p, at, 4);
                _o.Append(separator);
                Ip4(p, at);
                at += 4;
            }
            else
            {
                Check(p, at, 16);
                _o.Append(separator);
                Ip6(p, at);
                at += 16;
            }
            separator = ',';
        }
        if (version == 2 && authType == 1)
        {
            _o.Append(" auth \"");
            for (int i = 0; i < 8; i++)
            {
                byte c = U8(p, at + i);
                if (c == 0)
                    break;
                PrintEscapedChar(c);
            }
            _o.Append('"');
        }
    }

    /// <summary>tcpdump's eigrp_print without -v: the message type; with -v the same line, where tcpdump goes on.</summary>
    private void EigrpPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        _proto = "eigrp";
        if (!Has(p, bp, 20))
        {
            PrintTruncated();
            return;
        }
        byte version = p[bp], opcode = p[bp + 1];
        if (version != 2)
        {
            _o.Append("EIGRP version ");
            _o.Append((uint)version);
            _o.Append(" packet not supported");
            return;
        }
        string? name = opcode switch
        {
            1 => "Update", 3 => "Query", 4 => "Reply", 5 => "Hello", 6 => "IPX SAP", 7 => "Probe", _ => null,
        };
        if (_vflag == 0 || length < 20)
        {
            _o.Append("EIGRP ");
            if (name is null)
            {
                _o.Append("unknown (");
                _o.Append((uint)opcode);
                _o.Append(')');
            }
            else
                _o.Append(name);
            _o.Append(", length: ");
            _o.Append(length);
            if (_vflag > 0)
                _o.Append(" (too short, < 20)");
            return;
        }
        // -v: the common header on two lines (the TLVs that follow in tcpdump's output are not decoded here).
        _o.Append("\n\tEIGRP v2, opcode: ");
        if (name is null)
        {
            _o.Append("unknown, type: ");
            _o.Append((uint)opcode);
        }
        else
            _o.Append(name);
        _o.Append(" (");
        _o.Append((uint)opcode);
        _o.Append("), chksum: 0x");
        _o.AppendHex(U16(p, bp + 2), 4);
        _o.Append(", Flags: [");
        uint flags = U32(p, bp + 4);
        int start = _o.Length;
        AppendFlag(flags, 0x01, "Init", start);
        AppendFlag(flags, 0x02, "Conditionally Received", start);
        AppendFlag(flags, 0x04, "Restart", start);
        AppendFlag(flags, 0x08, "End-of-Table", start);
        if (_o.Length == start)
            _o.Append("none");
        _o.Append("]\n\tseq: 0x");
        _o.AppendHex(U32(p, bp + 8), 8);
        _o.Append(", ack: 0x");
        _o.AppendHex(U32(p, bp + 12), 8);
        _o.Append(", VRID: ");
        _o.Append((uint)U16(p, bp + 16));
        _o.Append(", AS: ");
        _o.Append((uint)U16(p, bp + 18));
        _o.Append(", length: ");
        _o.Append(length - 20);
    }

    /// <summary>tcpdump's aoe_print without -v: length, version and (version 1) flags.</summary>
    private void AoePrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "aoe";
        _o.Append("AoE length ");
        _o.Append(length);
        if (length < 1)
        {
            PrintInvalid();
            Check(p, cp, length);
            return;
        }
        int version = U8(p, cp) >> 4;
        _o.Append(", Ver ");
        _o.Append(version);
        if (version != 1)
            return;
        if (length < 10)
        {
            PrintInvalid();
            Check(p, cp, length);
            return;
        }
        int flags = p[cp] & 0x0f;
        _o.Append(", Flags: [");
        if (flags == 0)
            _o.Append("none");
        else
        {
            int start = _o.Length;
            AppendFlag((uint)flags, 0x08, "Response", start);
            AppendFlag((uint)flags, 0x04, "Error", start);
            AppendFlag((uint)flags, 0x02, "MBZ-1", start);
            AppendFlag((uint)flags, 0x01, "MBZ-0", start);
        }
        _o.Append(']');
    }

    // ---- Kerberos (UDP 88, 750) ----

    /// <summary>tcpdump's krb_print: the version, and for Kerberos 4 the message with its names.</summary>
    private void KrbPrint(ReadOnlySpan<byte> p, int cp)
    {
        _proto = "krb";
        if (cp >= p.Length)
        {
            PrintTruncated();
            return;
        }
        byte pvno = p[cp];
        switch (pvno)
        {
            case 1:
            case 2:
            case 3:
                _o.Append(" v");
                _o.Append((uint)pvno);
                break;
            case 4:
                _o.Append(" v4");
                Krb4Print(p, cp);
                break;
            case 106:
            case 107:
                _o.Append(" v5");
                break;
        }
    }

    private void Krb4Print(ReadOnlySpan<byte> p, int kp)
    {
        byte typeByte = U8(p, kp + 1);
        bool little = (typeByte & 1) != 0;
        int type = typeByte & 0xfe;
        _o.Append(little ? " le " : " be ");
        string? name = type switch
        {
            2 => "KDC_REQUEST", 4 => "KDC_REPLY", 6 => "APPL_REQUEST", 8 => "APPL_REQUEST_MUTUAL", 10 => "ERR_REPLY",
            12 => "PRIVATE", 14 => "SAFE", 16 => "APPL_ERR", 126 => "DIE", _ => null,
        };
        if (name is null)
        {
            _o.Append('#');
            _o.Append(type);
        }
        else
            _o.Append(name);
        _o.Append(": ");

        int cp = kp;
        switch (type)
        {
            case 2:
                if ((cp = Krb4Header(p, cp)) < 0)
                    return;
                cp += 4;
                uint minutes = (uint)U8(p, cp) * 5;
                _o.Append(' ');
                _o.Append(minutes);
                _o.Append("min ");
                cp++;
                if ((cp = KrbString(p, cp)) < 0)
                    break;
                _o.Append('.');
                if (KrbString(p, cp) < 0)
                    break;
                return;
            case 6:
                cp += 2;
                byte version = U8(p, cp);
                _o.Append('v');
                _o.Append((uint)version);
                _o.Append(' ');
                cp++;
                if ((cp = KrbString(p, cp)) < 0)
                    break;
                byte a = U8(p, cp);
                _o.Append(" (");
                _o.Append((uint)a);
                _o.Append(')');
                cp++;
                byte b = U8(p, cp);
                _o.Append(" (");
                _o.Append((uint)b);
                _o.Append(')');
                return;
            case 4:
                if ((cp = Krb4Header(p, cp)) < 0)
                    return;
                cp += 10;
                uint length = little ? (uint)(U8(p, cp) | U8(p, cp + 1) << 8) : U16(p, cp);
                _o.Append(" (");
                _o.Append(length);
                _o.Append(')');
                return;
            case 10:
                if ((cp = Krb4Header(p, cp)) < 0)
                    return;
                cp += 4;
                uint code = little ? (uint)(U8(p, cp) | U8(p, cp + 1) << 8) : U16(p, cp);
                string? error = code switch
                {
                    0 => "OK", 1 => "NAME_EXP", 2 => "SERVICE_EXP", 3 => "AUTH_EXP", 4 => "PKT_VER",
                    5 => "NAME_MAST_KEY_VER", 6 => "SERV_MAST_KEY_VER", 7 => "BYTE_ORDER", 8 => "PRINCIPAL_UNKNOWN",
                    9 => "PRINCIPAL_NOT_UNIQUE", 10 => "NULL_KEY", _ => null,
                };
                _o.Append(' ');
                if (error is null)
                {
                    _o.Append('#');
                    _o.Append(code);
                }
                else
                    _o.Append(error);
                _o.Append(' ');
                cp += 4;
                if (KrbString(p, cp) < 0)
                    break;
                return;
            default:
                _o.Append("(unknown)");
                return;
        }
        PrintTruncated();
    }

    /// <summary>krb4_print_hdr: "name.instance@realm"; -1 (after the truncation mark) when a string runs off the capture.</summary>
    private int Krb4Header(ReadOnlySpan<byte> p, int cp)
    {
        cp += 2;
        if ((cp = KrbString(p, cp)) >= 0)
        {
            _o.Append('.');
            if ((cp = KrbString(p, cp)) >= 0)
            {
                _o.Append('@');
                if ((cp = KrbString(p, cp)) >= 0)
                    return cp;
            }
        }
        PrintTruncated();
        return -1;
    }

    /// <summary>c_print: a NUL-terminated string, escaped; the offset after the NUL, or -1 when the capture ends first.</summary>
    private int KrbString(ReadOnlySpan<byte> p, int s)
    {
        while (s >= 0 && s < p.Length)
        {
            byte c = p[s++];
            if (c == 0)
                return s;
            PrintEscapedChar(c);
        }
        return -1;
    }

    // ---- DHCPv6 (UDP 546, 547) ----

    /// <summary>tcpdump's dhcp6_print without -v: the message type (with -v, where tcpdump adds the options, the same).</summary>
    private void Dhcp6Print(ReadOnlySpan<byte> p, int cp)
    {
        _proto = "dhcp6";
        _o.Append("dhcp6");
        if (!Has(p, cp, 4))
        {
            PrintTruncated();
            return;
        }
        byte type = p[cp];
        _o.Append(' ');
        string? name = type switch
        {
            1 => "solicit", 2 => "advertise", 3 => "request", 4 => "confirm", 5 => "renew", 6 => "rebind", 7 => "reply",
            8 => "release", 9 => "decline", 10 => "reconfigure", 11 => "inf-req", 12 => "relay-fwd", 13 => "relay-reply",
            14 => "leasequery", 15 => "leasequery-reply", _ => null,
        };
        if (name is null)
        {
            _o.Append("msgtype-");
            _o.Append((uint)type);
        }
        else
            _o.Append(name);
    }

    // ---- PIM (IP protocol 103), OSPF (89) ----

    private static string? PimTypeName(int type) => type switch
    {
        0 => "Hello", 1 => "Register", 2 => "Register Stop", 3 => "Join / Prune", 4 => "Bootstrap", 5 => "Assert",
        6 => "Graft", 7 => "Graft Acknowledgement", 8 => "Candidate RP Advertisement", 9 => "Prune Refresh",
        10 => "DF Election", 11 => "ECMP Redirect", _ => null,
    };

    /// <summary>tcpdump's pim_print: version, type, length (with -v the first line of its -v form).</summary>
    private void PimPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        _proto = "pim";
        byte typeVersion = U8(p, bp);
        int version = typeVersion >> 4;
        _o.Append("PIMv");
        _o.Append(version);
        if (version != 2)
        {
            _o.Append(", length ");
            _o.Append(length);
            return;
        }
        string name = PimTypeName(typeVersion & 0xf) ?? "Unknown Type";
        if (_vflag == 0)
        {
            _o.Append(", ");
            _o.Append(name);
            _o.Append(", length ");
            _o.Append(length);
        }
        else
        {
            _o.Append(", length ");
            _o.Append(length);
            _o.Append("\n\t");
            _o.Append(name);
        }
    }

    /// <summary>tcpdump's ospf_print and ospf6_print, first line: version, packet type, length.</summary>
    private void OspfPrint(ReadOnlySpan<byte> p, int bp, uint length, bool v6)
    {
        _proto = v6 ? "ospf3" : "ospf2";
        // OSPFv2 leaves a trailing MD5 digest out of the length.
        if (!v6 && U16(p, bp + 14) == 2)
            length -= 16;
        byte type = U8(p, bp + 1);
        string? name = type switch
        {
            1 => "Hello", 2 => "Database Description", 3 => "LS-Request", 4 => "LS-Update", 5 => "LS-Ack", _ => null,
        };
        byte version = U8(p, bp);
        _o.Append("OSPFv");
        _o.Append((uint)version);
        _o.Append(", ");
        if (name is null)
        {
            _o.Append(v6 ? "unknown packet type (" : "unknown LS-type ");
            _o.Append((uint)type);
            if (v6)
                _o.Append(')');
        }
        else
            _o.Append(name);
        _o.Append(", length ");
        _o.Append(length);
        if (name is null || _vflag == 0)
            return;
        uint declared = U16(p, bp + 2);
        if (v6 ? declared > length : declared != length)
        {
            _o.Append(" [len ");
            _o.Append(declared);
            _o.Append(']');
        }
    }

    // ---- PTP (Ethernet type 0x88f7, UDP 319 and 320) ----

    private static ulong U48(ReadOnlySpan<byte> p, int offset) => (ulong)U16(p, offset) << 32 | U32(p, offset + 2);

    /// <summary>tcpdump's ptp_print: the version-2 header and the fields of each message type, on one line.</summary>
    private void PtpPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        _proto = "ptp";
        if (length < 34)
        {
            PrintInvalid();
            return;
        }
        // tcpdump takes the whole second byte for the version, so "PTPv18" is printed for 0x12.
        uint version = U16(p, bp) & 0xffu;
        _o.Append("PTPv");
        _o.Append(version);
        if (version == 1)
        {
            _o.Append(" (not implemented)");
            return;
        }
        if (version != 2)
            return;

        byte first = U8(p, bp);
        _o.Append(", v1 compat : ");
        _o.Append((first & 0x10) != 0 ? "yes" : "no");
        int type = first & 0x0f;
        _o.Append(", msg type : ");
        _o.Append(type switch
        {
            0x0 => "sync msg", 0x1 => "delay req msg", 0x2 => "peer delay req msg", 0x3 => "peer delay resp msg",
            0x8 => "follow up msg", 0x9 => "delay resp msg", 0xa => "pdelay resp fup msg", 0xb => "announce msg",
            0xc => "signalling msg", 0xd => "management msg", _ => "Reserved",
        });
        uint messageLength = U16(p, bp + 2);
        _o.Append(", length : ");
        _o.Append(messageLength);
        ushort domainWord = U16(p, bp + 4);
        _o.Append(", domain : ");
        _o.Append((uint)domainWord >> 8);
        _o.Append(", reserved1 : ");
        _o.Append(domainWord & 0xffu);
        ushort flags = U16(p, bp + 6);
        _o.Append(", Flags [");
        PtpFlags(flags);
        _o.Append(']');
        ulong correction = U48(p, bp + 8);
        _o.Append(", NS correction : ");
        _o.Append(correction);
        ushort subCorrection = U16(p, bp + 14);
        _o.Append(", sub NS correction : ");
        _o.Append((uint)subCorrection);
        uint reserved2 = U32(p, bp + 16);
        _o.Append(", reserved2 : ");
        _o.Append(reserved2);
        ulong clock = U64(p, bp + 20);
        _o.Append(", clock identity : 0x");
        _o.AppendHex(clock);
        ushort port = U16(p, bp + 28);
        _o.Append(", port id : ");
        _o.Append((uint)port);
        ushort sequence = U16(p, bp + 30);
        _o.Append(", seq id : ");
        _o.Append((uint)sequence);
        byte control = U8(p, bp + 32);
        _o.Append(", control : ");
        _o.Append((uint)control);
        _o.Append(" (");
        _o.Append(control switch
        {
            0 => "Sync", 1 => "Delay_Req", 2 => "Follow_Up", 3 => "Delay_Resp", 4 => "Management", 5 => "Other",
            _ => "Reserved",
        });
        _o.Append(')');
        uint interval = U16(p, bp + 32) & 0xffu;
        _o.Append(", log message interval : ");
        _o.Append(interval);

        int body = bp + 34;
        switch (type)
        {
            case 0x0:
            case 0x1:
                PtpTimestamp(p, body, "originTimeStamp", identity: false);
                break;
            case 0x2:
            case 0xa:
                PtpTimestamp(p, body, "preciseOriginTimeStamp", identity: true);
                break;
            case 0x8:
                PtpTimestamp(p, body, "preciseOriginTimeStamp", identity: false);
                break;
            case 0x3:
            case 0x9:
                PtpTimestamp(p, body, "receiveTimeStamp", identity: true);
                break;
            case 0xb:
                PtpAnnounce(p, body);
                break;
            case 0xc:
                PtpPortIdentity(p, body);
                break;
            case 0xd:
                PtpPortIdentity(p, body);
                // tcpdump reads each of these four fields from the same byte, the one after the port identity's start.
                PtpByteField(p, body, ", start boundary hops ", hex: false);
                PtpByteField(p, body, ", boundary hops ", hex: false);
                PtpByteField(p, body, ", flags ", hex: true);
                PtpByteField(p, body, ", reserved ", hex: true);
                break;
        }
    }

    private void PtpFlags(ushort flags)
    {
        if (flags == 0)
        {
            _o.Append("none");
            return;
        }
        int start = _o.Length;
        AppendFlag(flags, 0x1, "l1 61", start);
        AppendFlag(flags, 0x2, "l1 59", start);
        AppendFlag(flags, 0x4, "utc reasonable", start);
        AppendFlag(flags, 0x8, "timescale", start);
        AppendFlag(flags, 0x10, "time tracable", start);
        AppendFlag(flags, 0x20, "frequency tracable", start);
        AppendFlag(flags, 0x100, "alternate master", start);
        AppendFlag(flags, 0x200, "two step", start);
        AppendFlag(flags, 0x400, "unicast", start);
        AppendFlag(flags, 0x1000, "profile specific 1", start);
        AppendFlag(flags, 0x2000, "profile specific 2", start);
        AppendFlag(flags, 0x4000, "security mask", start);
        // bittok2str matches a multi-bit token only when all its bits are set.
        if ((flags & 0x18c0) == 0x18c0)
            AppendFlag(flags, 0x18c0, "unknown", start);
        if (_o.Length == start)
            _o.Append("none");
    }

    private void PtpTimestamp(ReadOnlySpan<byte> p, int bp, string name, bool identity)
    {
        _o.Append(", ");
        _o.Append(name);
        _o.Append(" :");
        ulong seconds = U48(p, bp);
        _o.Append(' ');
        _o.Append(seconds);
        _o.Append(" seconds,");
        uint nanoseconds = U32(p, bp + 6);
        _o.Append(' ');
        _o.Append(nanoseconds);
        _o.Append(" nanoseconds");
        if (identity)
            PtpPortIdentity(p, bp + 10);
    }

    private void PtpPortIdentity(ReadOnlySpan<byte> p, int bp)
    {
        ulong identity = U64(p, bp);
        _o.Append(", port identity : 0x");
        _o.AppendHex(identity);
        ushort port = U16(p, bp + 8);
        _o.Append(", port id : ");
        _o.Append((uint)port);
    }

    private void PtpByteField(ReadOnlySpan<byte> p, int bp, string name, bool hex)
    {
        byte value = U8(p, bp);
        _o.Append(", ");
        _o.Append(name);
        if (hex)
        {
            _o.Append(" 0x");
            _o.AppendHex(value);
        }
        else
        {
            _o.Append(' ');
            _o.Append((uint)value);
        }
    }

    private void PtpAnnounce(ReadOnlySpan<byte> p, int bp)
    {
        _o.Append(", originTimeStamp :");
        ulong seconds = U48(p, bp);
        _o.Append(' ');
        _o.Append(seconds);
        _o.Append(" seconds");
        uint nanoseconds = U32(p, bp + 6);
        _o.Append(' ');
        _o.Append(nanoseconds);
        _o.Append(" nanoseconds");
        ushort utcOffset = U16(p, bp + 10);
        _o.Append(", origin cur utc :");
        _o.Append((uint)utcOffset);
        byte reserved = U8(p, bp + 12);
        _o.Append(", rsvd : ");
        _o.Append((uint)reserved);
        byte priority1 = U8(p, bp + 13);
        _o.Append(", gm priority_1 : ");
        _o.Append((uint)priority1);
        byte clockClass = U8(p, bp + 14);
        _o.Append(", gm clock class : ");
        _o.Append((uint)clockClass);
        byte accuracy = U8(p, bp + 15);
        _o.Append(", gm clock accuracy : ");
        _o.Append((uint)accuracy);
        ushort variance = U16(p, bp + 16);
        _o.Append(", gm clock variance : ");
        _o.Append((uint)variance);
        byte priority2 = U8(p, bp + 18);
        _o.Append(", gm priority_2 : ");
        _o.Append((uint)priority2);
        ulong clock = U64(p, bp + 19);
        _o.Append(", gm clock id : 0x");
        _o.AppendHex(clock);
        ushort steps = U16(p, bp + 27);
        _o.Append(", steps removed : ");
        _o.Append((uint)steps);
        byte source = U8(p, bp + 29);
        _o.Append(", time source : 0x");
        _o.AppendHex(source);
    }

    // ---- RESP, Redis's protocol (TCP 6379) ----

    /// <summary>tcpdump's resp_print: every item of every (pipelined) command or reply, quoted.</summary>
    private void RespPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        _proto = "resp";
        _o.Append(": RESP");
        int remaining = (int)Math.Min(length, int.MaxValue);
        while (remaining > 0)
        {
            int used = RespParse(p, bp, remaining);
            if (used < 0)
            {
                PrintTruncated();
                return;
            }
            bp += used;
            remaining -= used;
        }
    }

    /// <summary>One RESP item; the bytes it took, or -1 where tcpdump gives up with a truncation mark.</summary>
    private int RespParse(ReadOnlySpan<byte> p, int bp, int length)
    {
        if (length < 1)
            return -1;
        return U8(p, bp) switch
        {
            (byte)'+' or (byte)':' or (byte)'-' => RespLine(p, bp, length),
            (byte)'$' => RespBulkString(p, bp, length),
            (byte)'*' => RespArray(p, bp, length),
            _ => RespInline(p, bp, length),
        };
    }

    /// <summary>RESP_PRINT_SEGMENT: ' "text"', escaped; false when the capture ends inside it.</summary>
    private bool RespSegment(ReadOnlySpan<byte> p, int bp, int length)
    {
        _o.Append(" \"");
        int n = length;
        while (n > 0 && bp < p.Length)
        {
            n--;
            PrintEscapedChar(p[bp++]);
        }
        if (n != 0)
            return false;
        _o.Append('"');
        return true;
    }

    /// <summary>FIND_CRLF: the offset of the next CR LF, or -1 (remaining length or capture exhausted).</summary>
    private static int RespFindCrLf(ReadOnlySpan<byte> p, int at, ref int length)
    {
        while (true)
        {
            if (length < 2 || !Has(p, at, 2))
                return -1;
            if (p[at] == '\r' && p[at + 1] == '\n')
                return at;
            at++;
            length--;
        }
    }

    /// <summary>Simple strings, errors and integers: the text up to CR LF.</summary>
    private int RespLine(ReadOnlySpan<byte> p, int bp, int length)
    {
        int rest = length - 1;
        int end = RespFindCrLf(p, bp + 1, ref rest);
        if (end < 0)
            return -1;
        int len = end - (bp + 1);
        if (!RespSegment(p, bp + 1, len))
            return -1;
        return 1 + len + 2;
    }

    private int RespBulkString(ReadOnlySpan<byte> p, int bp, int length)
    {
        int cur = length - 1;
        int at = bp + 1;
        int size = RespLength(p, ref at, ref cur);
        if (size >= 0)
        {
            if (size == 0)
                _o.Append(" empty");
            else
            {
                if (cur < size || !Has(p, at, size))
                    return -1;
                if (!RespSegment(p, at, size))
                    return -1;
                at += size;
                cur -= size;
            }
            int end = RespFindCrLf(p, at, ref cur);
            if (end < 0)
                return -1;
            cur -= 2;
        }
        else if (!RespLengthNote(size))
            return -1;
        return length - cur;
    }

    private int RespArray(ReadOnlySpan<byte> p, int bp, int length)
    {
        int cur = length - 1;
        int at = bp + 1;
        int count = RespLength(p, ref at, ref cur);
        if (count > 0)
        {
            for (int i = 0; i < count; i++)
            {
                int used = RespParse(p, at, cur);
                if (used < 0)
                    return -1;
                at += used;
                cur -= used;
            }
        }
        else if (count == 0)
            _o.Append(" empty");
        else if (!RespLengthNote(count))
            return -1;
        return length - cur;
    }

    /// <summary>The notes for a length resp_get_length could not give; false for a truncation.</summary>
    private bool RespLengthNote(int code)
    {
        switch (code)
        {
            case -1: _o.Append(" null"); return true;
            case -2: return false;
            case -3: _o.Append(" length too large"); return true;
            case -4: _o.Append(" length negative and not -1"); return true;
            default: _o.Append(" invalid"); return true;
        }
    }

    /// <summary>
    /// resp_get_length: a decimal length ended by CR LF, -1 for "-1" (null), or -2 truncated, -3 too large,
    /// -4 another negative number, -5 invalid; <paramref name="at"/> and <paramref name="length"/> move past what was read.
    /// </summary>
    private static int RespLength(ReadOnlySpan<byte> p, ref int at, ref int length)
    {
        int start = at, len = length;
        int result = RespLengthCore(p, ref at, ref len);
        length -= at - start;
        return result;
    }

    private static int RespLengthCore(ReadOnlySpan<byte> p, ref int at, ref int len)
    {
        if (len == 0)
            return -2;
        bool negative = false, tooLarge = false, sawDigit = false;
        if (U8(p, at) == '-')
        {
            negative = true;
            at++;
            len--;
        }
        int result = 0;
        while (true)
        {
            if (len == 0)
                return -2;
            byte c = U8(p, at);
            if (c is < (byte)'0' or > (byte)'9')
            {
                if (!sawDigit)
                {
                    at++;
                    return -5;
                }
                break;
            }
            int digit = c - '0';
            if (result > int.MaxValue / 10)
                tooLarge = true;
            else
            {
                result *= 10;
                if (result == int.MaxValue / 10 * 10 && digit > int.MaxValue % 10)
                    tooLarge = true;
                else
                    result += digit;
            }
            at++;
            len--;
            sawDigit = true;
        }
        if (U8(p, at) != '\r')
        {
            at++;
            return -5;
        }
        at++;
        len--;
        if (len == 0)
            return -2;
        if (U8(p, at) != '\n')
        {
            at++;
            return -5;
        }
        at++;
        len--;
        if (negative)
            return tooLarge || result != 1 ? -4 : -1;
        return tooLarge ? -3 : result;
    }

    /// <summary>Inline commands ("PING\r\n"): the text between line ends.</summary>
    private int RespInline(ReadOnlySpan<byte> p, int bp, int length)
    {
        int cur = length;
        int at = bp;
        if (!RespSkipLineEnds(p, ref at, ref cur))
            return -1;
        int text = at;
        while (true)
        {
            if (cur < 1)
                return -1;
            byte c = U8(p, at);
            if (c is (byte)'\r' or (byte)'\n')
                break;
            at++;
            cur--;
        }
        if (!RespSegment(p, text, at - text))
            return -1;
        if (!RespSkipLineEnds(p, ref at, ref cur))
            return -1;
        return length - cur;
    }

    /// <summary>CONSUME_CR_OR_LF: skips CRs and LFs; false when the data ends before any was seen.</summary>
    private static bool RespSkipLineEnds(ReadOnlySpan<byte> p, ref int at, ref int length)
    {
        bool found = false;
        while (true)
        {
            if (length == 0 || !Has(p, at, 1))
                return found;
            if (p[at] != '\r' && p[at] != '\n')
                return true;
            found = true;
            at++;
            length--;
        }
    }

    // ---- AFS RX (UDP 7000-7009) ----

    /// <summary>
    /// tcpdump's rx_print: packet type (with -v sequence, serial and flags) and acknowledgement details. tcpdump
    /// also decodes the AFS service calls and replies in data packets; this printer leaves those out, so such a
    /// line ends at the packet type and length.
    /// </summary>
    private void RxPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        _proto = "rx";
        if (!Has(p, bp, 28))
        {
            _o.Append(" [|rx] (");
            _o.Append(length);
            _o.Append(')');
            return;
        }
        byte type = p[bp + 20], flags = p[bp + 21];
        _o.Append(" rx ");
        string? name = type switch
        {
            1 => "data", 2 => "ack", 3 => "busy", 4 => "abort", 5 => "ackall", 6 => "challenge", 7 => "response",
            8 => "debug", 9 => "params", 13 => "version", _ => null,
        };
        if (name is null)
        {
            _o.Append("type ");
            _o.Append((uint)type);
        }
        else
            _o.Append(name);
        if (_vflag > 0)
        {
            if (_vflag > 1)
            {
                _o.Append(" cid ");
                _o.AppendHex(U32(p, bp + 4), 8);
                _o.Append(" call# ");
                _o.Append(U32(p, bp + 8));
            }
            _o.Append(" seq ");
            _o.Append(U32(p, bp + 12));
            _o.Append(" ser ");
            _o.Append(U32(p, bp + 16));
            if (_vflag > 2)
            {
                _o.Append(" secindex ");
                _o.Append((uint)p[bp + 23]);
                _o.Append(" serviceid ");
                _o.Append((uint)U16(p, bp + 26));
            }
            if (_vflag > 1)
            {
                bool first = true;
                void Flag(PacketPrinter printer, byte value, int bit, int onlyType, byte packetType, string text, ref bool isFirst)
                {
                    if ((value & bit) == 0 || (onlyType != 0 && onlyType != packetType))
                        return;
                    printer._o.Append(isFirst ? " " : ",");
                    isFirst = false;
                    printer._o.Append('<');
                    printer._o.Append(text);
                    printer._o.Append('>');
                }
                Flag(this, flags, 1, 0, type, "client-init", ref first);
                Flag(this, flags, 2, 0, type, "req-ack", ref first);
                Flag(this, flags, 4, 0, type, "last-pckt", ref first);
                Flag(this, flags, 8, 0, type, "more-pckts", ref first);
                Flag(this, flags, 16, 0, type, "free-pckt", ref first);
                Flag(this, flags, 32, 2, type, "slow-start", ref first);
                Flag(this, flags, 32, 1, type, "jumbogram", ref first);
            }
        }
        if (type == 2)
            RxAckPrint(p, bp, length);
        _o.Append(" (");
        _o.Append(length);
        _o.Append(')');
    }

    private void RxAckPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        if (length < 28)
            return;
        bp += 28;
        if (!Has(p, bp, 18))
        {
            _o.Append(" [|ack]");
            return;
        }
        if (_vflag > 2)
        {
            _o.Append(" bufspace ");
            _o.Append((uint)U16(p, bp));
            _o.Append(" maxskew ");
            _o.Append((uint)U16(p, bp + 2));
        }
        uint firstPacket = U32(p, bp + 4);
        _o.Append(" first ");
        _o.Append(firstPacket);
        _o.Append(" serial ");
        _o.Append(U32(p, bp + 12));
        _o.Append(" reason ");
        byte reason = p[bp + 16];
        string? why = reason switch
        {
            1 => "ack requested", 2 => "duplicate packet", 3 => "out of sequence", 4 => "exceeds window",
            5 => "no buffer space", 6 => "ping", 7 => "ping response", 8 => "delay", 9 => "idle", _ => null,
        };
        if (why is null)
        {
            _o.Append('#');
            _o.Append((uint)reason);
        }
        else
            _o.Append(why);
        int acks = p[bp + 17];
        int list = bp + 18;
        if (acks != 0)
        {
            if (!Has(p, list, acks))
            {
                _o.Append(" [|ack]");
                return;
            }
            RxAckRuns(p, list, acks, firstPacket, 1, " acked ");
            RxAckRuns(p, list, acks, firstPacket, 0, " nacked ");
            list += acks;
        }
        list += 3;
        if (_vflag > 1)
        {
            // TRUNCRET: each field is printed only while more than four bytes remain in the capture.
            foreach (string field in (ReadOnlySpan<string>)[" ifmtu", " maxmtu", " rwind", " maxpackets"])
            {
                if (p.Length - list + 1 <= 4)
                    return;
                _o.Append(field);
                _o.Append(' ');
                _o.Append(U32(p, list));
                list += 4;
            }
        }
    }

    /// <summary>The packets of one acknowledgement kind as runs: " acked 1-3,5".</summary>
    private void RxAckRuns(ReadOnlySpan<byte> p, int list, int count, uint firstPacket, byte kind, string label)
    {
        int i, start = -2, last = -2;
        for (i = 0; i < count; i++)
        {
            if (p[list + i] == kind)
            {
                if (last == -2)
                {
                    _o.Append(label);
                    _o.Append(firstPacket + (uint)i);
                    start = i;
                }
                else if (last != i - 1)
                {
                    _o.Append(',');
                    _o.Append(firstPacket + (uint)i);
                    start = i;
                }
                last = i;
            }
            else if (last == i - 1 && start != last)
            {
                _o.Append('-');
                _o.Append(firstPacket + (uint)i - 1);
            }
        }
        if (last == i - 1 && start != last)
        {
            _o.Append('-');
            _o.Append(firstPacket + (uint)i - 1);
        }
    }

    // ---- OSI over LLC: IS-IS ----

    /// <summary>tcpdump's isoclns_print for IS-IS (NLPID 0x83); other NLPIDs get a summary.</summary>
    private void OsiPrint(ReadOnlySpan<byte> p, int off, uint length)
    {
        _proto = "isoclns";
        byte nlpid = U8(p, off);
        if (nlpid != 0x83)
        {
            OtherSummary("OSI", length);
            return;
        }
        if (_eflag)
            _o.Append("OSI NLPID IS-IS (0x83): ");
        if (!IsisPrint(p, off, length))
            UnknownDataPrint(p, off, "\n\t", length);
    }

    private static string? IsisPduName(byte type) => type switch
    {
        15 => "L1 Lan IIH", 16 => "L2 Lan IIH", 17 => "p2p IIH", 18 => "L1 LSP", 20 => "L2 LSP", 24 => "L1 CSNP",
        25 => "L2 CSNP", 26 => "L1 PSNP", 27 => "L2 PSNP", _ => null,
    };

    /// <summary>
    /// tcpdump's isis_print: the common header and the PDU's identifiers on one line (with -v, the first two lines
    /// of its -v form; the TLVs that follow there are not decoded here). False where tcpdump dumps the PDU in hex.
    /// </summary>
    private bool IsisPrint(ReadOnlySpan<byte> p, int off, uint length)
    {
        _proto = "isis";
        if (!Has(p, off, 8) || length < 8)
        {
            PrintTruncated();
            return true;
        }
        if (!_eflag)
            _o.Append("IS-IS");
        byte fixedLength = p[off + 1], version = p[off + 2], idLength = p[off + 3], type = p[off + 4];
        byte pduVersion = p[off + 5], maxArea = p[off + 7];
        if (version != 1)
        {
            _o.Append("version ");
            _o.Append((uint)version);
            _o.Append(" packet not supported");
            return false;
        }
        if (idLength != 6 && idLength != 0)
        {
            _o.Append("system ID length of ");
            _o.Append((uint)idLength);
            _o.Append(" is not supported");
            return false;
        }
        if (pduVersion != 1)
        {
            _o.Append("version ");
            _o.Append((uint)pduVersion);
            _o.Append(" packet not supported");
            return false;
        }
        if (length < fixedLength)
        {
            _o.Append("fixed header length ");
            _o.Append((uint)fixedLength);
            _o.Append(" > packet length ");
            _o.Append(length);
            return false;
        }
        if (fixedLength < 8)
        {
            _o.Append("fixed header length ");
            _o.Append((uint)fixedLength);
            _o.Append(" < minimum header size 8");
            return false;
        }
        if (maxArea == 255)
        {
            _o.Append("bad packet -- 255 areas");
            return false;
        }
        string separator = _eflag ? "" : ", ";
        string? name = IsisPduName(type);
        if (_vflag > 0)
        {
            _o.Append(separator);
            _o.Append("length ");
            _o.Append(length);
            _o.Append("\n\t");
            if (name is null)
            {
                _o.Append("unknown, type ");
                _o.Append((uint)type);
            }
            else
                _o.Append(name);
            _o.Append(", hlen: ");
            _o.Append((uint)fixedLength);
            _o.Append(", v: 1, pdu-v: 1, sys-id-len: 6 (");
            _o.Append((uint)idLength);
            _o.Append("), max-area: ");
            _o.Append(maxArea == 0 ? 3u : maxArea);
            _o.Append(" (");
            _o.Append((uint)maxArea);
            _o.Append(')');
            return true;
        }
        _o.Append(separator);
        if (name is null)
        {
            _o.Append("unknown PDU-Type ");
            _o.Append((uint)type);
            _o.Append(", length ");
            _o.Append(length);
            return true;
        }
        _o.Append(name);
        int h = off + 8;
        uint headerSize = type switch { 15 or 16 => 19, 17 => 12, 18 or 20 => 19, 24 or 25 => 25, _ => 9 };
        if (fixedLength != 8 + headerSize)
        {
            _o.Append(type is 26 or 27 ? "- bogus fixed header length " : ", bogus fixed header length ");
            _o.Append((uint)fixedLength);
            _o.Append(" should be ");
            _o.Append(8 + headerSize);
            return false;
        }
        if (!Has(p, h, headerSize) || length < 8 + headerSize)
        {
            PrintTruncated();
            return true;
        }
        switch (type)
        {
            case 15:
            case 16:
                _o.Append(", src-id ");
                IsisId(p, h + 1, 6);
                _o.Append(", lan-id ");
                IsisId(p, h + 12, 7);
                _o.Append(", prio ");
                _o.Append((uint)(p[h + 11] & 0x7f));
                break;
            case 17:
                _o.Append(", src-id ");
                IsisId(p, h + 1, 6);
                break;
            case 18:
            case 20:
                _o.Append(", lsp-id ");
                IsisId(p, h + 4, 8);
                _o.Append(", seq 0x");
                _o.AppendHex(U32(p, h + 12), 8);
                _o.Append(", lifetime ");
                _o.AppendPadded(U16(p, h + 2), 5);
                _o.Append('s');
                break;
            default:
                _o.Append(", src-id ");
                IsisId(p, h + 2, 7);
                break;
        }
        _o.Append(", length ");
        _o.Append(length);
        return true;
    }

    /// <summary>isis_print_id: "1921.6800.1001", then ".00" for a node id and "-00" for an LSP id.</summary>
    private void IsisId(ReadOnlySpan<byte> p, int at, int idLength)
    {
        for (int i = 1; i <= 6; i++)
        {
            _o.AppendHexByte(p[at + i - 1]);
            if (i is 2 or 4)
                _o.Append('.');
        }
        if (idLength >= 7)
        {
            _o.Append('.');
            _o.AppendHexByte(p[at + 6]);
        }
        if (idLength == 8)
        {
            _o.Append('-');
            _o.AppendHexByte(p[at + 7]);
        }
    }
}
