using KdtCapture.Capture.Printing.Internal;
using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// IPv4 (tcpdump's ip_print), IPv6 with its extension headers (ip6_print) and the protocol demultiplexer.
public sealed partial class PacketPrinter
{
    private const byte ProtoTcp = 6, ProtoUdp = 17, ProtoIcmp = 1, ProtoIcmp6 = 58, ProtoSctp = 132, ProtoDccp = 33;

    /// <summary>Where the enclosing IP header is, for pseudo-header checksums and address printing in TCP/UDP.</summary>
    private readonly ref struct IpContext(ReadOnlySpan<byte> packet, int offset, int version)
    {
        /// <summary>The packet as the IP printer saw it (cut to the IP datagram).</summary>
        public readonly ReadOnlySpan<byte> Packet = packet;
        public readonly int Offset = offset;
        public readonly int Version = version;
    }

    private void IpNPrint(ReadOnlySpan<byte> p, int off, uint length)
    {
        _proto = "ipn";
        if (length < 1)
        {
            _o.Append("truncated-ip ");
            _o.Append(length);
            return;
        }
        switch (U8(p, off) & 0xf0)
        {
            case 0x40:
                IpPrint(p, off, length);
                break;
            case 0x60:
                Ip6Print(p, off, length);
                break;
            default:
                _o.Append("unknown ip ");
                _o.Append((uint)(U8(p, off) >> 4));
                break;
        }
    }

    private void IpAddressPair(ReadOnlySpan<byte> p, int src, int dst, string separator)
    {
        // tcpdump formats "%s > %s" after fetching both, so a missing destination prints neither.
        Check(p, dst, 4);
        Ip4(p, src);
        _o.Append(" > ");
        Ip4(p, dst);
        _o.Append(separator);
    }

    private void Ip6AddressPair(ReadOnlySpan<byte> p, int src, int dst, string separator)
    {
        Check(p, dst, 16);
        Ip6(p, src);
        _o.Append(" > ");
        Ip6(p, dst);
        _o.Append(separator);
    }

    private void IpPrint(ReadOnlySpan<byte> p, int off, uint length)
    {
        _proto = "ip";
        int version = U8(p, off) >> 4;
        if (version != 4)
        {
            if (version == 6)
                _o.Append("IP6, wrong link-layer encapsulation");
            else
            {
                _o.Append("IP");
                _o.Append(version);
            }
            PrintInvalid();
            return;
        }
        if (!_eflag)
            _o.Append("IP ");
        // ND_TCHECK: a local truncation, so the link-layer header length (for -x) stands.
        if (!Has(p, off, 20))
        {
            PrintTruncated();
            return;
        }
        if (length < 20)
        {
            _o.Append("truncated-ip ");
            _o.Append(length);
            return;
        }
        uint hlen = (uint)(U8(p, off) & 0xf) * 4;
        if (hlen < 20)
        {
            _o.Append("bad-hlen ");
            _o.Append(hlen);
            return;
        }
        uint len = U16(p, off + 2);
        if (length < len)
        {
            _o.Append("truncated-ip - ");
            _o.Append(len - length);
            _o.Append(" bytes missing! ");
        }
        if (len < hlen)
        {
            _o.Append("bad-len ");
            _o.Append(len);
            return;
        }
        p = Limit(p, off, len);
        len -= hlen;
        ushort fragment = U16(p, off + 6);
        byte proto = U8(p, off + 9);

        if (_vflag > 0)
        {
            byte tos = U8(p, off + 1);
            _o.Append("(tos 0x");
            _o.AppendHex(tos);
            switch (tos & 3)
            {
                case 1:
                    _o.Append(",ECT(1)");
                    break;
                case 2:
                    _o.Append(",ECT(0)");
                    break;
                case 3:
                    _o.Append(",CE");
                    break;
            }
            byte ttl = U8(p, off + 8);
            if (ttl >= 1)
            {
                _o.Append(", ttl ");
                _o.Append((uint)ttl);
            }
            _o.Append(", id ");
            _o.Append((uint)U16(p, off + 4));
            _o.Append(", offset ");
            _o.Append((uint)(fragment & 0x1fff) * 8);
            _o.Append(", flags [");
            int mark = _o.Length;
            if ((fragment & 0x2000) != 0)
                _o.Append('+');
            if ((fragment & 0x4000) != 0)
            {
                if (_o.Length != mark)
                    _o.Append(", ");
                _o.Append("DF");
            }
            if ((fragment & 0x8000) != 0)
            {
                if (_o.Length != mark)
                    _o.Append(", ");
                _o.Append("rsvd");
            }
            if (_o.Length == mark)
                _o.Append("none");
            _o.Append("], proto ");
            _o.Append(NameTables.IpProto(proto) ?? "unknown");
            _o.Append(" (");
            _o.Append((uint)proto);
            _o.Append("), length ");
            _o.Append((uint)U16(p, off + 2));

            bool optionsTruncated = false;
            if (hlen > 20)
            {
                _o.Append(", options (");
                if (!IpOptionsPrint(p, off + 20, hlen - 20))
                {
                    _o.Append(" [truncated-option]");
                    optionsTruncated = true;
                }
                _o.Append(')');
            }
            if (!Options.DontVerifyChecksums && Has(p, off, hlen))
            {
                ushort sum = InternetChecksum(p.Slice(off, (int)hlen));
                if (sum != 0)
                {
                    ushort field = U16(p, off + 10);
                    _o.Append(", bad cksum ");
                    _o.AppendHex(field);
                    _o.Append(" (->");
                    _o.AppendHex(ChecksumShouldBe(field, sum));
                    _o.Append(")!");
                }
            }
            _o.Append(")\n    ");
            if (optionsTruncated)
            {
                IpAddressPair(p, off + 12, off + 16, ": ");
                PrintTruncated();
                return;
            }
        }

        if ((fragment & 0x1fff) == 0)
        {
            if (proto != ProtoTcp && proto != ProtoUdp && proto != ProtoSctp && proto != ProtoDccp)
                IpAddressPair(p, off + 12, off + 16, ": ");
            if (!Has(p, off, hlen))
            {
                _o.Append(" [remaining caplen(");
                _o.Append((uint)(p.Length - off));
                _o.Append(") < header length(");
                _o.Append(hlen);
                _o.Append(")]");
                throw TruncatedException.Instance;
            }
            IpDemux(p, off + (int)hlen, len, new IpContext(p, off, 4), (fragment & 0x2000) != 0, proto);
        }
        else
        {
            IpAddressPair(p, off + 12, off + 16, ":");
            if (!_numeric && NameTables.NetdbProto(proto) is { } name)
            {
                _o.Append(' ');
                _o.Append(name);
            }
            else
            {
                _o.Append(' ');
                _o.Append(NameTables.IpProtoNumber(proto));
            }
        }
    }

    private static string? IpOptionName(byte code) => code switch
    {
        0 => "EOL",
        1 => "NOP",
        68 => "timestamp",
        130 => "security",
        7 => "RR",
        137 => "SSRR",
        131 => "LSRR",
        148 => "RA",
        82 => "traceroute",
        _ => null,
    };

    /// <summary>tcpdump's ip_optprint; false when the options ran past the captured bytes.</summary>
    private bool IpOptionsPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        string sep = "";
        uint optionLength;
        for (; length > 0; cp += (int)optionLength, length -= optionLength)
        {
            _o.Append(sep);
            sep = ",";
            if (!Has(p, cp, 1))
                return false;
            byte code = p[cp];
            if (IpOptionName(code) is { } name)
                _o.Append(name);
            else
            {
                _o.Append("unknown ");
                _o.Append((uint)code);
            }
            if (code is 0 or 1)
                optionLength = 1;
            else
            {
                if (!Has(p, cp + 1, 1))
                    return false;
                optionLength = p[cp + 1];
                if (optionLength < 2)
                {
                    _o.Append(" [bad length ");
                    _o.Append(optionLength);
                    _o.Append(']');
                    return true;
                }
            }
            if (optionLength > length)
            {
                _o.Append(" [bad length ");
                _o.Append(optionLength);
                _o.Append(']');
                return true;
            }
            if (!Has(p, cp, optionLength))
                return false;
            switch (code)
            {
                case 0:
                    return true;
                case 68:
                    if (!IpTimestampOptionPrint(p, cp, optionLength))
                        return false;
                    break;
                case 7:
                case 137:
                case 131:
                    if (!IpRouteOptionPrint(p, cp, optionLength))
                        return false;
                    break;
                case 148:
                    if (optionLength < 4)
                    {
                        _o.Append(" [bad length ");
                        _o.Append(optionLength);
                        _o.Append(']');
                        break;
                    }
                    ushort value = U16(p, cp + 2);
                    if (value != 0)
                    {
                        _o.Append(" value ");
                        _o.Append((uint)value);
                    }
                    break;
            }
        }
        return true;
    }

    private bool IpRouteOptionPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        if (length < 3)
        {
            _o.Append(" [bad length ");
            _o.Append(length);
            _o.Append(']');
            return true;
        }
        if (((length + 1) & 3) != 0)
        {
            _o.Append(" [bad length ");
            _o.Append(length);
            _o.Append(']');
        }
        uint ptr = (uint)U8(p, cp + 2) - 1;
        if (ptr < 3 || ((ptr + 1) & 3) != 0 || ptr > length + 1)
        {
            _o.Append(" [bad ptr ");
            _o.Append((uint)U8(p, cp + 2));
            _o.Append(']');
        }
        for (uint len = 3; len < length; len += 4)
        {
            if (!Has(p, cp + (int)len, 4))
                return false;
            _o.Append(' ');
            Ip4(p, cp + (int)len);
            if (ptr > len)
                _o.Append(',');
        }
        return true;
    }

    private bool IpTimestampOptionPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        if (length < 4)
        {
            _o.Append("[bad length ");
            _o.Append(length);
            _o.Append(']');
            return true;
        }
        _o.Append(" TS{");
        byte flags = U8(p, cp + 3);
        uint hoplen = (flags & 0xf) != 0 ? 8u : 4u;
        if (((length - 4) & (hoplen - 1)) != 0)
        {
            _o.Append("[bad length ");
            _o.Append(length);
            _o.Append(']');
        }
        uint ptr = (uint)U8(p, cp + 2) - 1;
        uint len = 0;
        if (ptr < 4 || ((ptr - 4) & (hoplen - 1)) != 0 || ptr > length + 1)
        {
            _o.Append("[bad ptr ");
            _o.Append((uint)U8(p, cp + 2));
            _o.Append(']');
        }
        bool known = true;
        switch (flags & 0xf)
        {
            case 0:
                _o.Append("TSONLY");
                break;
            case 1:
                _o.Append("TS+ADDR");
                break;
            case 3:
                _o.Append("PRESPEC");
                break;
            default:
                _o.Append("[bad ts type ");
                _o.Append((uint)(flags & 0xf));
                _o.Append(']');
                known = false;
                break;
        }
        if (known)
        {
            string type = " ";
            for (len = 4; len < length; len += hoplen)
            {
                if (ptr == len)
                    type = " ^ ";
                if (!Has(p, cp + (int)len, hoplen))
                    return false;
                _o.Append(type);
                _o.Append(U32(p, cp + (int)(len + hoplen - 4)));
                _o.Append('@');
                if (hoplen == 8)
                    Ip4(p, cp + (int)len);
                type = " ";
            }
        }
        _o.Append(ptr == len ? " ^ " : "");
        if ((flags >> 4) != 0)
        {
            _o.Append(" [");
            _o.Append((uint)(flags >> 4));
            _o.Append(" hops not recorded]} ");
        }
        else
            _o.Append('}');
        return true;
    }

    /// <summary>tcpdump's ip_demux_print: the payload of an IPv4 or IPv6 header (after extension headers).</summary>
    private void IpDemux(ReadOnlySpan<byte> p, int off, uint length, IpContext ip, bool fragmented, byte nh)
    {
        while (true)
        {
            switch (nh)
            {
                case 51: // AH: printed, then the protocol it protects
                    if (!Has(p, off, 1))
                    {
                        _proto = "ah";
                        PrintTruncated();
                        return;
                    }
                    nh = p[off];
                    int advance = AhPrint(p, off);
                    off += advance;
                    length -= (uint)advance;
                    continue;
                case 50:
                    EspPrint(p, off, length, ip, fragmented);
                    return;
                case ProtoTcp:
                    TcpPrint(p, off, length, ip, fragmented);
                    return;
                case ProtoUdp:
                    UdpPrint(p, off, length, ip, fragmented);
                    return;
                case ProtoIcmp:
                    if (ip.Version == 4)
                        IcmpPrint(p, off, length, fragmented);
                    else
                    {
                        _o.Append("[ICMP requires IPv4]");
                        PrintInvalid();
                    }
                    return;
                case ProtoIcmp6:
                    if (ip.Version == 6)
                        Icmp6Print(p, off, length, ip, fragmented);
                    else
                    {
                        _o.Append("[ICMPv6 requires IPv6]");
                        PrintInvalid();
                    }
                    return;
                case 4:
                    IpPrint(p, off, length);
                    return;
                case 41:
                    Ip6Print(p, off, length);
                    return;
                case 2:
                    if (ip.Version == 4)
                        IgmpPrint(p, off, length);
                    else
                    {
                        _o.Append("[IGMP requires IPv4]");
                        PrintInvalid();
                    }
                    return;
                case 77: // IPPROTO_ND
                    _o.Append(" nd ");
                    _o.Append(length);
                    return;
                case 59:
                    _o.Append("no next header");
                    return;
                case 143:
                    if (ip.Version == 6)
                        _ = EtherPrint(p, off, length); // the outer link header is what -x leaves out
                    else
                    {
                        _o.Append("[Ethernet requires IPv6]");
                        PrintInvalid();
                    }
                    return;
                case 47:
                    GrePrint(p, off, length);
                    return;
                case ProtoSctp or ProtoDccp or 8 or 9 or 46 or 55 or 88 or 89 or 103 or 108 or 112 or 113:
                    OtherIpProtocolPrint(p, off, length, ip, nh);
                    return;
                default:
                    if (!_numeric && NameTables.NetdbProto(nh) is { } name)
                    {
                        _o.Append(' ');
                        _o.Append(name);
                    }
                    else
                    {
                        _o.Append(' ');
                        _o.Append(NameTables.IpProtoNumber(nh));
                    }
                    _o.Append(' ');
                    _o.Append(length);
                    return;
            }
        }
    }

    private int AhPrint(ReadOnlySpan<byte> p, int off)
    {
        _proto = "ah";
        _o.Append("AH");
        byte ahLen = U8(p, off + 1);
        int hdrLen = (ahLen + 2) * 4;
        _o.Append('(');
        if (_vflag > 0)
        {
            _o.Append("length=");
            _o.Append((uint)ahLen);
            _o.Append('(');
            _o.Append(hdrLen);
            _o.Append("-bytes),");
        }
        ushort reserved = U16(p, off + 2);
        if (reserved != 0)
        {
            _o.Append("reserved=0x");
            _o.AppendHex(reserved);
            _o.Append("[MustBeZero],");
        }
        _o.Append("spi=0x");
        _o.AppendHex(U32(p, off + 4), 8);
        _o.Append(",seq=0x");
        _o.AppendHex(U32(p, off + 8));
        _o.Append(",icv=0x");
        for (int i = off + 12; i < off + hdrLen; i++)
            _o.AppendHexByte(U8(p, i));
        _o.Append("): ");
        return hdrLen;
    }

    private void EspPrint(ReadOnlySpan<byte> p, int off, uint length, IpContext ip, bool fragmented)
    {
        _proto = "esp";
        if (off + 8 >= p.Length)
        {
            PrintTruncated();
            return;
        }
        uint spi = U32(p, off);
        _o.Append("ESP(spi=0x");
        _o.AppendHex(spi, 8);
        _o.Append(",seq=0x");
        _o.AppendHex(U32(p, off + 4));
        _o.Append("), length ");
        _o.Append(length);
        if (Options.EspSecrets is null)
            return;
        // -E: tcpdump's esp_print decrypts with the matching association and prints what was inside.
        _espSecrets ??= Internal.EspSecrets.Parse(Options.EspSecrets);
        ReadOnlySpan<byte> header = ip.Packet;
        Internal.EspAssociation? sa;
        if (ip.Version == 6)
        {
            if (U16(header, ip.Offset + 4) == 0)
                return; // jumbograms are not decrypted
            sa = _espSecrets.Find(spi, header.Slice(ip.Offset + 24, 16));
        }
        else
        {
            if (fragmented)
                return; // the padding and next header are in the last fragment
            sa = _espSecrets.Find(spi, header.Slice(ip.Offset + 16, 4));
        }
        if (sa is null)
            return;
        int iv = off + 8;
        int ct = iv + sa.IvLength;
        int end = p.Length;
        if (end - ct < sa.AuthLength)
        {
            PrintTruncated();
            return;
        }
        end -= sa.AuthLength;
        int payloadLength = end - ct;
        if (payloadLength <= 0 || payloadLength % sa.BlockSize != 0)
            return; // tcpdump warns that the ciphertext is not whole blocks and prints no more
        byte[] plain = System.Buffers.ArrayPool<byte>.Shared.Rent(payloadLength);
        try
        {
            Span<byte> pt = plain.AsSpan(0, payloadLength);
            sa.Decrypt(p.Slice(iv, sa.IvLength), p.Slice(ct, payloadLength), pt);
            int padLength = pt[payloadLength - 2];
            if (padLength + 2 > payloadLength)
            {
                PrintTruncated();
                return;
            }
            byte nextHeader = pt[payloadLength - 1];
            _o.Append(": ");
            int inner = payloadLength - (padLength + 2);
            IpDemux(pt[..inner], 0, (uint)inner, ip, fragmented, nextHeader);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(plain);
        }
    }

    private Internal.EspSecrets? _espSecrets;

    /// <summary>
    /// Checks a <c>-E</c> argument before capturing: the warnings tcpdump would give for entries it leaves
    /// out (an unknown cipher, a bad address); an unreadable secrets file throws <see cref="ArgumentException"/>.
    /// </summary>
    public static IReadOnlyList<string> CheckEspSecrets(string text)
    {
        try
        {
            return Internal.EspSecrets.Parse(text).Warnings;
        }
        catch (Internal.EspSecretsException e)
        {
            throw new ArgumentException(e.Message, nameof(text), e);
        }
    }

    // ---- IPv6 ----

    private void Ip6Print(ReadOnlySpan<byte> p, int ip6, uint length)
    {
        _proto = "ip6";
        if (!Has(p, ip6, 40))
        {
            PrintTruncated();
            return;
        }
        if (length < 40)
        {
            _o.Append("truncated-ip6 ");
            _o.Append(length);
            return;
        }
        if (!_eflag)
            _o.Append("IP6 ");
        int version = U8(p, ip6) >> 4;
        if (version != 6)
        {
            _o.Append("version error: ");
            _o.Append(version);
            _o.Append(" != 6");
            return;
        }
        uint payloadLength = U16(p, ip6 + 4);
        uint len;
        if (payloadLength != 0)
        {
            len = payloadLength + 40;
            if (length < len)
            {
                _o.Append("truncated-ip6 - ");
                _o.Append(len - length);
                _o.Append(" bytes missing!");
            }
        }
        else
            len = length + 40;

        byte ph = 255;
        byte nh = U8(p, ip6 + 6);
        if (_vflag > 0)
        {
            uint flow = U32(p, ip6);
            _o.Append('(');
            if ((flow & 0x0ff00000) != 0)
            {
                _o.Append("class 0x");
                _o.AppendHex((flow & 0x0ff00000) >> 20, 2);
                _o.Append(", ");
            }
            if ((flow & 0x000fffff) != 0)
            {
                _o.Append("flowlabel 0x");
                _o.AppendHex(flow & 0x000fffff, 5);
                _o.Append(", ");
            }
            _o.Append("hlim ");
            _o.Append((uint)U8(p, ip6 + 7));
            _o.Append(", next-header ");
            _o.Append(NameTables.IpProto(nh) ?? "unknown");
            _o.Append(" (");
            _o.Append((uint)nh);
            _o.Append(") payload length: ");
            _o.Append(payloadLength);
            _o.Append(") ");
        }

        // nd_push_snaplen, remembering the span before it for the jumbo/zero-length adjustments below.
        var outer = p;
        p = Limit(p, ip6, len);
        int cp = ip6;
        int advance = 40;
        uint totalAdvance = 0;
        bool foundExtension = false, foundJumbo = false, foundHbh = false, fragmented = false;
        while (cp < p.Length && advance > 0)
        {
            if (len < (uint)advance)
            {
                PrintTruncated();
                return;
            }
            cp += advance;
            len -= (uint)advance;
            totalAdvance += (uint)advance;

            if (cp == ip6 + 40 && nh != ProtoTcp && nh != ProtoUdp && nh != ProtoDccp && nh != ProtoSctp)
                Ip6AddressPair(p, ip6 + 8, ip6 + 24, ": ");

            switch (nh)
            {
                case 0:
                    if (foundHbh)
                    {
                        _o.Append("[The Hop-by-Hop Options header was already found]");
                        PrintInvalid();
                        return;
                    }
                    if (ph != 255)
                    {
                        _o.Append("[The Hop-by-Hop Options header don't follow the IPv6 header]");
                        PrintInvalid();
                        return;
                    }
                    advance = HopByHopPrint(p, cp, ref foundJumbo, ref payloadLength);
                    if (payloadLength == 0 && !foundJumbo)
                    {
                        _o.Append("[No valid Jumbo Payload Hop-by-Hop option found]");
                        PrintInvalid();
                        return;
                    }
                    if (advance < 0)
                        return;
                    foundExtension = true;
                    foundHbh = true;
                    nh = U8(p, cp);
                    break;
                case 60:
                    advance = DestinationOptionsPrint(p, cp);
                    if (advance < 0)
                        return;
                    foundExtension = true;
                    nh = U8(p, cp);
                    break;
                case 44:
                    advance = Fragment6Print(p, cp, ip6);
                    if (advance < 0 || p.Length <= cp + advance)
                        return;
                    foundExtension = true;
                    nh = U8(p, cp);
                    fragmented = true;
                    break;
                case 62:
                case 135:
                    MobilityPrint(p, cp);
                    return;
                case 43:
                    Check(p, cp, 1);
                    advance = Routing6Print(p, cp);
                    if (advance < 0)
                        return;
                    foundExtension = true;
                    nh = U8(p, cp);
                    break;
                default:
                    if (foundJumbo)
                    {
                        len = payloadLength + 40;
                        if (len < totalAdvance)
                        {
                            PrintTruncated();
                            return;
                        }
                        if (length < len)
                        {
                            _o.Append("truncated-ip6 - ");
                            _o.Append(len - length);
                            _o.Append(" bytes missing!");
                        }
                        p = Limit(outer, ip6, len);
                        len -= totalAdvance;
                    }
                    else if (payloadLength == 0)
                    {
                        if (foundExtension)
                        {
                            PrintTruncated();
                            return;
                        }
                        len = 40;
                        p = Limit(outer, ip6, len);
                        len -= totalAdvance;
                    }
                    IpDemux(p, cp, len, new IpContext(p, ip6, 6), fragmented, nh);
                    return;
            }
            ph = nh;
            _proto = "ip6";
        }
    }

    private int HopByHopPrint(ReadOnlySpan<byte> p, int cp, ref bool foundJumbo, ref uint payloadLength)
    {
        _proto = "hbhopt";
        int hbhlen = (U8(p, cp + 1) + 1) << 3;
        if (!Has(p, cp, hbhlen))
        {
            PrintTruncated();
            return -1;
        }
        _o.Append("HBH ");
        if (!Ip6OptionsPrint(p, cp + 2, hbhlen - 2, hopByHop: true, ref foundJumbo, ref payloadLength))
        {
            PrintTruncated();
            return -1;
        }
        return hbhlen;
    }

    private int DestinationOptionsPrint(ReadOnlySpan<byte> p, int cp)
    {
        _proto = "dstopt";
        int len = (U8(p, cp + 1) + 1) << 3;
        if (!Has(p, cp, len))
        {
            PrintTruncated();
            return -1;
        }
        _o.Append("DSTOPT ");
        if (_vflag > 0)
        {
            bool jumbo = false;
            uint ignored = 1;
            if (!Ip6OptionsPrint(p, cp + 2, len - 2, hopByHop: false, ref jumbo, ref ignored))
            {
                PrintTruncated();
                return -1;
            }
        }
        return len;
    }

    /// <summary>tcpdump's ip6_opt_process; false on a truncated or malformed option.</summary>
    private bool Ip6OptionsPrint(ReadOnlySpan<byte> p, int bp, int len, bool hopByHop, ref bool foundJumbo, ref uint payloadLength)
    {
        if (len == 0)
            return true;
        bool seenJumbo = false;
        int optlen;
        for (int i = 0; i < len; i += optlen)
        {
            byte type = U8(p, bp + i);
            if (type == 0)
                optlen = 1;
            else if (i + 1 < len)
                optlen = U8(p, bp + i + 1) + 2;
            else
                return false;
            if (i + optlen > len)
                return false;
            switch (type)
            {
                case 0:
                    if (_vflag > 0)
                        _o.Append("(pad1)");
                    break;
                case 1:
                    if (len - i < 2)
                    {
                        _o.Append("(padn: trunc)");
                        return false;
                    }
                    if (_vflag > 0)
                        _o.Append("(padn)");
                    break;
                case 5:
                    if (len - i < 4)
                    {
                        _o.Append("(rtalert: trunc)");
                        return false;
                    }
                    if (U8(p, bp + i + 1) != 2)
                    {
                        _o.Append("(rtalert: invalid len ");
                        _o.Append((uint)U8(p, bp + i + 1));
                        _o.Append(')');
                        return false;
                    }
                    if (_vflag > 0)
                    {
                        _o.Append("(rtalert: 0x");
                        _o.AppendHex(U16(p, bp + i + 2), 4);
                        _o.Append(") ");
                    }
                    break;
                case 0xc2:
                    if (len - i < 6)
                    {
                        _o.Append("(jumbo: trunc)");
                        return false;
                    }
                    if (U8(p, bp + i + 1) != 4)
                    {
                        _o.Append("(jumbo: invalid len ");
                        _o.Append((uint)U8(p, bp + i + 1));
                        _o.Append(')');
                        return false;
                    }
                    uint jumbolen = U32(p, bp + i + 2);
                    if (seenJumbo)
                    {
                        if (_vflag > 0)
                            JumboNote(jumbolen, " - already seen) ");
                    }
                    else
                    {
                        seenJumbo = true;
                        if (!hopByHop)
                        {
                            if (_vflag > 0)
                                JumboNote(jumbolen, " - not a hop-by-hop option) ");
                        }
                        else if (payloadLength != 0)
                        {
                            if (_vflag > 0)
                                JumboNote(jumbolen, " - payload len != 0) ");
                        }
                        else if (jumbolen < 65536)
                        {
                            if (_vflag > 0)
                                JumboNote(jumbolen, " - < 65536) ");
                        }
                        else
                        {
                            foundJumbo = true;
                            payloadLength = jumbolen;
                            if (_vflag > 0)
                                JumboNote(jumbolen, ") ");
                        }
                    }
                    break;
                case 0xc9:
                    if (len - i < 18)
                    {
                        _o.Append("(homeaddr: trunc)");
                        return false;
                    }
                    if (U8(p, bp + i + 1) < 16)
                    {
                        _o.Append("(homeaddr: invalid len ");
                        _o.Append((uint)U8(p, bp + i + 1));
                        _o.Append(')');
                        return false;
                    }
                    if (_vflag > 0)
                    {
                        _o.Append("(homeaddr: ");
                        Ip6(p, bp + i + 2);
                        if (U8(p, bp + i + 1) > 16 && !Ip6SubOptionsPrint(p, bp + i + 18, optlen - 18))
                            return false;
                        _o.Append(')');
                    }
                    break;
                default:
                    if (len - i < 2)
                    {
                        _o.Append("(type ");
                        _o.Append((uint)type);
                        _o.Append(": trunc)");
                        return false;
                    }
                    if (_vflag > 0)
                    {
                        _o.Append("(opt_type 0x");
                        _o.AppendHexByte(type);
                        _o.Append(": len=");
                        _o.Append((uint)U8(p, bp + i + 1));
                        _o.Append(')');
                    }
                    break;
            }
        }
        if (_vflag > 0)
            _o.Append(' ');
        return true;
    }

    private void JumboNote(uint jumbolen, string tail)
    {
        _o.Append("(jumbo: ");
        _o.Append(jumbolen);
        _o.Append(tail);
    }

    private bool Ip6SubOptionsPrint(ReadOnlySpan<byte> p, int bp, int len)
    {
        int optlen;
        for (int i = 0; i < len; i += optlen)
        {
            byte type = U8(p, bp + i);
            if (type == 0)
                optlen = 1;
            else if (i + 1 < len)
                optlen = U8(p, bp + i + 1) + 2;
            else
                return false;
            if (i + optlen > len)
                return false;
            switch (type)
            {
                case 0:
                    _o.Append(", pad1");
                    break;
                case 1:
                    if (len - i < 2)
                    {
                        _o.Append(", padn: trunc");
                        return false;
                    }
                    _o.Append(", padn");
                    break;
                default:
                    if (len - i < 2)
                    {
                        _o.Append(", sopt_type ");
                        _o.Append((uint)type);
                        _o.Append(": trunc)");
                        return false;
                    }
                    _o.Append(", sopt_type 0x");
                    _o.AppendHexByte(type);
                    _o.Append(": len=");
                    _o.Append((uint)U8(p, bp + i + 1));
                    break;
            }
        }
        return true;
    }

    private int Fragment6Print(ReadOnlySpan<byte> p, int cp, int ip6)
    {
        _proto = "frag6";
        uint offlg = U16(p, cp + 2);
        uint payloadLength = U16(p, ip6 + 4);
        if (_vflag > 0)
        {
            uint ident = U32(p, cp + 4);
            _o.Append("frag (0x");
            _o.AppendHex(ident, 8);
            _o.Append(':');
        }
        else
            _o.Append("frag (");
        _o.Append(offlg & 0xfff8);
        _o.Append('|');
        // tcpdump computes this in size_t, so a bogus payload length wraps around 2^64.
        _o.Append(unchecked(40UL + payloadLength - (ulong)(cp - ip6) - 8UL));
        _o.Append(')');
        if ((offlg & 0xfff8) != 0)
            return -1;
        _o.Append(' ');
        return 8;
    }

    private int Routing6Print(ReadOnlySpan<byte> p, int cp)
    {
        _proto = "rt6";
        _o.Append("RT6");
        uint len = U8(p, cp + 1);
        _o.Append(" (len=");
        _o.Append(len);
        uint type = U8(p, cp + 2);
        _o.Append(", type=");
        _o.Append(type);
        if (type == 0)
            _o.Append(" [Deprecated]");
        _o.Append(", segleft=");
        _o.Append((uint)U8(p, cp + 3));
        switch (type)
        {
            case 0:
            case 2:
                uint reserved = U32(p, cp + 4);
                if (reserved != 0 || _vflag > 0)
                {
                    _o.Append(", rsv=0x");
                    _o.AppendHex(reserved);
                }
                if (len % 2 == 1)
                {
                    _o.Append(" (invalid length ");
                    _o.Append(len);
                    _o.Append(')');
                    PrintInvalid();
                    return -1;
                }
                len >>= 1;
                for (uint i = 0; i < len; i++)
                {
                    _o.Append(", [");
                    _o.Append(i);
                    _o.Append(']');
                    Ip6(p, cp + 8 + (int)i * 16);
                }
                _o.Append(") ");
                return (U8(p, cp + 1) + 1) << 3;
            case 4:
                _o.Append(", last-entry=");
                _o.Append((uint)U8(p, cp + 4));
                byte flags = U8(p, cp + 5);
                if (flags != 0 || _vflag > 0)
                {
                    _o.Append(", flags=0x");
                    _o.AppendHex(flags);
                }
                _o.Append(", tag=");
                _o.AppendHex(U16(p, cp + 6));
                if (len % 2 == 1)
                {
                    _o.Append(" (invalid length ");
                    _o.Append(len);
                    _o.Append(')');
                    PrintInvalid();
                    return -1;
                }
                len >>= 1;
                for (uint i = 0; i < len; i++)
                {
                    _o.Append(", [");
                    _o.Append(i);
                    _o.Append(']');
                    Ip6(p, cp + 8 + (int)i * 16);
                }
                _o.Append(") ");
                return (U8(p, cp + 1) + 1) << 3;
            default:
                _o.Append(" (unknown type)");
                PrintInvalid();
                return -1;
        }
    }

    /// <summary>Mobility header (RFC 6275), as tcpdump's mobility_print: message type and fields, options with -v.</summary>
    private void MobilityPrint(ReadOnlySpan<byte> p, int cp)
    {
        _proto = "mobility";
        if (!Has(p, cp + 1, 1))
        {
            PrintTruncated();
            return;
        }
        uint mhlen = (uint)(U8(p, cp + 1) + 1) << 3;
        byte type = U8(p, cp + 2);
        uint minimum = type switch { 0 => 8, 1 or 2 => 16, 3 or 4 => 24, 5 or 6 => 12, 7 => 24, _ => 0 };
        if (mhlen < minimum)
        {
            _o.Append("(header length ");
            _o.Append(mhlen);
            _o.Append(" is too small for type ");
            _o.Append((uint)type);
            _o.Append(')');
            PrintTruncated();
            return;
        }
        _o.Append("mobility: ");
        string? name = type switch
        {
            0 => "BRR", 1 => "HoTI", 2 => "CoTI", 3 => "HoT", 4 => "CoT", 5 => "BU", 6 => "BA", 7 => "BE", _ => null,
        };
        if (name is null)
        {
            _o.Append("type-#");
            _o.Append((uint)type);
        }
        else
            _o.Append(name);

        uint hlen = 8;
        switch (type)
        {
            case 0:
                break;
            case 1:
            case 2:
                if (_vflag > 0)
                    MobilityCookie(p, cp + 8, type == 1 ? " Home" : " Care-of", " Init Cookie=");
                hlen += 8;
                break;
            case 3:
            case 4:
                ushort nonce = U16(p, cp + 6);
                _o.Append(" nonce id=0x");
                _o.AppendHex(nonce);
                if (_vflag > 0)
                    MobilityCookie(p, cp + 8, type == 3 ? " Home" : " Care-of", " Init Cookie=");
                hlen += 8;
                if (_vflag > 0)
                    MobilityCookie(p, cp + 16, type == 3 ? " Home" : " Care-of", " Keygen Token=");
                hlen += 8;
                break;
            case 5:
            {
                ushort sequence = U16(p, cp + 6);
                _o.Append(" seq#=");
                _o.Append((uint)sequence);
                Check(p, cp + 8, 2);
                int bits = (U8(p, cp + 8) & 0xf0) >> 4;
                if (bits != 0)
                {
                    _o.Append(' ');
                    if ((bits & 8) != 0) _o.Append('A');
                    if ((bits & 4) != 0) _o.Append('H');
                    if ((bits & 2) != 0) _o.Append('L');
                    if ((bits & 1) != 0) _o.Append('K');
                }
                uint lifetime = (uint)U16(p, cp + 10) << 2;
                _o.Append(" lifetime=");
                _o.Append(lifetime);
                hlen += 4;
                break;
            }
            case 6:
                byte status = U8(p, cp + 6);
                _o.Append(" status=");
                _o.Append((uint)status);
                if ((U8(p, cp + 7) & 0x80) != 0)
                    _o.Append(" K");
                ushort ackSequence = U16(p, cp + 8);
                _o.Append(" seq#=");
                _o.Append((uint)ackSequence);
                uint ackLifetime = (uint)U16(p, cp + 10) << 2;
                _o.Append(" lifetime=");
                _o.Append(ackLifetime);
                hlen += 4;
                break;
            case 7:
                byte errorStatus = U8(p, cp + 6);
                _o.Append(" status=");
                _o.Append((uint)errorStatus);
                Check(p, cp + 8, 16);
                _o.Append(" homeaddr ");
                Ip6(p, cp + 8);
                hlen += 16;
                break;
            default:
                _o.Append(" len=");
                _o.Append((uint)U8(p, cp + 1));
                return;
        }
        if (_vflag > 0 && !MobilityOptionsPrint(p, cp + (int)hlen, mhlen - hlen))
            PrintTruncated();
    }

    private void MobilityCookie(ReadOnlySpan<byte> p, int at, string who, string what)
    {
        uint a = U32(p, at), b = U32(p, at + 4);
        _o.Append(who);
        _o.Append(what);
        _o.AppendHex(a, 8);
        _o.Append(':');
        _o.AppendHex(b, 8);
    }

    /// <summary>Mobility options (mobility_opt_print); false where tcpdump gives up with a truncation mark.</summary>
    private bool MobilityOptionsPrint(ReadOnlySpan<byte> p, int bp, uint len)
    {
        uint optlen;
        for (uint i = 0; i < len; i += optlen)
        {
            int at = bp + (int)i;
            byte type = U8(p, at);
            if (type == 0)
                optlen = 1;
            else if (i + 1 < len)
                optlen = (uint)U8(p, at + 1) + 2;
            else
                return false;
            if (i + optlen > len)
                return false;
            // tcpdump checks that the byte after the option was captured, too.
            Check(p, at + (int)optlen, 1);
            uint rest = len - i;
            switch (type)
            {
                case 0:
                    _o.Append("(pad1)");
                    break;
                case 1:
                    if (rest < 2)
                    {
                        _o.Append("(padn: trunc)");
                        return false;
                    }
                    _o.Append("(padn)");
                    break;
                case 2:
                    if (rest < 4)
                    {
                        _o.Append("(refresh: trunc)");
                        return false;
                    }
                    uint refresh = (uint)U16(p, at + 2) << 2;
                    _o.Append("(refresh: ");
                    _o.Append(refresh);
                    _o.Append(')');
                    break;
                case 3:
                    if (rest < 18)
                    {
                        _o.Append("(altcoa: trunc)");
                        return false;
                    }
                    Check(p, at + 2, 16);
                    _o.Append("(alt-CoA: ");
                    Ip6(p, at + 2);
                    _o.Append(')');
                    break;
                case 4:
                    if (rest < 6)
                    {
                        _o.Append("(ni: trunc)");
                        return false;
                    }
                    ushort ho = U16(p, at + 2), co = U16(p, at + 4);
                    _o.Append("(ni: ho=0x");
                    _o.AppendHex(ho, 4);
                    _o.Append(" co=0x");
                    _o.AppendHex(co, 4);
                    _o.Append(')');
                    break;
                case 5:
                    if (rest < 12)
                    {
                        _o.Append("(auth: trunc)");
                        return false;
                    }
                    _o.Append("(auth)");
                    break;
                default:
                    if (rest < 2)
                    {
                        _o.Append("(sopt_type ");
                        _o.Append((uint)type);
                        _o.Append(": trunc)");
                        return false;
                    }
                    _o.Append("(type-0x");
                    _o.AppendHex(type, 2);
                    _o.Append(": len=");
                    _o.Append((uint)U8(p, at + 1));
                    _o.Append(')');
                    break;
            }
        }
        return true;
    }
}
