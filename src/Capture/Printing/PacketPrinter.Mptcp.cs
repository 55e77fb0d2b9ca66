using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// Multipath TCP options (RFC 8684), as tcpdump's mptcp_print inside the TCP options list.
public sealed partial class PacketPrinter
{
    /// <summary>Prints an MPTCP option; <paramref name="p"/> ends where the option ends. False makes TCP say "[bad opt]".</summary>
    private bool MptcpOptionPrint(ReadOnlySpan<byte> p, int opt, uint len, byte tcpFlags)
    {
        _proto = "mptcp";
        if (len < 3)
            return false;
        int subtype = Math.Min((U8(p, opt + 2) >> 4) & 0xf, 8);
        _o.Append(' ');
        _o.Append(len);
        _o.Append(' ');
        _o.Append(subtype switch
        {
            0 => "capable",
            1 => "join",
            2 => "dss",
            3 => "add-addr",
            4 => "rem-addr",
            5 => "prio",
            6 => "fail",
            7 => "fast-close",
            _ => "unknown",
        });
        return subtype switch
        {
            0 => MptcpCapable(p, opt, len, tcpFlags),
            1 => MptcpJoin(p, opt, len, tcpFlags),
            2 => MptcpDss(p, opt, len, tcpFlags),
            3 => MptcpAddAddress(p, opt, len),
            4 => MptcpRemoveAddress(p, opt, len),
            5 => MptcpPriority(p, opt, len),
            6 => MptcpSeqOrKey(p, opt, len, " seq ", hex: false),
            7 => MptcpSeqOrKey(p, opt, len, " key 0x", hex: true),
            _ => true,
        };
    }

    private bool MptcpCapable(ReadOnlySpan<byte> p, int opt, uint len, byte flags)
    {
        if (!((len == 12 || len == 4) && (flags & ThSyn) != 0)
            && !((len == 20 || len == 22) && (flags & (ThSyn | ThAck)) == ThAck))
            return false;
        int version = U8(p, opt + 2) & 0xf;
        if (version > 1)
        {
            _o.Append(" Unknown Version (");
            _o.Append(version);
            _o.Append(')');
            return true;
        }
        _o.Append(" v");
        _o.Append(version);
        if ((U8(p, opt + 3) & 0x80) != 0)
            _o.Append(" csum");
        if (len == 12 || len >= 20)
        {
            _o.Append(" {0x");
            _o.AppendHex(U64(p, opt + 4));
            if (len >= 20)
            {
                _o.Append(",0x");
                _o.AppendHex(U64(p, opt + 12));
            }
            _o.Append('}');
        }
        return true;
    }

    private bool MptcpJoin(ReadOnlySpan<byte> p, int opt, uint len, byte flags)
    {
        if (!(len == 12 && (flags & ThSyn) != 0)
            && !(len == 16 && (flags & (ThSyn | ThAck)) == (ThSyn | ThAck))
            && !(len == 24 && (flags & ThAck) != 0))
            return false;
        if (len != 24)
        {
            if ((U8(p, opt + 2) & 1) != 0)
                _o.Append(" backup");
            _o.Append(" id ");
            _o.Append((uint)U8(p, opt + 3));
        }
        switch (len)
        {
            case 12:
                _o.Append(" token 0x");
                _o.AppendHex(U32(p, opt + 4));
                _o.Append(" nonce 0x");
                _o.AppendHex(U32(p, opt + 8));
                break;
            case 16:
                _o.Append(" hmac 0x");
                _o.AppendHex(U64(p, opt + 4));
                _o.Append(" nonce 0x");
                _o.AppendHex(U32(p, opt + 12));
                break;
            case 24:
                _o.Append(" hmac 0x");
                for (int i = 0; i < 20; i++)
                    _o.AppendHexByte(U8(p, opt + 4 + i));
                break;
        }
        return true;
    }

    private bool MptcpDss(ReadOnlySpan<byte> p, int opt, uint len, byte flags)
    {
        if (len < 4 || (flags & ThSyn) != 0)
            return false;
        byte dss = U8(p, opt + 3);
        if ((dss & 0x10) != 0)
            _o.Append(" fin");
        opt += 4;
        len -= 4;
        if ((dss & 0x01) != 0)
        {
            _o.Append(" ack ");
            if (!MptcpNumber(p, ref opt, ref len, wide: (dss & 0x02) != 0))
                return false;
        }
        if ((dss & 0x04) != 0)
        {
            _o.Append(" seq ");
            if (!MptcpNumber(p, ref opt, ref len, wide: (dss & 0x08) != 0))
                return false;
            if (len < 4)
                return false;
            _o.Append(" subseq ");
            _o.Append(U32(p, opt));
            opt += 4;
            len -= 4;
            if (len < 2)
                return false;
            _o.Append(" len ");
            _o.Append((uint)U16(p, opt));
            opt += 2;
            len -= 2;
            if (len >= 2)
            {
                _o.Append(" csum 0x");
                _o.AppendHex(U16(p, opt));
                len -= 2;
            }
        }
        return len == 0;
    }

    private bool MptcpNumber(ReadOnlySpan<byte> p, ref int opt, ref uint len, bool wide)
    {
        if (wide)
        {
            if (len < 8)
                return false;
            _o.Append(U64(p, opt));
            opt += 8;
            len -= 8;
        }
        else
        {
            if (len < 4)
                return false;
            _o.Append(U32(p, opt));
            opt += 4;
            len -= 4;
        }
        return true;
    }

    private bool MptcpAddAddress(ReadOnlySpan<byte> p, int opt, uint len)
    {
        if (len is not (8 or 10 or 16 or 18 or 20 or 22 or 28 or 30))
            return false;
        _o.Append(' ');
        _o.Append((U8(p, opt + 2) & 0xf) switch
        {
            6 => "v0-ip6",
            4 => "v0-ip4",
            1 => "v1-echo",
            0 => "v1",
            _ => "[bad version/echo]",
        });
        _o.Append(" id ");
        _o.Append((uint)U8(p, opt + 3));
        if (len is 8 or 10 or 16 or 18)
        {
            _o.Append(' ');
            Ip4(p, opt + 4);
            if (len is 10 or 18)
            {
                _o.Append(':');
                _o.Append((uint)U16(p, opt + 8));
            }
            if (len == 16)
            {
                _o.Append(" hmac 0x");
                _o.AppendHex(U64(p, opt + 8));
            }
            if (len == 18)
            {
                _o.Append(" hmac 0x");
                _o.AppendHex(U64(p, opt + 10));
            }
        }
        else
        {
            _o.Append(' ');
            Ip6(p, opt + 4);
            if (len is 22 or 30)
            {
                _o.Append(':');
                _o.Append((uint)U16(p, opt + 20));
            }
            if (len == 28)
            {
                _o.Append(" hmac 0x");
                _o.AppendHex(U64(p, opt + 20));
            }
            if (len == 30)
            {
                _o.Append(" hmac 0x");
                _o.AppendHex(U64(p, opt + 22));
            }
        }
        return true;
    }

    private bool MptcpRemoveAddress(ReadOnlySpan<byte> p, int opt, uint len)
    {
        if (len < 4)
            return false;
        _o.Append(" id");
        for (int i = 0; i < len - 3; i++)
        {
            _o.Append(' ');
            _o.Append((uint)U8(p, opt + 3 + i));
        }
        return true;
    }

    private bool MptcpPriority(ReadOnlySpan<byte> p, int opt, uint len)
    {
        if (len != 3 && len != 4)
            return false;
        _o.Append((U8(p, opt + 2) & 1) != 0 ? " backup" : " non-backup");
        if (len == 4)
        {
            _o.Append(" id ");
            _o.Append((uint)U8(p, opt + 3));
        }
        return true;
    }

    private bool MptcpSeqOrKey(ReadOnlySpan<byte> p, int opt, uint len, string label, bool hex)
    {
        if (len != 12)
            return false;
        _o.Append(label);
        if (hex)
            _o.AppendHex(U64(p, opt + 4));
        else
            _o.Append(U64(p, opt + 4));
        return true;
    }
}
