using System.Text;
using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// Link-layer features: broadcast/multicast, direction, interface index, pflog fields,
// 802.11 frame types, ARCnet addresses.
internal sealed partial class CodeGenerator
{
    // Linux ancillary data offsets (SKF_AD_*), loaded relative to the link header as libpcap does.
    private const uint SkfAdPktType = 4;
    private const uint SkfAdIfIndex = 8;
    private const uint PacketOutgoing = 4;
    private const uint LinuxSllOutgoing = 4;
    private const uint IpnetOutbound = 1;
    private const uint IpnetInbound = 2;
    private const uint PfIn = 1;
    private const uint PfOut = 2;
    private const uint PppPppdIn = 0x00;
    private const uint PppPppdOut = 0x01;

    private static ReadOnlySpan<byte> EtherBroadcast => [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    private static ReadOnlySpan<byte> ArcnetBroadcast => [0x0];

    public Block GenBroadcast(int proto)
    {
        Block b0, b1, b2;
        switch (proto)
        {
            case QProto.Default:
            case QProto.Link:
                switch (_linktype)
                {
                    case LinkType.ARCNET:
                    case LinkType.ARCNET_LINUX:
                        return GenAhostop(ArcnetBroadcast, QDir.Dst);
                    case LinkType.EN10MB:
                    case LinkType.NETANALYZER:
                    case LinkType.NETANALYZER_TRANSPARENT:
                    {
                        var check = GenPrevlinkhdrCheck();
                        b0 = GenEhostop(EtherBroadcast, QDir.Dst);
                        if (check is not null)
                            GenAnd(check, b0);
                        return b0;
                    }
                    case LinkType.FDDI:
                        return GenFhostop(EtherBroadcast, QDir.Dst);
                    case LinkType.IEEE802:
                        return GenThostop(EtherBroadcast, QDir.Dst);
                    case LinkType.IEEE802_11:
                    case LinkType.PRISM_HEADER:
                    case LinkType.IEEE802_11_RADIO_AVS:
                    case LinkType.IEEE802_11_RADIO:
                    case LinkType.PPI:
                        return GenWlanhostop(EtherBroadcast, QDir.Dst);
                    case LinkType.IP_OVER_FC:
                        return GenIpfchostop(EtherBroadcast, QDir.Dst);
                    default:
                        throw Error("not a broadcast link");
                }

            case QProto.Ip:
                // Host part all zeros or all ones, which needs the netmask.
                if (_netmask == FilterCompileOptions.NetmaskUnknown)
                    throw Error("netmask not known, so 'ip broadcast' not supported");
                b0 = GenLinktype(EtherType.Ip);
                uint hostmask = ~_netmask;
                b1 = GenMcmp(OffsetBase.LinkPayload, 16, W, 0, hostmask);
                b2 = GenMcmp(OffsetBase.LinkPayload, 16, W, ~0u & hostmask, hostmask);
                GenOr(b1, b2);
                GenAnd(b0, b2);
                return b2;
        }
        throw Error("only link-layer/IP broadcast filters supported");
    }

    /// <summary>The group bit of the MAC address at <paramref name="offset"/>.</summary>
    private Block GenMacMulticast(uint offset)
    {
        var s = GenLoadA(OffsetBase.LinkHeader, offset, B);
        var b0 = NewBlock(JmpK(Jset));
        b0.S.K = 1;
        b0.Stmts = s;
        return b0;
    }

    public Block GenMulticast(int proto)
    {
        Block b0, b1, b2;
        switch (proto)
        {
            case QProto.Default:
            case QProto.Link:
                switch (_linktype)
                {
                    case LinkType.ARCNET:
                    case LinkType.ARCNET_LINUX:
                        // ARCnet has broadcast but no multicast.
                        return GenAhostop(ArcnetBroadcast, QDir.Dst);
                    case LinkType.EN10MB:
                    case LinkType.NETANALYZER:
                    case LinkType.NETANALYZER_TRANSPARENT:
                    {
                        var check = GenPrevlinkhdrCheck();
                        b0 = GenMacMulticast(0);
                        if (check is not null)
                            GenAnd(check, b0);
                        return b0;
                    }
                    case LinkType.FDDI:
                        return GenMacMulticast(1);
                    case LinkType.IEEE802:
                        return GenMacMulticast(2);
                    case LinkType.IEEE802_11:
                    case LinkType.PRISM_HEADER:
                    case LinkType.IEEE802_11_RADIO_AVS:
                    case LinkType.IEEE802_11_RADIO:
                    case LinkType.PPI:
                        // The destination address is addr3 when To DS is set, else addr1; data frames only.
                        b1 = GenWlanFcBit(1, 0x01);
                        b0 = GenMacMulticast(16);
                        GenAnd(b1, b0);
                        b2 = GenWlanFcBit(1, 0x01);
                        GenNot(b2);
                        b1 = GenMacMulticast(4);
                        GenAnd(b2, b1);
                        GenOr(b1, b0);
                        b1 = GenWlanFcBit(0, 0x08);
                        GenAnd(b1, b0);
                        b2 = GenWlanFcBit(0, 0x08);
                        GenNot(b2);
                        b1 = GenMacMulticast(4);
                        GenAnd(b2, b1);
                        GenOr(b1, b0);
                        b1 = GenWlanFcBit(0, 0x04);
                        GenNot(b1);
                        GenAnd(b1, b0);
                        return b0;
                    case LinkType.IP_OVER_FC:
                        return GenMacMulticast(2);
                }
                break;

            case QProto.Ip:
                b0 = GenLinktype(EtherType.Ip);
                b1 = GenCmpGe(OffsetBase.LinkPayload, 16, B, 224);
                GenAnd(b0, b1);
                return b1;

            case QProto.Ipv6:
                b0 = GenLinktype(EtherType.Ipv6);
                b1 = GenCmp(OffsetBase.LinkPayload, 24, B, 255);
                GenAnd(b0, b1);
                return b1;
        }
        throw Error("link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel");
    }

    public Block GenIfindex(uint ifindex)
    {
        if (_linktype == LinkType.LINUX_SLL2)
            return GenCmp(OffsetBase.LinkHeader, 4, W, ifindex);
        if (_forSavefile)
            throw Error($"ifindex not supported on {DescribeLinkType(_linktype)} when reading savefiles");
        // A live Linux socket filter can ask the kernel.
        return GenCmp(OffsetBase.LinkHeader, AncillaryBase + SkfAdIfIndex, W, ifindex);
    }

    /// <summary>"inbound" (<paramref name="outbound"/> false) or "outbound".</summary>
    public Block GenInbound(bool outbound)
    {
        Block b0;
        switch (_linktype)
        {
            case LinkType.SLIP:
            {
                // The first byte of the SLIP pseudo-header is 0 for received packets.
                var right = GenLoadI(0);
                var left = GenLoad(QProto.Link, GenLoadI(0), 1);
                b0 = GenRelation(Jeq, left, right, outbound);
                break;
            }
            case LinkType.IPNET:
                b0 = GenCmp(OffsetBase.LinkHeader, 2, H, outbound ? IpnetOutbound : IpnetInbound);
                break;
            case LinkType.LINUX_SLL:
                b0 = GenCmp(OffsetBase.LinkHeader, 0, H, LinuxSllOutgoing);
                if (!outbound)
                    GenNot(b0);
                break;
            case LinkType.LINUX_SLL2:
                b0 = GenCmp(OffsetBase.LinkHeader, 10, B, LinuxSllOutgoing);
                if (!outbound)
                    GenNot(b0);
                break;
            case LinkType.PFLOG:
                b0 = GenCmp(OffsetBase.LinkHeader, PflogDir, B, outbound ? PfOut : PfIn);
                break;
            case LinkType.PPP_PPPD:
                b0 = GenCmp(OffsetBase.LinkHeader, 0, B, outbound ? PppPppdOut : PppPppdIn);
                break;
            case LinkType.JUNIPER_MFR:
            case LinkType.JUNIPER_MLFR:
            case LinkType.JUNIPER_MLPPP:
            case LinkType.JUNIPER_ATM1:
            case LinkType.JUNIPER_ATM2:
            case LinkType.JUNIPER_PPPOE:
            case LinkType.JUNIPER_PPPOE_ATM:
            case LinkType.JUNIPER_GGSN:
            case LinkType.JUNIPER_ES:
            case LinkType.JUNIPER_MONITOR:
            case LinkType.JUNIPER_SERVICES:
            case LinkType.JUNIPER_ETHER:
            case LinkType.JUNIPER_PPP:
            case LinkType.JUNIPER_FRELAY:
            case LinkType.JUNIPER_CHDLC:
            case LinkType.JUNIPER_VP:
            case LinkType.JUNIPER_ST:
            case LinkType.JUNIPER_ISM:
            case LinkType.JUNIPER_VS:
            case LinkType.JUNIPER_SRX_E2E:
            case LinkType.JUNIPER_FIBRECHANNEL:
            case LinkType.JUNIPER_ATM_CEMIC:
                // The direction flag of the Juniper cookie.
                b0 = GenMcmp(OffsetBase.LinkHeader, 3, B, outbound ? 0u : 1u, 0x01);
                break;
            default:
                if (_forSavefile)
                    throw Error($"inbound/outbound not supported on {DescribeLinkType(_linktype)} when reading savefiles");
                // A live Linux socket filter can ask the kernel for the packet type.
                b0 = GenCmp(OffsetBase.LinkHeader, AncillaryBase + SkfAdPktType, H, PacketOutgoing);
                if (!outbound)
                    GenNot(b0);
                break;
        }
        return b0;
    }

    public Block GenPfIfname(string ifname)
    {
        if (_linktype != LinkType.PFLOG)
            throw Error("ifname supported only on PF linktype");
        var bytes = Encoding.UTF8.GetBytes(ifname);
        if (bytes.Length >= 16)
            throw Error("ifname interface names can only be 15 characters");
        return GenBcmp(OffsetBase.LinkHeader, PflogIfname, (uint)bytes.Length, bytes);
    }

    public Block GenPfRuleset(string ruleset)
    {
        if (_linktype != LinkType.PFLOG)
            throw Error("ruleset supported only on PF linktype");
        var bytes = Encoding.UTF8.GetBytes(ruleset);
        if (bytes.Length >= 16)
            throw Error("ruleset names can only be 15 characters");
        return GenBcmp(OffsetBase.LinkHeader, PflogRuleset, (uint)bytes.Length, bytes);
    }

    public Block GenPfRnr(uint rnr)
    {
        if (_linktype != LinkType.PFLOG)
            throw Error("rnr supported only on PF linktype");
        return GenCmp(OffsetBase.LinkHeader, PflogRulenr, W, rnr);
    }

    public Block GenPfSrnr(uint srnr)
    {
        if (_linktype != LinkType.PFLOG)
            throw Error("srnr supported only on PF linktype");
        return GenCmp(OffsetBase.LinkHeader, PflogSubrulenr, W, srnr);
    }

    public Block GenPfReason(uint reason)
    {
        if (_linktype != LinkType.PFLOG)
            throw Error("reason supported only on PF linktype");
        return GenCmp(OffsetBase.LinkHeader, PflogReason, B, reason);
    }

    public Block GenPfAction(uint action)
    {
        if (_linktype != LinkType.PFLOG)
            throw Error("action supported only on PF linktype");
        return GenCmp(OffsetBase.LinkHeader, PflogAction, B, action);
    }

    public Block GenP80211Type(uint type, uint mask)
    {
        switch (_linktype)
        {
            case LinkType.IEEE802_11:
            case LinkType.PRISM_HEADER:
            case LinkType.IEEE802_11_RADIO_AVS:
            case LinkType.IEEE802_11_RADIO:
                return GenMcmp(OffsetBase.LinkHeader, 0, B, type, mask);
            default:
                throw Error("802.11 link-layer types supported only on 802.11");
        }
    }

    public Block GenP80211Fcdir(uint fcdir)
    {
        switch (_linktype)
        {
            case LinkType.IEEE802_11:
            case LinkType.PRISM_HEADER:
            case LinkType.IEEE802_11_RADIO_AVS:
            case LinkType.IEEE802_11_RADIO:
                break;
            default:
                throw Error("frame direction supported only with 802.11 headers");
        }
        return GenMcmp(OffsetBase.LinkHeader, 1, B, fcdir, Ieee80211DirMask);
    }

    /// <summary>An ARCnet address ("$1f").</summary>
    public Block GenAcode(string s, Qual q)
    {
        switch (_linktype)
        {
            case LinkType.ARCNET:
            case LinkType.ARCNET_LINUX:
                if ((q.Addr == QAddr.Host || q.Addr == QAddr.Default) && q.Proto == QProto.Link)
                    return GenAhostop(NameResolution.EtherAton(s), q.Dir);
                throw Error("ARCnet address used in non-arc expression");
            default:
                throw Error("aid supported only on ARCnet");
        }
    }

    private Block GenAhostop(ReadOnlySpan<byte> eaddr, int dir)
    {
        Block b0, b1;
        switch (dir)
        {
            case QDir.Src:
                return GenBcmp(OffsetBase.LinkHeader, 0, 1, eaddr);
            case QDir.Dst:
                return GenBcmp(OffsetBase.LinkHeader, 1, 1, eaddr);
            case QDir.And:
                b0 = GenAhostop(eaddr, QDir.Src);
                b1 = GenAhostop(eaddr, QDir.Dst);
                GenAnd(b0, b1);
                return b1;
            case QDir.Default:
            case QDir.Or:
                b0 = GenAhostop(eaddr, QDir.Src);
                b1 = GenAhostop(eaddr, QDir.Dst);
                GenOr(b0, b1);
                return b1;
            default:
                throw OnlyOn80211(dir);
        }
    }
}
