using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// ICMPv6 (RFC 4443), neighbour discovery (RFC 4861) and MLD (RFC 2710, 3810) as tcpdump's icmp6_print.
public sealed partial class PacketPrinter
{
    private static string? Icmp6TypeName(byte type) => type switch
    {
        1 => "destination unreachable",
        2 => "packet too big",
        3 => "time exceeded in-transit",
        4 => "parameter problem",
        128 => "echo request",
        129 => "echo reply",
        130 => "multicast listener query",
        131 => "multicast listener report",
        132 => "multicast listener done",
        133 => "router solicitation",
        134 => "router advertisement",
        135 => "neighbor solicitation",
        136 => "neighbor advertisement",
        137 => "redirect",
        138 => "router renumbering",
        141 => "inverse neighbor solicitation",
        142 => "inverse neighbor advertisement",
        143 => "multicast listener report v2",
        144 => "ha discovery request",
        145 => "ha discovery reply",
        146 => "mobile router solicitation",
        147 => "mobile router advertisement",
        139 => "who-are-you request",
        140 => "who-are-you reply",
        201 => "mtrace message",
        200 => "mtrace response",
        155 => "RPL",
        _ => null,
    };

    private void Icmp6Print(ReadOnlySpan<byte> p, int dp, uint length, IpContext ip, bool fragmented)
    {
        _proto = "icmp6";
        int oip = dp + 8;
        if (length == 0)
        {
            _o.Append("ICMP6, length 0");
            PrintInvalid();
            return;
        }
        if (_vflag > 0 && !fragmented && Has(p, dp, length))
        {
            ushort field = U16(p, dp + 2);
            ushort sum = PseudoHeaderChecksum6(ip, p.Slice(dp, (int)length), ProtoIcmp6);
            if (sum != 0)
            {
                _o.Append("[bad icmp6 cksum 0x");
                _o.AppendHex(field, 4);
                _o.Append(" -> 0x");
                _o.AppendHex(ChecksumShouldBe(field, sum), 4);
                _o.Append("!] ");
            }
            else
                _o.Append("[icmp6 sum ok] ");
        }

        byte type = U8(p, dp);
        _o.Append("ICMP6, ");
        if (Icmp6TypeName(type) is { } typeName)
            _o.Append(typeName);
        else
        {
            _o.Append("unknown icmp6 type (");
            _o.Append((uint)type);
            _o.Append(')');
        }
        if (_vflag > 0 && type is 133 or 134 or 136 or 135 or 137 or 145 or 147)
        {
            _o.Append(", length ");
            _o.Append(length);
        }
        byte code = U8(p, dp + 1);

        switch (type)
        {
            case 1:
                _o.Append(", ");
                _o.Append(code switch
                {
                    0 => "unreachable route",
                    1 => " unreachable prohibited",
                    2 => "beyond scope",
                    3 => "unreachable address",
                    4 => "unreachable port",
                    _ => null,
                } ?? "");
                if (code > 4)
                {
                    _o.Append("unknown unreach code (");
                    _o.Append((uint)code);
                    _o.Append(')');
                }
                switch (code)
                {
                    case 0:
                    case 1:
                    case 3:
                        _o.Append(' ');
                        Ip6(p, oip + 24);
                        break;
                    case 2:
                        Check(p, oip + 8, 16);
                        _o.Append(' ');
                        Ip6(p, oip + 24);
                        _o.Append(", source address ");
                        Ip6(p, oip + 8);
                        break;
                    case 4:
                        int upper = Icmp6UpperLayer(p, oip, out int prot);
                        if (upper < 0)
                        {
                            PrintTruncated();
                            return;
                        }
                        ushort dport = U16(p, upper + 2);
                        _o.Append(", ");
                        Ip6(p, oip + 24);
                        if (prot == ProtoTcp)
                        {
                            _o.Append(" tcp port ");
                            TcpPort(dport);
                        }
                        else if (prot == ProtoUdp)
                        {
                            _o.Append(" udp port ");
                            UdpPort(dport);
                        }
                        else
                        {
                            _o.Append(" protocol ");
                            _o.Append(prot);
                            _o.Append(" port ");
                            _o.Append((uint)dport);
                            _o.Append(" unreachable");
                        }
                        break;
                    default:
                        if (_vflag <= 1)
                        {
                            UnknownDataPrint(p, dp, "\n\t", length);
                            return;
                        }
                        break;
                }
                break;
            case 2:
                _o.Append(", mtu ");
                _o.Append(U32(p, dp + 4));
                break;
            case 3:
                switch (code)
                {
                    case 0:
                        _o.Append(" for ");
                        Ip6(p, oip + 24);
                        break;
                    case 1:
                        _o.Append(" (reassembly)");
                        break;
                    default:
                        _o.Append(", unknown code (");
                        _o.Append((uint)code);
                        _o.Append(')');
                        break;
                }
                break;
            case 4:
                Check(p, oip + 24, 16);
                string? what = code switch
                {
                    0 => ", erroneous - octet ",
                    1 => ", next header - octet ",
                    2 => ", option - octet ",
                    3 => ", incomplete header chain - octet ",
                    _ => null,
                };
                if (what is not null)
                {
                    _o.Append(what);
                    _o.Append(U32(p, dp + 4));
                }
                else
                {
                    _o.Append(", code-#");
                    _o.Append((uint)code);
                }
                break;
            case 128:
            case 129:
                ushort id = U16(p, dp + 4), seq = U16(p, dp + 6);
                _o.Append(", id ");
                _o.Append((uint)id);
                _o.Append(", seq ");
                _o.Append((uint)seq);
                break;
            case 130:
                if (length == 24)
                    Mld6Print(p, dp);
                else if (length >= 28)
                {
                    _o.Append(" v2");
                    Mldv2QueryPrint(p, dp, length);
                }
                else
                {
                    _o.Append(" unknown-version (len ");
                    _o.Append(length);
                    _o.Append(") ");
                }
                break;
            case 131:
            case 132:
                Mld6Print(p, dp);
                break;
            case 133:
                if (_vflag > 0 && !Icmp6OptionsPrint(p, dp + 8, (int)length - 8))
                {
                    PrintTruncated();
                    return;
                }
                break;
            case 134:
                if (_vflag > 0)
                {
                    byte hopLimit = U8(p, dp + 4);
                    byte raFlags = U8(p, dp + 5);
                    ushort lifetime = U16(p, dp + 6);
                    uint reachable = U32(p, dp + 8), retransmit = U32(p, dp + 12);
                    _o.Append("\n\thop limit ");
                    _o.Append((uint)hopLimit);
                    _o.Append(", Flags [");
                    int mark = _o.Length;
                    AppendFlag(raFlags, 0x80, "managed", mark);
                    AppendFlag(raFlags, 0x40, "other stateful", mark);
                    AppendFlag(raFlags, 0x20, "home agent", mark);
                    AppendFlag(raFlags, 0x02, "ipv6 only", mark);
                    if (_o.Length == mark)
                        _o.Append("none");
                    _o.Append("], pref ");
                    _o.Append(RouterPreference(raFlags));
                    _o.Append(", router lifetime ");
                    _o.Append((uint)lifetime);
                    _o.Append("s, reachable time ");
                    _o.Append(reachable);
                    _o.Append("ms, retrans timer ");
                    _o.Append(retransmit);
                    _o.Append("ms");
                    if (!Icmp6OptionsPrint(p, dp + 16, (int)length - 16))
                    {
                        PrintTruncated();
                        return;
                    }
                }
                break;
            case 135:
                _o.Append(", who has ");
                Ip6(p, dp + 8);
                if (_vflag > 0 && !Icmp6OptionsPrint(p, dp + 24, (int)length - 24))
                {
                    PrintTruncated();
                    return;
                }
                break;
            case 136:
                _o.Append(", tgt is ");
                Ip6(p, dp + 8);
                if (_vflag > 0)
                {
                    uint naFlags = U32(p, dp + 4);
                    _o.Append(", Flags [");
                    int mark = _o.Length;
                    AppendFlag(naFlags, 0x80000000, "router", mark);
                    AppendFlag(naFlags, 0x40000000, "solicited", mark);
                    AppendFlag(naFlags, 0x20000000, "override", mark);
                    if (_o.Length == mark)
                        _o.Append("none");
                    _o.Append(']');
                    if (!Icmp6OptionsPrint(p, dp + 24, (int)length - 24))
                    {
                        PrintTruncated();
                        return;
                    }
                }
                break;
            case 137:
                _o.Append(", ");
                Ip6(p, dp + 24);
                _o.Append(" to ");
                Ip6(p, dp + 8);
                if (_vflag > 0 && !Icmp6OptionsPrint(p, dp + 40, (int)length - 40))
                {
                    PrintTruncated();
                    return;
                }
                break;
            case 138:
                RouterRenumberingPrint(p, dp);
                break;
            case 139:
            case 140:
                NodeInformationPrint(p, dp, length);
                break;
            case 141:
            case 142:
                break;
            case 143:
                Mldv2ReportPrint(p, dp, length);
                break;
            case 146:
            case 144:
                _o.Append(", id 0x");
                _o.AppendHex(U16(p, dp + 4), 4);
                break;
            case 145:
                if (_vflag > 0)
                {
                    _o.Append(", id 0x");
                    _o.AppendHex(U16(p, dp + 4), 4);
                    for (long a = dp + 8; a < dp + (long)length; a += 16)
                    {
                        _o.Append(", ");
                        Ip6(p, (int)a);
                    }
                }
                break;
            case 147:
                if (_vflag > 0)
                {
                    _o.Append(", id 0x");
                    _o.AppendHex(U16(p, dp + 4), 4);
                    ushort mflags = U16(p, dp + 6);
                    if ((mflags & 0xc000) != 0)
                        _o.Append(' ');
                    if ((mflags & 0x8000) != 0)
                        _o.Append('M');
                    if ((mflags & 0x4000) != 0)
                        _o.Append('O');
                    if (!Icmp6OptionsPrint(p, dp + 8, (int)length - 8))
                    {
                        PrintTruncated();
                        return;
                    }
                }
                break;
            case 155:
                if ((code & 0x80) != 0)
                    _o.Append(", (SEC) [worktodo]");
                else
                {
                    _o.Append(", (CLR)");
                    _o.Append((code & 0x7f) switch
                    {
                        0 => "DODAG Information Solicitation",
                        1 => "DODAG Information Object",
                        2 => "Destination Advertisement Object",
                        3 => "Destination Advertisement Object Ack",
                        _ => null,
                    } ?? "");
                    if ((code & 0x7f) > 3)
                    {
                        _o.Append("RPL message, unknown code ");
                        _o.Append((uint)code);
                    }
                    else if (_vflag > 0)
                        RplPrint(p, dp + 4, code & 0x7f, length - 4);
                }
                break;
            default:
                _o.Append(", length ");
                _o.Append(length);
                if (_vflag <= 1)
                    UnknownDataPrint(p, dp, "\n\t", length);
                return;
        }
        if (_vflag == 0)
        {
            _o.Append(", length ");
            _o.Append(length);
        }
    }

    /// <summary>bittok2str-style flag list with ", " separators.</summary>
    private void AppendFlag(uint flags, uint bit, string name, int listStart)
    {
        if ((flags & bit) == 0)
            return;
        if (_o.Length != listStart)
            _o.Append(", ");
        _o.Append(name);
    }

    private static string RouterPreference(byte flags) => ((flags & 0x18) >> 3) switch
    {
        0 => "medium",
        1 => "high",
        2 => "rsv",
        _ => "low",
    };

    /// <summary>tcpdump's get_upperlayer: the offset of the TCP/UDP header in a quoted IPv6 datagram, or -1.</summary>
    private static int Icmp6UpperLayer(ReadOnlySpan<byte> p, int ip6, out int prot)
    {
        prot = 0;
        if (!Has(p, ip6 + 6, 1))
            return -1;
        int nh = p[ip6 + 6];
        int hlen = 40;
        int bp = ip6;
        while (bp < p.Length)
        {
            bp += hlen;
            switch (nh)
            {
                case ProtoUdp:
                case ProtoTcp:
                    if (Has(p, bp + 2, 2))
                    {
                        prot = nh;
                        return bp;
                    }
                    return -1;
                case 0:
                case 60:
                case 43:
                    if (!Has(p, bp + 1, 1))
                        return -1;
                    nh = p[bp];
                    hlen = (p[bp + 1] + 1) << 3;
                    break;
                case 44:
                    if (!Has(p, bp + 2, 2))
                        return -1;
                    if ((U16(p, bp + 2) & 0xfff8) != 0)
                        return -1;
                    nh = p[bp];
                    hlen = 8;
                    break;
                case 51:
                    if (!Has(p, bp + 1, 1))
                        return -1;
                    nh = p[bp];
                    hlen = (p[bp + 1] + 2) << 2;
                    break;
                default:
                    prot = nh;
                    return -1;
            }
        }
        return -1;
    }

    private void Lifetime(uint v)
    {
        if (v == uint.MaxValue)
            _o.Append("infinity");
        else
        {
            _o.Append(v);
            _o.Append('s');
        }
    }

    /// <summary>tcpdump's icmp6_opt_print (ND options, -v); false when they ran past the captured bytes.</summary>
    private bool Icmp6OptionsPrint(ReadOnlySpan<byte> p, int bp, int resid)
    {
        int cp = bp;
        Span<byte> prefix = stackalloc byte[16];
        while (cp < p.Length)
        {
            if (!Has(p, cp + 1, 1))
                return false;
            if (resid <= 0)
                return true;
            byte optType = p[cp];
            int optLen = p[cp + 1];
            if (optLen == 0)
                return false;
            if (cp + (optLen << 3) > p.Length)
                return false;
            _o.Append("\n\t  ");
            _o.Append(optType switch
            {
                1 => "source link-address",
                2 => "destination link-address",
                3 => "prefix info",
                4 => "redirected header",
                5 => "mtu",
                25 => "rdnss",
                31 => "dnssl",
                7 => "advertisement interval",
                8 => "homeagent information",
                24 => "route info",
                _ => "unknown",
            });
            _o.Append(" option (");
            _o.Append((uint)optType);
            _o.Append("), length ");
            _o.Append(optLen << 3);
            _o.Append(" (");
            _o.Append(optLen);
            _o.Append("): ");
            switch (optType)
            {
                case 1:
                case 2:
                    int l = (optLen << 3) - 2;
                    for (int i = 0; i < l; i++)
                    {
                        if (i > 0)
                            _o.Append(':');
                        _o.AppendHexByte(U8(p, cp + 2 + i));
                    }
                    break;
                case 3:
                    Check(p, cp + 16, 16);
                    Ip6(p, cp + 16);
                    _o.Append('/');
                    _o.Append((uint)U8(p, cp + 2));
                    if (optLen != 4)
                        _o.Append("badlen");
                    _o.Append(", Flags [");
                    int mark = _o.Length;
                    byte piFlags = U8(p, cp + 3);
                    AppendFlag(piFlags, 0x80, "onlink", mark);
                    AppendFlag(piFlags, 0x40, "auto", mark);
                    AppendFlag(piFlags, 0x20, "router", mark);
                    if (_o.Length == mark)
                        _o.Append("none");
                    _o.Append("], valid time ");
                    Lifetime(U32(p, cp + 4));
                    _o.Append(", pref. time ");
                    Lifetime(U32(p, cp + 8));
                    break;
                case 4:
                    UnknownDataPrint(p, bp, "\n\t    ", (uint)optLen << 3);
                    break;
                case 5:
                    _o.Append(' ');
                    _o.Append(U32(p, cp + 4));
                    if (optLen != 1)
                        _o.Append("bad option length");
                    break;
                case 25:
                    int count = (optLen - 1) / 2;
                    _o.Append(" lifetime ");
                    _o.Append(U32(p, cp + 4));
                    _o.Append("s,");
                    for (int i = 0; i < count; i++)
                    {
                        _o.Append(" addr: ");
                        Ip6(p, cp + 8 + 16 * i);
                    }
                    break;
                case 31:
                    _o.Append(" lifetime ");
                    _o.Append(U32(p, cp + 4));
                    _o.Append("s, domain(s):");
                    int domp = cp + 8;
                    while (domp < cp + (optLen << 3) && U8(p, domp) != 0)
                    {
                        _o.Append(' ');
                        domp = FqdnPrint(p, domp, bp);
                        if (domp < 0)
                            return false;
                    }
                    break;
                case 7:
                    _o.Append(' ');
                    _o.Append(U32(p, cp + 4));
                    _o.Append("ms");
                    break;
                case 8:
                    _o.Append(" preference ");
                    _o.Append((uint)U16(p, cp + 4));
                    _o.Append(", lifetime ");
                    _o.Append((uint)U16(p, cp + 6));
                    break;
                case 24:
                    Check(p, cp + 4, 4);
                    prefix.Clear();
                    switch (optLen)
                    {
                        case 1:
                            break;
                        case 2:
                            Check(p, cp + 8, 8);
                            p.Slice(cp + 8, 8).CopyTo(prefix);
                            break;
                        case 3:
                            Check(p, cp + 8, 16);
                            p.Slice(cp + 8, 16).CopyTo(prefix);
                            break;
                        default:
                            return false;
                    }
                    _o.Append(' ');
                    AppendIp6(prefix);
                    _o.Append('/');
                    _o.Append((uint)U8(p, cp + 2));
                    _o.Append(", pref=");
                    _o.Append(RouterPreference(U8(p, cp + 3)));
                    _o.Append(", lifetime=");
                    Lifetime(U32(p, cp + 4));
                    break;
                default:
                    if (_vflag <= 1)
                    {
                        UnknownDataPrint(p, cp + 2, "\n\t  ", (uint)(optLen << 3) - 2);
                        return true;
                    }
                    break;
            }
            if (_vflag > 1)
                UnknownDataPrint(p, cp + 2, "\n\t    ", (uint)(optLen << 3) - 2);
            cp += optLen << 3;
            resid -= optLen << 3;
        }
        return true;
    }

    private void Mld6Print(ReadOnlySpan<byte> p, int dp)
    {
        if (dp + 24 > p.Length)
            return;
        _o.Append("max resp delay: ");
        _o.Append((uint)U16(p, dp + 4));
        _o.Append(" addr: ");
        Ip6(p, dp + 8);
    }

    private void Mldv2ReportPrint(ReadOnlySpan<byte> p, int bp, uint len)
    {
        if (len < 8)
        {
            _o.Append(" [invalid len ");
            _o.Append(len);
            _o.Append(']');
            return;
        }
        GroupRecordsPrint(p, bp, len, 16, "v2-report");
    }

    private void Mldv2QueryPrint(ReadOnlySpan<byte> p, int bp, uint len)
    {
        if (len < 28)
        {
            _o.Append(" [invalid len ");
            _o.Append(len);
            _o.Append(']');
            return;
        }
        uint mrc = U16(p, bp + 4);
        uint mrt = mrc < 32768 ? mrc : ((mrc & 0x0fff) | 0x1000) << (int)(((mrc & 0x7000) >> 12) + 3);
        if (_vflag > 0)
        {
            _o.Append(" [max resp delay=");
            _o.Append(mrt);
            _o.Append(']');
        }
        _o.Append(" [gaddr ");
        Ip6(p, bp + 8);
        if (_vflag > 0)
        {
            byte b24 = U8(p, bp + 24);
            if ((b24 & 0x08) != 0)
                _o.Append(" sflag");
            if ((b24 & 0x07) != 0)
            {
                _o.Append(" robustness=");
                _o.Append((uint)(b24 & 7));
            }
            byte b25 = U8(p, bp + 25);
            uint qqi = b25 < 128 ? b25 : ((uint)(b25 & 0x0f) | 0x10) << (((b25 & 0x70) >> 4) + 3);
            _o.Append(" qqi=");
            _o.Append(qqi);
        }
        uint nsrcs = U16(p, bp + 26);
        if (nsrcs > 0)
        {
            if (len < 28 + nsrcs * 16)
                _o.Append(" [invalid number of sources]");
            else if (_vflag > 1)
            {
                _o.Append(" {");
                for (uint i = 0; i < nsrcs; i++)
                {
                    _o.Append(' ');
                    Ip6(p, bp + 28 + (int)(i * 16));
                }
                _o.Append(" }");
            }
            else
            {
                _o.Append(", ");
                _o.Append(nsrcs);
                _o.Append(" source(s)");
            }
        }
        _o.Append(']');
    }

    /// <summary>Router renumbering (RFC 2894), as tcpdump's icmp6_rrenum_print.</summary>
    private void RouterRenumberingPrint(ReadOnlySpan<byte> p, int dp)
    {
        if (p.Length < dp)
            return;
        Check(p, dp + 12, 4);
        byte code = U8(p, dp + 1);
        switch (code)
        {
            case 0: _o.Append(", command"); break;
            case 1: _o.Append(", result"); break;
            case 255: _o.Append(", sequence number reset"); break;
            default:
                _o.Append(", code-#");
                _o.Append((uint)code);
                break;
        }
        _o.Append(", seq=");
        _o.Append(U32(p, dp + 4));
        if (_vflag > 0)
        {
            byte flags = U8(p, dp + 9);
            _o.Append('[');
            if (flags != 0)
            {
                if ((flags & 0x80) != 0) _o.Append('T');
                if ((flags & 0x40) != 0) _o.Append('R');
                if ((flags & 0x20) != 0) _o.Append('A');
                if ((flags & 0x10) != 0) _o.Append('S');
                if ((flags & 0x08) != 0) _o.Append('P');
                _o.Append(',');
            }
            _o.Append("seg=");
            _o.Append((uint)U8(p, dp + 8));
            _o.Append(",maxdelay=");
            _o.Append((uint)U16(p, dp + 10));
            uint reserved = U32(p, dp + 12);
            if (reserved != 0)
            {
                _o.Append("rsvd=0x");
                _o.AppendHex(reserved);
            }
            _o.Append(']');
        }
        if (code != 0)
            return;

        int match = dp + 16;
        Check(p, match + 8, 16);
        _o.Append(_vflag > 1 ? "\n\t" : " ");
        _o.Append("match(");
        byte matchCode = U8(p, match);
        switch (matchCode)
        {
            case 1: _o.Append("add"); break;
            case 2: _o.Append("change"); break;
            case 3: _o.Append("setglobal"); break;
            default:
                _o.Append('#');
                _o.Append((uint)matchCode);
                break;
        }
        if (_vflag > 0)
        {
            _o.Append(",ord=");
            _o.Append((uint)U8(p, match + 2));
            _o.Append(",min=");
            _o.Append((uint)U8(p, match + 4));
            _o.Append(",max=");
            _o.Append((uint)U8(p, match + 5));
        }
        _o.Append(',');
        AppendIp6(p.Slice(match + 8, 16));
        _o.Append('/');
        _o.Append((uint)U8(p, match + 3));
        _o.Append(')');

        int n = U8(p, match + 1) - 3;
        if (n % 4 != 0)
        {
            PrintTruncated();
            return;
        }
        n /= 4;
        for (int use = match + 24; n-- > 0; use += 32)
        {
            Check(p, use + 16, 16);
            _o.Append(_vflag > 1 ? "\n\t" : " ");
            _o.Append("use(");
            byte useFlags = U8(p, use + 12);
            if (useFlags != 0)
            {
                if ((useFlags & 0x80) != 0) _o.Append('V');
                if ((useFlags & 0x40) != 0) _o.Append('P');
                _o.Append(',');
            }
            if (_vflag > 0)
            {
                _o.Append("mask=0x");
                _o.AppendHex(U8(p, use + 2));
                _o.Append(",raflags=0x");
                _o.AppendHex(U8(p, use + 3));
                _o.Append(',');
                RouterRenumberingTime("vltime=", U32(p, use + 4));
                RouterRenumberingTime("pltime=", U32(p, use + 8));
            }
            AppendIp6(p.Slice(use + 16, 16));
            _o.Append('/');
            _o.Append((uint)U8(p, use));
            _o.Append('/');
            _o.Append((uint)U8(p, use + 1));
            _o.Append(')');
        }
    }

    private void RouterRenumberingTime(string label, uint value)
    {
        _o.Append(label);
        if (value == 0xffffffff)
            _o.Append("infty");
        else
            _o.Append(value);
        _o.Append(',');
    }

    /// <summary>Node information query and reply (RFC 4620), as tcpdump's icmp6_nodeinfo_print.</summary>
    private void NodeInformationPrint(ReadOnlySpan<byte> p, int dp, uint icmp6Length)
    {
        if (p.Length < dp)
            return;
        int ep = p.Length;
        int size = ep - dp;
        byte type = U8(p, dp);
        if (type == 139)
        {
            if (size == 12)
            {
                // KAME's who-are-you.
                _o.Append(" who-are-you request");
                return;
            }
            _o.Append(" node information query");
            Check(p, dp, 16);
            _o.Append(" (");
            ushort qtype = U16(p, dp + 4);
            switch (qtype)
            {
                case 0:
                    _o.Append("noop");
                    break;
                case 1:
                    _o.Append("supported qtypes");
                    if (U16(p, dp + 6) != 0)
                        _o.Append((U16(p, dp + 6) & 1) != 0 ? " [C]" : " []");
                    break;
                case 2:
                    _o.Append("DNS name");
                    break;
                case 3:
                    _o.Append("node addresses");
                    NodeAddressFlags(U16(p, dp + 6), withTruncate: false);
                    break;
                default:
                    _o.Append("unknown");
                    break;
            }
            if (qtype is 0 or 1)
            {
                if (size != 16 && _vflag > 0)
                    _o.Append(", invalid len");
                _o.Append(')');
                return;
            }
            if (size == 16)
            {
                _o.Append(", 03 draft)");
                return;
            }
            int cp = dp + 16;
            switch (U8(p, dp + 1))
            {
                case 0:
                    if (!Has(p, dp, 32))
                        break;
                    if (size != 32)
                    {
                        if (_vflag > 0)
                            _o.Append(", invalid subject len");
                        break;
                    }
                    _o.Append(", subject=");
                    Ip6(p, cp);
                    break;
                case 1:
                    _o.Append(", subject=DNS name");
                    NodeInformationName(p, cp, ep);
                    break;
                case 2:
                    if (!Has(p, dp, 20))
                        break;
                    if (size != 20)
                    {
                        if (_vflag > 0)
                            _o.Append(", invalid subject len");
                        break;
                    }
                    _o.Append(", subject=");
                    Ip4(p, cp);
                    break;
                default:
                    _o.Append(", unknown subject");
                    break;
            }
            _o.Append(')');
            return;
        }

        if (type != 140)
            return;
        if (icmp6Length > (uint)size)
        {
            PrintTruncated();
            return;
        }
        bool comma = false;
        Check(p, dp, 16);
        _o.Append(" node information reply (");
        byte code = U8(p, dp + 1);
        switch (code)
        {
            case 0:
                if (_vflag > 0)
                {
                    _o.Append("success");
                    comma = true;
                }
                break;
            case 1:
            case 2:
                _o.Append(code == 1 ? "refused" : "unknown");
                comma = true;
                if (size != 16 && _vflag > 0)
                    _o.Append(", invalid length");
                break;
        }
        if (code != 0)
        {
            _o.Append(')');
            return;
        }
        if (comma)
            _o.Append(", ");
        ushort replyType = U16(p, dp + 4);
        switch (replyType)
        {
            case 0:
                _o.Append("noop");
                if (size != 16 && _vflag > 0)
                    _o.Append(", invalid length");
                break;
            case 1:
                _o.Append("supported qtypes");
                if (U16(p, dp + 6) != 0)
                    _o.Append((U16(p, dp + 6) & 1) != 0 ? " [C]" : " []");
                break;
            case 2:
            {
                _o.Append("DNS name");
                int cp = dp + 20;
                if (U8(p, cp) == ep - cp - 1)
                {
                    if (_vflag > 0)
                        _o.Append(", 03 draft");
                    _o.Append(", \"");
                    for (cp++; cp < ep; cp++)
                        PrintEscapedChar(U8(p, cp));
                    _o.Append('"');
                }
                else
                    NodeInformationName(p, cp, ep);
                if ((U16(p, dp + 6) & 1) != 0)
                {
                    uint ttl = U32(p, dp + 16);
                    _o.Append(" [TTL=");
                    _o.Append(ttl);
                    _o.Append(']');
                }
                break;
            }
            case 3:
                _o.Append("node addresses");
                for (int i = 16; i < size && i + 20 <= size; i += 20)
                {
                    Check(p, dp + i + 4, 16);
                    uint ttl = U32(p, dp + i);
                    _o.Append(' ');
                    Ip6(p, dp + i + 4);
                    _o.Append('(');
                    _o.Append(ttl);
                    _o.Append(')');
                }
                NodeAddressFlags(U16(p, dp + 6), withTruncate: true);
                break;
            default:
                _o.Append("unknown");
                break;
        }
        _o.Append(')');
    }

    private void NodeAddressFlags(ushort flags, bool withTruncate)
    {
        if (flags == 0)
            return;
        _o.Append(" [");
        if ((flags & 0x40) != 0) _o.Append('a');
        if ((flags & 0x20) != 0) _o.Append('G');
        if ((flags & 0x10) != 0) _o.Append('S');
        if ((flags & 0x08) != 0) _o.Append('L');
        if ((flags & 0x04) != 0) _o.Append('C');
        if ((flags & 0x02) != 0) _o.Append('A');
        if (withTruncate && (flags & 0x01) != 0) _o.Append('T');
        _o.Append(']');
    }

    /// <summary>tcpdump's dnsname_print for node information: labels without compression, quoted.</summary>
    private void NodeInformationName(ReadOnlySpan<byte> p, int cp, int ep)
    {
        _o.Append(", \"");
        while (cp < ep)
        {
            int i = U8(p, cp);
            cp++;
            if (i != 0)
            {
                if (i > ep - cp)
                {
                    _o.Append("???");
                    break;
                }
                while (i-- > 0 && cp < ep)
                {
                    PrintEscapedChar(U8(p, cp));
                    cp++;
                }
                if (cp + 1 < ep && U8(p, cp) != 0)
                    _o.Append('.');
            }
            else
            {
                if (cp == ep)
                    _o.Append('.');
                else if (!(cp + 1 == ep && U8(p, cp) == 0))
                    _o.Append("???");
                break;
            }
        }
        _o.Append('"');
    }

    /// <summary>RPL DAO and DAO-ACK details (-v), as tcpdump's rpl_dao_print and rpl_daoack_print; DIO as rpl_dio_print.</summary>
    private void RplPrint(ReadOnlySpan<byte> p, int bp, int code, uint length)
    {
        switch (code)
        {
            case 1:
            {
                // struct nd_rpl_dio: instance, version, rank(2), mop/prf, dtsn, flags, reserved, dagid(16).
                if (length < 24)
                {
                    PrintInvalid();
                    return;
                }
                Check(p, bp + 8, 16);
                byte dtsn = U8(p, bp + 5), instance = U8(p, bp), mopprf = U8(p, bp + 4);
                ushort rank = U16(p, bp + 2);
                _o.Append(" [dagid:");
                Ip6(p, bp + 8);
                _o.Append(",seq:");
                _o.Append((uint)dtsn);
                _o.Append(",instance:");
                _o.Append((uint)instance);
                _o.Append(",rank:");
                _o.Append((uint)rank);
                _o.Append(',');
                if ((mopprf & 0x80) != 0)
                    _o.Append("grounded,");
                _o.Append("mop:");
                int mop = (mopprf >> 3) & 7;
                switch (mop)
                {
                    case 0: _o.Append("nonstoring"); break;
                    case 1: _o.Append("storing"); break;
                    case 2: _o.Append("nonstoring-multicast"); break;
                    case 3: _o.Append("storing-multicast"); break;
                    default:
                        _o.Append("mop");
                        _o.Append(mop);
                        break;
                }
                _o.Append(",prf:");
                _o.Append(mopprf & 7);
                _o.Append(']');
                if (_vflag > 1)
                    RplOptionsPrint(p, bp + 24, length - 24);
                return;
            }
            case 2:
            {
                Check(p, bp, 20);
                if (length < 4)
                {
                    _o.Append(" [|length too short]");
                    return;
                }
                int opts = bp + 4;
                length -= 4;
                byte flags = U8(p, bp + 1);
                bool dagid = (flags & 0x40) != 0;
                if (dagid)
                {
                    if (length < 16)
                    {
                        _o.Append(" [|length too short]");
                        return;
                    }
                    opts += 16;
                    length -= 16;
                }
                _o.Append(" [dagid:");
                if (dagid)
                    Ip6(p, bp + 4);
                else
                    _o.Append("<elided>");
                _o.Append(",seq:");
                _o.Append((uint)U8(p, bp + 3));
                _o.Append(",instance:");
                _o.Append((uint)U8(p, bp));
                if ((flags & 0x80) != 0)
                    _o.Append(",acK");
                if (dagid)
                    _o.Append(",Dagid");
                _o.Append(',');
                _o.AppendHexByte(flags);
                _o.Append(']');
                if (_vflag > 1)
                    RplOptionsPrint(p, opts, length);
                return;
            }
            case 3:
            {
                Check(p, bp, 4);
                if (length < 4)
                {
                    _o.Append(" [|dao-length too short]");
                    return;
                }
                int opts = bp + 4;
                length -= 4;
                bool dagid = (U8(p, bp + 1) & 0x80) != 0;
                if (dagid)
                {
                    Check(p, bp + 4, 16);
                    if (length < 16)
                    {
                        _o.Append(" [|dao-length too short]");
                        return;
                    }
                    opts += 16;
                    length -= 16;
                }
                _o.Append(" [dagid:");
                if (dagid)
                    Ip6(p, bp + 4);
                else
                    _o.Append("<elided>");
                _o.Append(",seq:");
                _o.Append((uint)U8(p, bp + 2));
                _o.Append(",instance:");
                _o.Append((uint)U8(p, bp));
                _o.Append(",status:");
                _o.Append((uint)U8(p, bp + 3));
                _o.Append(']');
                if (_vflag > 1)
                    RplOptionsPrint(p, opts, length);
                return;
            }
        }
    }

    private void RplOptionsPrint(ReadOnlySpan<byte> p, int opts, uint length)
    {
        while (length != 0)
        {
            byte type = U8(p, opts);
            uint optlen;
            if (type == 0)
            {
                optlen = 1;
                _o.Append(" opt:pad1");
            }
            else
            {
                if (length < 2)
                {
                    PrintTruncated();
                    return;
                }
                optlen = (uint)U8(p, opts + 1) + 2;
                _o.Append(" opt:");
                string? name = type switch
                {
                    1 => "padN", 2 => "metrics", 3 => "routinginfo", 4 => "config", 5 => "rpltarget",
                    6 => "transitinfo", 8 => "destprefix", 9 => "rpltargetdesc", _ => null,
                };
                if (name is null)
                {
                    _o.Append("subopt:");
                    _o.Append((uint)type);
                }
                else
                    _o.Append(name);
                _o.Append(" len:");
                _o.Append(optlen);
                _o.Append(' ');
                if (!Has(p, opts, optlen) || length < optlen)
                {
                    PrintTruncated();
                    return;
                }
                if (_vflag > 2)
                    HexPrint(p, opts + 2, optlen - 2, " ");
            }
            opts += (int)optlen;
            length -= optlen;
        }
    }
}
