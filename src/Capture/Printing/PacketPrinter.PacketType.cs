using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// tcpdump's -T: a payload decoded as the named protocol whatever its ports. Where this printer summarises a
// protocol tcpdump decodes, -T gives the same summary the protocol's own port would.
public sealed partial class PacketPrinter
{
    /// <summary>The -T names tcpdump 4.99 accepts (case-insensitively), or null for a name it refuses.</summary>
    public static ForcedPacketType? ParsePacketType(string name) => name.ToLowerInvariant() switch
    {
        "vat" => ForcedPacketType.Vat,
        "wb" => ForcedPacketType.Wb,
        "rpc" => ForcedPacketType.Rpc,
        "rtp" => ForcedPacketType.Rtp,
        "rtcp" => ForcedPacketType.Rtcp,
        "snmp" => ForcedPacketType.Snmp,
        "cnfp" => ForcedPacketType.Cnfp,
        "tftp" => ForcedPacketType.Tftp,
        "aodv" => ForcedPacketType.Aodv,
        "carp" => ForcedPacketType.Carp,
        "radius" => ForcedPacketType.Radius,
        "zmtp1" => ForcedPacketType.Zmtp1,
        "vxlan" => ForcedPacketType.Vxlan,
        "pgm" => ForcedPacketType.Pgm,
        "pgm_zmtp1" => ForcedPacketType.PgmZmtp1,
        "lmp" => ForcedPacketType.Lmp,
        "resp" => ForcedPacketType.Resp,
        "ptp" => ForcedPacketType.Ptp,
        "someip" => ForcedPacketType.SomeIp,
        "domain" => ForcedPacketType.Domain,
        _ => null,
    };

    /// <summary>
    /// udp_print's -T branch: the datagram as the forced protocol. Types that are not UDP's (carp, zmtp1,
    /// resp) print nothing at all here, as in tcpdump.
    /// </summary>
    private void ForcedUdpPrint(ReadOnlySpan<byte> p, int cp, uint length, ushort sport, ushort dport, in IpContext ip)
    {
        ForcedPacketType type = Options.PacketType;
        if (type is ForcedPacketType.Carp or ForcedPacketType.Zmtp1 or ForcedPacketType.Resp)
            return;
        UdpAddressesPrint(ip, sport, dport);
        switch (type)
        {
            case ForcedPacketType.Vat:
                VatPrint(p, cp, length);
                break;
            case ForcedPacketType.Rtp:
                RtpPrint(p, cp, length);
                break;
            case ForcedPacketType.Vxlan:
                VxlanPrint(p, cp, length);
                break;
            case ForcedPacketType.Ptp:
                PtpPrint(p, cp, length);
                break;
            case ForcedPacketType.Domain:
                DomainPrint(p, cp, length, overTcp: false, mdns: false);
                break;
            default:
                OtherSummary(type switch
                {
                    ForcedPacketType.Wb => "WB",
                    ForcedPacketType.Rpc => "RPC",
                    ForcedPacketType.Rtcp => "RTCP",
                    ForcedPacketType.Snmp => "SNMP",
                    ForcedPacketType.Cnfp => "CNFP",
                    ForcedPacketType.Tftp => "TFTP",
                    ForcedPacketType.Aodv => "AODV",
                    ForcedPacketType.Radius => "RADIUS",
                    ForcedPacketType.Pgm or ForcedPacketType.PgmZmtp1 => "PGM",
                    ForcedPacketType.Lmp => "LMP",
                    _ => "SOMEIP",
                }, length);
                break;
        }
    }

    /// <summary>tcp_print's -T branch, after the segment's length: zmtp1, resp and domain; other types print nothing more.</summary>
    private void ForcedTcpPrint(ReadOnlySpan<byte> p, int bp, uint length)
    {
        switch (Options.PacketType)
        {
            case ForcedPacketType.Resp:
                RespPrint(p, bp, length);
                break;
            case ForcedPacketType.Domain:
                DomainPrint(p, bp, length, overTcp: true, mdns: false);
                break;
            case ForcedPacketType.Zmtp1:
                _o.Append(": ZMTP/1.0");
                break;
        }
    }

    /// <summary>tcpdump's vat_print: vat or vt audio.</summary>
    private void VatPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "vat";
        if (length < 2)
        {
            _o.Append("udp/va/vat, length ");
            _o.Append(length);
            _o.Append(" < 2");
            return;
        }
        uint ts = U16(p, cp);
        if ((ts & 0xf060) != 0)
        {
            _o.Append("udp/vt ");
            _o.Append(length);
            _o.Append(' ');
            _o.Append(ts & 0x3ff);
            _o.Append(" / ");
            _o.Append(ts >> 10);
            return;
        }
        if (length < 8)
        {
            _o.Append("udp/vat, length ");
            _o.Append(length);
            _o.Append(" < 8");
            return;
        }
        uint i0 = U32(p, cp), i1 = U32(p, cp + 4);
        _o.Append("udp/vat ");
        _o.Append(length - 8);
        _o.Append(" c");
        _o.Append(i0 & 0xffff);
        _o.Append(' ');
        _o.Append(i1);
        if ((i0 & 0x800000) != 0)
            _o.Append('*');
        if ((i0 & 0x1f0000) != 0)
        {
            _o.Append(" f");
            _o.Append((i0 >> 16) & 0x1f);
        }
        if ((i0 & 0x3f000000) != 0)
        {
            _o.Append(" s");
            _o.Append((i0 >> 24) & 0x3f);
        }
    }

    /// <summary>tcpdump's rtp_print: RTP version 1 or 2, payload length, type, marker, sequence and time stamp.</summary>
    private void RtpPrint(ReadOnlySpan<byte> p, int cp, uint len)
    {
        _proto = "rtp";
        if (len < 8)
        {
            _o.Append("udp/rtp, length ");
            _o.Append(len);
            _o.Append(" < 8");
            return;
        }
        uint i0 = U32(p, cp), i1 = U32(p, cp + 4);
        uint dlen = len - 8;
        int word = cp + 8;          // the next 32-bit word
        uint words = (len >> 2) - 2;  // words left
        bool hasOption = false, hasExtension = false, hasMarker;
        uint contentType;
        string kind;
        if (i0 >> 30 == 1)
        {
            hasOption = (i0 & 0x800000) != 0;
            contentType = (i0 >> 16) & 0x3f;
            hasMarker = (i0 & 0x400000) != 0;
            kind = "rtpv1";
        }
        else
        {
            if (dlen < 4)
            {
                _o.Append("udp/rtp, length ");
                _o.Append(dlen + 8);
                _o.Append(" < 12");
                return;
            }
            hasExtension = (i0 & 0x10000000) != 0;
            contentType = (i0 >> 16) & 0x7f;
            hasMarker = (i0 & 0x800000) != 0;
            dlen -= 4;
            kind = "rtp";
            word += 4;
            words--;
        }
        _o.Append("udp/");
        _o.Append(kind);
        _o.Append(' ');
        _o.Append(dlen);
        _o.Append(" c");
        _o.Append(contentType);
        _o.Append(' ');
        if (hasOption || hasExtension)
            _o.Append('+');
        if (hasMarker)
            _o.Append('*');
        _o.Append(' ');
        _o.Append(i0 & 0xffff);
        _o.Append(' ');
        _o.Append(i1);
        if (_vflag == 0)
            return;
        _o.Append(' ');
        _o.Append(U32(p, cp + 8));
        if (hasOption)
        {
            uint option;
            do
            {
                option = U32(p, word);
                uint optionWords = (option >> 16) & 0xff;
                if (optionWords == 0 || optionWords > words)
                {
                    _o.Append(" !opt");
                    return;
                }
                word += (int)optionWords * 4;
                words -= optionWords;
            }
            while ((int)option >= 0);
        }
        if (hasExtension)
        {
            uint extensionWords = (U32(p, word) & 0xffff) + 1;
            if (extensionWords > words)
            {
                _o.Append(" !ext");
                return;
            }
            word += (int)extensionWords * 4;
        }
        if (contentType == 0x1f)
        {
            _o.Append(" 0x");
            _o.AppendHex(U32(p, word) >> 16, 4);
        }
    }

    /// <summary>tcpdump's carp_print, for IP protocol 112 under -T carp (VRRP otherwise).</summary>
    private void CarpPrint(ReadOnlySpan<byte> p, int bp, uint length, in IpContext ip)
    {
        _proto = "carp";
        byte first = U8(p, bp);
        int version = first >> 4, type = first & 0x0f;
        _o.Append("CARPv");
        _o.Append(version);
        _o.Append(type == 1 ? "-advertise " : "-unknown ");
        _o.Append(length);
        _o.Append(": ");
        int ttl = ip.Version == 4 ? ip.Packet[ip.Offset + 8] : ip.Packet[ip.Offset + 7];
        if (ttl != 255)
        {
            _o.Append("[ttl=");
            _o.Append(ttl);
            _o.Append("!] ");
        }
        if (version != 2 || type != 1)
            return;
        _o.Append("vhid=");
        _o.Append((uint)U8(p, bp + 1));
        _o.Append(" advbase=");
        _o.Append((uint)U8(p, bp + 5));
        _o.Append(" advskew=");
        _o.Append((uint)U8(p, bp + 2));
        _o.Append(" authlen=");
        _o.Append((uint)U8(p, bp + 3));
        _o.Append(' ');
        if (_vflag > 0 && Has(p, bp, length) && InternetChecksum(p.Slice(bp, (int)length)) != 0)
        {
            _o.Append(" (bad carp cksum ");
            _o.AppendHex(U16(p, bp + 6), 0);
            _o.Append("!)");
        }
        _o.Append("counter=");
        _o.Append(U64(p, bp + 8));
    }
}
