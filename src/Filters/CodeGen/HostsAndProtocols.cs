using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// "host"/"net" for IPv4 and IPv6, and the protocol keywords on their own ("tcp", "ip6", "stp").
internal sealed partial class CodeGenerator
{
    /// <summary>The keyword of a protocol qualifier as messages quote it.</summary>
    private static string ProtoKeyword(int proto) => proto switch
    {
        QProto.Link => "link",
        QProto.Ip => "ip",
        QProto.Arp => "arp",
        QProto.Rarp => "rarp",
        QProto.Sctp => "sctp",
        QProto.Tcp => "tcp",
        QProto.Udp => "udp",
        QProto.Icmp => "icmp",
        QProto.Igmp => "igmp",
        QProto.Igrp => "igrp",
        QProto.Atalk => "atalk",
        QProto.Decnet => "decnet",
        QProto.Lat => "lat",
        QProto.Sca => "sca",
        QProto.Moprc => "moprc",
        QProto.Mopdl => "mopdl",
        QProto.Ipv6 => "ip6",
        QProto.Icmpv6 => "icmp6",
        QProto.Ah => "ah",
        QProto.Esp => "esp",
        QProto.Pim => "pim",
        QProto.Vrrp => "vrrp",
        QProto.Aarp => "aarp",
        QProto.Iso => "iso",
        QProto.Esis => "esis",
        QProto.Isis => "isis",
        QProto.Clnp => "clnp",
        QProto.Stp => "stp",
        QProto.Ipx => "ipx",
        QProto.Netbeui => "netbeui",
        QProto.IsisL1 => "l1",
        QProto.IsisL2 => "l2",
        QProto.IsisIih => "iih",
        QProto.IsisSnp => "snp",
        QProto.IsisCsnp => "csnp",
        QProto.IsisPsnp => "psnp",
        QProto.IsisLsp => "lsp",
        QProto.Radio => "radio",
        QProto.Carp => "carp",
        _ => "?",
    };

    /// <summary>An IPv4 host or net under every protocol the qualifier allows (ip, arp, rarp by default).</summary>
    private Block GenHost(uint addr, uint mask, int proto, int dir, int type)
    {
        string typestr = type == QAddr.Net ? "net" : "host";
        Block b0, b1;
        switch (proto)
        {
            case QProto.Default:
                b0 = GenHost(addr, mask, QProto.Ip, dir, type);
                // Under MPLS only IP can follow the labels.
                if (_labelStackDepth == 0)
                {
                    b1 = GenHost(addr, mask, QProto.Arp, dir, type);
                    GenOr(b0, b1);
                    b0 = GenHost(addr, mask, QProto.Rarp, dir, type);
                    GenOr(b1, b0);
                }
                return b0;
            case QProto.Link:
                throw Error($"link-layer modifier applied to {typestr}");
            case QProto.Ip:
                return GenHostop(addr, mask, dir, EtherType.Ip, 12, 16);
            case QProto.Rarp:
                return GenHostop(addr, mask, dir, EtherType.RevArp, 14, 24);
            case QProto.Arp:
                return GenHostop(addr, mask, dir, EtherType.Arp, 14, 24);
            case QProto.Decnet:
                return GenDnhostop(addr, dir);
            case QProto.Atalk:
                throw Error("AppleTalk host filtering not implemented");
            case QProto.Lat:
                throw Error("LAT host filtering not implemented");
            case QProto.Sca:
                throw Error("SCA host filtering not implemented");
            case QProto.Moprc:
                throw Error("MOPRC host filtering not implemented");
            case QProto.Mopdl:
                throw Error("MOPDL host filtering not implemented");
            case QProto.Ipv6:
                throw Error("'ip6' modifier applied to ip host");
            case QProto.Aarp:
                throw Error("AARP host filtering not implemented");
            case QProto.Iso:
                throw Error("ISO host filtering not implemented");
            case QProto.Ipx:
                throw Error("IPX host filtering not implemented");
            default:
                throw Error($"'{ProtoKeyword(proto)}' modifier applied to {typestr}");
        }
    }

    private Block GenHost6(ReadOnlySpan<byte> addr, ReadOnlySpan<byte> mask, int proto, int dir, int type)
    {
        string typestr = type == QAddr.Net ? "net" : "host";
        switch (proto)
        {
            case QProto.Default:
                return GenHost6(addr, mask, QProto.Ipv6, dir, type);
            case QProto.Ipv6:
                return GenHostop6(addr, mask, dir, EtherType.Ipv6, 8, 24);
            case QProto.Link:
                throw Error($"link-layer modifier applied to ip6 {typestr}");
            case QProto.Atalk:
                throw Error($"AppleTalk modifier applied to ip6 {typestr}");
            default:
                throw Error($"'{ProtoKeyword(proto)}' modifier applied to ip6 {typestr}");
        }
    }

    private Block GenProtoAbbrevInternal(int proto)
    {
        Block b0, b1;
        switch (proto)
        {
            case QProto.Sctp:
                return GenProto(IpProto.Sctp, QProto.Default, QDir.Default);
            case QProto.Tcp:
                return GenProto(IpProto.Tcp, QProto.Default, QDir.Default);
            case QProto.Udp:
                return GenProto(IpProto.Udp, QProto.Default, QDir.Default);
            case QProto.Icmp:
                return GenProto(IpProto.Icmp, QProto.Ip, QDir.Default);
            case QProto.Igmp:
                return GenProto(IpProto.Igmp, QProto.Ip, QDir.Default);
            case QProto.Igrp:
                return GenProto(IpProto.Igrp, QProto.Ip, QDir.Default);
            case QProto.Pim:
                return GenProto(IpProto.Pim, QProto.Default, QDir.Default);
            case QProto.Vrrp:
                return GenProto(IpProto.Vrrp, QProto.Ip, QDir.Default);
            case QProto.Carp:
                return GenProto(IpProto.Carp, QProto.Ip, QDir.Default);
            case QProto.Ip:
                return GenLinktype(EtherType.Ip);
            case QProto.Arp:
                return GenLinktype(EtherType.Arp);
            case QProto.Rarp:
                return GenLinktype(EtherType.RevArp);
            case QProto.Link:
                throw Error("link layer applied in wrong context");
            case QProto.Atalk:
                return GenLinktype(EtherType.Atalk);
            case QProto.Aarp:
                return GenLinktype(EtherType.Aarp);
            case QProto.Decnet:
                return GenLinktype(EtherType.Dn);
            case QProto.Sca:
                return GenLinktype(EtherType.Sca);
            case QProto.Lat:
                return GenLinktype(EtherType.Lat);
            case QProto.Mopdl:
                return GenLinktype(EtherType.MopDl);
            case QProto.Moprc:
                return GenLinktype(EtherType.MopRc);
            case QProto.Ipv6:
                return GenLinktype(EtherType.Ipv6);
            case QProto.Icmpv6:
                return GenProto(IpProto.Icmpv6, QProto.Ipv6, QDir.Default);
            case QProto.Ah:
                return GenProto(IpProto.Ah, QProto.Default, QDir.Default);
            case QProto.Esp:
                return GenProto(IpProto.Esp, QProto.Default, QDir.Default);
            case QProto.Iso:
                return GenLinktype(LlcSap.IsoNs);
            case QProto.Esis:
                return GenProto(IsoProto.Nlpid9542Esis, QProto.Iso, QDir.Default);
            case QProto.Isis:
                return GenProto(IsoProto.Nlpid10589Isis, QProto.Iso, QDir.Default);
            case QProto.IsisL1:
                // All level-1 PDU types (point-to-point hellos included, whatever their circuit type).
                b0 = GenProto(IsoProto.IsisL1Lan, QProto.Isis, QDir.Default);
                b1 = GenProto(IsoProto.IsisPtp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisL1Lsp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisL1Csnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisL1Psnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                return b1;
            case QProto.IsisL2:
                b0 = GenProto(IsoProto.IsisL2Lan, QProto.Isis, QDir.Default);
                b1 = GenProto(IsoProto.IsisPtp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisL2Lsp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisL2Csnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisL2Psnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                return b1;
            case QProto.IsisIih:
                b0 = GenProto(IsoProto.IsisL1Lan, QProto.Isis, QDir.Default);
                b1 = GenProto(IsoProto.IsisL2Lan, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisPtp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                return b1;
            case QProto.IsisLsp:
                b0 = GenProto(IsoProto.IsisL1Lsp, QProto.Isis, QDir.Default);
                b1 = GenProto(IsoProto.IsisL2Lsp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                return b1;
            case QProto.IsisSnp:
                b0 = GenProto(IsoProto.IsisL1Csnp, QProto.Isis, QDir.Default);
                b1 = GenProto(IsoProto.IsisL2Csnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisL1Psnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                b0 = GenProto(IsoProto.IsisL2Psnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                return b1;
            case QProto.IsisCsnp:
                b0 = GenProto(IsoProto.IsisL1Csnp, QProto.Isis, QDir.Default);
                b1 = GenProto(IsoProto.IsisL2Csnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                return b1;
            case QProto.IsisPsnp:
                b0 = GenProto(IsoProto.IsisL1Psnp, QProto.Isis, QDir.Default);
                b1 = GenProto(IsoProto.IsisL2Psnp, QProto.Isis, QDir.Default);
                GenOr(b0, b1);
                return b1;
            case QProto.Clnp:
                return GenProto(IsoProto.Nlpid8473Clnp, QProto.Iso, QDir.Default);
            case QProto.Stp:
                return GenLinktype(LlcSap.Stp8021D);
            case QProto.Ipx:
                return GenLinktype(LlcSap.Ipx);
            case QProto.Netbeui:
                return GenLinktype(LlcSap.Netbeui);
            case QProto.Radio:
                throw Error("'radio' is not a valid protocol type");
            default:
                throw new InvalidOperationException($"unexpected protocol qualifier {proto}");
        }
    }

    /// <summary>A protocol keyword used on its own, e.g. "tcp" or "ip6".</summary>
    public Block GenProtoAbbrev(int proto) => GenProtoAbbrevInternal(proto);

    /// <summary>Not a fragment, or the first fragment: where transport headers can be found.</summary>
    private Block GenIpfrag()
    {
        var s = GenLoadA(OffsetBase.LinkPayload, 6, H);
        var b = NewBlock(JmpK(Jset));
        b.S.K = 0x1fff;
        b.Stmts = s;
        GenNot(b);
        return b;
    }
}
