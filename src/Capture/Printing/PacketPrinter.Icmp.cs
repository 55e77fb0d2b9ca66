using KdtCapture.Capture.Printing.Internal;
using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// ICMP (RFC 792 and friends) as tcpdump's icmp_print, including the quoted datagram of errors with -v and
// RFC 4884 multi-part extensions.
public sealed partial class PacketPrinter
{
    private static bool IcmpIsError(byte type) => type is 3 or 4 or 5 or 11 or 12;

    private void IcmpPrint(ReadOnlySpan<byte> p, int dp, uint plen, bool fragmented)
    {
        _proto = "icmp";
        byte type = U8(p, dp);
        byte code = U8(p, dp + 1);

        // tcpdump formats the description into a buffer before printing "ICMP <description>", so a
        // truncation while describing prints nothing of it.
        int mark = _o.Length;
        _o.Append("ICMP ");
        try
        {
            IcmpDescribe(p, dp, type, code);
        }
        catch (TruncatedException)
        {
            _o.Length = mark;
            throw;
        }
        _o.Append(", length ");
        _o.Append(plen);

        if (_vflag > 0 && !fragmented && Has(p, dp, plen))
        {
            ushort sum = InternetChecksum(p.Slice(dp, (int)plen));
            if (sum != 0)
            {
                ushort field = U16(p, dp + 2);
                _o.Append(" (wrong icmp cksum ");
                _o.AppendHex(field);
                _o.Append(" (->");
                _o.AppendHex(ChecksumShouldBe(field, sum));
                _o.Append(")!)");
            }
        }

        if (_vflag > 0 && IcmpIsError(type))
        {
            int inner = dp + 8;
            _o.Append("\n\t");
            uint innerLength = U16(p, inner + 2);
            IpPrint(Limit(p, inner, innerLength), inner, innerLength);
        }
        _proto = "icmp";

        if (_vflag > 0 && plen > 136 && type is 3 or 11 or 12)
            IcmpExtensionsPrint(p, dp, plen);
    }

    private void IcmpDescribe(ReadOnlySpan<byte> p, int dp, byte type, byte code)
    {
        int ipDst = dp + 8 + 16;
        switch (type)
        {
            case 8:
            case 0:
                ushort id = U16(p, dp + 4), seq = U16(p, dp + 6);
                _o.Append(type == 8 ? "echo request, id " : "echo reply, id ");
                _o.Append((uint)id);
                _o.Append(", seq ");
                _o.Append((uint)seq);
                break;
            case 3:
                IcmpUnreachable(p, dp, code, ipDst);
                break;
            case 5:
                Check(p, ipDst, 4);
                Check(p, dp + 4, 4);
                switch (code)
                {
                    case 0:
                        _o.Append("redirect ");
                        Ip4(p, ipDst);
                        _o.Append(" to net ");
                        break;
                    case 1:
                        _o.Append("redirect ");
                        Ip4(p, ipDst);
                        _o.Append(" to host ");
                        break;
                    case 2:
                        _o.Append("redirect-tos ");
                        Ip4(p, ipDst);
                        _o.Append(" to net ");
                        break;
                    case 3:
                        _o.Append("redirect-tos ");
                        Ip4(p, ipDst);
                        _o.Append(" to host ");
                        break;
                    default:
                        _o.Append("redirect-#");
                        _o.Append((uint)code);
                        _o.Append(' ');
                        Ip4(p, ipDst);
                        _o.Append(" to ");
                        break;
                }
                Ip4(p, dp + 4);
                break;
            case 9:
                IcmpRouterAdvertisement(p, dp);
                break;
            case 11:
                Check(p, ipDst, 4);
                switch (code)
                {
                    case 0:
                        _o.Append("time exceeded in-transit");
                        break;
                    case 1:
                        _o.Append("ip reassembly time exceeded");
                        break;
                    default:
                        _o.Append("time exceeded-#");
                        _o.Append((uint)code);
                        break;
                }
                break;
            case 12:
                if (code != 0)
                {
                    _o.Append("parameter problem - code ");
                    _o.Append((uint)code);
                }
                else
                {
                    _o.Append("parameter problem - octet ");
                    _o.Append((uint)U8(p, dp + 4));
                }
                break;
            case 18:
                _o.Append("address mask is 0x");
                _o.AppendHex(U32(p, dp + 8), 8);
                break;
            case 13:
                ushort tid = U16(p, dp + 4), tseq = U16(p, dp + 6);
                _o.Append("time stamp query id ");
                _o.Append((uint)tid);
                _o.Append(" seq ");
                _o.Append((uint)tseq);
                break;
            case 14:
                Check(p, dp + 16, 4);
                _o.Append("time stamp reply id ");
                _o.Append((uint)U16(p, dp + 4));
                _o.Append(" seq ");
                _o.Append((uint)U16(p, dp + 6));
                _o.Append(": org ");
                IcmpTimestamp(U32(p, dp + 8));
                _o.Append(", recv ");
                IcmpTimestamp(U32(p, dp + 12));
                _o.Append(", xmit ");
                IcmpTimestamp(U32(p, dp + 16));
                break;
            default:
                string? name = type switch
                {
                    4 => "source quench",
                    10 => "router solicitation",
                    15 => "information request",
                    16 => "information reply",
                    17 => "address mask request",
                    _ => null,
                };
                if (name is not null)
                    _o.Append(name);
                else
                {
                    _o.Append("type-#");
                    _o.Append((uint)type);
                }
                break;
        }
    }

    /// <summary>Milliseconds since midnight UTC as HH:MM:SS.mmm.</summary>
    private void IcmpTimestamp(uint ms)
    {
        uint msec = ms % 1000, sec = ms / 1000;
        uint min = sec / 60;
        sec -= min * 60;
        uint hrs = min / 60;
        min -= hrs * 60;
        _o.AppendPadded(hrs, 2, '0');
        _o.Append(':');
        _o.AppendPadded(min, 2, '0');
        _o.Append(':');
        _o.AppendPadded(sec, 2, '0');
        _o.Append('.');
        _o.AppendPadded(msec, 3, '0');
    }

    private void IcmpUnreachable(ReadOnlySpan<byte> p, int dp, byte code, int ipDst)
    {
        string? before = null, after = null;
        switch (code)
        {
            case 0: before = "net "; after = " unreachable"; break;
            case 1: before = "host "; after = " unreachable"; break;
            case 5: after = " unreachable - source route failed"; break;
            case 6: before = "net "; after = " unreachable - unknown"; break;
            case 7: before = "host "; after = " unreachable - unknown"; break;
            case 8: after = " unreachable - source host isolated"; break;
            case 9: before = "net "; after = " unreachable - admin prohibited"; break;
            case 10: before = "host "; after = " unreachable - admin prohibited"; break;
            case 11: before = "net "; after = " unreachable - tos prohibited"; break;
            case 12: before = "host "; after = " unreachable - tos prohibited"; break;
            case 13: before = "host "; after = " unreachable - admin prohibited filter"; break;
            case 14: before = "host "; after = " unreachable - host precedence violation"; break;
            case 15: before = "host "; after = " unreachable - precedence cutoff"; break;
        }
        if (after is not null)
        {
            Check(p, ipDst, 4);
            _o.Append(before);
            Ip4(p, ipDst);
            _o.Append(after);
            return;
        }
        int oip = dp + 8;
        switch (code)
        {
            case 2:
                Check(p, ipDst, 4);
                byte proto = U8(p, oip + 9);
                Ip4(p, ipDst);
                _o.Append(" protocol ");
                _o.Append((uint)proto);
                _o.Append(" unreachable");
                break;
            case 3:
                Check(p, oip + 9, 1);
                int hlen = (U8(p, oip) & 0xf) * 4;
                ushort dport = U16(p, oip + hlen + 2);
                byte ipProto = U8(p, oip + 9);
                Check(p, ipDst, 4);
                Ip4(p, ipDst);
                if (ipProto == ProtoTcp)
                {
                    _o.Append(" tcp port ");
                    TcpPort(dport);
                }
                else if (ipProto == ProtoUdp)
                {
                    _o.Append(" udp port ");
                    UdpPort(dport);
                }
                else
                {
                    _o.Append(" protocol ");
                    _o.Append((uint)ipProto);
                    _o.Append(" port ");
                    _o.Append((uint)dport);
                }
                _o.Append(" unreachable");
                break;
            case 4:
                uint mtu = U16(p, dp + 6);
                Check(p, ipDst, 4);
                Ip4(p, ipDst);
                _o.Append(" unreachable - need to frag");
                if (mtu != 0)
                {
                    _o.Append(" (mtu ");
                    _o.Append(mtu);
                    _o.Append(')');
                }
                break;
            default:
                Check(p, ipDst, 4);
                Ip4(p, ipDst);
                _o.Append(" unreachable - #");
                _o.Append((uint)code);
                break;
        }
    }

    private void IcmpRouterAdvertisement(ReadOnlySpan<byte> p, int dp)
    {
        _o.Append("router advertisement");
        Check(p, dp + 4, 4);
        _o.Append(" lifetime ");
        uint lifetime = U16(p, dp + 6);
        if (lifetime < 60)
            _o.Append(lifetime);
        else if (lifetime < 3600)
        {
            _o.Append(lifetime / 60);
            _o.Append(':');
            _o.AppendPadded(lifetime % 60, 2, '0');
        }
        else
        {
            _o.Append(lifetime / 3600);
            _o.Append(':');
            _o.AppendPadded(lifetime % 3600 / 60, 2, '0');
            _o.Append(':');
            _o.AppendPadded(lifetime % 60, 2, '0');
        }
        uint num = U8(p, dp + 4);
        _o.Append(' ');
        _o.Append(num);
        _o.Append(':');
        uint size = U8(p, dp + 5);
        if (size != 2)
        {
            _o.Append(" [size ");
            _o.Append(size);
            _o.Append(']');
            return;
        }
        int idp = dp + 8;
        while (num > 0)
        {
            Check(p, idp, 8);
            _o.Append(" {");
            Ip4(p, idp);
            _o.Append(' ');
            _o.Append(U32(p, idp + 4));
            _o.Append('}');
            idp += 8;
            num--;
        }
    }

    /// <summary>RFC 4884 extension objects after the 128-byte quoted datagram.</summary>
    private void IcmpExtensionsPrint(ReadOnlySpan<byte> p, int dp, uint plen)
    {
        const int ExtOffset = 8 + 128;
        Check(p, dp, ExtOffset + 5);
        uint hlen = plen - 136;
        if (U8(p, dp + 5) == 0 && Has(p, dp + ExtOffset, hlen))
        {
            // No length field: an extension is there only if its checksum holds.
            if (InternetChecksum(p.Slice(dp + ExtOffset, (int)hlen)) != 0)
                return;
        }
        int version = U8(p, dp + ExtOffset) >> 4;
        _o.Append("\n\tICMP Multi-Part extension v");
        _o.Append(version);
        if (version != 2)
        {
            _o.Append(" packet not supported");
            return;
        }
        if (Has(p, dp + ExtOffset, hlen))
        {
            _o.Append(", checksum 0x");
            _o.AppendHex(U16(p, dp + ExtOffset + 2), 4);
            _o.Append(" (");
            if (InternetChecksum(p.Slice(dp + ExtOffset, (int)hlen)) != 0)
                _o.Append("in");
            _o.Append("correct), length ");
            _o.Append(hlen);
        }
        hlen -= 4;
        int obj = dp + ExtOffset + 4;
        while (hlen > 4)
        {
            Check(p, obj, 4);
            uint objLength = U16(p, obj);
            uint classNum = U8(p, obj + 2);
            uint ctype = U8(p, obj + 3);
            obj += 4;
            _o.Append("\n\t  ");
            _o.Append(classNum switch { 1 => "MPLS Stack Entry", 2 => "Interface Identification", _ => "unknown" });
            _o.Append(" Object (");
            _o.Append(classNum);
            _o.Append("), Class-Type: ");
            _o.Append(ctype);
            _o.Append(", length ");
            _o.Append(objLength);
            hlen -= 4;
            if (classNum == 0 || objLength < 4)
                return;
            objLength -= 4;
            if (classNum == 1 && ctype == 1)
            {
                uint label = U32(p, obj);
                _o.Append("\n\t    label ");
                _o.Append(label >> 12);
                _o.Append(", tc ");
                _o.Append((label >> 9) & 7);
                if ((label & 0x100) != 0)
                    _o.Append(", [S]");
                _o.Append(", ttl ");
                _o.Append(label & 0xff);
            }
            else
                UnknownDataPrint(p, obj, "\n\t    ", objLength);
            if (hlen < objLength)
                break;
            hlen -= objLength;
            obj += (int)objLength;
        }
    }

    /// <summary>tcpdump's print_unknown_data: hex of what is there, up to <paramref name="length"/>.</summary>
    private void UnknownDataPrint(ReadOnlySpan<byte> p, int offset, string indent, uint length)
    {
        if (offset > p.Length)
        {
            _o.Append(indent);
            _o.Append("Dissector error: print_unknown_data called with pointer past end of packet");
            return;
        }
        uint available = (uint)(p.Length - offset);
        HexPrint(p, offset, Math.Min(length, available), indent);
    }
}
