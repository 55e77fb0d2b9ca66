using KdtCapture.Filters.Icode;

namespace KdtCapture.Filters.CodeGen;

// Identifiers under their qualifiers: names, numbers, dotted addresses, networks with masks,
// IPv6 addresses and prefixes, MAC addresses.
internal sealed partial class CodeGenerator
{
    private int LookupProto(string name, int proto)
    {
        int v;
        switch (proto)
        {
            case QProto.Default:
            case QProto.Ip:
            case QProto.Ipv6:
                v = NameResolution.LookupProtocol(name);
                if (v == ProtoUndef)
                    throw Error($"unknown ip proto '{name}'");
                return v;
            case QProto.Link:
                v = NameResolution.LookupEtherProto(name);
                if (v == ProtoUndef)
                {
                    v = NameResolution.LookupLlc(name);
                    if (v == ProtoUndef)
                        throw Error($"unknown ether proto '{name}'");
                }
                return v;
            case QProto.Iso:
                return name switch
                {
                    "esis" => (int)IsoProto.Nlpid9542Esis,
                    "isis" => (int)IsoProto.Nlpid10589Isis,
                    "clnp" => (int)IsoProto.Nlpid8473Clnp,
                    _ => throw Error($"unknown osi proto '{name}'"),
                };
            default:
                return ProtoUndef;
        }
    }

    /// <summary>A MAC address test for link types with MAC addresses, or null for the others.</summary>
    private Block? GenMacHost(ReadOnlySpan<byte> eaddr, int dir)
    {
        switch (_linktype)
        {
            case LinkType.EN10MB:
            case LinkType.NETANALYZER:
            case LinkType.NETANALYZER_TRANSPARENT:
            {
                var tmp = GenPrevlinkhdrCheck();
                var b = GenEhostop(eaddr, dir);
                if (tmp is not null)
                    GenAnd(tmp, b);
                return b;
            }
            case LinkType.FDDI:
                return GenFhostop(eaddr, dir);
            case LinkType.IEEE802:
                return GenThostop(eaddr, dir);
            case LinkType.IEEE802_11:
            case LinkType.PRISM_HEADER:
            case LinkType.IEEE802_11_RADIO_AVS:
            case LinkType.IEEE802_11_RADIO:
            case LinkType.PPI:
                return GenWlanhostop(eaddr, dir);
            case LinkType.IP_OVER_FC:
                return GenIpfchostop(eaddr, dir);
            default:
                return null;
        }
    }

    private string? MacHostKind() => _linktype switch
    {
        LinkType.EN10MB or LinkType.NETANALYZER or LinkType.NETANALYZER_TRANSPARENT => "ether",
        LinkType.FDDI => "FDDI",
        LinkType.IEEE802 => "token ring",
        LinkType.IEEE802_11 or LinkType.PRISM_HEADER or LinkType.IEEE802_11_RADIO_AVS
            or LinkType.IEEE802_11_RADIO or LinkType.PPI => "802.11",
        LinkType.IP_OVER_FC => "Fibre Channel",
        _ => null,
    };

    /// <summary>A name (ID token) under its qualifiers.</summary>
    public Block GenScode(string name, Qual q)
    {
        int proto = q.Proto;
        int dir = q.Dir;

        switch (q.Addr)
        {
            case QAddr.Net:
            {
                uint addr = NameResolution.LookupNetwork(name);
                if (addr == 0)
                    throw Error($"unknown network '{name}'");
                // Left-justify the network number.
                uint mask = 0xffffffff;
                while (addr != 0 && (addr & 0xff000000) == 0)
                {
                    addr <<= 8;
                    mask <<= 8;
                }
                return GenHost(addr, mask, proto, dir, q.Addr);
            }

            case QAddr.Default:
            case QAddr.Host:
                if (proto == QProto.Link)
                {
                    string? kind = MacHostKind();
                    if (kind is null)
                        throw Error("only ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel supports link-level host name");
                    var eaddr = NameResolution.LookupEtherHost(name)
                        ?? throw Error($"unknown {kind} host '{name}'");
                    return GenMacHost(eaddr, dir)!;
                }
                if (proto == QProto.Decnet)
                {
                    // libpcap is built without DECnet name support.
                    throw Error($"decnet name support not included, '{name}' cannot be translated\n");
                }
                return GenHostByName(name, proto, dir, q.Addr);

            case QAddr.Port:
            {
                if (proto != QProto.Default && proto != QProto.Udp && proto != QProto.Tcp && proto != QProto.Sctp)
                    throw Error("illegal qualifier of 'port'");
                if (!NameResolution.LookupPort(name, out int port, out int realProto))
                    throw Error($"unknown port '{name}'");
                realProto = CheckServiceProto(proto, realProto, $"port '{name}'");
                if (port < 0)
                    throw Error($"illegal port number {port} < 0");
                if (port > 65535)
                    throw Error($"illegal port number {port} > 65535");
                var b = GenPort((uint)port, realProto, dir);
                GenOr(GenPort6((uint)port, realProto, dir), b);
                return b;
            }

            case QAddr.Portrange:
            {
                if (proto != QProto.Default && proto != QProto.Udp && proto != QProto.Tcp && proto != QProto.Sctp)
                    throw Error("illegal qualifier of 'portrange'");
                if (!NameResolution.LookupPortRange(name, out int port1, out int port2, out int realProto))
                    throw Error($"unknown port in range '{name}'");
                realProto = CheckServiceProto(proto, realProto, $"port in range '{name}'");
                if (port1 < 0)
                    throw Error($"illegal port number {port1} < 0");
                if (port1 > 65535)
                    throw Error($"illegal port number {port1} > 65535");
                if (port2 < 0)
                    throw Error($"illegal port number {port2} < 0");
                if (port2 > 65535)
                    throw Error($"illegal port number {port2} > 65535");
                var b = GenPortrange((uint)port1, (uint)port2, realProto, dir);
                GenOr(GenPortrange6((uint)port1, (uint)port2, realProto, dir), b);
                return b;
            }

            case QAddr.Gateway:
                // libpcap is built with IPv6, where 'gateway' is not available.
                throw Error("'gateway' not supported in this configuration");

            case QAddr.Proto:
            {
                int realProto = LookupProto(name, proto);
                if (realProto >= 0)
                    return GenProto((uint)realProto, proto, dir);
                throw Error($"unknown protocol: {name}");
            }

            case QAddr.Protochain:
            {
                int realProto = LookupProto(name, proto);
                if (realProto >= 0)
                    return GenProtochain((uint)realProto, proto);
                throw Error($"unknown protocol: {name}");
            }

            case QAddr.Undef:
                throw SyntaxError();

            default:
                throw new InvalidOperationException($"unexpected address qualifier {q.Addr}");
        }
    }

    /// <summary>Checks a service's transport against the qualifier ("udp port ssh" is an error if ssh is TCP-only).</summary>
    private static int CheckServiceProto(int proto, int realProto, string what)
    {
        const int tcp = (int)IpProto.Tcp, udp = (int)IpProto.Udp, sctp = (int)IpProto.Sctp;
        switch (proto)
        {
            case QProto.Udp:
                if (realProto == tcp)
                    throw Error($"{what} is tcp");
                if (realProto == sctp)
                    throw Error($"{what} is sctp");
                return udp;
            case QProto.Tcp:
                if (realProto == udp)
                    throw Error($"{what} is udp");
                if (realProto == sctp)
                    throw Error($"{what} is sctp");
                return tcp;
            case QProto.Sctp:
                if (realProto == udp)
                    throw Error($"{what} is udp");
                if (realProto == tcp)
                    throw Error($"{what} is tcp");
                return sctp;
            default:
                return realProto;
        }
    }

    private Block GenHostByName(string name, int proto, int dir, int addrQual)
    {
        var addresses = NameResolution.LookupHost(name) ?? throw Error($"unknown host '{name}'");

        int tproto = proto;
        int tproto6 = proto;
        // Link types without a type field carry only IP: restrict each family to its own protocol.
        if (_offLinktype.ConstantPart == OffsetNotSet && tproto == QProto.Default)
        {
            tproto = QProto.Ip;
            tproto6 = QProto.Ipv6;
        }

        Span<byte> mask128 = stackalloc byte[16];
        mask128.Fill(0xff);

        Block? b = null;
        foreach (var address in addresses)
        {
            Block tmp;
            if (address.Bytes.Length == 4)
            {
                if (tproto == QProto.Ipv6)
                    continue;
                uint a = (uint)(address.Bytes[0] << 24 | address.Bytes[1] << 16 | address.Bytes[2] << 8 | address.Bytes[3]);
                tmp = GenHost(a, 0xffffffff, tproto, dir, addrQual);
            }
            else if (address.IsIPv6)
            {
                if (tproto6 == QProto.Ip)
                    continue;
                tmp = GenHost6(address.Bytes, mask128, tproto6, dir, addrQual);
            }
            else
            {
                continue;
            }
            if (b is not null)
                GenOr(b, tmp);
            b = tmp;
        }
        if (b is null)
            throw Error($"unknown host '{name}'{(proto == QProto.Default ? "" : " for specified address family")}");
        return b;
    }

    /// <summary>"net A/len" (<paramref name="s2"/> null) or "net A mask M".</summary>
    public Block GenMcode(string s1, string? s2, uint masklen, Qual q)
    {
        int nlen = NameResolution.Atoin(s1, out uint n);
        if (nlen < 0)
            throw Error($"invalid IPv4 address '{s1}'");
        n = ShiftLeft(n, 32 - nlen);

        uint m;
        if (s2 is not null)
        {
            int mlen = NameResolution.Atoin(s2, out m);
            if (mlen < 0)
                throw Error($"invalid IPv4 address '{s2}'");
            m = ShiftLeft(m, 32 - mlen);
            if ((n & ~m) != 0)
                throw Error($"non-network bits set in \"{s1} mask {s2}\"");
        }
        else
        {
            if (masklen > 32)
                throw Error("mask length must be <= 32");
            m = masklen == 0 ? 0 : 0xffffffff << (int)(32 - masklen);
            if ((n & ~m) != 0)
                throw Error($"non-network bits set in \"{s1}/{(int)masklen}\"");
        }

        if (q.Addr == QAddr.Net)
            return GenHost(n, m, q.Proto, q.Dir, q.Addr);
        throw Error("Mask syntax for networks only");
    }

    /// <summary>A shift as x86 does it for 32-bit operands (count taken mod 32), which libpcap's C code relies on.</summary>
    private static uint ShiftLeft(uint v, int count) => v << (count & 31);

    /// <summary>A number or dotted address (<paramref name="s"/>) under its qualifiers.</summary>
    public Block GenNcode(string? s, uint v, Qual q)
    {
        int proto = q.Proto;
        int dir = q.Dir;
        int vlen;

        if (s is null)
        {
            vlen = 32;
        }
        else if (q.Proto == QProto.Decnet)
        {
            vlen = NameResolution.Atodn(s, out v);
            if (vlen == 0)
                throw Error($"malformed decnet address '{s}'");
        }
        else
        {
            vlen = NameResolution.Atoin(s, out v);
            if (vlen < 0)
                throw Error($"invalid IPv4 address '{s}'");
        }

        switch (q.Addr)
        {
            case QAddr.Default:
            case QAddr.Host:
            case QAddr.Net:
                if (proto == QProto.Decnet)
                    return GenHost(v, 0, proto, dir, q.Addr);
                if (proto == QProto.Link)
                    throw Error("illegal link layer address");
                {
                    uint mask = 0xffffffff;
                    if (s is null && q.Addr == QAddr.Net)
                    {
                        // "net 10": a network number, left-justified.
                        while (v != 0 && (v & 0xff000000) == 0)
                        {
                            v <<= 8;
                            mask <<= 8;
                        }
                    }
                    else
                    {
                        // "net 10.1": the given bytes are the network.
                        v = ShiftLeft(v, 32 - vlen);
                        mask = ShiftLeft(mask, 32 - vlen);
                    }
                    return GenHost(v, mask, proto, dir, q.Addr);
                }

            case QAddr.Port:
            {
                int p = proto switch
                {
                    QProto.Udp => (int)IpProto.Udp,
                    QProto.Tcp => (int)IpProto.Tcp,
                    QProto.Sctp => (int)IpProto.Sctp,
                    QProto.Default => ProtoUndef,
                    _ => throw Error("illegal qualifier of 'port'"),
                };
                if (v > 65535)
                    throw Error($"illegal port number {v} > 65535");
                var b = GenPort(v, p, dir);
                GenOr(GenPort6(v, p, dir), b);
                return b;
            }

            case QAddr.Portrange:
            {
                int p = proto switch
                {
                    QProto.Udp => (int)IpProto.Udp,
                    QProto.Tcp => (int)IpProto.Tcp,
                    QProto.Sctp => (int)IpProto.Sctp,
                    QProto.Default => ProtoUndef,
                    _ => throw Error("illegal qualifier of 'portrange'"),
                };
                if (v > 65535)
                    throw Error($"illegal port number {v} > 65535");
                var b = GenPortrange(v, v, p, dir);
                GenOr(GenPortrange6(v, v, p, dir), b);
                return b;
            }

            case QAddr.Gateway:
                throw Error("'gateway' requires a name");

            case QAddr.Proto:
                return GenProto(v, proto, dir);

            case QAddr.Protochain:
                return GenProtochain(v, proto);

            case QAddr.Undef:
                throw SyntaxError();

            default:
                throw new InvalidOperationException($"unexpected address qualifier {q.Addr}");
        }
    }

    /// <summary>An IPv6 address with a prefix length (<paramref name="s2"/> is never given by the grammar's valid forms).</summary>
    public Block GenMcode6(string s1, string? s2, uint masklen, Qual q)
    {
        if (s2 is not null)
            throw Error($"no mask {s2} supported");
        // libpcap resolves the literal with getaddrinfo, which parses numeric IPv6 as inet_pton does
        // and gives exactly one address.
        Span<byte> addr = stackalloc byte[16];
        if (!Ipv6Literal.TryParse(s1, addr))
            throw Error($"invalid ip6 address {s1}");
        if (masklen > 128)
            throw Error("mask length must be <= 128");

        Span<byte> mask = stackalloc byte[16];
        mask.Clear();
        mask[..(int)(masklen / 8)].Fill(0xff);
        if (masklen % 8 != 0)
            mask[(int)(masklen / 8)] = (byte)((0xff << (int)(8 - masklen % 8)) & 0xff);

        for (int i = 0; i < 16; i++)
        {
            if ((addr[i] & ~mask[i]) != 0)
                throw Error($"non-network bits set in \"{s1}/{(int)masklen}\"");
        }

        switch (q.Addr)
        {
            case QAddr.Default:
            case QAddr.Host:
                if (masklen != 128)
                    throw Error("Mask syntax for networks only");
                return GenHost6(addr, mask, q.Proto, q.Dir, q.Addr);
            case QAddr.Net:
                return GenHost6(addr, mask, q.Proto, q.Dir, q.Addr);
            default:
                throw Error("invalid qualifier against IPv6 address");
        }
    }

    /// <summary>A MAC address literal (EID token).</summary>
    public Block GenEcode(string s, Qual q)
    {
        if ((q.Addr == QAddr.Host || q.Addr == QAddr.Default) && q.Proto == QProto.Link)
        {
            var e = NameResolution.EtherAton(s);
            return GenMacHost(e, q.Dir)
                ?? throw Error("ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel");
        }
        throw Error("ethernet address used in non-ether expression");
    }
}
