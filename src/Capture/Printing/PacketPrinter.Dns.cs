using static KdtCapture.Capture.Printing.Internal.Bytes;

namespace KdtCapture.Capture.Printing;

// DNS and mDNS as tcpdump's domain_print: "id[flags] qtype? name. (len)" for queries, "id[flags] an/ns/ar
// answers (len)" for responses; names decompressed, offsets relative to the DNS header.
public sealed partial class PacketPrinter
{
    private static readonly string[] DnsOpcodes =
    [
        "", " inv_q", " stat", " op3", " notify", " update", " op6", " op7",
        " op8", " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef",
    ];

    private static readonly string[] DnsResponseCodes =
    [
        "", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain", " YXRRSet",
        " NXRRSet", " NotAuth", " NotZone", " Resp11", " Resp12", " Resp13", " Resp14", " NoChange",
        " BadVers", "Resp17", " Resp18", " Resp19", " Resp20", "Resp21", " Resp22", " BadCookie",
    ];

    private static string? DnsTypeName(uint type) => type switch
    {
        1 => "A", 2 => "NS", 3 => "MD", 4 => "MF", 5 => "CNAME", 6 => "SOA", 7 => "MB", 8 => "MG", 9 => "MR",
        10 => "NULL", 11 => "WKS", 12 => "PTR", 13 => "HINFO", 14 => "MINFO", 15 => "MX", 16 => "TXT", 17 => "RP",
        18 => "AFSDB", 19 => "X25", 20 => "ISDN", 21 => "RT", 22 => "NSAP", 23 => "NSAP_PTR", 24 => "SIG",
        25 => "KEY", 26 => "PX", 27 => "GPOS", 28 => "AAAA", 29 => "LOC", 30 => "NXT", 31 => "EID", 32 => "NIMLOC",
        33 => "SRV", 34 => "ATMA", 35 => "NAPTR", 36 => "KX", 37 => "CERT", 38 => "A6", 39 => "DNAME", 40 => "SINK",
        41 => "OPT", 42 => "APL", 43 => "DS", 44 => "SSHFP", 45 => "IPSECKEY", 46 => "RRSIG", 47 => "NSEC",
        48 => "DNSKEY", 99 => "SPF", 100 => "UINFO", 101 => "UID", 102 => "GID", 103 => "UNSPEC", 104 => "UNSPECA",
        249 => "TKEY", 250 => "TSIG", 251 => "IXFR", 252 => "AXFR", 253 => "MAILB", 254 => "MAILA", 255 => "ANY",
        256 => "URI",
        _ => null,
    };

    private void DnsTypePrint(uint type)
    {
        if (DnsTypeName(type) is { } name)
            _o.Append(name);
        else
        {
            _o.Append("Type");
            _o.Append(type);
        }
    }

    private void DnsClassPrint(uint cls)
    {
        string? name = cls switch { 1 => "IN", 3 => "CHAOS", 4 => "HS", 255 => "ANY", _ => null };
        if (name is not null)
            _o.Append(name);
        else
        {
            _o.Append("(Class ");
            _o.Append(cls);
            _o.Append(')');
        }
    }

    /// <summary>tcpdump's ns_nskip: the offset after a (possibly compressed) name, or -1.</summary>
    private static int DnsSkipName(ReadOnlySpan<byte> p, int cp)
    {
        if (!Has(p, cp, 1))
            return -1;
        int i = p[cp++];
        while (i != 0)
        {
            switch (i & 0xc0)
            {
                case 0xc0:
                    return cp + 1;
                case 0x40:
                    if ((i & 0x3f) != 1)
                        return -1;
                    if (!Has(p, cp, 1))
                        return -1;
                    int bitlen = p[cp];
                    if (bitlen == 0)
                        bitlen = 256;
                    cp++;
                    cp += (bitlen + 7) / 8;
                    break;
                case 0x80:
                    return -1;
                default:
                    cp += i;
                    break;
            }
            if (!Has(p, cp, 1))
                return -1;
            i = p[cp++];
        }
        return cp;
    }

    /// <summary>tcpdump's labellen: the length of the label at <paramref name="cp"/>, or -1 (with a note for bad types).</summary>
    private int DnsLabelLength(ReadOnlySpan<byte> p, int cp)
    {
        if (!Has(p, cp, 1))
            return -1;
        int i = p[cp];
        switch (i & 0xc0)
        {
            case 0x40:
                int elt = i & 0x3f;
                if (elt != 1)
                {
                    _o.Append("<ELT ");
                    _o.Append(elt);
                    _o.Append('>');
                    return -1;
                }
                if (!Has(p, cp + 1, 1))
                    return -1;
                int bitlen = p[cp + 1];
                if (bitlen == 0)
                    bitlen = 256;
                return (bitlen + 7) / 8 + 1;
            case 0xc0:
            case 0:
                return i;
            default:
                _o.Append("<BAD LABEL TYPE>");
                return -1;
        }
    }

    /// <summary>tcpdump's blabel_print: an EDNS0 bit-string label as \[xHEX/bits].</summary>
    private int DnsBitLabelPrint(ReadOnlySpan<byte> p, int cp)
    {
        if (!Has(p, cp, 1))
            return -1;
        int bitlen = p[cp];
        if (bitlen == 0)
            bitlen = 256;
        int slen = (bitlen + 3) / 4;
        int lim = cp + 1 + slen;
        _o.Append("\\[x");
        int bitp = cp + 1;
        int b = bitlen;
        for (; bitp < lim && b > 7; b -= 8, bitp++)
            _o.AppendHexByte(U8(p, bitp));
        if (b > 4)
        {
            byte tc = U8(p, bitp);
            bitp++;
            _o.AppendHexByte((byte)(tc & (0xff << (8 - b))));
        }
        else if (b > 0)
        {
            byte tc = U8(p, bitp);
            bitp++;
            _o.AppendHex((uint)(((tc >> 4) & 0x0f) & (0x0f << (4 - b))));
        }
        _o.Append('/');
        _o.Append(bitlen);
        _o.Append(']');
        return lim;
    }

    /// <summary>
    /// tcpdump's fqdn_print: a domain name with compression pointers resolved (only backwards, to stop
    /// loops); returns the offset after the name in place, or -1 when it could not be printed whole.
    /// </summary>
    private int FqdnPrint(ReadOnlySpan<byte> p, int cp, int bp)
    {
        const int MaxName = 255;
        int l = DnsLabelLength(p, cp);
        if (l == -1)
            return -1;
        if (!Has(p, cp, 1))
            return -1;
        int maxOffset = cp - bp;
        int i = p[cp++];
        int rp = -1;
        bool compress = false;
        if ((i & 0xc0) != 0xc0)
            rp = cp + l;
        int nameChars = 0;
        if (i != 0)
        {
            while (i != 0 && cp < p.Length)
            {
                switch (i & 0xc0)
                {
                    case 0xc0:
                        if (!compress)
                        {
                            rp = cp + 1;
                            compress = true;
                        }
                        if (!Has(p, cp, 1))
                            return -1;
                        int offset = ((i << 8) | p[cp]) & 0x3fff;
                        if (offset >= maxOffset)
                        {
                            _o.Append("<BAD PTR>");
                            return -1;
                        }
                        maxOffset = offset;
                        cp = bp + offset;
                        if (!Has(p, cp, 1))
                            return -1;
                        i = p[cp];
                        l = DnsLabelLength(p, cp);
                        if (l == -1)
                            return -1;
                        cp++;
                        continue;
                    case 0x40:
                        int elt = i & 0x3f;
                        if (elt == 1)
                        {
                            if (DnsBitLabelPrint(p, cp) < 0)
                                return -1;
                        }
                        else
                        {
                            _o.Append("<ELT ");
                            _o.Append(elt);
                            _o.Append('>');
                            return -1;
                        }
                        break;
                    case 0x80:
                        _o.Append("<BAD LABEL TYPE>");
                        return -1;
                    default:
                        if (nameChars + l <= MaxName)
                        {
                            if (!PrintN(p, cp, l))
                                return -1;
                        }
                        else if (nameChars < MaxName)
                        {
                            if (!PrintN(p, cp, MaxName - nameChars))
                                return -1;
                        }
                        nameChars += l;
                        break;
                }
                cp += l;
                if (nameChars <= MaxName)
                    _o.Append('.');
                nameChars++;
                if (!Has(p, cp, 1))
                    return -1;
                i = p[cp];
                l = DnsLabelLength(p, cp);
                if (l == -1)
                    return -1;
                cp++;
                if (!compress)
                    rp += l + 1;
            }
            if (nameChars > MaxName)
                _o.Append("<DOMAIN NAME TOO LONG>");
        }
        else
            _o.Append('.');
        return rp;
    }

    /// <summary>tcpdump's nd_printn: up to n chars, escaped; false when the captured bytes ended first.</summary>
    private bool PrintN(ReadOnlySpan<byte> p, int s, int n)
    {
        while (n > 0 && s < p.Length)
        {
            n--;
            PrintEscapedChar(U8(p, s));
            s++;
        }
        return n == 0;
    }

    private int DnsQuestionPrint(ReadOnlySpan<byte> p, int cp, int bp, bool mdns)
    {
        int np = cp;
        cp = DnsSkipName(p, cp);
        if (cp < 0 || !Has(p, cp, 4))
            return -1;
        uint type = U16(p, cp);
        cp += 2;
        _o.Append(' ');
        DnsTypePrint(type);
        uint raw = U16(p, cp);
        cp += 2;
        uint cls = mdns ? raw & 0x7fff : raw;
        if (cls != 1)
        {
            _o.Append(' ');
            DnsClassPrint(cls);
        }
        if (mdns)
            _o.Append((raw & 0x8000) != 0 ? " (QU)" : " (QM)");
        _o.Append("? ");
        cp = FqdnPrint(p, np, bp);
        return cp >= 0 ? cp + 4 : -1;
    }

    /// <summary>tcpdump's ns_rprint: one resource record; returns the offset after it, or -1.</summary>
    private int DnsRecordPrint(ReadOnlySpan<byte> p, int cp, int bp, bool mdns)
    {
        if (_vflag > 0)
        {
            _o.Append(' ');
            if ((cp = FqdnPrint(p, cp, bp)) < 0)
                return -1;
        }
        else
            cp = DnsSkipName(p, cp);

        if (cp < 0 || !Has(p, cp, 10))
            return p.Length;

        uint type = U16(p, cp);
        cp += 2;
        uint raw = U16(p, cp);
        cp += 2;
        uint cls = mdns ? raw & 0x7fff : raw;
        if (cls != 1 && type != 41)
        {
            _o.Append(' ');
            DnsClassPrint(cls);
        }
        if (mdns && (raw & 0x8000) != 0)
            _o.Append(" (Cache flush)");

        uint optFlags = 0;
        if (type == 41)
        {
            cp += 2;
            optFlags = U16(p, cp);
            cp += 2;
        }
        else if (_vflag > 2)
        {
            _o.Append(" [");
            RelativeTimePrint(U32(p, cp));
            _o.Append(']');
            cp += 4;
        }
        else
            cp += 4;

        int len = U16(p, cp);
        cp += 2;
        int rp = cp + len;
        _o.Append(' ');
        DnsTypePrint(type);
        if (rp > p.Length)
            return -1;

        switch (type)
        {
            case 1:
                if (!Has(p, cp, 4))
                    return -1;
                _o.Append(' ');
                AppendIp4(U32(p, cp));
                break;
            case 2:
            case 5:
            case 12:
            case 39:
                _o.Append(' ');
                if (FqdnPrint(p, cp, bp) < 0)
                    return -1;
                break;
            case 6:
                if (_vflag == 0)
                    break;
                _o.Append(' ');
                if ((cp = FqdnPrint(p, cp, bp)) < 0)
                    return -1;
                _o.Append(' ');
                if ((cp = FqdnPrint(p, cp, bp)) < 0)
                    return -1;
                if (!Has(p, cp, 20))
                    return -1;
                for (int i = 0; i < 5; i++)
                {
                    _o.Append(' ');
                    _o.Append(U32(p, cp + 4 * i));
                }
                break;
            case 15:
                _o.Append(' ');
                if (!Has(p, cp, 2))
                    return -1;
                if (FqdnPrint(p, cp + 2, bp) < 0)
                    return -1;
                _o.Append(' ');
                _o.Append((uint)U16(p, cp));
                break;
            case 16:
                while (cp < rp)
                {
                    _o.Append(" \"");
                    if (!Has(p, cp, 1))
                        return -1;
                    int n = p[cp];
                    cp++;
                    if (!PrintN(p, cp, n))
                        return -1;
                    cp += n;
                    _o.Append('"');
                }
                break;
            case 33:
                _o.Append(' ');
                if (!Has(p, cp, 6))
                    return -1;
                if (FqdnPrint(p, cp + 6, bp) < 0)
                    return -1;
                _o.Append(':');
                _o.Append((uint)U16(p, cp + 4));
                _o.Append(' ');
                _o.Append((uint)U16(p, cp));
                _o.Append(' ');
                _o.Append((uint)U16(p, cp + 2));
                break;
            case 28:
                if (!Has(p, cp, 16))
                    return -1;
                _o.Append(' ');
                AppendIp6(p.Slice(cp, 16));
                break;
            case 38:
                if (!Has(p, cp, 1))
                    return -1;
                int pbit = p[cp];
                int pbyte = (pbit & ~7) / 8;
                if (pbit > 128)
                {
                    _o.Append(' ');
                    _o.Append(pbit);
                    _o.Append("(bad plen)");
                    break;
                }
                if (pbit < 128)
                {
                    Span<byte> a = stackalloc byte[16];
                    a.Clear();
                    Check(p, cp + 1, 16 - pbyte);
                    p.Slice(cp + 1, 16 - pbyte).CopyTo(a[pbyte..]);
                    _o.Append(' ');
                    _o.Append(pbit);
                    _o.Append(' ');
                    AppendIp6(a);
                }
                if (pbit > 0)
                {
                    _o.Append(' ');
                    if (FqdnPrint(p, cp + 1 + 16 - pbyte, bp) < 0)
                        return -1;
                }
                break;
            case 256:
                if (!Has(p, cp, len))
                    return -1;
                _o.Append(' ');
                _o.Append((uint)U16(p, cp));
                _o.Append(' ');
                _o.Append((uint)U16(p, cp + 2));
                _o.Append(' ');
                if (!PrintN(p, cp + 4, len - 4))
                    return -1;
                break;
            case 41:
                _o.Append(" UDPsize=");
                _o.Append(cls);
                if ((optFlags & 0x8000) != 0)
                    _o.Append(" DO");
                if (cp < rp)
                {
                    _o.Append(" [");
                    while (cp < rp)
                    {
                        cp = EdnsOptionPrint(p, cp);
                        if (cp < 0)
                            return -1;
                        if (cp < rp)
                            _o.Append(',');
                    }
                    _o.Append(']');
                }
                break;
            case 104:
                if (!Has(p, cp, len))
                    return -1;
                if (!PrintN(p, cp, len))
                    return -1;
                break;
            case 250:
                if (cp + len > p.Length)
                    return -1;
                if (_vflag == 0)
                    break;
                _o.Append(' ');
                if ((cp = FqdnPrint(p, cp, bp)) < 0)
                    return -1;
                cp += 6;
                if (!Has(p, cp, 2))
                    return -1;
                _o.Append(" fudge=");
                _o.Append((uint)U16(p, cp));
                cp += 2;
                if (!Has(p, cp, 2))
                    return -1;
                _o.Append(" maclen=");
                _o.Append((uint)U16(p, cp));
                cp += 2 + U16(p, cp);
                if (!Has(p, cp, 2))
                    return -1;
                _o.Append(" origid=");
                _o.Append((uint)U16(p, cp));
                cp += 2;
                if (!Has(p, cp, 2))
                    return -1;
                _o.Append(" error=");
                _o.Append((uint)U16(p, cp));
                cp += 2;
                if (!Has(p, cp, 2))
                    return -1;
                _o.Append(" otherlen=");
                _o.Append((uint)U16(p, cp));
                break;
        }
        return rp;
    }

    /// <summary>tcpdump's unsigned_relts_print: 1h2m3s.</summary>
    private void RelativeTimePrint(uint secs)
    {
        if (secs == 0)
        {
            _o.Append("0s");
            return;
        }
        ReadOnlySpan<uint> seconds = [31536000, 604800, 86400, 3600, 60, 1];
        ReadOnlySpan<char> units = "ywdhms";
        for (int i = 0; i < seconds.Length && secs > 0; i++)
        {
            if (secs >= seconds[i])
            {
                _o.Append(secs / seconds[i]);
                _o.Append(units[i]);
                secs -= secs / seconds[i] * seconds[i];
            }
        }
    }

    private static string? EdnsOptionName(uint opt) => opt switch
    {
        1 => "LLQ", 2 => "UL", 3 => "NSID", 5 => "DAU", 6 => "DHU", 7 => "N3U", 8 => "ECS", 9 => "EXPIRE",
        10 => "COOKIE", 11 => "KEEPALIVE", 12 => "PADDING", 13 => "CHAIN", 14 => "KEY-TAG", 16 => "CLIENT-TAG",
        17 => "SERVER-TAG",
        _ => null,
    };

    private int EdnsOptionPrint(ReadOnlySpan<byte> p, int cp)
    {
        if (!Has(p, cp, 2))
            return -1;
        uint opt = U16(p, cp);
        cp += 2;
        if (EdnsOptionName(opt) is { } name)
            _o.Append(name);
        else
        {
            _o.Append("Opt");
            _o.Append(opt);
        }
        if (!Has(p, cp, 2))
            return -1;
        int dataLength = U16(p, cp);
        cp += 2;
        if (!Has(p, cp, dataLength))
            return -1;
        if (dataLength > 0)
        {
            _o.Append(' ');
            switch (opt)
            {
                case 8:
                    EdnsClientSubnetPrint(p, cp, dataLength);
                    break;
                case 10:
                    if (dataLength < 8 || (dataLength > 8 && dataLength < 16) || dataLength > 40)
                        PrintInvalid();
                    else
                    {
                        for (int i = 0; i < dataLength; i++)
                        {
                            if (i == 8)
                                _o.Append(' ');
                            _o.AppendHexByte(p[cp + i]);
                        }
                    }
                    break;
                case 11:
                    if (dataLength != 2)
                        PrintInvalid();
                    else
                    {
                        // printf("%0.1f sec") of tenths of a second.
                        uint tenths = U16(p, cp);
                        _o.Append(tenths / 10);
                        _o.Append('.');
                        _o.Append(tenths % 10);
                        _o.Append(" sec");
                    }
                    break;
                case 9:
                    if (dataLength != 4)
                        PrintInvalid();
                    else
                    {
                        _o.Append(U32(p, cp));
                        _o.Append(" sec");
                    }
                    break;
                case 12:
                    _o.Append('(');
                    _o.Append(dataLength);
                    _o.Append(')');
                    break;
                case 14:
                    if (dataLength % 2 != 0)
                        PrintInvalid();
                    else
                    {
                        for (int i = 0; i < dataLength; i += 2)
                        {
                            if (i > 0)
                                _o.Append(' ');
                            _o.Append((uint)U16(p, cp + i));
                        }
                    }
                    break;
                case 5:
                case 6:
                case 7:
                    for (int i = 0; i < dataLength; i++)
                    {
                        if (i > 0)
                            _o.Append(' ');
                        DnsAlgorithmPrint(opt, p[cp + i]);
                    }
                    break;
                case 13:
                    FqdnPrint(p, cp, cp + dataLength);
                    break;
                default:
                    for (int i = 0; i < dataLength; i++)
                        _o.AppendHexByte(p[cp + i]);
                    break;
            }
        }
        return cp + dataLength;
    }

    private void DnsAlgorithmPrint(uint opt, byte alg)
    {
        string? name = opt switch
        {
            5 => alg switch
            {
                0 => "DELETE", 1 => "RSAMD5", 2 => "DH", 3 => "DS", 5 => "RSASHA1", 6 => "DSA-NSEC3-SHA1",
                7 => "RSASHA1-NSEC3-SHA1", 8 => "RSASHA256", 10 => "RSASHA512", 12 => "ECC-GOST",
                13 => "ECDSAP256SHA256", 14 => "ECDSAP384SHA384", 15 => "ED25519", 16 => "ED448",
                252 => "INDIRECT", 253 => "PRIVATEDNS", 254 => "PRIVATEOID",
                _ => null,
            },
            6 => alg switch { 1 => "SHA-1", 2 => "SHA-256", 3 => "GOST_R_34.11-94", 4 => "SHA-384", _ => null },
            _ => alg == 1 ? "SHA-1" : null,
        };
        if (name is not null)
            _o.Append(name);
        else
        {
            _o.Append("Alg_");
            _o.Append((uint)alg);
        }
    }

    private void EdnsClientSubnetPrint(ReadOnlySpan<byte> p, int cp, int dataLength)
    {
        if (dataLength < 4)
        {
            PrintInvalid();
            return;
        }
        uint family = U16(p, cp);
        int srcLen = p[cp + 2], scopeLen = p[cp + 3];
        int addrBits = family == 1 ? 32 : family == 2 ? 128 : 0;
        if (addrBits == 0 || dataLength - 4 > addrBits / 8 || srcLen > addrBits || scopeLen > addrBits
            || (srcLen + 7) / 8 != dataLength - 4)
        {
            PrintInvalid();
            return;
        }
        Span<byte> padded = stackalloc byte[16];
        padded.Clear();
        p.Slice(cp + 4, dataLength - 4).CopyTo(padded);
        if (family == 1)
            AppendIp4(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(padded));
        else
            AppendIp6(padded);
        _o.Append('/');
        _o.Append(srcLen);
        _o.Append('/');
        _o.Append(scopeLen);
    }

    private void DomainPrint(ReadOnlySpan<byte> p, int bp, uint length, bool overTcp, bool mdns)
    {
        _proto = "domain";
        if (overTcp)
        {
            if (length < 2)
            {
                _o.Append(" [DNS over TCP: length ");
                _o.Append(length);
                _o.Append(" < 2]");
                PrintInvalid();
                return;
            }
            length -= 2;
            uint prefix = U16(p, bp);
            if (prefix != length)
            {
                _o.Append(" [prefix length(");
                _o.Append(prefix);
                _o.Append(") != length(");
                _o.Append(length);
                _o.Append(")]");
                PrintInvalid();
                return;
            }
            bp += 2;
            _o.Append(' ');
        }
        int np = bp;
        if (length < 12)
        {
            _o.Append(_proto);
            _o.Append(" [length ");
            _o.Append(length);
            _o.Append(" < 12]");
            PrintInvalid();
            return;
        }
        Check(p, np, 12);
        uint flags = U16(p, np + 2);
        uint qdcount = U16(p, np + 4), ancount = U16(p, np + 6), nscount = U16(p, np + 8), arcount = U16(p, np + 10);

        // The extended response code lives in the OPT record of the additional section.
        int cp = np + 12;
        uint rcode = flags & 0xf;
        if (DnsFindExtendedRcode(p, cp, qdcount, ancount + nscount, arcount, out uint high))
            rcode |= high << 4;

        if ((flags & 0x8000) != 0)
        {
            _o.Append((uint)U16(p, np));
            _o.Append(DnsOpcodes[(flags >> 11) & 0xf]);
            if (rcode < DnsResponseCodes.Length)
                _o.Append(DnsResponseCodes[rcode]);
            else
            {
                _o.Append(" Resp");
                _o.Append(rcode & 0xfff);
            }
            if ((flags & 0x0400) != 0)
                _o.Append('*');
            if ((flags & 0x0080) == 0)
                _o.Append('-');
            if ((flags & 0x0200) != 0)
                _o.Append('|');
            if ((flags & 0x0020) != 0)
                _o.Append('$');
            if (qdcount != 1)
            {
                _o.Append(" [");
                _o.Append(qdcount);
                _o.Append("q]");
            }
            cp = np + 12;
            for (uint i = 0; i < qdcount; i++)
            {
                if (i != 0)
                    _o.Append(',');
                if (_vflag > 1)
                {
                    _o.Append(" q:");
                    if ((cp = DnsQuestionPrint(p, cp, np, mdns)) < 0)
                    {
                        PrintTruncated();
                        return;
                    }
                }
                else
                {
                    if ((cp = DnsSkipName(p, cp)) < 0)
                    {
                        PrintTruncated();
                        return;
                    }
                    cp += 4;
                }
            }
            _o.Append(' ');
            _o.Append(ancount);
            _o.Append('/');
            _o.Append(nscount);
            _o.Append('/');
            _o.Append(arcount);
            if (!DnsSectionPrint(p, ref cp, np, mdns, ref ancount, null, requireRoom: false)
                || (_vflag > 1 && (!DnsSectionPrint(p, ref cp, np, mdns, ref nscount, " ns:", requireRoom: true)
                                   || !DnsSectionPrint(p, ref cp, np, mdns, ref arcount, " ar:", requireRoom: true))))
            {
                PrintTruncated();
                return;
            }
        }
        else
        {
            _o.Append((uint)U16(p, np));
            _o.Append(DnsOpcodes[(flags >> 11) & 0xf]);
            if ((flags & 0x0100) != 0)
                _o.Append('+');
            if ((flags & 0x0010) != 0)
                _o.Append('%');
            uint b2 = U16(p, np + 2);
            if ((b2 & 0x6cf) != 0)
            {
                _o.Append(" [b2&3=0x");
                _o.AppendHex(b2);
                _o.Append(']');
            }
            if (((flags >> 11) & 0xf) == 1)
            {
                if (qdcount != 0)
                    CountNote(qdcount, "q]");
                if (ancount != 1)
                    CountNote(ancount, "a]");
            }
            else
            {
                if (ancount != 0)
                    CountNote(ancount, "a]");
                if (qdcount != 1)
                    CountNote(qdcount, "q]");
            }
            if (nscount != 0)
                CountNote(nscount, "n]");
            if (arcount != 0)
                CountNote(arcount, "au]");

            cp = np + 12;
            if (qdcount != 0)
            {
                cp = DnsQuestionPrint(p, cp, np, mdns);
                if (cp < 0)
                {
                    PrintTruncated();
                    return;
                }
                qdcount--;
                while (cp < p.Length && qdcount != 0)
                {
                    cp = DnsQuestionPrint(p, cp, np, mdns);
                    if (cp < 0)
                    {
                        PrintTruncated();
                        return;
                    }
                    qdcount--;
                }
            }
            if (qdcount != 0)
            {
                PrintTruncated();
                return;
            }
            if (_vflag > 1
                && (!DnsSectionPrint(p, ref cp, np, mdns, ref ancount, null, requireRoom: false)
                    || !DnsSectionPrint(p, ref cp, np, mdns, ref nscount, " ns:", requireRoom: true)
                    || !DnsSectionPrint(p, ref cp, np, mdns, ref arcount, " ar:", requireRoom: true)))
            {
                PrintTruncated();
                return;
            }
        }
        _o.Append(" (");
        _o.Append(length);
        _o.Append(')');
    }

    private void CountNote(uint count, string suffix)
    {
        _o.Append(" [");
        _o.Append(count);
        _o.Append(suffix);
    }

    /// <summary>
    /// Prints the records of one section, comma-separated, while the captured bytes last; false when some
    /// remain unprinted (tcpdump then marks the packet truncated). <paramref name="requireRoom"/>: tcpdump
    /// checks for captured bytes before the first record of the authority and additional sections.
    /// </summary>
    private bool DnsSectionPrint(ReadOnlySpan<byte> p, ref int cp, int np, bool mdns, ref uint count, string? label, bool requireRoom)
    {
        if (count != 0 && (!requireRoom || cp < p.Length))
        {
            _o.Append(label);
            if ((cp = DnsRecordPrint(p, cp, np, mdns)) < 0)
                return false;
            count--;
            while (cp < p.Length && count != 0)
            {
                _o.Append(',');
                if ((cp = DnsRecordPrint(p, cp, np, mdns)) < 0)
                    return false;
                count--;
            }
        }
        return count == 0;
    }

    /// <summary>The first pass of tcpdump's domain_print: the high bits of the response code from an OPT record.</summary>
    private static bool DnsFindExtendedRcode(ReadOnlySpan<byte> p, int cp, uint qdcount, uint records, uint arcount, out uint high)
    {
        high = 0;
        for (uint i = 0; i < qdcount; i++)
        {
            if ((cp = DnsSkipName(p, cp)) < 0)
                return false;
            cp += 4;
            if (cp >= p.Length)
                return false;
        }
        for (uint i = 0; i < records; i++)
        {
            if ((cp = DnsSkipName(p, cp)) < 0)
                return false;
            cp += 8;
            if (cp + 2 > p.Length)
                return false;
            cp += 2 + U16(p, cp);
            if (cp >= p.Length)
                return false;
        }
        for (uint i = 0; i < arcount; i++)
        {
            if ((cp = DnsSkipName(p, cp)) < 0)
                return false;
            if (cp + 2 > p.Length)
                return false;
            uint type = U16(p, cp);
            cp += 4;
            if (cp + 1 > p.Length)
                return false;
            if (type == 41)
            {
                high = p[cp];
                return true;
            }
            cp += 4;
            if (cp + 2 > p.Length)
                return false;
            cp += 2 + U16(p, cp);
            if (cp >= p.Length)
                return false;
        }
        return false;
    }
}
