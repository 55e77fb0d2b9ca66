using KdtCapture.Capture.Printing.Internal;
using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// Protocols beyond the core set that are cheap to print as tcpdump does (IGMP, GRE, STP), and the
// one-line summaries for IP protocols tcpdump decodes and this printer does not.
public sealed partial class PacketPrinter
{
    private void IgmpPrint(ReadOnlySpan<byte> p, int bp, uint len)
    {
        _proto = "igmp";
        if (_qflag)
        {
            _o.Append("igmp");
            return;
        }
        byte type = U8(p, bp);
        switch (type)
        {
            case 0x11:
                _o.Append("igmp query");
                if (len >= 12)
                    Igmpv3QueryPrint(p, bp, len);
                else
                {
                    byte mrt = U8(p, bp + 1);
                    if (mrt != 0)
                    {
                        _o.Append(" v2");
                        if (mrt != 100)
                        {
                            _o.Append(" [max resp time ");
                            _o.Append((uint)mrt);
                            _o.Append(']');
                        }
                    }
                    else
                        _o.Append(" v1");
                    if (U32(p, bp + 4) != 0)
                    {
                        _o.Append(" [gaddr ");
                        Ip4(p, bp + 4);
                        _o.Append(']');
                    }
                    if (len != 8)
                        LenNote(len);
                }
                break;
            case 0x12:
                Check(p, bp + 4, 4);
                _o.Append("igmp v1 report ");
                Ip4(p, bp + 4);
                if (len != 8)
                    LenNote(len);
                break;
            case 0x16:
                Check(p, bp + 4, 4);
                _o.Append("igmp v2 report ");
                Ip4(p, bp + 4);
                break;
            case 0x22:
                _o.Append("igmp v3 report");
                Igmpv3ReportPrint(p, bp, len);
                break;
            case 0x17:
                Check(p, bp + 4, 4);
                _o.Append("igmp leave ");
                Ip4(p, bp + 4);
                break;
            case 0x13:
                _o.Append("igmp dvmrp");
                if (len < 8)
                    LenNote(len);
                break;
            case 0x14:
                _o.Append("igmp pimv1");
                break;
            case 0x1e:
                _o.Append("mresp");
                break;
            case 0x1f:
                _o.Append("mtrace");
                break;
            default:
                _o.Append("igmp-");
                _o.Append((uint)type);
                break;
        }
        if (_vflag > 0 && len >= 4 && Has(p, bp, len) && InternetChecksum(p.Slice(bp, (int)len)) != 0)
        {
            _o.Append(" bad igmp cksum ");
            _o.AppendHex(U16(p, bp + 2));
            _o.Append('!');
        }
    }

    private void LenNote(uint len)
    {
        _o.Append(" [len ");
        _o.Append(len);
        _o.Append(']');
    }

    private void Igmpv3QueryPrint(ReadOnlySpan<byte> p, int bp, uint len)
    {
        _o.Append(" v3");
        if (len < 12 || (len & 3) != 0)
        {
            _o.Append(" [invalid len ");
            _o.Append(len);
            _o.Append(']');
            return;
        }
        uint mrc = U8(p, bp + 1);
        uint mrt = mrc < 128 ? mrc : ((mrc & 0x0f) | 0x10) << (int)(((mrc & 0x70) >> 4) + 3);
        if (mrc != 100)
        {
            _o.Append(" [max resp time ");
            if (mrt < 600)
            {
                // printf("%.1fs", mrt * 0.1)
                _o.Append(mrt / 10);
                _o.Append('.');
                _o.Append(mrt % 10);
                _o.Append('s');
            }
            else
                RelativeTimePrint(mrt / 10);
            _o.Append(']');
        }
        if (U32(p, bp + 4) == 0)
            return;
        _o.Append(" [gaddr ");
        Ip4(p, bp + 4);
        uint nsrcs = U16(p, bp + 10);
        if (nsrcs > 0)
        {
            if (len < 12 + (nsrcs << 2))
                _o.Append(" [invalid number of sources]");
            else if (_vflag > 1)
            {
                _o.Append(" {");
                for (uint i = 0; i < nsrcs; i++)
                {
                    _o.Append(' ');
                    Ip4(p, bp + 12 + (int)(i << 2));
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

    private void Igmpv3ReportPrint(ReadOnlySpan<byte> p, int bp, uint len)
    {
        if (len < 16 || (len & 3) != 0)
        {
            _o.Append(" [invalid len ");
            _o.Append(len);
            _o.Append(']');
            return;
        }
        GroupRecordsPrint(p, bp, len, 4, "v3-report");
    }

    /// <summary>
    /// The group records of an IGMPv3 report (RFC 3376 4.2) or an MLDv2 report (RFC 3810 5.2),
    /// which differ only in the address length (4 or 16): type, aux length, source count,
    /// group address, sources. <paramref name="unknownType"/> names a record type beyond 6.
    /// </summary>
    private void GroupRecordsPrint(ReadOnlySpan<byte> p, int bp, uint len, int addressLength, string unknownType)
    {
        uint ngroups = U16(p, bp + 6);
        _o.Append(", ");
        _o.Append(ngroups);
        _o.Append(" group record(s)");
        if (_vflag == 0)
            return;
        uint header = 4 + (uint)addressLength;
        uint group = 8;
        for (uint i = 0; i < ngroups; i++)
        {
            if (len < group + header)
            {
                _o.Append(" [invalid number of groups]");
                return;
            }
            _o.Append(" [gaddr ");
            GroupAddress(p, bp + (int)group + 4, addressLength);
            _o.Append(' ');
            byte rtype = U8(p, bp + (int)group);
            string? rname = rtype switch
            {
                1 => "is_in",
                2 => "is_ex",
                3 => "to_in",
                4 => "to_ex",
                5 => "allow",
                6 => "block",
                _ => null,
            };
            if (rname is not null)
                _o.Append(rname);
            else
            {
                _o.Append(" [");
                _o.Append(unknownType);
                _o.Append("-#");
                _o.Append((uint)rtype);
                _o.Append(']');
            }
            uint nsrcs = U16(p, bp + (int)group + 2);
            if (len < group + header + nsrcs * (uint)addressLength)
            {
                _o.Append(" [invalid number of sources ");
                _o.Append(nsrcs);
                _o.Append(']');
                return;
            }
            if (_vflag == 1)
            {
                _o.Append(", ");
                _o.Append(nsrcs);
                _o.Append(" source(s)");
            }
            else
            {
                _o.Append(" {");
                for (uint j = 0; j < nsrcs; j++)
                {
                    _o.Append(' ');
                    GroupAddress(p, bp + (int)(group + header + j * (uint)addressLength), addressLength);
                }
                _o.Append(" }");
            }
            group += header + nsrcs * (uint)addressLength;
            _o.Append(']');
        }
    }

    private void GroupAddress(ReadOnlySpan<byte> p, int at, int addressLength)
    {
        if (addressLength == 4)
            Ip4(p, at);
        else
            Ip6(p, at);
    }

    // ---- GRE (RFC 2784, 2890; version 1 is PPTP's enhanced GRE, RFC 2637) ----

    private void GreFlagsPrint(ushort flags)
    {
        _o.Append(", Flags [");
        int mark = _o.Length;
        AppendFlag(flags, 0x8000, "checksum present", mark);
        AppendFlag(flags, 0x4000, "routing present", mark);
        AppendFlag(flags, 0x2000, "key present", mark);
        AppendFlag(flags, 0x1000, "sequence# present", mark);
        AppendFlag(flags, 0x0800, "source routing present", mark);
        AppendFlag(flags, 0x0080, "ack present", mark);
        if (_o.Length == mark)
            _o.Append("none");
        _o.Append(']');
    }

    private void GrePrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        _proto = "gre";
        if (!Has(p, bp, 2) || length < 2)
        {
            PrintTruncated();
            return;
        }
        uint version = U16(p, bp) & 7u;
        _o.Append("GREv");
        _o.Append(version);
        switch (version)
        {
            case 0:
                Gre0Print(p, bp, length);
                break;
            case 1:
                Gre1Print(p, bp, length);
                break;
            default:
                _o.Append(" ERROR: unknown-version");
                break;
        }
    }

    private void Gre0Print(ReadOnlySpan<byte> p, int bp, uint length)
    {
        uint len = length;
        ushort flags = U16(p, bp);
        if (_vflag > 0)
            GreFlagsPrint(flags);
        len -= 2;
        bp += 2;
        if (!Has(p, bp, 2) || len < 2)
        {
            PrintTruncated();
            return;
        }
        ushort prot = U16(p, bp);
        len -= 2;
        bp += 2;
        if ((flags & 0xc000) != 0)
        {
            if (!Has(p, bp, 2) || len < 2)
            {
                PrintTruncated();
                return;
            }
            if (_vflag > 0)
            {
                _o.Append(", sum 0x");
                _o.AppendHex(U16(p, bp));
            }
            bp += 2;
            len -= 2;
            if (!Has(p, bp, 2) || len < 2)
            {
                PrintTruncated();
                return;
            }
            _o.Append(", off 0x");
            _o.AppendHex(U16(p, bp));
            bp += 2;
            len -= 2;
        }
        if ((flags & 0x2000) != 0)
        {
            if (!Has(p, bp, 4) || len < 4)
            {
                PrintTruncated();
                return;
            }
            _o.Append(", key=0x");
            _o.AppendHex(U32(p, bp));
            bp += 4;
            len -= 4;
        }
        if ((flags & 0x1000) != 0)
        {
            if (!Has(p, bp, 4) || len < 4)
            {
                PrintTruncated();
                return;
            }
            _o.Append(", seq ");
            _o.Append(U32(p, bp));
            bp += 4;
            len -= 4;
        }
        if ((flags & 0x4000) != 0)
        {
            while (true)
            {
                if (!Has(p, bp, 4) || len < 4)
                {
                    PrintTruncated();
                    return;
                }
                ushort af = U16(p, bp);
                int sreoff = U8(p, bp + 2), srelen = U8(p, bp + 3);
                bp += 4;
                len -= 4;
                if (af == 0 && srelen == 0)
                    break;
                if (!GreSourceRoutePrint(p, af, sreoff, srelen, bp, len) || len < srelen)
                {
                    PrintTruncated();
                    return;
                }
                bp += srelen;
                len -= (uint)srelen;
            }
        }
        if (_eflag)
        {
            _o.Append(", proto ");
            _o.Append(NameTables.EtherType(prot) ?? "unknown");
            _o.Append(" (0x");
            _o.AppendHex(prot, 4);
            _o.Append(')');
        }
        _o.Append(", length ");
        _o.Append(length);
        _o.Append(_vflag < 1 ? ": " : "\n\t");
        switch (prot)
        {
            case EtherTypeIPv4:
                IpPrint(p, bp, len);
                break;
            case EtherTypeIPv6:
                Ip6Print(p, bp, len);
                break;
            case 0x6558:
                EtherPrint(p, bp, len);
                break;
            case 0x8847:
                OtherSummary("MPLS", len);
                break;
            case 0x8137:
                OtherSummary("IPX", len);
                break;
            case 0x809b:
                OtherSummary("AppleTalk", len);
                break;
            case 0x00fe:
                OtherSummary("OSI", len);
                break;
            default:
                _o.Append("gre-proto-0x");
                _o.AppendHex(prot);
                break;
        }
    }

    private bool GreSourceRoutePrint(ReadOnlySpan<byte> p, ushort af, int sreoff, int srelen, int bp, uint len)
    {
        switch (af)
        {
            case 0x0800:
                _o.Append(", (rtaf=ip");
                bool ok = GreSourceRouteList(p, sreoff, srelen, bp, len, 4);
                _o.Append(')');
                return ok;
            case 0xfffe:
                _o.Append(", (rtaf=asn");
                ok = GreSourceRouteList(p, sreoff, srelen, bp, len, 2);
                _o.Append(')');
                return ok;
            default:
                _o.Append(", (rtaf=0x");
                _o.AppendHex(af);
                _o.Append(')');
                return true;
        }
    }

    private bool GreSourceRouteList(ReadOnlySpan<byte> p, int sreoff, int srelen, int bp, uint len, int size)
    {
        if ((sreoff & (size - 1)) != 0)
        {
            _o.Append(", badoffset=");
            _o.Append(sreoff);
            return true;
        }
        if ((srelen & (size - 1)) != 0)
        {
            _o.Append(", badlength=");
            _o.Append(srelen);
            return true;
        }
        if (sreoff >= srelen)
        {
            _o.Append(", badoff/len=");
            _o.Append(sreoff);
            _o.Append('/');
            _o.Append(srelen);
            return true;
        }
        int up = bp;
        while (srelen != 0)
        {
            if (!Has(p, bp, size) || len < size)
                return false;
            _o.Append(' ');
            if (bp - up == sreoff)
                _o.Append('*');
            if (size == 4)
                AppendIp4(U32(p, bp));
            else
                _o.AppendHex(U16(p, bp));
            bp += size;
            len -= (uint)size;
            srelen -= size;
        }
        return true;
    }

    private void Gre1Print(ReadOnlySpan<byte> p, int bp, uint length)
    {
        uint len = length;
        ushort flags = U16(p, bp);
        len -= 2;
        bp += 2;
        if (_vflag > 0)
            GreFlagsPrint(flags);
        if (!Has(p, bp, 2) || len < 2)
        {
            PrintTruncated();
            return;
        }
        ushort prot = U16(p, bp);
        len -= 2;
        bp += 2;
        if ((flags & 0x2000) != 0)
        {
            if (!Has(p, bp, 4) || len < 4)
            {
                PrintTruncated();
                return;
            }
            _o.Append(", call ");
            _o.Append(U32(p, bp) & 0xffff);
            len -= 4;
            bp += 4;
        }
        if ((flags & 0x1000) != 0)
        {
            if (!Has(p, bp, 4) || len < 4)
            {
                PrintTruncated();
                return;
            }
            _o.Append(", seq ");
            _o.Append(U32(p, bp));
            bp += 4;
            len -= 4;
        }
        if ((flags & 0x0080) != 0)
        {
            if (!Has(p, bp, 4) || len < 4)
            {
                PrintTruncated();
                return;
            }
            _o.Append(", ack ");
            _o.Append(U32(p, bp));
            bp += 4;
            len -= 4;
        }
        if ((flags & 0x1000) == 0)
            _o.Append(", no-payload");
        if (_eflag)
        {
            _o.Append(", proto ");
            _o.Append(NameTables.EtherType(prot) ?? "unknown");
            _o.Append(" (0x");
            _o.AppendHex(prot, 4);
            _o.Append(')');
        }
        _o.Append(", length ");
        _o.Append(length);
        if ((flags & 0x1000) == 0)
            return;
        _o.Append(_vflag < 1 ? ": " : "\n\t");
        if (prot == 0x880b)
            OtherSummary("PPP", len);
        else
        {
            _o.Append("gre-proto-0x");
            _o.AppendHex(prot);
        }
    }

    // ---- Spanning tree (802.1D/w/s) ----

    private void BridgeIdPrint(ReadOnlySpan<byte> p, int offset)
    {
        Check(p, offset, 8);
        _o.AppendHexByte(p[offset]);
        _o.AppendHexByte(p[offset + 1]);
        _o.Append('.');
        for (int i = 2; i < 8; i++)
        {
            if (i > 2)
                _o.Append(':');
            _o.AppendHexByte(p[offset + i]);
        }
    }

    private void StpFlagsPrint(byte flags)
    {
        int mark = _o.Length;
        AppendFlag(flags, 0x01, "Topology change", mark);
        AppendFlag(flags, 0x02, "Proposal", mark);
        AppendFlag(flags, 0x10, "Learn", mark);
        AppendFlag(flags, 0x20, "Forward", mark);
        AppendFlag(flags, 0x40, "Agreement", mark);
        AppendFlag(flags, 0x80, "Topology change ACK", mark);
        if (_o.Length == mark)
            _o.Append("none");
    }

    /// <summary>printf("%.2fs", value / 256.0): exact, ties to even as glibc rounds.</summary>
    private void StpSeconds(ushort value)
    {
        uint scaled = value * 100u;
        uint q = scaled / 256, r = scaled % 256;
        if (r > 128 || (r == 128 && (q & 1) != 0))
            q++;
        _o.Append(q / 100);
        _o.Append('.');
        _o.AppendPadded(q % 100, 2, '0');
        _o.Append('s');
    }

    private void StpPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        _proto = "stp";
        if (length < 4)
        {
            PrintInvalid();
            return;
        }
        if (U16(p, bp) != 0)
        {
            _o.Append("unknown STP version, length ");
            _o.Append(length);
            return;
        }
        byte version = U8(p, bp + 2);
        _o.Append("STP ");
        string? vname = version switch { 0 => "802.1d", 2 => "802.1w", 3 => "802.1s", 4 => "802.1aq", _ => null };
        if (vname is null)
        {
            _o.Append("Unknown STP protocol (0x");
            _o.AppendHexByte(version);
            _o.Append(')');
            return;
        }
        _o.Append(vname);
        byte type = U8(p, bp + 3);
        _o.Append(", ");
        switch (type)
        {
            case 0x00:
                _o.Append("Config");
                if (length < 35)
                {
                    PrintInvalid();
                    return;
                }
                StpConfigPrint(p, bp, length);
                break;
            case 0x02:
                _o.Append("Rapid STP");
                if (version == 2)
                {
                    if (length < 36)
                    {
                        PrintInvalid();
                        return;
                    }
                    StpConfigPrint(p, bp, length);
                }
                else if (version is 3 or 4)
                {
                    if (length < 102 || U8(p, bp + 35) != 0)
                    {
                        PrintInvalid();
                        return;
                    }
                    uint mstpLen = (uint)U16(p, bp + 36) + 2;
                    if (length < 36 + mstpLen)
                    {
                        PrintInvalid();
                        return;
                    }
                    // The MSTI and SPB details (-v) are not decoded here.
                    _o.Append(", CIST Flags [");
                    StpFlagsPrint(U8(p, bp + 4));
                    _o.Append("], length ");
                    _o.Append(length);
                }
                break;
            case 0x80:
                _o.Append("Topology Change");
                break;
            default:
                _o.Append("Unknown BPDU Type (0x");
                _o.AppendHexByte(type);
                _o.Append(')');
                break;
        }
    }

    private void StpConfigPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        byte flags = U8(p, bp + 4);
        _o.Append(", Flags [");
        StpFlagsPrint(flags);
        _o.Append(']');
        // tcpdump fetches the whole bridge id and port before printing any of them.
        Check(p, bp + 17, 10);
        _o.Append(", bridge-id ");
        BridgeIdPrint(p, bp + 17);
        _o.Append('.');
        _o.AppendHex(U16(p, bp + 25), 4);
        _o.Append(", length ");
        _o.Append(length);
        if (_vflag == 0)
            return;
        Check(p, bp + 27, 8);
        _o.Append("\n\tmessage-age ");
        StpSeconds(U16(p, bp + 27));
        _o.Append(", max-age ");
        StpSeconds(U16(p, bp + 29));
        _o.Append(", hello-time ");
        StpSeconds(U16(p, bp + 31));
        _o.Append(", forwarding-delay ");
        StpSeconds(U16(p, bp + 33));
        Check(p, bp + 5, 12);
        _o.Append("\n\troot-id ");
        BridgeIdPrint(p, bp + 5);
        _o.Append(", root-pathcost ");
        _o.Append(U32(p, bp + 13));
        if (U8(p, bp + 2) == 2)
        {
            _o.Append(", port-role ");
            _o.Append(((flags & 0x0c) >> 2) switch { 1 => "Alternate", 2 => "Root", 3 => "Designated", _ => "Unknown" });
        }
    }

    // ---- IP protocols tcpdump decodes and this printer summarises ----

    private void OtherIpProtocolPrint(ReadOnlySpan<byte> p, int bp, uint length, in IpContext ip, byte proto)
    {
        switch (proto)
        {
            case ProtoSctp:
            case ProtoDccp:
                // These print their own addresses and ports, like TCP and UDP.
                _proto = proto == ProtoSctp ? "sctp" : "dccp";
                if (!Has(p, bp, 4))
                {
                    PrintTruncated();
                    return;
                }
                ushort sport = U16(p, bp), dport = U16(p, bp + 2);
                if (ip.Version == 6)
                {
                    Check(ip.Packet, ip.Offset + 24, 16);
                    Ip6(ip.Packet, ip.Offset + 8);
                    _o.Append('.');
                    _o.Append((uint)sport);
                    _o.Append(" > ");
                    Ip6(ip.Packet, ip.Offset + 24);
                }
                else
                {
                    Check(ip.Packet, ip.Offset + 16, 4);
                    Ip4(ip.Packet, ip.Offset + 12);
                    _o.Append('.');
                    _o.Append((uint)sport);
                    _o.Append(" > ");
                    Ip4(ip.Packet, ip.Offset + 16);
                }
                _o.Append('.');
                _o.Append((uint)dport);
                _o.Append(": ");
                OtherSummary(proto == ProtoSctp ? "sctp" : "DCCP", length);
                return;
            case 112:
                if (Options.PacketType == ForcedPacketType.Carp)
                    CarpPrint(p, bp, length, ip);
                else
                    VrrpPrint(p, bp, length, ip);
                return;
            case 88:
                EigrpPrint(p, bp, length);
                return;
            case 103:
                PimPrint(p, bp, length);
                return;
            case 89:
                OspfPrint(p, bp, length, ip.Version == 6);
                return;
            default:
                OtherSummary(proto switch
                {
                    8 => "EGP",
                    9 => "IGRP",
                    46 => "RSVP",
                    55 => "mobile",
                    88 => "EIGRP",
                    89 => ip.Version == 6 ? "OSPFv3" : "OSPFv2",
                    103 => "PIM",
                    108 => "IPComp",
                    112 => "VRRP",
                    _ => "PGM",
                }, length);
                return;
        }
    }
}
