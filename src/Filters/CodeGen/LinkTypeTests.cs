using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// Tests of "is this frame carrying protocol P", per link type, and the prologue that computes
// variable header lengths.
internal sealed partial class CodeGenerator
{
    private const uint AfInet = 2;
    private const uint AfInet6 = 10; // Linux's value; the compiler runs on Linux
    private const uint BsdAfInet6Bsd = 24;
    private const uint BsdAfInet6FreeBsd = 28;
    private const uint BsdAfInet6Darwin = 30;
    private const uint IphAfInet = 2;
    private const uint IphAfInet6 = 26;

    private const uint PppIp = 0x0021;
    private const uint PppOsi = 0x0023;
    private const uint PppNs = 0x0025;
    private const uint PppDecnet = 0x0027;
    private const uint PppApple = 0x0029;
    private const uint PppIpx = 0x002b;
    private const uint PppVjc = 0x002d;
    private const uint PppVjnc = 0x002f;
    private const uint PppBrpdu = 0x0031;
    private const uint PppIpv6 = 0x0057;

    private const uint ArcTypeIpOld = 240;
    private const uint ArcTypeArpOld = 241;
    private const uint ArcTypeIp = 212;
    private const uint ArcTypeArp = 213;
    private const uint ArcTypeRevarp = 214;
    private const uint ArcTypeAtalk = 221;
    private const uint ArcTypeInet6 = 0xc4;

    // Offsets in OpenBSD's pflog header.
    private const uint PflogAf = 1;
    private const uint PflogAction = 2;
    private const uint PflogReason = 3;
    private const uint PflogIfname = 4;
    private const uint PflogRuleset = 20;
    private const uint PflogRulenr = 36;
    private const uint PflogSubrulenr = 40;
    private const uint PflogDir = 60;

    private Block GenEtherLinktype(uint llProto)
    {
        Block b0, b1;
        switch (llProto)
        {
            case LlcSap.IsoNs:
            case LlcSap.Ip:
            case LlcSap.Netbeui:
                // 802.3 frame with an LLC header whose DSAP and SSAP are both this SAP.
                b0 = GenCmpGt(OffsetBase.LinkType, 0, H, EtherType.EtherMtu);
                GenNot(b0);
                b1 = GenCmp(OffsetBase.Llc, 0, H, (llProto << 8) | llProto);
                GenAnd(b0, b1);
                return b1;

            case LlcSap.Ipx:
                // IPX over 802.2, raw 802.3, SNAP, or Ethernet II.
                b0 = GenCmp(OffsetBase.Llc, 0, B, LlcSap.Ipx);
                b1 = GenCmp(OffsetBase.Llc, 0, H, 0xFFFF);
                GenOr(b0, b1);
                b0 = GenSnap(0x000000, EtherType.Ipx);
                GenOr(b0, b1);
                b0 = GenCmpGt(OffsetBase.LinkType, 0, H, EtherType.EtherMtu);
                GenNot(b0);
                GenAnd(b0, b1);
                b0 = GenCmp(OffsetBase.LinkType, 0, H, EtherType.Ipx);
                GenOr(b0, b1);
                return b1;

            case EtherType.Atalk:
            case EtherType.Aarp:
                b0 = GenCmpGt(OffsetBase.LinkType, 0, H, EtherType.EtherMtu);
                GenNot(b0);
                b1 = llProto == EtherType.Atalk
                    ? GenSnap(0x080007, EtherType.Atalk)
                    : GenSnap(0x000000, EtherType.Aarp);
                GenAnd(b0, b1);
                b0 = GenCmp(OffsetBase.LinkType, 0, H, llProto);
                GenOr(b0, b1);
                return b1;

            default:
                if (llProto <= EtherType.EtherMtu)
                {
                    // An LLC SAP: check the DSAP of an 802.3 frame.
                    b0 = GenCmpGt(OffsetBase.LinkType, 0, H, EtherType.EtherMtu);
                    GenNot(b0);
                    b1 = GenCmp(OffsetBase.LinkType, 2, B, llProto);
                    GenAnd(b0, b1);
                    return b1;
                }
                return GenCmp(OffsetBase.LinkType, 0, H, llProto);
        }
    }

    private Block GenLoopbackLinktype(uint llProto)
    {
        // DLT_NULL and DLT_ENC carry the AF in the capturing host's byte order; libpcap's
        // htonl() on this little-endian host makes the word byte-swapped, unless a savefile
        // from the other byte order swaps it back.
        if (_linktype == LinkType.NULL || _linktype == LinkType.ENC)
        {
            if (_forSavefile && _savefileSwapped)
                llProto = SwapLong(llProto);
            llProto = SwapLong(llProto);
        }
        return GenCmp(OffsetBase.LinkHeader, 0, W, llProto);
    }

    private Block GenIpnetLinktype(uint llProto) => llProto switch
    {
        EtherType.Ip => GenCmp(OffsetBase.LinkType, 0, B, IphAfInet),
        EtherType.Ipv6 => GenCmp(OffsetBase.LinkType, 0, B, IphAfInet6),
        _ => GenFalse(),
    };

    private Block GenLinuxSllLinktype(uint llProto)
    {
        Block b0, b1;
        switch (llProto)
        {
            case LlcSap.IsoNs:
            case LlcSap.Ip:
            case LlcSap.Netbeui:
                b0 = GenCmp(OffsetBase.LinkType, 0, H, SllProto.P8022);
                b1 = GenCmp(OffsetBase.Llc, 0, H, (llProto << 8) | llProto);
                GenAnd(b0, b1);
                return b1;

            case LlcSap.Ipx:
                b0 = GenCmp(OffsetBase.Llc, 0, B, LlcSap.Ipx);
                b1 = GenSnap(0x000000, EtherType.Ipx);
                GenOr(b0, b1);
                b0 = GenCmp(OffsetBase.LinkType, 0, H, SllProto.P8022);
                GenAnd(b0, b1);
                b0 = GenCmp(OffsetBase.LinkType, 0, H, SllProto.P8023);
                GenOr(b0, b1);
                b0 = GenCmp(OffsetBase.LinkType, 0, H, EtherType.Ipx);
                GenOr(b0, b1);
                return b1;

            case EtherType.Atalk:
            case EtherType.Aarp:
                b0 = GenCmp(OffsetBase.LinkType, 0, H, SllProto.P8022);
                b1 = llProto == EtherType.Atalk
                    ? GenSnap(0x080007, EtherType.Atalk)
                    : GenSnap(0x000000, EtherType.Aarp);
                GenAnd(b0, b1);
                b0 = GenCmp(OffsetBase.LinkType, 0, H, llProto);
                GenOr(b0, b1);
                return b1;

            default:
                if (llProto <= EtherType.EtherMtu)
                {
                    b0 = GenCmp(OffsetBase.LinkType, 0, H, SllProto.P8022);
                    b1 = GenCmp(OffsetBase.LinkHeader, _offLinkpl.ConstantPart, B, llProto);
                    GenAnd(b0, b1);
                    return b1;
                }
                return GenCmp(OffsetBase.LinkType, 0, H, llProto);
        }
    }

    // ---- prologue: lengths of variable-length headers -----------------------------------------

    private Slist? GenLoadPflogLlprefixlen()
    {
        if (_offLinkpl.Reg == -1)
            return null;
        // Header length, rounded up to a multiple of 4.
        var s1 = NewStmt(Ld | B | Abs, 0);
        SAppend(s1, NewStmt(Alu | Add | K, 3));
        SAppend(s1, NewStmt(Alu | And | K, 0xfffffffc));
        SAppend(s1, NewStmt(St, (uint)_offLinkpl.Reg));
        SAppend(s1, NewStmt(Misc | Tax));
        return s1;
    }

    private Slist? GenLoadPrismLlprefixlen()
    {
        // The in-list jumps below cannot survive the optimizer.
        NoOptimize = true;
        if (_offLinkhdr.Reg == -1)
            return null;

        // AVS header (cookie 0x80211000 in the top bits) gives its length at offset 4; Prism is 144 bytes.
        var s1 = NewStmt(Ld | W | Abs, 0);
        SAppend(s1, NewStmt(Alu | And | K, 0xFFFFF000));
        var sjeqAvsCookie = NewStmt(JmpK(Jeq), 0x80211000);
        SAppend(s1, sjeqAvsCookie);
        var s2 = NewStmt(Ld | W | Abs, 4);
        SAppend(s1, s2);
        sjeqAvsCookie.S.Jt = s2;
        var sjcommon = NewStmt(JmpK(Ja), 1);
        SAppend(s1, sjcommon);
        s2 = NewStmt(Ld | W | Imm, 144);
        SAppend(s1, s2);
        sjeqAvsCookie.S.Jf = s2;
        s2 = NewStmt(St, (uint)_offLinkhdr.Reg);
        SAppend(s1, s2);
        sjcommon.S.Jf = s2;
        SAppend(s1, NewStmt(Misc | Tax));
        return s1;
    }

    private Slist? GenLoadAvsLlprefixlen()
    {
        if (_offLinkhdr.Reg == -1)
            return null;
        var s1 = NewStmt(Ld | W | Abs, 4);
        SAppend(s1, NewStmt(St, (uint)_offLinkhdr.Reg));
        SAppend(s1, NewStmt(Misc | Tax));
        return s1;
    }

    /// <summary>Radiotap and PPI both keep a little-endian 16-bit header length at offset 2.</summary>
    private Slist? GenLoadLittleEndianLengthAt2()
    {
        if (_offLinkhdr.Reg == -1)
            return null;
        var s1 = NewStmt(Ld | B | Abs, 3);
        SAppend(s1, NewStmt(Alu | Lsh | K, 8));
        SAppend(s1, NewStmt(Misc | Tax));
        SAppend(s1, NewStmt(Ld | B | Abs, 2));
        SAppend(s1, NewStmt(Alu | Or | X));
        SAppend(s1, NewStmt(St, (uint)_offLinkhdr.Reg));
        SAppend(s1, NewStmt(Misc | Tax));
        return s1;
    }

    /// <summary>
    /// Computes the length of the 802.11 header (24, +2 for QoS data frames, rounded up when the
    /// radiotap flags say the payload is padded) into the payload-offset register.
    /// </summary>
    private Slist? GenLoad80211HeaderLen(Slist? s, Slist? snext)
    {
        if (_offLinkpl.Reg == -1)
            return s;

        // The jumps inside the statement list cannot survive the optimizer.
        NoOptimize = true;

        s ??= NewStmt(Ldx | Imm, _offOutermostlinkhdr.ConstantPart);

        SAppend(s, NewStmt(Misc | Txa));
        SAppend(s, NewStmt(Alu | Add | K, 24));
        SAppend(s, NewStmt(St, (uint)_offLinkpl.Reg));
        SAppend(s, NewStmt(Ld | Ind | B, 0));

        var sjsetDataFrame1 = NewStmt(JmpK(Jset), 0x08);
        SAppend(s, sjsetDataFrame1);
        var sjsetDataFrame2 = NewStmt(JmpK(Jset), 0x04);
        sjsetDataFrame1.S.Jt = sjsetDataFrame2;
        SAppend(s, sjsetDataFrame2);
        sjsetDataFrame1.S.Jf = snext;

        sjsetDataFrame2.S.Jt = snext;
        var sjsetQos = NewStmt(JmpK(Jset), 0x80);
        sjsetDataFrame2.S.Jf = sjsetQos;
        SAppend(s, sjsetQos);

        var s2 = NewStmt(Ld | Mem, (uint)_offLinkpl.Reg);
        sjsetQos.S.Jt = s2;
        SAppend(s, s2);
        SAppend(s, NewStmt(Alu | Add | Imm, 2));
        SAppend(s, NewStmt(St, (uint)_offLinkpl.Reg));

        if (_linktype == LinkType.IEEE802_11_RADIO)
        {
            s2 = NewStmt(Ld | Abs | W, 4);
            sjsetQos.S.Jf = s2;
            SAppend(s, s2);

            var sjsetFlagsPresent = NewStmt(JmpK(Jset), SwapLong(0x00000002));
            SAppend(s, sjsetFlagsPresent);
            sjsetFlagsPresent.S.Jf = snext;

            var sjsetExtPresent = NewStmt(JmpK(Jset), SwapLong(0x80000000));
            SAppend(s, sjsetExtPresent);
            sjsetFlagsPresent.S.Jt = sjsetExtPresent;
            sjsetExtPresent.S.Jt = snext;

            var sjsetTsftPresent = NewStmt(JmpK(Jset), SwapLong(0x00000001));
            SAppend(s, sjsetTsftPresent);
            sjsetExtPresent.S.Jf = sjsetTsftPresent;

            s2 = NewStmt(Ld | Abs | B, 16);
            SAppend(s, s2);
            sjsetTsftPresent.S.Jt = s2;

            var sjsetTsftDatapad = NewStmt(JmpK(Jset), 0x20);
            SAppend(s, sjsetTsftDatapad);

            s2 = NewStmt(Ld | Abs | B, 8);
            SAppend(s, s2);
            sjsetTsftPresent.S.Jf = s2;

            var sjsetNotsftDatapad = NewStmt(JmpK(Jset), 0x20);
            SAppend(s, sjsetNotsftDatapad);

            var sRoundup = NewStmt(Ld | Mem, (uint)_offLinkpl.Reg);
            SAppend(s, sRoundup);
            SAppend(s, NewStmt(Alu | Add | Imm, 3));
            SAppend(s, NewStmt(Alu | And | Imm, ~3u));
            SAppend(s, NewStmt(St, (uint)_offLinkpl.Reg));

            sjsetTsftDatapad.S.Jt = sRoundup;
            sjsetTsftDatapad.S.Jf = snext;
            sjsetNotsftDatapad.S.Jt = sRoundup;
            sjsetNotsftDatapad.S.Jf = snext;
        }
        else
        {
            sjsetQos.S.Jf = snext;
        }
        return s;
    }

    /// <summary>Puts the code computing variable header lengths in front of the program's first block.</summary>
    private void InsertComputeVloffsets(Block b)
    {
        // The payload offset of radio-header link types depends on the header length register.
        if (_offLinkpl.Reg != -1 && _offLinkhdr.IsVariable && _offLinkhdr.Reg == -1)
            _offLinkhdr.Reg = AllocReg();

        Slist? s = _outermostlinktype switch
        {
            LinkType.PRISM_HEADER => GenLoadPrismLlprefixlen(),
            LinkType.IEEE802_11_RADIO_AVS => GenLoadAvsLlprefixlen(),
            LinkType.IEEE802_11_RADIO => GenLoadLittleEndianLengthAt2(),
            LinkType.PPI => GenLoadLittleEndianLengthAt2(),
            _ => null,
        };

        switch (_outermostlinktype)
        {
            case LinkType.IEEE802_11:
            case LinkType.PRISM_HEADER:
            case LinkType.IEEE802_11_RADIO_AVS:
            case LinkType.IEEE802_11_RADIO:
            case LinkType.PPI:
                s = GenLoad80211HeaderLen(s, b.Stmts);
                break;
            case LinkType.PFLOG:
                s = GenLoadPflogLlprefixlen();
                break;
        }

        // VLAN tags whose presence is only known at run time shift the payload: start the shift at 0.
        if (s is null && _isVlanVloffset)
        {
            if (_offLinkpl.Reg == -1)
                _offLinkpl.Reg = AllocReg();
            if (_offLinktype.Reg == -1)
                _offLinktype.Reg = AllocReg();
            s = NewStmt(Ld | W | Imm, 0);
            SAppend(s, NewStmt(St, (uint)_offLinkpl.Reg));
            SAppend(s, NewStmt(St, (uint)_offLinktype.Reg));
        }

        if (s is not null)
        {
            SAppend(s, b.Stmts);
            b.Stmts = s;
        }
    }

    private Block? GenPpiDltCheck()
    {
        if (_linktype != LinkType.PPI)
            return null;
        var b = NewBlock(JmpK(Jeq));
        b.Stmts = NewStmt(Ld | W | Abs, 4);
        b.S.K = SwapLong((uint)LinkType.IEEE802_11);
        return b;
    }

    private static uint EthertypeToPpptype(uint llProto) => llProto switch
    {
        EtherType.Ip => PppIp,
        EtherType.Ipv6 => PppIpv6,
        EtherType.Dn => PppDecnet,
        EtherType.Atalk => PppApple,
        EtherType.Ns => PppNs,
        LlcSap.IsoNs => PppOsi,
        LlcSap.Stp8021D => PppBrpdu,
        LlcSap.Ipx => PppIpx,
        _ => llProto,
    };

    /// <summary>Checks the encapsulating header says a link-layer frame follows (SunATM LANE, Geneve).</summary>
    private Block? GenPrevlinkhdrCheck()
    {
        if (_isGeneve)
            return GenGeneveLlCheck();
        if (_prevlinktype == LinkType.SUNATM)
        {
            // LANE frames whose first two bytes are 0xFF00 are LE control frames.
            var b0 = GenCmp(OffsetBase.PrevLinkHeader, SunAtmPktBeginPos, H, 0xFF00);
            GenNot(b0);
            return b0;
        }
        return null;
    }

    /// <summary>The test that a frame carries link-layer protocol <paramref name="llProto"/> (an Ethernet type or LLC SAP).</summary>
    private Block GenLinktype(uint llProto)
    {
        Block b0, b1, b2;

        if (_labelStackDepth > 0)
            return GenMplsLinktype(llProto);

        switch (_linktype)
        {
            case LinkType.EN10MB:
            case LinkType.NETANALYZER:
            case LinkType.NETANALYZER_TRANSPARENT:
            {
                Block? check = !_isGeneve ? GenPrevlinkhdrCheck() : null;
                b1 = GenEtherLinktype(llProto);
                if (check is not null)
                    GenAnd(check, b1);
                return b1;
            }

            case LinkType.C_HDLC:
            case Hdlc:
                if (llProto == LlcSap.IsoNs)
                    llProto = (llProto << 8) | LlcSap.IsoNs;
                return GenCmp(OffsetBase.LinkType, 0, H, llProto);

            case LinkType.IEEE802_11:
            case LinkType.PRISM_HEADER:
            case LinkType.IEEE802_11_RADIO_AVS:
            case LinkType.IEEE802_11_RADIO:
            case LinkType.PPI:
                b0 = GenCheck80211DataFrame();
                b1 = GenLlcLinktype(llProto);
                GenAnd(b0, b1);
                return b1;

            case LinkType.FDDI:
            case LinkType.IEEE802:
            case LinkType.ATM_RFC1483:
            case LinkType.ATM_CLIP:
            case LinkType.IP_OVER_FC:
                return GenLlcLinktype(llProto);

            case LinkType.SUNATM:
                b0 = GenAtmfieldCodeInternal(AtmKind.ProtoType, AtmPtLlc, Jeq, false);
                b1 = GenLlcLinktype(llProto);
                GenAnd(b0, b1);
                return b1;

            case LinkType.LINUX_SLL:
                return GenLinuxSllLinktype(llProto);

            case LinkType.SLIP:
            case LinkType.SLIP_BSDOS:
            case LinkType.RAW:
                // Only the IP version nibble says what the packet is.
                return llProto switch
                {
                    EtherType.Ip => GenMcmp(OffsetBase.LinkHeader, 0, B, 0x40, 0xF0),
                    EtherType.Ipv6 => GenMcmp(OffsetBase.LinkHeader, 0, B, 0x60, 0xF0),
                    _ => GenFalse(),
                };

            case LinkType.IPV4:
                return llProto == EtherType.Ip ? GenTrue() : GenFalse();

            case LinkType.IPV6:
                return llProto == EtherType.Ipv6 ? GenTrue() : GenFalse();

            case LinkType.PPP:
            case LinkType.PPP_PPPD:
            case LinkType.PPP_SERIAL:
            case LinkType.PPP_ETHER:
                return GenCmp(OffsetBase.LinkType, 0, H, EthertypeToPpptype(llProto));

            case LinkType.PPP_BSDOS:
                if (llProto == EtherType.Ip)
                {
                    // IP, or Van Jacobson compressed/uncompressed TCP/IP.
                    b0 = GenCmp(OffsetBase.LinkType, 0, H, PppIp);
                    b1 = GenCmp(OffsetBase.LinkType, 0, H, PppVjc);
                    GenOr(b0, b1);
                    b0 = GenCmp(OffsetBase.LinkType, 0, H, PppVjnc);
                    GenOr(b1, b0);
                    return b0;
                }
                return GenCmp(OffsetBase.LinkType, 0, H, EthertypeToPpptype(llProto));

            case LinkType.NULL:
            case LinkType.LOOP:
            case LinkType.ENC:
                switch (llProto)
                {
                    case EtherType.Ip:
                        return GenLoopbackLinktype(AfInet);
                    case EtherType.Ipv6:
                        if (_forSavefile)
                        {
                            // A file may come from any BSD: each uses its own AF_INET6.
                            b0 = GenLoopbackLinktype(BsdAfInet6Bsd);
                            b1 = GenLoopbackLinktype(BsdAfInet6FreeBsd);
                            GenOr(b0, b1);
                            b0 = GenLoopbackLinktype(BsdAfInet6Darwin);
                            GenOr(b0, b1);
                            return b1;
                        }
                        // A live Linux capture: Linux's AF_INET6.
                        return GenLoopbackLinktype(AfInet6);
                    default:
                        return GenFalse();
                }

            case LinkType.PFLOG:
                if (llProto == EtherType.Ip)
                    return GenCmp(OffsetBase.LinkHeader, PflogAf, B, AfInet);
                if (llProto == EtherType.Ipv6)
                    return GenCmp(OffsetBase.LinkHeader, PflogAf, B, AfInet6);
                return GenFalse();

            case LinkType.ARCNET:
            case LinkType.ARCNET_LINUX:
                switch (llProto)
                {
                    case EtherType.Ipv6:
                        return GenCmp(OffsetBase.LinkType, 0, B, ArcTypeInet6);
                    case EtherType.Ip:
                        b0 = GenCmp(OffsetBase.LinkType, 0, B, ArcTypeIp);
                        b1 = GenCmp(OffsetBase.LinkType, 0, B, ArcTypeIpOld);
                        GenOr(b0, b1);
                        return b1;
                    case EtherType.Arp:
                        b0 = GenCmp(OffsetBase.LinkType, 0, B, ArcTypeArp);
                        b1 = GenCmp(OffsetBase.LinkType, 0, B, ArcTypeArpOld);
                        GenOr(b0, b1);
                        return b1;
                    case EtherType.RevArp:
                        return GenCmp(OffsetBase.LinkType, 0, B, ArcTypeRevarp);
                    case EtherType.Atalk:
                        return GenCmp(OffsetBase.LinkType, 0, B, ArcTypeAtalk);
                    default:
                        return GenFalse();
                }

            case LinkType.LTALK:
                return llProto == EtherType.Atalk ? GenTrue() : GenFalse();

            case LinkType.FRELAY:
                switch (llProto)
                {
                    case EtherType.Ip:
                        return GenCmp(OffsetBase.LinkHeader, 2, H, (0x03 << 8) | 0xcc);
                    case EtherType.Ipv6:
                        return GenCmp(OffsetBase.LinkHeader, 2, H, (0x03 << 8) | 0x8e);
                    case LlcSap.IsoNs:
                        b0 = GenCmp(OffsetBase.LinkHeader, 2, H, (0x03 << 8) | IsoProto.Nlpid8473Clnp);
                        b1 = GenCmp(OffsetBase.LinkHeader, 2, H, (0x03 << 8) | IsoProto.Nlpid9542Esis);
                        b2 = GenCmp(OffsetBase.LinkHeader, 2, H, (0x03 << 8) | IsoProto.Nlpid10589Isis);
                        GenOr(b1, b2);
                        GenOr(b0, b2);
                        return b2;
                    default:
                        return GenFalse();
                }

            case LinkType.MFR:
                throw Error("Multi-link Frame Relay link-layer type filtering not implemented");

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
                // Only the Juniper magic number can be checked.
                return GenMcmp(OffsetBase.LinkHeader, 0, W, 0x4d474300, 0xffffff00);

            case LinkType.BACNET_MS_TP:
                return GenMcmp(OffsetBase.LinkHeader, 0, W, 0x55FF0000, 0xffff0000);

            case LinkType.IPNET:
                return GenIpnetLinktype(llProto);

            case LinkType.LINUX_IRDA:
                throw Error("IrDA link-layer type filtering not implemented");
            case LinkType.DOCSIS:
                throw Error("DOCSIS link-layer type filtering not implemented");
            case LinkType.MTP2:
            case LinkType.MTP2_WITH_PHDR:
                throw Error("MTP2 link-layer type filtering not implemented");
            case LinkType.ERF:
                throw Error("ERF link-layer type filtering not implemented");
            case LinkType.PFSYNC:
                throw Error("PFSYNC link-layer type filtering not implemented");
            case LinkType.LINUX_LAPD:
                throw Error("LAPD link-layer type filtering not implemented");
            case LinkType.USB_FREEBSD:
            case LinkType.USB_LINUX:
            case LinkType.USB_LINUX_MMAPPED:
            case LinkType.USBPCAP:
                throw Error("USB link-layer type filtering not implemented");
            case LinkType.BLUETOOTH_HCI_H4:
            case LinkType.BLUETOOTH_HCI_H4_WITH_PHDR:
                throw Error("Bluetooth link-layer type filtering not implemented");
            case LinkType.CAN20B:
            case LinkType.CAN_SOCKETCAN:
                throw Error("CAN link-layer type filtering not implemented");
            case LinkType.IEEE802_15_4:
            case LinkType.IEEE802_15_4_LINUX:
            case LinkType.IEEE802_15_4_NONASK_PHY:
            case LinkType.IEEE802_15_4_NOFCS:
            case LinkType.IEEE802_15_4_TAP:
                throw Error("IEEE 802.15.4 link-layer type filtering not implemented");
            case LinkType.IEEE802_16_MAC_CPS_RADIO:
                throw Error("IEEE 802.16 link-layer type filtering not implemented");
            case LinkType.SITA:
                throw Error("SITA link-layer type filtering not implemented");
            case LinkType.RAIF1:
                throw Error("RAIF1 link-layer type filtering not implemented");
            case LinkType.IPMB_KONTRON:
            case LinkType.IPMB_LINUX:
                throw Error("IPMB link-layer type filtering not implemented");
            case LinkType.AX25_KISS:
                throw Error("AX.25 link-layer type filtering not implemented");
            case LinkType.NFLOG:
                throw Error("NFLOG link-layer type filtering not implemented");

            default:
                if (_offLinktype.ConstantPart != OffsetNotSet)
                    return GenCmp(OffsetBase.LinkType, 0, H, llProto);
                throw Error($"{DescribeLinkType(_linktype)} link-layer type filtering not implemented");
        }
    }

    /// <summary>An 802.2 SNAP header with this organisation code and protocol type.</summary>
    private Block GenSnap(uint orgcode, uint ptype)
    {
        Span<byte> snapblock =
        [
            (byte)LlcSap.Snap, (byte)LlcSap.Snap, 0x03,
            (byte)(orgcode >> 16), (byte)(orgcode >> 8), (byte)orgcode,
            (byte)(ptype >> 8), (byte)ptype,
        ];
        return GenBcmp(OffsetBase.Llc, 0, 8, snapblock);
    }

    private Block GenLlcInternal()
    {
        Block b0, b1;
        switch (_linktype)
        {
            case LinkType.EN10MB:
                // 802.3 frame, and not Novell's raw 802.3 (which starts 0xFFFF).
                b0 = GenCmpGt(OffsetBase.LinkType, 0, H, EtherType.EtherMtu);
                GenNot(b0);
                b1 = GenCmp(OffsetBase.Llc, 0, H, 0xFFFF);
                GenNot(b1);
                GenAnd(b0, b1);
                return b1;
            case LinkType.SUNATM:
                return GenAtmtypeLlc();
            case LinkType.IEEE802:
            case LinkType.FDDI:
            case LinkType.ATM_RFC1483:
                return GenTrue();
            case LinkType.IEEE802_11:
            case LinkType.PRISM_HEADER:
            case LinkType.IEEE802_11_RADIO:
            case LinkType.IEEE802_11_RADIO_AVS:
            case LinkType.PPI:
                return GenCheck80211DataFrame();
            default:
                throw Error($"'llc' not supported for {DescribeLinkType(_linktype)}");
        }
    }

    public Block GenLlc() => GenLlcInternal();

    public Block GenLlcI()
    {
        var b0 = GenLlcInternal();
        var s = GenLoadA(OffsetBase.Llc, 2, B);
        var b1 = NewBlock(JmpK(Jset));
        b1.S.K = 0x01;
        b1.Stmts = s;
        GenNot(b1);
        GenAnd(b0, b1);
        return b1;
    }

    public Block GenLlcS()
    {
        var b0 = GenLlcInternal();
        var b1 = GenMcmp(OffsetBase.Llc, 2, B, LlcSap.SFormat, 0x03);
        GenAnd(b0, b1);
        return b1;
    }

    public Block GenLlcU()
    {
        var b0 = GenLlcInternal();
        var b1 = GenMcmp(OffsetBase.Llc, 2, B, LlcSap.UFormat, 0x03);
        GenAnd(b0, b1);
        return b1;
    }

    public Block GenLlcSSubtype(uint subtype)
    {
        var b0 = GenLlcInternal();
        var b1 = GenMcmp(OffsetBase.Llc, 2, B, subtype, LlcSap.SCommandMask);
        GenAnd(b0, b1);
        return b1;
    }

    public Block GenLlcUSubtype(uint subtype)
    {
        var b0 = GenLlcInternal();
        var b1 = GenMcmp(OffsetBase.Llc, 2, B, subtype, LlcSap.UCommandMask);
        GenAnd(b0, b1);
        return b1;
    }

    /// <summary>Protocol test for link types that always carry 802.2 LLC.</summary>
    private Block GenLlcLinktype(uint llProto)
    {
        switch (llProto)
        {
            case LlcSap.Ip:
            case LlcSap.IsoNs:
            case LlcSap.Netbeui:
                return GenCmp(OffsetBase.Llc, 0, H, (llProto << 8) | llProto);
            case LlcSap.Ipx:
                return GenCmp(OffsetBase.Llc, 0, B, LlcSap.Ipx);
            case EtherType.Atalk:
                return GenSnap(0x080007, EtherType.Atalk);
            default:
                if (llProto <= EtherType.EtherMtu)
                    return GenCmp(OffsetBase.Llc, 0, B, llProto);
                // An Ethernet type inside a SNAP header.
                return GenCmp(OffsetBase.Llc, 6, H, llProto);
        }
    }
}
