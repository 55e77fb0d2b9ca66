using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// VLAN, MPLS, PPPoE and Geneve: each test moves the offsets that later tests use, so
// "vlan 10 and tcp" looks for TCP inside the tag.
internal sealed partial class CodeGenerator
{
    private const uint SkfAdVlanTag = 44;
    private const uint SkfAdVlanTagPresent = 48;
    private const uint PppMplsUcast = 0x0281;
    private const uint GenevePort = 6081;

    private Block GenVlanTpidTest()
    {
        var b0 = GenLinktype(EtherType.Vlan8021Q);
        var b1 = GenLinktype(EtherType.Vlan8021AD);
        GenOr(b0, b1);
        b0 = b1;
        b1 = GenLinktype(EtherType.Vlan8021QinQ);
        GenOr(b0, b1);
        return b1;
    }

    private Block GenVlanVidTest(uint vlanNum)
    {
        if (vlanNum > 0x0fff)
            throw Error($"VLAN tag {vlanNum} greater than maximum {0x0fff}");
        return GenMcmp(OffsetBase.LinkPayload, 0, H, vlanNum, 0x0fff);
    }

    /// <summary>The tag is in the packet data: test it, and move past it.</summary>
    private Block GenVlanNoBpfExtensions(uint vlanNum, bool hasVlanTag)
    {
        var b0 = GenVlanTpidTest();
        if (hasVlanTag)
        {
            var b1 = GenVlanVidTest(vlanNum);
            GenAnd(b0, b1);
            b0 = b1;
        }
        _offLinkpl.ConstantPart += 4;
        _offLinktype.ConstantPart += 4;
        return b0;
    }

    private void GenVlanVloffsetAdd(ref AbsOffset off, uint v, Slist s)
    {
        off.IsVariable = true;
        if (off.Reg == -1)
            off.Reg = AllocReg();
        SAppend(s, NewStmt(Ld | Mem, (uint)off.Reg));
        SAppend(s, NewStmt(Alu | Add | Imm, v));
        SAppend(s, NewStmt(St, (uint)off.Reg));
    }

    /// <summary>When the tag is still in the data (no kernel-stripped tag), shift the offsets by 4 at run time.</summary>
    private void GenVlanPatchTpidTest(Block bTpid)
    {
        var head = NewStmt(0);
        _isVlanVloffset = true;
        GenVlanVloffsetAdd(ref _offLinkpl, 4, head);
        GenVlanVloffsetAdd(ref _offLinktype, 4, head);
        SAppend(head.Next!, bTpid.Head.Stmts);
        bTpid.Head.Stmts = head.Next;
    }

    /// <summary>Tests the VLAN ID the kernel took out of the packet, or the in-packet tag when none.</summary>
    private void GenVlanPatchVidTest(Block bVid)
    {
        var s = NewStmt(Ld | B | Abs, AncillaryBase + SkfAdVlanTagPresent);
        var sjeq = NewStmt(JmpK(Jeq), 1);
        sjeq.S.Jf = bVid.Stmts;
        SAppend(s, sjeq);
        var s2 = NewStmt(Ld | B | Abs, AncillaryBase + SkfAdVlanTag);
        SAppend(s, s2);
        sjeq.S.Jt = s2;

        uint cnt = 0;
        for (var p = bVid.Stmts; p is not null; p = p.Next)
            cnt++;
        SAppend(s, NewStmt(JmpK(Ja), cnt - 1));
        SAppend(s, bVid.Stmts);
        bVid.Stmts = s;
    }

    private Block GenVlanBpfExtensions(uint vlanNum, bool hasVlanTag)
    {
        var b0 = NewBlock(JmpK(Jeq));
        b0.Stmts = NewStmt(Ld | B | Abs, AncillaryBase + SkfAdVlanTagPresent);
        b0.S.K = 1;

        var bTpid = GenVlanTpidTest();
        Block? bVid = hasVlanTag ? GenVlanVidTest(vlanNum) : null;

        GenVlanPatchTpidTest(bTpid);
        GenOr(b0, bTpid);
        b0 = bTpid;

        if (bVid is not null)
        {
            GenVlanPatchVidTest(bVid);
            GenAnd(b0, bVid);
            b0 = bVid;
        }
        return b0;
    }

    public Block GenVlan(uint vlanNum, bool hasVlanTag)
    {
        if (_labelStackDepth > 0)
            throw Error("no VLAN match after MPLS");

        Block b0;
        switch (_linktype)
        {
            case LinkType.EN10MB:
            case LinkType.NETANALYZER:
            case LinkType.NETANALYZER_TRANSPARENT:
                // A live Linux capture may have the outermost tag stripped into skb metadata.
                if (_specialVlanHandling && _vlanStackDepth == 0 && !_offLinkhdr.IsVariable &&
                    _offLinkhdr.ConstantPart == _offOutermostlinkhdr.ConstantPart)
                    b0 = GenVlanBpfExtensions(vlanNum, hasVlanTag);
                else
                    b0 = GenVlanNoBpfExtensions(vlanNum, hasVlanTag);
                break;
            case LinkType.IEEE802_11:
            case LinkType.PRISM_HEADER:
            case LinkType.IEEE802_11_RADIO_AVS:
            case LinkType.IEEE802_11_RADIO:
                b0 = GenVlanNoBpfExtensions(vlanNum, hasVlanTag);
                break;
            default:
                throw Error($"no VLAN support for {DescribeLinkType(_linktype)}");
        }
        _vlanStackDepth++;
        return b0;
    }

    public Block GenMpls(uint labelNum, bool hasLabelNum)
    {
        Block b0;
        if (_labelStackDepth > 0)
        {
            // The previous label must not be the bottom of the stack.
            b0 = GenMcmp(OffsetBase.PrevMplsHeader, 2, B, 0, 0x01);
        }
        else
        {
            switch (_linktype)
            {
                case LinkType.C_HDLC:
                case Hdlc:
                case LinkType.EN10MB:
                case LinkType.NETANALYZER:
                case LinkType.NETANALYZER_TRANSPARENT:
                    b0 = GenLinktype(EtherType.Mpls);
                    break;
                case LinkType.PPP:
                    b0 = GenLinktype(PppMplsUcast);
                    break;
                default:
                    throw Error($"no MPLS support for {DescribeLinkType(_linktype)}");
            }
        }

        if (hasLabelNum)
        {
            if (labelNum > 0xFFFFF)
                throw Error($"MPLS label {labelNum} greater than maximum {0xFFFFF}");
            // The label is the top 20 bits of the label stack entry.
            var b1 = GenMcmp(OffsetBase.LinkPayload, 0, W, labelNum << 12, 0xfffff000);
            GenAnd(b0, b1);
            b0 = b1;
        }
        _offNlNosnap += 4;
        _offNl += 4;
        _labelStackDepth++;
        return b0;
    }

    public Block GenPppoed() => GenLinktype(EtherType.PppoeDiscovery);

    public Block GenPppoes(uint sessNum, bool hasSessNum)
    {
        var b0 = GenLinktype(EtherType.PppoeSession);
        if (hasSessNum)
        {
            if (sessNum > 0x0000ffff)
                throw Error($"PPPoE session number {sessNum} greater than maximum {0x0000ffff}");
            var b1 = GenMcmp(OffsetBase.LinkPayload, 0, W, sessNum, 0x0000ffff);
            GenAnd(b0, b1);
            b0 = b1;
        }

        // What follows is a PPP frame, 6 bytes past the PPPoE header start.
        PushLinkHeader(LinkType.PPP, _offLinkpl.IsVariable, _offLinkpl.ConstantPart + _offNl + 6, _offLinkpl.Reg);
        _offLinktype = _offLinkhdr;
        _offLinkpl.ConstantPart = _offLinkhdr.ConstantPart + 2;
        _offNl = 0;
        _offNlNosnap = 0;
        return b0;
    }

    /// <summary>Makes the current link header the "previous" one and starts a new one (libpcap's PUSH_LINKHDR).</summary>
    private void PushLinkHeader(LinkType newLinkType, bool isVariable, uint constantPart, int reg)
    {
        _prevlinktype = _linktype;
        _offPrevlinkhdr = _offLinkhdr;
        _linktype = newLinkType;
        _offLinkhdr.IsVariable = isVariable;
        _offLinkhdr.ConstantPart = constantPart;
        _offLinkhdr.Reg = reg;
        _isGeneve = false;
    }

    private Block GenGeneveCheck(bool ipv6, OffsetBase offrel, uint vni, bool hasVni)
    {
        var b0 = ipv6
            ? GenPort6(GenevePort, (int)IpProto.Udp, QDir.Dst)
            : GenPort(GenevePort, (int)IpProto.Udp, QDir.Dst);
        // Version 0.
        var b1 = GenMcmp(offrel, 8, B, 0, 0xc0);
        GenAnd(b0, b1);
        b0 = b1;
        if (hasVni)
        {
            if (vni > 0xffffff)
                throw Error($"Geneve VNI {vni} greater than maximum {0xffffff}");
            b1 = GenMcmp(offrel, 12, W, vni << 8, 0xffffff00);
            GenAnd(b0, b1);
            b0 = b1;
        }
        return b0;
    }

    private Block GenGeneve4(uint vni, bool hasVni)
    {
        var b0 = GenGeneveCheck(false, OffsetBase.TransportIPv4, vni, hasVni);
        // Leaves A = IP header length for the offset computation that follows.
        var s = GenLoadxIphdrlen();
        SAppend(s, NewStmt(Misc | Txa));
        var b1 = NewBlock(Jmp | Jeq | X);
        b1.Stmts = s;
        b1.S.K = 0;
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenGeneve6(uint vni, bool hasVni)
    {
        var b0 = GenGeneveCheck(true, OffsetBase.TransportIPv6, vni, hasVni);
        var s = GenAbsOffsetVarpart(ref _offLinkpl);
        if (s is not null)
        {
            SAppend(s, NewStmt(Ld | Imm, 40));
            SAppend(s, NewStmt(Alu | Add | X, 0));
        }
        else
        {
            s = NewStmt(Ld | Imm, 40);
        }
        SAppend(s, NewStmt(Misc | Tax));
        var b1 = NewBlock(Jmp | Jeq | X);
        b1.Stmts = s;
        b1.S.K = 0;
        GenAnd(b0, b1);
        return b1;
    }

    /// <summary>With A = offset of the UDP header from the network header, computes where the encapsulated frame is.</summary>
    private Slist GenGeneveOffsets()
    {
        var s = NewStmt(Alu | Add | K, _offLinkpl.ConstantPart + _offNl + 8);
        SAppend(s, NewStmt(Misc | Tax));
        SAppend(s, NewStmt(Alu | Add | K, 2));

        // The protocol type field of the Geneve header.
        _offLinktype.Reg = AllocReg();
        _offLinktype.IsVariable = true;
        _offLinktype.ConstantPart = 0;
        SAppend(s, NewStmt(St, (uint)_offLinktype.Reg));

        // Geneve header length: 8 + 4 * option length.
        SAppend(s, NewStmt(Ld | Ind | B, 0));
        SAppend(s, NewStmt(Alu | And | K, 0x3f));
        SAppend(s, NewStmt(Alu | Mul | K, 4));
        SAppend(s, NewStmt(Alu | Add | K, 8));
        SAppend(s, NewStmt(Alu | Add | X, 0));

        PushLinkHeader(LinkType.EN10MB, true, 0, AllocReg());
        SAppend(s, NewStmt(St, (uint)_offLinkhdr.Reg));

        // The jumps below live inside one block: no optimizing.
        NoOptimize = true;

        SAppend(s, NewStmt(Ld | Ind | H, 2));
        SAppend(s, NewStmt(Ldx | Mem, (uint)_offLinkhdr.Reg));
        var sProto = NewStmt(JmpK(Jeq), EtherType.Teb);
        SAppend(s, sProto);

        // Transparent Ethernet bridging: an Ethernet header follows.
        var s1 = NewStmt(Misc | Txa);
        SAppend(s, s1);
        sProto.S.Jt = s1;
        SAppend(s, NewStmt(Alu | Add | K, 12));
        SAppend(s, NewStmt(St, (uint)_offLinktype.Reg));
        SAppend(s, NewStmt(Alu | Add | K, 2));
        SAppend(s, NewStmt(Misc | Tax));

        _offLinkpl.Reg = AllocReg();
        _offLinkpl.IsVariable = true;
        _offLinkpl.ConstantPart = 0;
        s1 = NewStmt(Stx, (uint)_offLinkpl.Reg);
        SAppend(s, s1);
        sProto.S.Jf = s1;

        _offNl = 0;
        return s;
    }

    public Block GenGeneve(uint vni, bool hasVni)
    {
        var b0 = GenGeneve4(vni, hasVni);
        var b1 = GenGeneve6(vni, hasVni);
        GenOr(b0, b1);
        b0 = b1;

        var s = GenGeneveOffsets();
        b1 = GenTrue();
        SAppend(s, b1.Stmts);
        b1.Stmts = s;
        GenAnd(b0, b1);
        _isGeneve = true;
        return b1;
    }

    /// <summary>The encapsulated frame has a link header (not raw IP): the two offsets differ.</summary>
    private Block GenGeneveLlCheck()
    {
        var s = NewStmt(Ld | Mem, (uint)_offLinkhdr.Reg);
        SAppend(s, NewStmt(Ldx | Mem, (uint)_offLinkpl.Reg));
        var b0 = NewBlock(Jmp | Jeq | X);
        b0.Stmts = s;
        b0.S.K = 0;
        GenNot(b0);
        return b0;
    }
}
