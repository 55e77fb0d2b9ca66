using KdtCapture.Capture.Printing.Internal;
using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// Link layers: Ethernet (with 802.1Q/QinQ tags), 802.2 LLC/SNAP, Linux cooked v1/v2, BSD loopback.
public sealed partial class PacketPrinter
{
    private const ushort EtherTypeIPv4 = 0x0800;
    private const ushort EtherTypeArp = 0x0806;
    private const ushort EtherTypeRarp = 0x8035;
    private const ushort EtherTypeIPv6 = 0x86dd;
    private const ushort EtherType8021Q = 0x8100;
    private const ushort EtherTypeJumbo = 0x8870;
    private const uint MaxEthernetLength = 1500;

    private static bool IsVlanType(ushort t) => t is 0x8100 or 0x9100 or 0x9200 or 0x88a8;

    private void EtherTypePrint(ushort type)
    {
        if (!_qflag)
        {
            _o.Append("ethertype ");
            _o.Append(NameTables.EtherType(type) ?? "Unknown");
            _o.Append(" (0x");
            _o.AppendHex(type, 4);
            _o.Append(')');
        }
        else if (NameTables.EtherType(type) is { } name)
            _o.Append(name);
        else
        {
            _o.Append("Unknown Ethertype (0x");
            _o.AppendHex(type, 4);
            _o.Append(')');
        }
    }

    private void EtherAddressesPrint(ReadOnlySpan<byte> p, int src, int dst)
    {
        Mac(p, src);
        _o.Append(" > ");
        Mac(p, dst);
        _o.Append(", ");
    }

    private void VlanTciPrint(ushort tci)
    {
        _o.Append("vlan ");
        _o.Append((uint)(tci & 0xfff));
        _o.Append(", p ");
        _o.Append((uint)(tci >> 13));
        if ((tci & 0x1000) != 0)
            _o.Append(", DEI");
    }

    /// <summary>tcpdump's ether_print; returns the link-layer header length.</summary>
    private int EtherPrint(ReadOnlySpan<byte> p, int off, uint length)
    {
        uint caplen = (uint)(p.Length - off);
        if (length < caplen)
        {
            _o.Append("[length ");
            _o.Append(length);
            _o.Append(" < caplen ");
            _o.Append(caplen);
            _o.Append(']');
            PrintInvalid();
            return (int)length;
        }
        if (caplen < 14)
        {
            PrintTruncated();
            return (int)caplen;
        }
        uint origLength = length;
        int dst = off, src = off + 6;
        length -= 12;
        caplen -= 12;
        off += 12;
        int hdrlen = 12;
        if (_eflag)
            EtherAddressesPrint(p, src, dst);

        ushort lengthType = U16(p, off);
        length -= 2;
        caplen -= 2;
        off += 2;
        hdrlen += 2;

        bool printedLength = false;
        while (IsVlanType(lengthType))
        {
            if (caplen < 4)
            {
                _proto = "vlan";
                PrintTruncated();
                return hdrlen + (int)caplen;
            }
            if (length < 4)
            {
                _proto = "vlan";
                PrintTruncated();
                return hdrlen + (int)length;
            }
            if (_eflag)
            {
                ushort tag = U16(p, off);
                EtherTypePrint(lengthType);
                if (!printedLength)
                {
                    _o.Append(", length ");
                    _o.Append(origLength);
                    _o.Append(": ");
                    printedLength = true;
                }
                else
                    _o.Append(", ");
                VlanTciPrint(tag);
                _o.Append(", ");
            }
            lengthType = U16(p, off + 2);
            off += 4;
            length -= 4;
            caplen -= 4;
            hdrlen += 4;
        }

        if (lengthType <= MaxEthernetLength)
        {
            // An 802.3 length field: the payload ends there, padding does not belong to it.
            if (lengthType < length)
            {
                length = lengthType;
                if (caplen > length)
                    caplen = length;
            }
            var payload = Limit(p, off, length);
            if (_eflag)
            {
                _o.Append("802.3");
                if (!printedLength)
                {
                    _o.Append(", length ");
                    _o.Append(length);
                    _o.Append(": ");
                }
            }
            int llc = LlcPrint(payload, off, length, caplen, p, src, dst);
            if (llc < 0)
            {
                DefaultPrintUnlessSuppressed(payload, off, caplen);
                llc = -llc;
            }
            hdrlen += llc;
        }
        else if (lengthType == EtherTypeJumbo)
        {
            int llc = LlcPrint(p, off, length, caplen, p, src, dst);
            if (llc < 0)
            {
                DefaultPrintUnlessSuppressed(p, off, caplen);
                llc = -llc;
            }
            hdrlen += llc;
        }
        else
        {
            if (_eflag)
            {
                EtherTypePrint(lengthType);
                if (!printedLength)
                {
                    _o.Append(", length ");
                    _o.Append(origLength);
                    _o.Append(": ");
                }
                else
                    _o.Append(", ");
            }
            if (!EtherTypeDispatch(lengthType, p, off, length, caplen))
            {
                if (!_eflag)
                {
                    EtherAddressesPrint(p, src, dst);
                    EtherTypePrint(lengthType);
                    _o.Append(", length ");
                    _o.Append(origLength);
                    _o.Append(": ");
                }
                DefaultPrintUnlessSuppressed(p, off, caplen);
            }
        }
        return hdrlen;
    }

    /// <summary>
    /// tcpdump's ethertype_print: decodes the payload of an Ethernet type, or returns false when tcpdump would
    /// dump it raw. Types tcpdump decodes with printers this printer lacks get a one-line summary.
    /// </summary>
    private bool EtherTypeDispatch(ushort type, ReadOnlySpan<byte> p, int off, uint length, uint caplen)
    {
        switch (type)
        {
            case EtherTypeIPv4:
                IpPrint(p, off, length);
                return true;
            case EtherTypeIPv6:
                Ip6Print(p, off, length);
                return true;
            case EtherTypeArp:
            case EtherTypeRarp:
                ArpPrint(p, off, length, caplen);
                return true;
            case 0x88a2:
                AoePrint(p, off, length);
                return true;
            case 0x88f7:
                PtpPrint(p, off, length);
                return true;
            case 0x6003: // DECnet
            case 0x809b: // AppleTalk
            case 0x80f3: // AppleTalk ARP
            case 0x8137: // IPX
            case 0xfefe: // OSI
            case 0x8863 or 0x8864 or 0x3c12 or 0x3c13: // PPPoE
            case 0x888e: // EAPOL
            case 0x8899: // Realtek
            case 0x880b: // PPP
            case 0x8808: // MPCP
            case 0x8809: // Slow protocols (LACP, OAM)
            case 0x8902 or 0xabcd: // CFM
            case 0x88cc: // LLDP
            case 0x894f: // NSH
            case 0x9000: // Loopback
            case 0x8847 or 0x8848: // MPLS
            case 0x88ca: // TIPC
            case 0x886f: // MS NLB
            case 0x0707 or 0x8947: // GeoNet
            case 0x1111: // CALM FAST
                OtherEtherTypeSummary(type, length);
                return true;
            default:
                return false;
        }
    }

    private void OtherEtherTypeSummary(ushort type, uint length)
    {
        _o.Append(type switch
        {
            0x6003 => "DECnet",
            0x809b => "AppleTalk",
            0x80f3 => "AARP",
            0x8137 => "IPX",
            0xfefe => "OSI",
            0x8863 or 0x3c12 => "PPPoE PADx",
            0x8864 or 0x3c13 => "PPPoE",
            0x888e => "EAPOL",
            0x8899 => "Realtek",
            0x880b => "PPP",
            0x8808 => "MPCP",
            0x8809 => "Slow Protocols",
            0x8902 or 0xabcd => "CFM",
            0x88cc => "LLDP",
            0x894f => "NSH",
            0x9000 => "Loopback",
            0x8847 => "MPLS",
            0x8848 => "MPLS multicast",
            0x88ca => "TIPC",
            0x886f => "MS NLB heartbeat",
            0x0707 or 0x8947 => "GeoNet",
            0x1111 => "CALM FAST",
            0x88a2 => "AoE",
            _ => "PTP",
        });
        _o.Append(", length ");
        _o.Append(length);
    }

    // ---- 802.2 LLC ----

    private static string? LlcSapName(byte sap) => sap switch
    {
        0x00 => "Null",
        0xff => "Global",
        0x02 => "802.1B I",
        0x03 => "802.1B G",
        0x04 => "SNA",
        0x06 => "IP",
        0x0e => "ProWay NM",
        0x42 => "STP",
        0x4e => "RS511",
        0x7e => "ISO8208",
        0x8e => "ProWay",
        0xaa => "SNAP",
        0xe0 => "IPX",
        0xf0 => "NetBeui",
        0xfe => "OSI",
        _ => null,
    };

    private void LlcSapPrint(byte sap, string unknownPrefix)
    {
        if (LlcSapName(sap) is { } name)
            _o.Append(name);
        else
        {
            _o.Append(unknownPrefix);
            _o.AppendHexByte(sap);
        }
    }

    private static string LlcUnnumberedCommand(byte cmd) => cmd switch
    {
        0x03 => "ui",
        0x43 => "disc",
        0x63 => "ua",
        0x6f => "sabme",
        0xe3 => "test",
        0xaf => "xid",
        0x87 => "frmr",
        0x0f => "dm",
        _ => "",
    };

    /// <summary>
    /// tcpdump's llc_print: returns the LLC (+SNAP) header length, negative when the payload was not decoded
    /// and should be dumped raw. <paramref name="frame"/>, <paramref name="src"/>, <paramref name="dst"/>
    /// locate the MAC addresses printed for undecoded frames (src &lt; 0: none).
    /// </summary>
    private int LlcPrint(ReadOnlySpan<byte> p, int off, uint length, uint caplen, ReadOnlySpan<byte> frame, int src, int dst)
    {
        _proto = "llc";
        if (caplen < 3 || length < 3)
        {
            PrintTruncated();
            DefaultPrint(p, off, caplen);
            return (int)(caplen < 3 ? caplen : length);
        }
        byte dsapField = U8(p, off);
        byte ssapField = U8(p, off + 1);
        uint control = U8(p, off + 2);
        bool isU;
        int hdrlen;
        if ((control & 3) == 3)
        {
            isU = true;
            hdrlen = 3;
        }
        else
        {
            if (caplen < 4 || length < 4)
            {
                PrintTruncated();
                DefaultPrint(p, off, caplen);
                return (int)(caplen < 4 ? caplen : length);
            }
            control = (uint)(U8(p, off + 2) | U8(p, off + 3) << 8);
            isU = false;
            hdrlen = 4;
        }

        if (ssapField == 0xff && dsapField == 0xff)
        {
            // Novell "raw 802.3": IPX straight after the length field.
            if (_eflag)
                _o.Append("IPX 802.3: ");
            OtherSummary("IPX", length);
            return 0;
        }

        byte dsap = (byte)(dsapField & 0xfe);
        byte ssap = (byte)(ssapField & 0xfe);
        if (_eflag)
        {
            _o.Append("LLC, dsap ");
            _o.Append(LlcSapName(dsap) ?? "Unknown");
            _o.Append(" (0x");
            _o.AppendHexByte(dsap);
            _o.Append(") ");
            _o.Append((dsapField & 1) != 0 ? "Group" : "Individual");
            _o.Append(", ssap ");
            _o.Append(LlcSapName(ssap) ?? "Unknown");
            _o.Append(" (0x");
            _o.AppendHexByte(ssap);
            _o.Append(") ");
            _o.Append((ssapField & 1) != 0 ? "Response" : "Command");
            _o.Append(", ctrl 0x");
            _o.AppendHex(control, isU ? 2 : 4);
            _o.Append(": ");
        }

        off += hdrlen;
        length -= (uint)hdrlen;
        caplen -= (uint)hdrlen;

        if (ssap == 0xaa && dsap == 0xaa && control == 0x03)
            return SnapPrint(p, off, length, caplen, frame, src, dst) ? hdrlen + 5 : -(hdrlen + 5);
        if (ssap == 0x42 && dsap == 0x42 && control == 0x03)
        {
            StpPrint(p, off, length);
            return hdrlen;
        }
        if (ssap == 0x06 && dsap == 0x06 && control == 0x03)
        {
            IpPrint(p, off, length);
            return hdrlen;
        }
        if (ssap == 0xe0 && dsap == 0xe0 && control == 0x03)
        {
            if (_eflag)
                _o.Append("IPX 802.2: ");
            OtherSummary("IPX", length);
            return hdrlen;
        }
        if (ssap == 0xfe && dsap == 0xfe && control == 0x03)
        {
            OsiPrint(p, off, length);
            return hdrlen;
        }

        if (!_eflag)
        {
            if (ssap == dsap)
            {
                if (src >= 0)
                {
                    Mac(frame, src);
                    _o.Append(" > ");
                    Mac(frame, dst);
                    _o.Append(' ');
                }
                LlcSapPrint(dsap, "Unknown DSAP 0x");
                _o.Append(' ');
            }
            else
            {
                if (src >= 0)
                {
                    Mac(frame, src);
                    _o.Append(' ');
                }
                LlcSapPrint(ssap, "Unknown SSAP 0x");
                _o.Append(" > ");
                if (src >= 0)
                {
                    Mac(frame, dst);
                    _o.Append(' ');
                }
                LlcSapPrint(dsap, "Unknown DSAP 0x");
                _o.Append(' ');
            }
        }

        uint flagBits = (uint)(ssapField & 1) | (isU ? control & 0x10 : control & 0x100);
        string flags = flagBits switch
        {
            0 => "Command",
            1 => "Response",
            0x10 or 0x100 => "Poll",
            _ => "Final",
        };
        if (isU)
        {
            _o.Append("Unnumbered, ");
            string cmd = LlcUnnumberedCommand((byte)(control & 0xef));
            if (cmd.Length > 0)
                _o.Append(cmd);
            else
                _o.AppendHexByte((byte)(control & 0xef));
            _o.Append(", Flags [");
            _o.Append(flags);
            _o.Append("], length ");
            _o.Append(length + (uint)hdrlen);
            if ((control & ~0x10u) == 0xaf)
            {
                if (length == 0)
                    return hdrlen;
                if (caplen < 1)
                {
                    PrintTruncated();
                    return hdrlen;
                }
                if (U8(p, off) == 0x81)
                {
                    if (caplen < 3 || length < 3)
                    {
                        PrintTruncated();
                        DefaultPrint(p, off, caplen);
                    }
                    else
                    {
                        _o.Append(": ");
                        _o.AppendHexByte(U8(p, off + 1));
                        _o.Append(' ');
                        _o.AppendHexByte(U8(p, off + 2));
                    }
                    return hdrlen;
                }
            }
        }
        else if ((control & 3) == 1)
        {
            _o.Append("Supervisory, ");
            _o.Append(((control >> 2) & 3) switch { 0 => "Receiver Ready", 1 => "Receiver not Ready", 2 => "Reject", _ => "?" });
            _o.Append(", rcv seq ");
            _o.Append(control >> 9);
            _o.Append(", Flags [");
            _o.Append(flags);
            _o.Append("], length ");
            _o.Append(length + (uint)hdrlen);
            return hdrlen;
        }
        else
        {
            _o.Append("Information, send seq ");
            _o.Append((control >> 1) & 0x7f);
            _o.Append(", rcv seq ");
            _o.Append(control >> 9);
            _o.Append(", Flags [");
            _o.Append(flags);
            _o.Append("], length ");
            _o.Append(length + (uint)hdrlen);
        }
        return -hdrlen;
    }

    /// <summary>The protocol id's name under an OUI, as tcpdump's oui_to_struct_tok tables give it.</summary>
    private static string? SnapPidName(uint org, ushort pid) => org switch
    {
        0x000000 or 0x0000f8 or 0x080007 => NameTables.EtherType(pid),
        0x00000c => pid switch
        {
            0x2000 => "CDP", 0x2003 => "VTP", 0x2004 => "DTP", 0x0111 => "UDLD", 0x010b => "PVST", 0x010c => "VLAN Bridge",
            _ => null,
        },
        0x0080c2 => pid switch
        {
            0x0001 => "Ethernet + FCS", 0x0007 => "Ethernet w/o FCS", 0x0002 => "802.4 + FCS", 0x0008 => "802.4 w/o FCS",
            0x0003 => "Token Ring + FCS", 0x0009 => "Token Ring w/o FCS", 0x0004 => "FDDI + FCS", 0x000a => "FDDI w/o FCS",
            0x0005 => "802.6 + FCS", 0x000b => "802.6 w/o FCS", 0x000e => "BPDU", _ => null,
        },
        _ => null,
    };

    /// <summary>tcpdump's snap_print: true when the payload was printed.</summary>
    private bool SnapPrint(ReadOnlySpan<byte> p, int off, uint length, uint caplen, ReadOnlySpan<byte> frame, int src, int dst)
    {
        _proto = "snap";
        if (!Has(p, off, 5))
        {
            PrintTruncated();
            return true;
        }
        if (caplen < 5 || length < 5)
        {
            PrintTruncated();
            return true;
        }
        uint org = U24(p, off);
        ushort et = U16(p, off + 3);
        if (_eflag)
        {
            _o.Append("oui ");
            _o.Append(NameTables.Oui(org) ?? "Unknown");
            _o.Append(" (0x");
            _o.AppendHex(org, 6);
            _o.Append("), ");
            _o.Append(org == 0 ? "ethertype" : "pid");
            _o.Append(' ');
            _o.Append(SnapPidName(org, et) ?? "Unknown");
            _o.Append(" (0x");
            _o.AppendHex(et, 4);
            _o.Append("), length ");
            _o.Append(length - 5);
            _o.Append(": ");
        }
        off += 5;
        length -= 5;
        caplen -= 5;
        if ((org == 0x000000 || org == 0x0000f8) && EtherTypeDispatch(et, p, off, length, caplen))
            return true;
        // Cisco's per-VLAN spanning tree and VLAN bridge BPDUs.
        if (org == 0x00000c && et is 0x010b or 0x010c)
        {
            StpPrint(p, off, length);
            return true;
        }
        if (!_eflag)
        {
            if (src >= 0)
            {
                Mac(frame, src);
                _o.Append(" > ");
                Mac(frame, dst);
                _o.Append(' ');
            }
            if (org == 0)
            {
                _o.Append("SNAP, ethertype ");
                _o.Append(NameTables.EtherType(et) ?? "Unknown");
                _o.Append(" (0x");
                _o.AppendHex(et, 4);
                _o.Append("), length ");
            }
            else
            {
                _o.Append("SNAP, oui ");
                _o.Append(NameTables.Oui(org) ?? "Unknown");
                _o.Append(" (0x");
                _o.AppendHex(org, 6);
                _o.Append("), pid ");
                _o.Append(SnapPidName(org, et) ?? "Unknown");
                _o.Append(" (0x");
                _o.AppendHex(et, 4);
                _o.Append("), length ");
            }
            _o.Append(length);
            _o.Append(": ");
        }
        return false;
    }

    /// <summary>A one-line summary for a protocol tcpdump decodes but this printer does not.</summary>
    private void OtherSummary(string name, uint length)
    {
        _o.Append(name);
        _o.Append(", length ");
        _o.Append(length);
    }

    // ---- Linux cooked capture ----

    private static string SllPacketType(uint t) => t switch
    {
        0 => "In",
        1 => "B",
        2 => "M",
        3 => "P",
        4 => "Out",
        _ => "?",
    };

    private void SllProtocolPrint(ushort etherType, uint length)
    {
        if (!_qflag)
        {
            if (etherType <= MaxEthernetLength)
            {
                switch (etherType)
                {
                    case 1:
                        _o.Append("802.3");
                        break;
                    case 4:
                        _o.Append("802.2");
                        break;
                    default:
                        _o.Append("ethertype Unknown (0x");
                        _o.AppendHex(etherType, 4);
                        _o.Append(')');
                        break;
                }
            }
            else
            {
                _o.Append("ethertype ");
                _o.Append(NameTables.EtherType(etherType) ?? "Unknown");
                _o.Append(" (0x");
                _o.AppendHex(etherType, 4);
                _o.Append(')');
            }
            _o.Append(", length ");
            _o.Append(length);
            _o.Append(": ");
        }
    }

    private void SllHeaderPrint(ReadOnlySpan<byte> p, uint length)
    {
        _proto = "sll";
        _o.AppendRightAligned(SllPacketType(U16(p, 0)), 3);
        _o.Append(' ');
        if (U16(p, 4) == 6)
        {
            Mac(p, 6);
            _o.Append(' ');
        }
        SllProtocolPrint(U16(p, 14), length);
    }

    private void SllPrint(ReadOnlySpan<byte> p, uint length)
    {
        _proto = "sll";
        Check(p, 0, 16);
        if (_eflag)
            SllHeaderPrint(p, length);
        ushort hatype = U16(p, 2);
        ushort etherType = U16(p, 14);
        int hdrlen = SllPayload(p, 16, length - 16, etherType, hatype, out bool unknown);
        if (unknown && !_eflag)
            SllHeaderPrint(p, length);
        if (unknown)
            DefaultPrintUnlessSuppressed(p, hdrlen, (uint)(p.Length - hdrlen));
        _llHeaderLength += hdrlen;
    }

    private void Sll2HeaderPrint(ReadOnlySpan<byte> p, uint length)
    {
        _proto = "sll2";
        _o.Append("ifindex ");
        _o.Append(U32(p, 4));
        _o.Append(' ');
        if (U8(p, 11) == 6)
        {
            Mac(p, 12);
            _o.Append(' ');
        }
        SllProtocolPrint(U16(p, 0), length);
    }

    private void Sll2Print(ReadOnlySpan<byte> p, uint length)
    {
        _proto = "sll2";
        Check(p, 0, 20);
        // tcpdump names the interface index as the reading machine knows it (if_indextoname), else "?".
        _o.AppendLeftAligned(InterfaceNameOfIndex(U32(p, 4)), 5);
        _o.Append(' ');
        _o.AppendLeftAligned(SllPacketType(U8(p, 10)), 3);
        _o.Append(' ');
        if (_eflag)
            Sll2HeaderPrint(p, length);
        ushort hatype = U16(p, 8);
        ushort etherType = U16(p, 0);
        int hdrlen = SllPayload(p, 20, length - 20, etherType, hatype, out bool unknown);
        if (unknown && !_eflag)
            Sll2HeaderPrint(p, length);
        if (unknown)
            DefaultPrintUnlessSuppressed(p, hdrlen, (uint)(p.Length - hdrlen));
        _llHeaderLength += hdrlen;
    }

    /// <summary>The shared part of sll_if_print and sll2_if_print after the header; returns the header length.</summary>
    private int SllPayload(ReadOnlySpan<byte> p, int off, uint length, ushort etherType, ushort hatype, out bool unknown)
    {
        unknown = false;
        int hdrlen = off;
        uint caplen = (uint)(p.Length - off);
        if (hatype == 803)
        {
            // A radiotap header follows; this printer has no 802.11 decoder.
            OtherSummary("802.11 radiotap", length);
            return hdrlen;
        }
        while (true)
        {
            if (etherType <= MaxEthernetLength)
            {
                switch (etherType)
                {
                    case 1:
                        OtherSummary("IPX", length);
                        return hdrlen;
                    case 4:
                        int llc = LlcPrint(p, off, length, caplen, p, -1, -1);
                        if (llc < 0)
                        {
                            DefaultPrintUnlessSuppressed(p, off, caplen);
                            return hdrlen;
                        }
                        return hdrlen + llc;
                    default:
                        DefaultPrintUnlessSuppressed(p, off, caplen);
                        return hdrlen;
                }
            }
            if (etherType == EtherType8021Q)
            {
                if (caplen < 4)
                {
                    _proto = "vlan";
                    PrintTruncated();
                    return hdrlen + (int)caplen;
                }
                if (_eflag)
                {
                    VlanTciPrint(U16(p, off));
                    _o.Append(", ");
                }
                etherType = U16(p, off + 2);
                if (etherType <= MaxEthernetLength)
                    etherType = 4;
                if (!_qflag)
                {
                    _o.Append("ethertype ");
                    _o.Append(NameTables.EtherType(etherType) ?? "Unknown");
                    _o.Append(", ");
                }
                off += 4;
                length -= 4;
                caplen -= 4;
                hdrlen += 4;
                continue;
            }
            if (!EtherTypeDispatch(etherType, p, off, length, caplen))
            {
                unknown = true;
                return hdrlen;
            }
            return hdrlen;
        }
    }

    private Dictionary<uint, string>? _interfaceNames;

    private string InterfaceNameOfIndex(uint index)
    {
        _interfaceNames ??= [];
        if (_interfaceNames.TryGetValue(index, out var name))
            return name;
        name = "?";
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/sys/class/net"))
            {
                var text = File.ReadAllText(Path.Combine(dir, "ifindex")).Trim();
                if (uint.TryParse(text, out uint i) && i == index)
                {
                    name = Path.GetFileName(dir);
                    break;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        _interfaceNames[index] = name;
        return name;
    }

    // ---- BSD loopback ----

    private void NullHeaderPrint(uint family, uint length)
    {
        if (!_qflag)
        {
            _o.Append("AF ");
            _o.Append(NameTables.BsdAddressFamily(family) ?? "Unknown");
            _o.Append(" (");
            _o.Append(family);
            _o.Append(')');
        }
        else if (NameTables.BsdAddressFamily(family) is { } name)
            _o.Append(name);
        else
        {
            _o.Append("Unknown AF ");
            _o.Append(family);
        }
        _o.Append(", length ");
        _o.Append(length);
        _o.Append(": ");
    }

    private void NullPrint(ReadOnlySpan<byte> p, uint length)
    {
        _proto = "null";
        Check(p, 0, 4);
        _llHeaderLength += 4;
        // The family is in the capturing host's byte order (DLT_NULL) or big-endian (DLT_LOOP); tcpdump
        // reads it little-endian here and swaps when the upper half is set.
        uint family = U32LittleEndian(p, 0);
        if ((family & 0xffff0000) != 0)
            family = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(family);
        if (_eflag)
            NullHeaderPrint(family, length);
        length -= 4;
        uint caplen = (uint)(p.Length - 4);
        switch (family)
        {
            case 2:
                IpPrint(p, 4, length);
                break;
            case 24 or 28 or 30:
                Ip6Print(p, 4, length);
                break;
            case 7:
                OtherSummary("OSI", length);
                break;
            case 16:
                OtherSummary("AppleTalk", length);
                break;
            case 23:
                OtherSummary("IPX", length);
                break;
            default:
                if (!_eflag)
                    NullHeaderPrint(family, length + 4);
                DefaultPrintUnlessSuppressed(p, 4, caplen);
                break;
        }
    }
}
