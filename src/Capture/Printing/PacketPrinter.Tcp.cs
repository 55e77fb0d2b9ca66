using System.Buffers.Binary;
using System.Runtime.InteropServices;
using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// TCP as tcpdump's tcp_print: flags, relative sequence numbers per conversation, window, options, length,
// and the text protocols (HTTP, FTP, SMTP, RTSP) and DNS tcpdump recognises by port.
public sealed partial class PacketPrinter
{
    private const byte ThFin = 0x01, ThSyn = 0x02, ThRst = 0x04, ThPush = 0x08, ThAck = 0x10, ThUrg = 0x20;

    // tcpdump never forgets a conversation; past this many a printer starts over rather than grow without end.
    private const int MaxTcpConversations = 1 << 21;

    /// <summary>A conversation, its two ends in tcpdump's collating order (so both directions share an entry).</summary>
    private readonly record struct TcpKey4(uint Src, uint Dst, uint Ports);

    private readonly record struct TcpKey6(UInt128 Src, UInt128 Dst, uint Ports);

    /// <summary>The initial sequence numbers tcpdump subtracts: seq of the lower end, ack - 1 of it.</summary>
    private struct TcpSeqBase
    {
        public uint Seq;
        public uint Ack;
    }

    private readonly Dictionary<TcpKey4, TcpSeqBase> _tcp4 = [];
    private readonly Dictionary<TcpKey6, TcpSeqBase> _tcp6 = [];

    private void TcpPortPair(in IpContext ip, ushort sport, ushort dport)
    {
        var hdr = ip.Packet;
        int o = ip.Offset;
        if (ip.Version == 6)
        {
            if (U8(hdr, o + 6) == ProtoTcp)
            {
                Check(hdr, o + 24, 16);
                Ip6(hdr, o + 8);
                _o.Append('.');
                TcpPort(sport);
                _o.Append(" > ");
                Ip6(hdr, o + 24);
                _o.Append('.');
                TcpPort(dport);
                _o.Append(": ");
                return;
            }
        }
        else if (U8(hdr, o + 9) == ProtoTcp)
        {
            Check(hdr, o + 16, 4);
            Ip4(hdr, o + 12);
            _o.Append('.');
            TcpPort(sport);
            _o.Append(" > ");
            Ip4(hdr, o + 16);
            _o.Append('.');
            TcpPort(dport);
            _o.Append(": ");
            return;
        }
        // Reached through another header (AH, IPv6 extension headers): the addresses are already printed.
        TcpPort(sport);
        _o.Append(" > ");
        TcpPort(dport);
        _o.Append(": ");
    }

    private void TcpPrint(ReadOnlySpan<byte> p, int tp, uint length, IpContext ip, bool fragmented)
    {
        _proto = "tcp";
        char ch = '\0';
        if (!Has(p, tp + 2, 2))
        {
            if (ip.Version == 6)
                Ip6AddressPair(ip.Packet, ip.Offset + 8, ip.Offset + 24, ":");
            else
                IpAddressPair(ip.Packet, ip.Offset + 12, ip.Offset + 16, ":");
            PrintTruncated();
            return;
        }
        ushort sport = U16(p, tp);
        ushort dport = U16(p, tp + 2);
        TcpPortPair(ip, sport, dport);

        if (!Has(p, tp, 20))
        {
            PrintTruncated();
            return;
        }
        uint hlen = (uint)(U8(p, tp + 12) >> 4) * 4;
        if (hlen < 20)
        {
            _o.Append(" tcp ");
            _o.Append(length - hlen);
            _o.Append(" [bad hdr length ");
            _o.Append(hlen);
            _o.Append(" - too short, < 20]");
            return;
        }
        uint seq = U32(p, tp + 4);
        uint ack = U32(p, tp + 8);
        ushort win = U16(p, tp + 14);
        ushort urp = U16(p, tp + 18);

        if (_qflag)
        {
            _o.Append("tcp ");
            _o.Append(length - hlen);
            if (hlen > length)
                BadHeaderTooLong(hlen, length);
            return;
        }

        byte flags = U8(p, tp + 13);
        _o.Append("Flags [");
        TcpFlagsPrint(flags);
        _o.Append(']');

        bool rev = false;
        uint thseq = 0, thack = 0;
        if (!Options.AbsoluteTcpSequenceNumbers && (flags & ThAck) != 0)
            RelativeSequence(ip, sport, dport, flags, ref seq, ref ack, out rev, out thseq, out thack);

        if (hlen > length)
        {
            BadHeaderTooLong(hlen, length);
            return;
        }

        if (_vflag > 0 && !Options.DontVerifyChecksums && !fragmented && Has(p, tp, length))
        {
            ushort sum = ip.Version == 4
                ? PseudoHeaderChecksum4(ip, p.Slice(tp, (int)length), ProtoTcp)
                : PseudoHeaderChecksum6(ip, p.Slice(tp, (int)length), ProtoTcp);
            ushort field = U16(p, tp + 16);
            _o.Append(", cksum 0x");
            _o.AppendHex(field, 4);
            if (sum != 0)
            {
                _o.Append(" (incorrect -> 0x");
                _o.AppendHex(ChecksumShouldBe(field, sum), 4);
                _o.Append(')');
            }
            else
                _o.Append(" (correct)");
        }

        length -= hlen;
        if (_vflag > 1 || length > 0 || (flags & (ThSyn | ThFin | ThRst)) != 0)
        {
            _o.Append(", seq ");
            _o.Append(seq);
            if (length > 0)
            {
                _o.Append(':');
                _o.Append(seq + length);
            }
        }
        if ((flags & ThAck) != 0)
        {
            _o.Append(", ack ");
            _o.Append(ack);
        }
        _o.Append(", win ");
        _o.Append((uint)win);
        if ((flags & ThUrg) != 0)
        {
            _o.Append(", urg ");
            _o.Append((uint)urp);
        }

        if (hlen > 20)
        {
            switch (TcpOptionsPrint(p, tp, hlen - 20, length, rev, thseq, thack, ref ch, ip))
            {
                case OptionsResult.Bad:
                    _o.Append("[bad opt]");
                    if (ch != '\0')
                        _o.Append(']');
                    return;
                case OptionsResult.Truncated:
                    PrintTruncated();
                    if (ch != '\0')
                        _o.Append('>');
                    return;
            }
        }

        _o.Append(", length ");
        _o.Append(length);
        if (length == 0)
            return;

        int headerLength = (U8(p, tp + 12) >> 4) * 4;
        if (!Has(p, tp, headerLength))
        {
            _o.Append(" [remaining caplen(");
            _o.Append((uint)Math.Max(0, p.Length - tp));
            _o.Append(") < header length(");
            _o.Append(headerLength);
            _o.Append(")]");
            throw Internal.TruncatedException.Instance;
        }
        int bp = tp + headerLength;
        if ((flags & ThRst) != 0 && _vflag > 0)
        {
            TcpResetDataPrint(p, bp, length);
            return;
        }
        TcpPayloadPrint(p, bp, length, sport, dport);
    }

    private void BadHeaderTooLong(uint hlen, uint length)
    {
        _o.Append(" [bad hdr length ");
        _o.Append(hlen);
        _o.Append(" - too long, > ");
        _o.Append(length);
        _o.Append(']');
    }

    private void TcpFlagsPrint(byte flags)
    {
        if (flags == 0)
        {
            _o.Append("none");
            return;
        }
        if ((flags & ThFin) != 0) _o.Append('F');
        if ((flags & ThSyn) != 0) _o.Append('S');
        if ((flags & ThRst) != 0) _o.Append('R');
        if ((flags & ThPush) != 0) _o.Append('P');
        if ((flags & ThAck) != 0) _o.Append('.');
        if ((flags & ThUrg) != 0) _o.Append('U');
        if ((flags & 0x40) != 0) _o.Append('E');
        if ((flags & 0x80) != 0) _o.Append('W');
    }

    /// <summary>
    /// tcpdump's relative numbering: the first segment with ACK set that is seen for a conversation (or any SYN)
    /// records its numbers and is printed absolute; later ones are printed relative to them.
    /// </summary>
    private void RelativeSequence(in IpContext ip, ushort sport, ushort dport, byte flags, ref uint seq, ref uint ack,
        out bool rev, out uint thseq, out uint thack)
    {
        var hdr = ip.Packet;
        int o = ip.Offset;
        rev = false;
        ref TcpSeqBase th = ref System.Runtime.CompilerServices.Unsafe.NullRef<TcpSeqBase>();
        bool exists;
        if (ip.Version == 6)
        {
            UInt128 src = BinaryPrimitives.ReadUInt128BigEndian(hdr.Slice(o + 8, 16));
            UInt128 dst = BinaryPrimitives.ReadUInt128BigEndian(hdr.Slice(o + 24, 16));
            if (sport > dport)
                rev = true;
            else if (sport == dport && hdr.Slice(o + 8, 16).SequenceCompareTo(hdr.Slice(o + 24, 16)) > 0)
                rev = true;
            var key = rev ? new TcpKey6(dst, src, (uint)dport << 16 | sport) : new TcpKey6(src, dst, (uint)sport << 16 | dport);
            if (_tcp6.Count >= MaxTcpConversations)
                _tcp6.Clear();
            th = ref CollectionsMarshal.GetValueRefOrAddDefault(_tcp6, key, out exists);
        }
        else
        {
            uint src = BinaryPrimitives.ReadUInt32BigEndian(hdr.Slice(o + 12, 4));
            uint dst = BinaryPrimitives.ReadUInt32BigEndian(hdr.Slice(o + 16, 4));
            if (sport > dport)
                rev = true;
            else if (sport == dport && src > dst)
                rev = true;
            var key = rev ? new TcpKey4(dst, src, (uint)dport << 16 | sport) : new TcpKey4(src, dst, (uint)sport << 16 | dport);
            if (_tcp4.Count >= MaxTcpConversations)
                _tcp4.Clear();
            th = ref CollectionsMarshal.GetValueRefOrAddDefault(_tcp4, key, out exists);
        }
        if (!exists || (flags & ThSyn) != 0)
        {
            if (rev)
            {
                th.Ack = seq;
                th.Seq = ack - 1;
            }
            else
            {
                th.Seq = seq;
                th.Ack = ack - 1;
            }
        }
        else if (rev)
        {
            seq -= th.Ack;
            ack -= th.Seq;
        }
        else
        {
            seq -= th.Seq;
            ack -= th.Ack;
        }
        thseq = th.Seq;
        thack = th.Ack;
    }

    /// <summary>nextproto4_cksum: the checksum over the IPv4 pseudo-header and <paramref name="data"/>.</summary>
    private static ushort PseudoHeaderChecksum4(in IpContext ip, ReadOnlySpan<byte> data, byte proto)
    {
        var hdr = ip.Packet;
        int o = ip.Offset;
        Span<byte> ph = stackalloc byte[12];
        hdr.Slice(o + 12, 4).CopyTo(ph);
        int hl = (hdr[o] & 0xf) * 4;
        if (hl == 20)
            hdr.Slice(o + 16, 4).CopyTo(ph[4..]);
        else
            BinaryPrimitives.WriteUInt32BigEndian(ph[4..], Ip4FinalDestination(hdr, o, hl));
        ph[8] = 0;
        ph[9] = proto;
        BinaryPrimitives.WriteUInt16BigEndian(ph[10..], (ushort)data.Length);
        return InternetChecksum(ph, data);
    }

    /// <summary>tcpdump's ip_finddst: the last address of a source route option, else the destination.</summary>
    private static uint Ip4FinalDestination(ReadOnlySpan<byte> hdr, int o, int hl)
    {
        uint dst = U32(hdr, o + 16);
        int cp = o + 20;
        int length = hl - 20;
        int len;
        for (; length > 0; cp += len, length -= len)
        {
            if (!Has(hdr, cp, 1))
                return dst;
            byte tt = hdr[cp];
            if (tt == 0)
                break;
            if (tt == 1)
                len = 1;
            else
            {
                if (!Has(hdr, cp + 1, 1))
                    return dst;
                len = hdr[cp + 1];
                if (len < 2)
                    break;
            }
            if (length < len || !Has(hdr, cp, len))
                return dst;
            if ((tt == 137 || tt == 131) && len >= 7)
                return U32(hdr, cp + len - 4);
        }
        return dst;
    }

    /// <summary>nextproto6_cksum: the checksum over the IPv6 pseudo-header (final destination of a routing header).</summary>
    private static ushort PseudoHeaderChecksum6(in IpContext ip, ReadOnlySpan<byte> data, byte proto)
    {
        var hdr = ip.Packet;
        int o = ip.Offset;
        Span<byte> ph = stackalloc byte[40];
        hdr.Slice(o + 8, 16).CopyTo(ph);
        byte nh = hdr[o + 6];
        int dst = nh is 0 or 60 or 62 or 135 or 44 or 43 ? Ip6FinalDestination(hdr, o) : o + 24;
        if (!Has(hdr, dst, 16))
            throw Internal.TruncatedException.Instance;
        hdr.Slice(dst, 16).CopyTo(ph[16..]);
        BinaryPrimitives.WriteUInt32BigEndian(ph[32..], (uint)data.Length);
        ph[39] = proto;
        return InternetChecksum(ph, data);
    }

    /// <summary>tcpdump's ip6_finddst: the offset of the address a routing header finally delivers to.</summary>
    private static int Ip6FinalDestination(ReadOnlySpan<byte> hdr, int o)
    {
        int cp = o;
        int advance = 40;
        int nh = hdr[o + 6];
        int dst = o + 24;
        while (cp < hdr.Length)
        {
            cp += advance;
            switch (nh)
            {
                case 0:
                case 60:
                case 62:
                case 135:
                    advance = (U8(hdr, cp + 1) + 1) << 3;
                    nh = U8(hdr, cp);
                    break;
                case 44:
                    advance = 8;
                    nh = U8(hdr, cp);
                    break;
                case 43:
                    if (!Has(hdr, cp, 4))
                        return dst;
                    int len = hdr[cp + 1];
                    switch (hdr[cp + 2])
                    {
                        case 0:
                        case 2:
                            if (len % 2 == 1)
                                return dst;
                            len >>= 1;
                            int a = cp + 8;
                            for (int i = 0; i < len; i++)
                            {
                                if (!Has(hdr, a, 16))
                                    return dst;
                                dst = a;
                                a += 16;
                            }
                            break;
                        case 4:
                            if (len % 2 == 1)
                                return dst;
                            if (!Has(hdr, cp + 8, 16))
                                return dst;
                            dst = cp + 8;
                            break;
                    }
                    return dst;
                default:
                    return dst;
            }
        }
        return dst;
    }

    private enum OptionsResult { Ok, Bad, Truncated }

    private static string? TcpOptionName(uint opt) => opt switch
    {
        0 => "eol",
        1 => "nop",
        2 => "mss",
        3 => "wscale",
        4 => "sackOK",
        5 => "sack",
        6 => "echo",
        7 => "echoreply",
        8 => "TS",
        11 => "cc",
        12 => "ccnew",
        13 => "",
        19 => "md5",
        20 => "scps",
        28 => "uto",
        29 => "tcp-ao",
        30 => "mptcp",
        34 => "tfo",
        254 => "exp",
        _ => null,
    };

    private OptionsResult TcpOptionsPrint(ReadOnlySpan<byte> p, int tp, uint hlen, uint payloadLength, bool rev, uint thseq,
        uint thack, ref char ch, in IpContext ip)
    {
        int cp = tp + 20;
        _o.Append(", options [");
        while (hlen > 0)
        {
            if (ch != '\0')
                _o.Append(ch);
            uint opt = U8(p, cp);
            cp++;
            uint len;
            if (opt is 0 or 1)
                len = 1;
            else
            {
                len = U8(p, cp);
                cp++;
                if (len < 2 || len > hlen)
                    return OptionsResult.Bad;
                --hlen;
            }
            --hlen;
            uint datalen = 0;
            if (TcpOptionName(opt) is { } name)
                _o.Append(name);
            else
            {
                _o.Append("unknown-");
                _o.Append(opt);
            }
            switch (opt)
            {
                case 2:
                    datalen = 2;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    _o.Append(' ');
                    _o.Append((uint)U16(p, cp));
                    break;
                case 3:
                    datalen = 1;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    _o.Append(' ');
                    _o.Append((uint)U8(p, cp));
                    break;
                case 5:
                    datalen = len - 2;
                    if (datalen % 8 != 0)
                        _o.Append(" invalid sack");
                    else
                    {
                        _o.Append(' ');
                        _o.Append(datalen / 8);
                        _o.Append(' ');
                        for (uint i = 0; i < datalen; i += 8)
                        {
                            if (i + 4 > hlen) return OptionsResult.Bad;
                            if (!Has(p, cp, i + 4)) return OptionsResult.Truncated;
                            uint s = U32(p, cp + (int)i);
                            if (i + 8 > hlen) return OptionsResult.Bad;
                            if (!Has(p, cp, i + 8)) return OptionsResult.Truncated;
                            uint e = U32(p, cp + (int)i + 4);
                            if (rev)
                            {
                                s -= thseq;
                                e -= thseq;
                            }
                            else
                            {
                                s -= thack;
                                e -= thack;
                            }
                            _o.Append('{');
                            _o.Append(s);
                            _o.Append(':');
                            _o.Append(e);
                            _o.Append('}');
                        }
                    }
                    break;
                case 11:
                case 12:
                case 13:
                case 6:
                case 7:
                    datalen = 4;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    _o.Append(' ');
                    _o.Append(U32(p, cp));
                    break;
                case 8:
                    datalen = 8;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    _o.Append(" val ");
                    _o.Append(U32(p, cp));
                    _o.Append(" ecr ");
                    _o.Append(U32(p, cp + 4));
                    break;
                case 19:
                    datalen = 16;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    _o.Append(' ');
                    // tcpdump (built with libcrypto) checks with -M's secret, and says why when it cannot.
                    int payload = tp + (U8(p, tp + 12) >> 4) * 4;
                    string? cannot = payload + (long)payloadLength > p.Length ? "snaplen too short, "
                        : Options.TcpSignatureSecret is null ? "shared secret not supplied with -M, "
                        : ip.Version is not (4 or 6) ? "IP version not 4 or 6, " : null;
                    if (cannot is null)
                    {
                        _o.Append(Internal.TcpSignature.Matches(ip.Packet, ip.Offset, ip.Version, p.Slice(tp, 20), p.Slice(payload, (int)payloadLength),
                            Options.TcpSignatureSecret!, p.Slice(cp, 16)) ? "valid" : " (invalid)");
                        break;
                    }
                    _o.Append(cannot);
                    _o.Append("can't check - ");
                    for (int i = 0; i < 16; i++)
                        _o.AppendHexByte(U8(p, cp + i));
                    break;
                case 20:
                    datalen = 2;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    _o.Append(" cap ");
                    _o.AppendHexByte(U8(p, cp));
                    _o.Append(" id ");
                    _o.Append((uint)U8(p, cp + 1));
                    break;
                case 29:
                    datalen = len - 2;
                    if (datalen < 2)
                        PrintInvalid();
                    else
                    {
                        if (1 > hlen) return OptionsResult.Bad;
                        if (!Has(p, cp, 1)) return OptionsResult.Truncated;
                        _o.Append(" keyid ");
                        _o.Append((uint)U8(p, cp));
                        if (2 > hlen) return OptionsResult.Bad;
                        if (!Has(p, cp, 2)) return OptionsResult.Truncated;
                        _o.Append(" rnextkeyid ");
                        _o.Append((uint)U8(p, cp + 1));
                        if (datalen > 2)
                        {
                            _o.Append(" mac 0x");
                            for (uint i = 2; i < datalen; i++)
                            {
                                if (i + 1 > hlen) return OptionsResult.Bad;
                                if (!Has(p, cp, i + 1)) return OptionsResult.Truncated;
                                _o.AppendHexByte(U8(p, cp + (int)i));
                            }
                        }
                    }
                    break;
                case 0:
                case 1:
                case 4:
                    break;
                case 28:
                    datalen = 2;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    uint uto = U16(p, cp);
                    _o.Append(" 0x");
                    _o.AppendHex(uto);
                    uto = (uto & 1) != 0 ? (uto >> 1) * 60 : uto >> 1;
                    _o.Append(' ');
                    _o.Append(uto);
                    break;
                case 30:
                    datalen = len - 2;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    if (!MptcpOptionPrint(Limit(p, cp - 2, len), cp - 2, len, U8(p, tp + 13)))
                        return OptionsResult.Bad;
                    break;
                case 34:
                    datalen = len - 2;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    _o.Append(' ');
                    FastOpenPrint(p, cp, datalen, experimental: false);
                    break;
                case 254:
                    datalen = len - 2;
                    if (datalen > hlen) return OptionsResult.Bad;
                    if (!Has(p, cp, datalen)) return OptionsResult.Truncated;
                    if (datalen < 2)
                        return OptionsResult.Bad;
                    ushort magic = U16(p, cp);
                    _o.Append('-');
                    if (magic == 0xf989)
                        FastOpenPrint(p, cp + 2, datalen - 2, experimental: true);
                    else
                        _o.AppendHex(magic, 4);
                    break;
                default:
                    datalen = len - 2;
                    if (datalen != 0)
                        _o.Append(" 0x");
                    for (uint i = 0; i < datalen; ++i)
                    {
                        if (i + 1 > hlen) return OptionsResult.Bad;
                        if (!Has(p, cp, i + 1)) return OptionsResult.Truncated;
                        _o.AppendHexByte(U8(p, cp + (int)i));
                    }
                    break;
            }
            cp += (int)datalen;
            hlen -= datalen;
            ++datalen;
            if (opt is not (0 or 1))
                ++datalen;
            if (datalen != len)
            {
                _o.Append("[len ");
                _o.Append(len);
                _o.Append(']');
            }
            ch = ',';
            if (opt == 0)
                break;
        }
        _o.Append(']');
        return OptionsResult.Ok;
    }

    private void FastOpenPrint(ReadOnlySpan<byte> p, int cp, uint datalen, bool experimental)
    {
        if (experimental)
            _o.Append("tfo");
        if (datalen == 0)
            _o.Append(" cookiereq");
        else if (datalen % 2 != 0 || datalen < 4 || datalen > 16)
            PrintInvalid();
        else
        {
            _o.Append(" cookie ");
            for (int i = 0; i < datalen; i++)
                _o.AppendHexByte(U8(p, cp + i));
        }
    }

    /// <summary>tcpdump's print_tcp_rst_data (-v): text a RST segment carries.</summary>
    private void TcpResetDataPrint(ReadOnlySpan<byte> p, int sp, uint length)
    {
        _o.Append(Has(p, sp, length) ? " [RST" : " [!RST");
        if (length > 30)
        {
            length = 30;
            _o.Append('+');
        }
        _o.Append(' ');
        while (length > 0 && sp < p.Length)
        {
            PrintEscapedChar(U8(p, sp));
            sp++;
            length--;
        }
        _o.Append(']');
    }

    private static bool EitherPort(ushort sport, ushort dport, ushort port) => sport == port || dport == port;

    /// <summary>
    /// The part of tcpdump's tcp_print that hands the payload to a protocol printer chosen by port, in tcpdump's
    /// order. Ports of protocols tcpdump decodes and this printer does not (Telnet, WHOIS, BGP, PPTP, Redis,
    /// BEEP, OpenFlow, MSDP, RPKI-RTR, LDP, NFS) leave the line ending at the segment length.
    /// </summary>
    private void TcpPayloadPrint(ReadOnlySpan<byte> p, int bp, uint length, ushort sport, ushort dport)
    {
        if (Options.PacketType != ForcedPacketType.None)
        {
            ForcedTcpPrint(p, bp, length);
            return;
        }
        if (EitherPort(sport, dport, 23))
            return;
        if (EitherPort(sport, dport, 25))
        {
            _o.Append(": ");
            TextProtocolPrint(p, bp, length, "smtp", null);
            return;
        }
        if (EitherPort(sport, dport, 43))
            return;
        if (EitherPort(sport, dport, 179))
        {
            BgpPrint();
            return;
        }
        if (EitherPort(sport, dport, 1723))
            return;
        if (EitherPort(sport, dport, 6379))
        {
            RespPrint(p, bp, length);
            return;
        }
        if (EitherPort(sport, dport, 22))
        {
            SshVersionPrint(p, bp, length);
            return;
        }
        if (EitherPort(sport, dport, 10288))
            return;
        if (EitherPort(sport, dport, 6633) || EitherPort(sport, dport, 6653))
        {
            OpenFlowPrint(p, bp, length);
            return;
        }
        if (EitherPort(sport, dport, 21))
        {
            _o.Append(": ");
            TextProtocolPrint(p, bp, length, "ftp", null);
        }
        else if (EitherPort(sport, dport, 80) || EitherPort(sport, dport, 8080))
        {
            _o.Append(": ");
            TextProtocolPrint(p, bp, length, "http", HttpMethods);
        }
        else if (EitherPort(sport, dport, 554) || EitherPort(sport, dport, 8554))
        {
            _o.Append(": ");
            TextProtocolPrint(p, bp, length, "rtsp", RtspMethods);
        }
        else if (EitherPort(sport, dport, 53))
            DomainPrint(p, bp, length, overTcp: true, mdns: false);
    }

    /// <summary>tcpdump's ssh_print: the identification line ("SSH-2.0-...") that opens a connection.</summary>
    private void SshVersionPrint(ReadOnlySpan<byte> p, int bp, uint len)
    {
        _proto = "ssh";
        if (U8(p, bp) != 'S' || U8(p, bp + 1) != 'S' || U8(p, bp + 2) != 'H' || U8(p, bp + 3) != '-')
            return;
        uint idx = 4;
        for (; idx < len; idx++)
        {
            byte c = U8(p, bp + (int)idx);
            if (c == '\n')
                break;
            if (c == '\r')
            {
                if (idx + 1 >= len || U8(p, bp + (int)idx + 1) != '\n')
                    return;
                break;
            }
            if (c < 0x20 || c > 0x7e)
                return;
        }
        if (idx >= len)
            return;
        _o.Append(": SSH: ");
        AppendAscii(p, bp, 0, idx);
    }

    private static readonly string[] HttpMethods =
    [
        "GET", "PUT", "COPY", "HEAD", "LOCK", "MOVE", "POLL", "POST", "BCOPY", "BMOVE", "MKCOL", "TRACE", "LABEL",
        "MERGE", "DELETE", "SEARCH", "UNLOCK", "REPORT", "UPDATE", "NOTIFY", "BDELETE", "CONNECT", "OPTIONS",
        "CHECKIN", "PROPFIND", "CHECKOUT", "CCM_POST", "SUBSCRIBE", "PROPPATCH", "BPROPFIND", "BPROPPATCH",
        "UNCHECKOUT", "MKACTIVITY", "MKWORKSPACE", "UNSUBSCRIBE", "RPC_CONNECT", "VERSION-CONTROL", "BASELINE-CONTROL",
    ];

    private static readonly string[] RtspMethods =
    [
        "DESCRIBE", "ANNOUNCE", "GET_PARAMETER", "OPTIONS", "PAUSE", "PLAY", "RECORD", "REDIRECT", "SETUP",
        "SET_PARAMETER", "TEARDOWN",
    ];

    /// <summary>
    /// tcpdump's txtproto_print: "PROTO" then, for a request (a known method) or a response ("HTTP/1.1 200"),
    /// the first line (all lines with -v).
    /// </summary>
    private void TextProtocolPrint(ReadOnlySpan<byte> p, int bp, uint len, string protocol, string[]? methods)
    {
        _proto = protocol;
        bool printThis;
        if (methods is not null)
        {
            printThis = false;
            Span<byte> token = stackalloc byte[129];
            uint idx = FetchToken(p, bp, 0, len, token, out int tokenLength);
            if (idx != 0)
            {
                foreach (var m in methods)
                {
                    if (AsciiEqualsIgnoreCase(token[..tokenLength], m))
                    {
                        printThis = true;
                        break;
                    }
                }
                // A response: the second token is a three-digit status code.
                idx = FetchToken(p, bp, idx, len, token, out tokenLength);
                if (idx != 0 && tokenLength == 3 && IsDigit(token[0]) && IsDigit(token[1]) && IsDigit(token[2]))
                    printThis = true;
            }
        }
        else
            printThis = true;

        foreach (char c in protocol)
            _o.Append(char.ToUpperInvariant(c));
        if (!printThis)
            return;
        if (_vflag > 0)
        {
            _o.Append(", length: ");
            _o.Append(len);
            uint eol;
            for (uint idx = 0; idx < len && (eol = TextLinePrint(p, bp, "\n\t", idx, len)) != 0; idx = eol)
            {
            }
        }
        else
            TextLinePrint(p, bp, ": ", 0, len);
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static bool AsciiEqualsIgnoreCase(ReadOnlySpan<byte> a, string b)
    {
        if (a.Length != b.Length)
            return false;
        for (int i = 0; i < a.Length; i++)
        {
            int x = a[i], y = b[i];
            if (x is >= 'a' and <= 'z')
                x -= 32;
            if (y is >= 'a' and <= 'z')
                y -= 32;
            if (x != y)
                return false;
        }
        return true;
    }

    /// <summary>tcpdump's fetch_token: the next whitespace-delimited printable token; returns the index after the following blanks, 0 if none.</summary>
    private static uint FetchToken(ReadOnlySpan<byte> p, int bp, uint idx, uint len, Span<byte> token, out int tokenLength)
    {
        tokenLength = 0;
        for (; idx < len; idx++)
        {
            if (!Has(p, bp + (int)idx, 1))
                return 0;
            byte c = p[bp + (int)idx];
            if (c >= 0x80)
                return 0;
            if (c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                break;
            if (c < 0x20 || c == 0x7f)
                return 0;
            if (tokenLength + 2 > token.Length)
                return 0;
            token[tokenLength++] = c;
        }
        if (tokenLength == 0)
            return 0;
        for (; idx < len; idx++)
        {
            if (!Has(p, bp + (int)idx, 1))
                break;
            byte c = p[bp + (int)idx];
            if (c is (byte)'\r' or (byte)'\n')
                break;
            if (c < 0x20 || c >= 0x7f)
                break;
            if (c is not ((byte)' ' or (byte)'\t'))
                break;
        }
        return idx;
    }

    /// <summary>tcpdump's print_txt_line: one CRLF- or LF-terminated printable line; 0 when there is none.</summary>
    private uint TextLinePrint(ReadOnlySpan<byte> p, int bp, string prefix, uint idx, uint len)
    {
        uint start = idx;
        uint lineLength;
        while (true)
        {
            if (idx >= len)
            {
                // No line end in this segment: print what there is, marked as cut.
                _o.Append(prefix);
                AppendAscii(p, bp, start, idx - start);
                PrintTruncated();
                return 0;
            }
            byte c = U8(p, bp + (int)idx);
            if (c == '\n')
            {
                lineLength = idx - start;
                idx++;
                break;
            }
            if (c == '\r')
            {
                if (idx + 1 >= len)
                    return 0;
                if (U8(p, bp + (int)idx + 1) == '\n')
                {
                    lineLength = idx - start;
                    idx += 2;
                    break;
                }
                return 0;
            }
            if ((c < 0x20 || c > 0x7e) && c != '\t')
                return 0;
            idx++;
        }
        _o.Append(prefix);
        AppendAscii(p, bp, start, lineLength);
        return idx;
    }

    private void AppendAscii(ReadOnlySpan<byte> p, int bp, uint start, uint count)
    {
        for (uint i = 0; i < count; i++)
            _o.Append((char)p[bp + (int)(start + i)]);
    }
}
