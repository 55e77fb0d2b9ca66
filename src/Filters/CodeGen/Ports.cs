using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// "port" and "portrange" over TCP, UDP and SCTP, for IPv4 (variable header length) and IPv6.
internal sealed partial class CodeGenerator
{
    /// <summary>libpcap's PROTO_UNDEF: no transport protocol named, so TCP, UDP and SCTP all qualify.</summary>
    internal const int ProtoUndef = -1;

    private static FilterCompileException NotAPortQualifier(int dir, string what) => dir switch
    {
        QDir.Addr1 => Error($"'addr1' and 'address1' are not valid qualifiers for {what}"),
        QDir.Addr2 => Error($"'addr2' and 'address2' are not valid qualifiers for {what}"),
        QDir.Addr3 => Error($"'addr3' and 'address3' are not valid qualifiers for {what}"),
        QDir.Addr4 => Error($"'addr4' and 'address4' are not valid qualifiers for {what}"),
        QDir.Ra => Error($"'ra' is not a valid qualifier for {what}"),
        QDir.Ta => Error($"'ta' is not a valid qualifier for {what}"),
        _ => throw new InvalidOperationException($"unexpected direction qualifier {dir}"),
    };

    private Block GenPortatom(uint off, uint v) => GenCmp(OffsetBase.TransportIPv4, off, H, v);

    private Block GenPortatom6(uint off, uint v) => GenCmp(OffsetBase.TransportIPv6, off, H, v);

    private Block GenPortop(uint port, uint proto, int dir)
    {
        // IP protocol, and a non-fragment or first fragment.
        var tmp = GenCmp(OffsetBase.LinkPayload, 9, B, proto);
        var b0 = GenIpfrag();
        GenAnd(tmp, b0);

        Block b1;
        switch (dir)
        {
            case QDir.Src:
                b1 = GenPortatom(0, port);
                break;
            case QDir.Dst:
                b1 = GenPortatom(2, port);
                break;
            case QDir.And:
                tmp = GenPortatom(0, port);
                b1 = GenPortatom(2, port);
                GenAnd(tmp, b1);
                break;
            case QDir.Default:
            case QDir.Or:
                tmp = GenPortatom(0, port);
                b1 = GenPortatom(2, port);
                GenOr(tmp, b1);
                break;
            default:
                throw NotAPortQualifier(dir, "ports");
        }
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenPort(uint port, int ipProto, int dir)
    {
        var b0 = GenLinktype(EtherType.Ip);
        Block b1;
        switch (ipProto)
        {
            case (int)IpProto.Udp:
            case (int)IpProto.Tcp:
            case (int)IpProto.Sctp:
                b1 = GenPortop(port, (uint)ipProto, dir);
                break;
            case ProtoUndef:
            {
                var tmp = GenPortop(port, IpProto.Tcp, dir);
                b1 = GenPortop(port, IpProto.Udp, dir);
                GenOr(tmp, b1);
                tmp = GenPortop(port, IpProto.Sctp, dir);
                GenOr(tmp, b1);
                break;
            }
            default:
                throw new InvalidOperationException($"unexpected port protocol {ipProto}");
        }
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenPortop6(uint port, uint proto, int dir)
    {
        // The next-header field only: extension headers are not followed.
        var b0 = GenCmp(OffsetBase.LinkPayload, 6, B, proto);
        Block b1, tmp;
        switch (dir)
        {
            case QDir.Src:
                b1 = GenPortatom6(0, port);
                break;
            case QDir.Dst:
                b1 = GenPortatom6(2, port);
                break;
            case QDir.And:
                tmp = GenPortatom6(0, port);
                b1 = GenPortatom6(2, port);
                GenAnd(tmp, b1);
                break;
            case QDir.Default:
            case QDir.Or:
                tmp = GenPortatom6(0, port);
                b1 = GenPortatom6(2, port);
                GenOr(tmp, b1);
                break;
            default:
                throw new InvalidOperationException($"unexpected direction qualifier {dir}");
        }
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenPort6(uint port, int ipProto, int dir)
    {
        var b0 = GenLinktype(EtherType.Ipv6);
        Block b1;
        switch (ipProto)
        {
            case (int)IpProto.Udp:
            case (int)IpProto.Tcp:
            case (int)IpProto.Sctp:
                b1 = GenPortop6(port, (uint)ipProto, dir);
                break;
            case ProtoUndef:
            {
                var tmp = GenPortop6(port, IpProto.Tcp, dir);
                b1 = GenPortop6(port, IpProto.Udp, dir);
                GenOr(tmp, b1);
                tmp = GenPortop6(port, IpProto.Sctp, dir);
                GenOr(tmp, b1);
                break;
            }
            default:
                throw new InvalidOperationException($"unexpected port protocol {ipProto}");
        }
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenPortrangeatom(OffsetBase transport, uint off, uint v1, uint v2)
    {
        if (v1 > v2)
            (v1, v2) = (v2, v1);
        var b1 = GenCmpGe(transport, off, H, v1);
        var b2 = GenCmpLe(transport, off, H, v2);
        GenAnd(b1, b2);
        return b2;
    }

    private Block GenPortrangeop(uint port1, uint port2, uint proto, int dir)
    {
        var tmp = GenCmp(OffsetBase.LinkPayload, 9, B, proto);
        var b0 = GenIpfrag();
        GenAnd(tmp, b0);

        Block b1;
        switch (dir)
        {
            case QDir.Src:
                b1 = GenPortrangeatom(OffsetBase.TransportIPv4, 0, port1, port2);
                break;
            case QDir.Dst:
                b1 = GenPortrangeatom(OffsetBase.TransportIPv4, 2, port1, port2);
                break;
            case QDir.And:
                tmp = GenPortrangeatom(OffsetBase.TransportIPv4, 0, port1, port2);
                b1 = GenPortrangeatom(OffsetBase.TransportIPv4, 2, port1, port2);
                GenAnd(tmp, b1);
                break;
            case QDir.Default:
            case QDir.Or:
                tmp = GenPortrangeatom(OffsetBase.TransportIPv4, 0, port1, port2);
                b1 = GenPortrangeatom(OffsetBase.TransportIPv4, 2, port1, port2);
                GenOr(tmp, b1);
                break;
            default:
                throw NotAPortQualifier(dir, "port ranges");
        }
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenPortrange(uint port1, uint port2, int ipProto, int dir)
    {
        var b0 = GenLinktype(EtherType.Ip);
        Block b1;
        switch (ipProto)
        {
            case (int)IpProto.Udp:
            case (int)IpProto.Tcp:
            case (int)IpProto.Sctp:
                b1 = GenPortrangeop(port1, port2, (uint)ipProto, dir);
                break;
            case ProtoUndef:
            {
                var tmp = GenPortrangeop(port1, port2, IpProto.Tcp, dir);
                b1 = GenPortrangeop(port1, port2, IpProto.Udp, dir);
                GenOr(tmp, b1);
                tmp = GenPortrangeop(port1, port2, IpProto.Sctp, dir);
                GenOr(tmp, b1);
                break;
            }
            default:
                throw new InvalidOperationException($"unexpected port protocol {ipProto}");
        }
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenPortrangeop6(uint port1, uint port2, uint proto, int dir)
    {
        var b0 = GenCmp(OffsetBase.LinkPayload, 6, B, proto);
        Block b1, tmp;
        switch (dir)
        {
            case QDir.Src:
                b1 = GenPortrangeatom(OffsetBase.TransportIPv6, 0, port1, port2);
                break;
            case QDir.Dst:
                b1 = GenPortrangeatom(OffsetBase.TransportIPv6, 2, port1, port2);
                break;
            case QDir.And:
                tmp = GenPortrangeatom(OffsetBase.TransportIPv6, 0, port1, port2);
                b1 = GenPortrangeatom(OffsetBase.TransportIPv6, 2, port1, port2);
                GenAnd(tmp, b1);
                break;
            case QDir.Default:
            case QDir.Or:
                tmp = GenPortrangeatom(OffsetBase.TransportIPv6, 0, port1, port2);
                b1 = GenPortrangeatom(OffsetBase.TransportIPv6, 2, port1, port2);
                GenOr(tmp, b1);
                break;
            default:
                throw new InvalidOperationException($"unexpected direction qualifier {dir}");
        }
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenPortrange6(uint port1, uint port2, int ipProto, int dir)
    {
        var b0 = GenLinktype(EtherType.Ipv6);
        Block b1;
        switch (ipProto)
        {
            case (int)IpProto.Udp:
            case (int)IpProto.Tcp:
            case (int)IpProto.Sctp:
                b1 = GenPortrangeop6(port1, port2, (uint)ipProto, dir);
                break;
            case ProtoUndef:
            {
                var tmp = GenPortrangeop6(port1, port2, IpProto.Tcp, dir);
                b1 = GenPortrangeop6(port1, port2, IpProto.Udp, dir);
                GenOr(tmp, b1);
                tmp = GenPortrangeop6(port1, port2, IpProto.Sctp, dir);
                GenOr(tmp, b1);
                break;
            }
            default:
                throw new InvalidOperationException($"unexpected port protocol {ipProto}");
        }
        GenAnd(b0, b1);
        return b1;
    }
}
