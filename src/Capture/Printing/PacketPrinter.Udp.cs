using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// UDP as tcpdump's udp_print, with DNS and mDNS; the other protocols tcpdump recognises by port get a summary.
public sealed partial class PacketPrinter
{
    /// <summary>tcpdump's udpipaddr_print; <paramref name="sport"/> &lt; 0 prints addresses only.</summary>
    private void UdpAddressesPrint(in IpContext ip, int sport, int dport)
    {
        var hdr = ip.Packet;
        int o = ip.Offset;
        bool direct = ip.Version == 6 ? U8(hdr, o + 6) == ProtoUdp : U8(hdr, o + 9) == ProtoUdp;
        if (direct)
        {
            if (sport == -1)
            {
                if (ip.Version == 6)
                    Ip6AddressPair(hdr, o + 8, o + 24, ": ");
                else
                    IpAddressPair(hdr, o + 12, o + 16, ": ");
                return;
            }
            if (ip.Version == 6)
            {
                Check(hdr, o + 24, 16);
                Ip6(hdr, o + 8);
                _o.Append('.');
                UdpPort((ushort)sport);
                _o.Append(" > ");
                Ip6(hdr, o + 24);
            }
            else
            {
                Check(hdr, o + 16, 4);
                Ip4(hdr, o + 12);
                _o.Append('.');
                UdpPort((ushort)sport);
                _o.Append(" > ");
                Ip4(hdr, o + 16);
            }
            _o.Append('.');
            UdpPort((ushort)dport);
            _o.Append(": ");
        }
        else if (sport != -1)
        {
            UdpPort((ushort)sport);
            _o.Append(" > ");
            UdpPort((ushort)dport);
            _o.Append(": ");
        }
    }

    private void UdpPrint(ReadOnlySpan<byte> p, int up, uint length, IpContext ip, bool fragmented)
    {
        _proto = "udp";
        if (!Has(p, up + 2, 2))
        {
            UdpAddressesPrint(ip, -1, -1);
            PrintTruncated();
            return;
        }
        ushort sport = U16(p, up);
        ushort dport = U16(p, up + 2);
        if (length < 8)
        {
            UdpAddressesPrint(ip, sport, dport);
            _o.Append("truncated-udp ");
            _o.Append(length);
            return;
        }
        if (!Has(p, up + 4, 2))
        {
            UdpAddressesPrint(ip, sport, dport);
            PrintTruncated();
            return;
        }
        uint ulen = U16(p, up + 4);
        // IPv6 jumbograms (RFC 2675) carry 0 here.
        if (ulen == 0 && length > 65535)
            ulen = length;
        if (ulen < 8)
        {
            UdpAddressesPrint(ip, sport, dport);
            _o.Append("truncated-udplength ");
            _o.Append(ulen);
            return;
        }
        ulen -= 8;
        length -= 8;
        if (ulen < length)
            length = ulen;
        int cp = up + 8;
        if (cp > p.Length)
        {
            UdpAddressesPrint(ip, sport, dport);
            PrintTruncated();
            return;
        }

        if (Options.PacketType != ForcedPacketType.None)
        {
            ForcedUdpPrint(p, cp, length, sport, dport, ip);
            return;
        }
        UdpAddressesPrint(ip, sport, dport);
        if (!_qflag && Has(p, cp + 4, 4))
        {
            uint direction = U32(p, cp + 4);
            // Sun RPC on the NFS port: tcpdump's NFS printer, which this printer summarises.
            if (dport == 2049 && direction == 0)
            {
                _o.Append("NFS request xid ");
                _o.Append(U32(p, cp));
                _o.Append(' ');
                _o.Append(length);
                return;
            }
            if (sport == 2049 && direction == 1)
            {
                _o.Append("NFS reply xid ");
                _o.Append(U32(p, cp));
                _o.Append(' ');
                _o.Append(length);
                return;
            }
        }

        if (_vflag > 0 && !Options.DontVerifyChecksums && !fragmented)
        {
            if (ip.Version == 4 && _vflag > 1)
            {
                ushort field = U16(p, up + 6);
                if (field == 0)
                    _o.Append("[no cksum] ");
                else if (Has(p, cp, length))
                    UdpChecksumNote(field, PseudoHeaderChecksum4(ip, p.Slice(up, (int)length + 8), ProtoUdp));
            }
            else if (ip.Version == 6 && Has(p, cp, length))
                UdpChecksumNote(U16(p, up + 6), PseudoHeaderChecksum6(ip, p.Slice(up, (int)length + 8), ProtoUdp));
        }

        if (!_qflag && UdpApplicationPrint(p, cp, length, sport, dport))
            return;
        if (ulen > length && !fragmented)
        {
            _o.Append("UDP, bad length ");
            _o.Append(ulen);
            _o.Append(" > ");
            _o.Append(length);
        }
        else
        {
            _o.Append("UDP, length ");
            _o.Append(ulen);
        }
    }

    private void UdpChecksumNote(ushort field, ushort sum)
    {
        if (sum != 0)
        {
            _o.Append("[bad udp cksum 0x");
            _o.AppendHex(field, 4);
            _o.Append(" -> 0x");
            _o.AppendHex(ChecksumShouldBe(field, sum), 4);
            _o.Append("!] ");
        }
        else
            _o.Append("[udp sum ok] ");
    }

    /// <summary>
    /// The port dispatch of tcpdump's udp_print, in its order. Returns false when tcpdump would print the
    /// plain "UDP, length N". Protocols tcpdump decodes and this printer does not get "NAME, length N".
    /// </summary>
    private bool UdpApplicationPrint(ReadOnlySpan<byte> p, int cp, uint length, ushort sport, ushort dport)
    {
        string? summary;
        if (EitherPort(sport, dport, 53))
        {
            DomainPrint(p, cp, length, overTcp: false, mdns: false);
            return true;
        }
        if (EitherPort(sport, dport, 5353))
        {
            DomainPrint(p, cp, length, overTcp: false, mdns: true);
            return true;
        }
        if (EitherPort(sport, dport, 525))
            summary = "timed";
        else if (EitherPort(sport, dport, 69))
            summary = "TFTP";
        else if (EitherPort(sport, dport, 68) || EitherPort(sport, dport, 67))
        {
            BootpPrint(p, cp, length);
            return true;
        }
        else if (EitherPort(sport, dport, 520))
            summary = "RIP";
        else if (EitherPort(sport, dport, 654))
            summary = "AODV";
        else if (EitherPort(sport, dport, 500) || EitherPort(sport, dport, 7500) || EitherPort(sport, dport, 8500))
            summary = "ISAKMP";
        else if (EitherPort(sport, dport, 4500))
            summary = "UDP-encap";
        else if (EitherPort(sport, dport, 161) || EitherPort(sport, dport, 162))
            summary = "SNMP";
        else if (EitherPort(sport, dport, 123))
        {
            NtpPrint(p, cp, length);
            return true;
        }
        else if (EitherPort(sport, dport, 88) || EitherPort(sport, dport, 750))
        {
            KrbPrint(p, cp);
            return true;
        }
        else if (EitherPort(sport, dport, 1701))
            summary = "L2TP";
        else if (dport == 3456)
            summary = "VAT";
        else if (EitherPort(sport, dport, 2103) || EitherPort(sport, dport, 2104))
            summary = "Zephyr";
        else if ((sport >= 7000 && sport <= 7009) || (dport >= 7000 && dport <= 7009))
        {
            RxPrint(p, cp, length);
            return true;
        }
        else if (EitherPort(sport, dport, 521))
            summary = "RIPng";
        else if (EitherPort(sport, dport, 546) || EitherPort(sport, dport, 547))
        {
            Dhcp6Print(p, cp);
            return true;
        }
        else if (EitherPort(sport, dport, 5359))
            summary = "AHCP";
        else if (EitherPort(sport, dport, 6696) || EitherPort(sport, dport, 6697))
        {
            BabelPrint(p, cp, length);
            return true;
        }
        else if (EitherPort(sport, dport, 8231))
            summary = "HNCP";
        else if (dport == 4567)
            summary = "WB";
        else if (EitherPort(sport, dport, 496))
            summary = "Cisco Auto-RP";
        else if (EitherPort(sport, dport, 1645) || EitherPort(sport, dport, 1812) || EitherPort(sport, dport, 1646)
                 || EitherPort(sport, dport, 1813) || EitherPort(sport, dport, 1700) || EitherPort(sport, dport, 3799))
            summary = "RADIUS";
        else if (dport == 1985)
        {
            HsrpPrint(p, cp, length);
            return true;
        }
        else if (EitherPort(sport, dport, 921))
            summary = "LWRES";
        else if (EitherPort(sport, dport, 646))
            summary = "LDP";
        else if (EitherPort(sport, dport, 698))
            summary = "OLSR";
        else if (EitherPort(sport, dport, 3503))
            summary = "LSP-PING";
        else if (sport == 49152)
        {
            BcmLiPrint(p, cp, length);
            return true;
        }
        else if (dport is 3784 or 4784 or 6784 or 3785)
        {
            BfdPrint(p, cp, length, dport);
            return true;
        }
        else if (EitherPort(sport, dport, 701))
            summary = "LMP";
        else if (EitherPort(sport, dport, 1589))
            summary = "VQP";
        else if (EitherPort(sport, dport, 6343))
        {
            SflowPrint(p, cp, length);
            return true;
        }
        else if (dport == 12223 || sport == 12223 || EitherPort(sport, dport, 12222))
            summary = "LWAPP";
        else if (EitherPort(sport, dport, 5060))
            summary = "SIP";
        else if (EitherPort(sport, dport, 514))
            summary = "SYSLOG";
        else if (EitherPort(sport, dport, 8472))
            summary = "OTV";
        else if (EitherPort(sport, dport, 4789))
        {
            VxlanPrint(p, cp, length);
            return true;
        }
        else if (EitherPort(sport, dport, 6081))
        {
            GenevePrint(p, cp, length);
            return true;
        }
        else if (EitherPort(sport, dport, 4342))
            summary = "LISP";
        else if (EitherPort(sport, dport, 4790))
            summary = "VXLAN-GPE";
        else if (EitherPort(sport, dport, 17754))
            summary = "ZEP";
        else if (EitherPort(sport, dport, 6635))
            summary = "MPLS";
        else if (Has(p, cp + 2, 1) && p[cp + 2] == 2 && (IsAppleTalkPort(sport) || IsAppleTalkPort(dport)))
            summary = "AppleTalk";
        else if (EitherPort(sport, dport, 319) || EitherPort(sport, dport, 320))
        {
            PtpPrint(p, cp, length);
            return true;
        }
        else if (EitherPort(sport, dport, 30490))
            summary = "SOMEIP";
        else
            return false;
        OtherSummary(summary, length);
        return true;
    }

    // AppleTalk-over-UDP port ranges (tcpdump's atalk_port).
    private static bool IsAppleTalkPort(ushort port) =>
        (uint)(port - 16512) < 128 || (uint)(port - 200) < 128 || (uint)(port - 768) < 128;

    /// <summary>tcpdump's ntp_print, first line: version, mode, length (the -v details are not decoded).</summary>
    private void NtpPrint(ReadOnlySpan<byte> p, int cp, uint length)
    {
        _proto = "ntp";
        byte status = U8(p, cp);
        _o.Append("NTPv");
        _o.Append((uint)(status >> 3) & 7);
        _o.Append(", ");
        _o.Append((status & 7) switch
        {
            0 => "unspecified",
            1 => "symmetric active",
            2 => "symmetric passive",
            3 => "Client",
            4 => "Server",
            5 => "Broadcast",
            6 => "Control Message",
            _ => "Reserved",
        });
        _o.Append(", length ");
        _o.Append(length);
    }
}
