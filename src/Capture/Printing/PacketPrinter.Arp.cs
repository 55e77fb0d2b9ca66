using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// ARP and RARP (RFC 826, 903, 2390), as tcpdump's arp_print, including ATM ARP (RFC 2225).
public sealed partial class PacketPrinter
{
    private static string? ArpHardwareName(ushort hrd) => hrd switch
    {
        1 => "Ethernet",
        6 => "TokenRing",
        7 => "ArcNet",
        15 => "FrameRelay",
        23 => "Strip",
        24 => "IEEE 1394",
        19 => "ATM",
        32 => "InfiniBand",
        _ => null,
    };

    private static string? ArpOperationName(ushort op) => op switch
    {
        1 => "Request",
        2 => "Reply",
        3 => "Reverse Request",
        4 => "Reverse Reply",
        8 => "Inverse Request",
        9 => "Inverse Reply",
        10 => "NACK Reply",
        _ => null,
    };

    private void ArpTypesPrint(ushort hrd, int hlen, ushort pro, int plen, bool atm)
    {
        if (ArpHardwareName(hrd) is { } h)
            _o.Append(h);
        else
        {
            _o.Append("Unknown Hardware (");
            _o.Append(hrd);
            _o.Append(')');
        }
        if (!atm)
        {
            _o.Append(" (len ");
            _o.Append(hlen);
            _o.Append(')');
        }
        _o.Append(", ");
        if (Internal.NameTables.EtherType(pro) is { } name)
            _o.Append(name);
        else
        {
            _o.Append("Unknown Protocol (0x");
            _o.AppendHex(pro, 4);
            _o.Append(')');
        }
        if (!atm)
        {
            _o.Append(" (len ");
            _o.Append(plen);
            _o.Append(')');
        }
    }

    private void ArpOperationPrint(ushort op)
    {
        if (_vflag > 0)
            _o.Append(", ");
        if (ArpOperationName(op) is { } name)
            _o.Append(name);
        else
        {
            _o.Append("Unknown (");
            _o.Append(op);
            _o.Append(')');
        }
        _o.Append(' ');
    }

    private void ArpProtocolAddress(ReadOnlySpan<byte> p, int offset, ushort pro, int plen, string wrongLength)
    {
        if (pro != EtherTypeIPv4 && pro != 0x1000)
            _o.Append("<wrong proto type>");
        else if (plen != 4)
            _o.Append(wrongLength);
        else
            Ip4(p, offset);
    }

    private void ArpPrint(ReadOnlySpan<byte> p, int off, uint length, uint caplen)
    {
        _proto = "arp";
        Check(p, off, 8);
        ushort hrd = U16(p, off);
        ushort pro = U16(p, off + 2);
        ushort op = U16(p, off + 6);
        if (hrd == 19)
        {
            AtmArpPrint(p, off, length, caplen);
            return;
        }
        bool ether = hrd != 15; // Frame Relay uses Q.922 addresses; everything else is spelled as Ethernet.
        int hln = U8(p, off + 4);
        int pln = U8(p, off + 5);
        int sha = off + 8, spa = sha + hln, tha = spa + pln, tpa = tha + hln;
        Check(p, tpa, pln);
        if (!_eflag)
            _o.Append("ARP, ");
        if ((pro != EtherTypeIPv4 && pro != 0x1000) || pln != 4 || hln == 0 || _vflag > 0)
        {
            ArpTypesPrint(hrd, hln, pro, pln, atm: false);
            if (_vflag == 0)
            {
                ArpLength(length);
                return;
            }
        }
        ArpOperationPrint(op);
        switch (op)
        {
            case 1:
                _o.Append("who-has ");
                ArpProtocolAddress(p, tpa, pro, pln, "<wrong len>");
                if (IsNonZero(p, tha, hln))
                {
                    _o.Append(" (");
                    LinkAddr(p, tha, hln, ether);
                    _o.Append(')');
                }
                _o.Append(" tell ");
                ArpProtocolAddress(p, spa, pro, pln, "<wrong len>");
                break;
            case 2:
                ArpProtocolAddress(p, spa, pro, pln, "<wrong len>");
                _o.Append(" is-at ");
                LinkAddr(p, sha, hln, ether);
                break;
            case 3:
            case 8:
                _o.Append("who-is ");
                LinkAddr(p, tha, hln, ether);
                _o.Append(" tell ");
                LinkAddr(p, sha, hln, ether);
                break;
            case 4:
                LinkAddr(p, tha, hln, ether);
                _o.Append(" at ");
                ArpProtocolAddress(p, tpa, pro, pln, "<wrong len>");
                break;
            case 9:
                LinkAddr(p, sha, hln, ether);
                _o.Append(" at ");
                ArpProtocolAddress(p, spa, pro, pln, "<wrong len>");
                break;
            default:
                DefaultPrint(p, off, caplen);
                return;
        }
        ArpLength(length);
    }

    private void ArpLength(uint length)
    {
        _o.Append(", length ");
        _o.Append(length);
    }

    private static bool IsNonZero(ReadOnlySpan<byte> p, int offset, int length)
    {
        for (int i = 0; i < length; i++)
        {
            if (U8(p, offset + i) != 0)
                return true;
        }
        return false;
    }

    private void AtmArpAddress(ReadOnlySpan<byte> p, int ha, int haLen, int srca, int srcaLen)
    {
        if (haLen == 0)
            _o.Append("<No address>");
        else
        {
            LinkAddr(p, ha, haLen, ether: false);
            if (srcaLen != 0)
            {
                _o.Append(',');
                LinkAddr(p, srca, srcaLen, ether: false);
            }
        }
    }

    private void AtmArpPrint(ReadOnlySpan<byte> p, int off, uint length, uint caplen)
    {
        Check(p, off, 12);
        ushort hrd = U16(p, off);
        ushort pro = U16(p, off + 2);
        int shtl = U8(p, off + 4) & 0x3f, sstl = U8(p, off + 5) & 0x3f;
        ushort op = U16(p, off + 6);
        int spln = U8(p, off + 8), thtl = U8(p, off + 9) & 0x3f, tstl = U8(p, off + 10) & 0x3f, tpln = U8(p, off + 11);
        int sha = off + 12, ssa = sha + shtl, spa = ssa + sstl, tha = spa + spln, tsa = tha + thtl, tpa = tsa + tstl;
        Check(p, tpa, tpln);
        if (!_eflag)
            _o.Append("ARP, ");
        if ((pro != EtherTypeIPv4 && pro != 0x1000) || spln != 4 || tpln != 4 || _vflag > 0)
        {
            ArpTypesPrint(hrd, 0, pro, 0, atm: true);
            _o.Append(" (len ");
            _o.Append(spln);
            _o.Append('/');
            _o.Append(tpln);
            _o.Append(')');
            if (_vflag == 0)
            {
                ArpLength(length);
                return;
            }
        }
        ArpOperationPrint(op);
        switch (op)
        {
            case 1:
                _o.Append("who-has ");
                ArpProtocolAddress(p, tpa, pro, tpln, "<wrong tplen>");
                if (thtl != 0)
                {
                    _o.Append(" (");
                    AtmArpAddress(p, tha, thtl, tsa, tstl);
                    _o.Append(')');
                }
                _o.Append(" tell ");
                ArpProtocolAddress(p, spa, pro, spln, "<wrong splen>");
                break;
            case 2:
                ArpProtocolAddress(p, spa, pro, spln, "<wrong splen>");
                _o.Append(" is-at ");
                AtmArpAddress(p, sha, shtl, ssa, sstl);
                break;
            case 8:
                _o.Append("who-is ");
                AtmArpAddress(p, tha, thtl, tsa, tstl);
                _o.Append(" tell ");
                AtmArpAddress(p, sha, shtl, ssa, sstl);
                break;
            case 9:
                AtmArpAddress(p, sha, shtl, ssa, sstl);
                _o.Append("at ");
                ArpProtocolAddress(p, spa, pro, spln, "<wrong splen>");
                break;
            case 10:
                _o.Append("for ");
                ArpProtocolAddress(p, spa, pro, spln, "<wrong splen>");
                break;
            default:
                DefaultPrint(p, off, caplen);
                return;
        }
        ArpLength(length);
    }
}
