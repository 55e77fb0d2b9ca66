using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// "proto N" and "protochain N": which protocol a network layer carries.
internal sealed partial class CodeGenerator
{
    /// <summary>
    /// Walks the IPv4/IPv6 extension-header chain looking for protocol <paramref name="v"/>. The loop
    /// is made of jumps inside one block's statements (a backward "ja"), so such programs are
    /// never optimized.
    /// </summary>
    private Block GenProtochain(uint v, int proto)
    {
        // libpcap takes this register before looking at the qualifier, even when it recurses.
        int reg2 = AllocReg();

        switch (proto)
        {
            case QProto.Ip:
            case QProto.Ipv6:
                break;
            case QProto.Default:
            {
                var b0d = GenProtochain(v, QProto.Ip);
                var bd = GenProtochain(v, QProto.Ipv6);
                GenOr(b0d, bd);
                return bd;
            }
            default:
                throw Error("bad protocol applied for 'protochain'");
        }

        if (_offLinkpl.IsVariable)
            throw Error("'protochain' not supported with variable length headers");

        NoOptimize = true;

        var s = new List<Slist> { NewStmt(0) }; // s[0] is a placeholder, as the chain starts at s[1]
        Block b0;
        uint nl = _offLinkpl.ConstantPart + _offNl;
        if (proto == QProto.Ip)
        {
            b0 = GenLinktype(EtherType.Ip);
            s.Add(NewStmt(Ld | Abs | B, nl + 9));
            s.Add(NewStmt(Ldx | Msh | B, nl));
        }
        else
        {
            b0 = GenLinktype(EtherType.Ipv6);
            s.Add(NewStmt(Ld | Abs | B, nl + 6));
            s.Add(NewStmt(Ldx | Imm, 40));
        }

        // A = next protocol, X = offset of its header from the network header.
        int again = s.Count;
        int fix5 = s.Count;
        s.Add(NewStmt(Jmp | Jeq | K, v));
        int fix2 = s.Count;
        s.Add(NewStmt(Jmp | Jeq | K, IpProto.None));
        s[fix5].S.Jf = s[fix2];
        int fix3 = 0;

        if (proto == QProto.Ipv6)
        {
            int v6start = s.Count;
            s.Add(NewStmt(Jmp | Jeq | K, IpProto.HopOpts));
            s[fix2].S.Jf = s[v6start];
            var dstopts = NewStmt(Jmp | Jeq | K, IpProto.DstOpts);
            s[^1].S.Jf = dstopts;
            s.Add(dstopts);
            var routing = NewStmt(Jmp | Jeq | K, IpProto.Routing);
            s[^1].S.Jf = routing;
            s.Add(routing);
            var fragment = NewStmt(Jmp | Jeq | K, IpProto.Fragment);
            s[^1].S.Jf = fragment;
            s.Add(fragment);
            fix3 = s.Count - 1;
            int v6end = s.Count - 1;

            // Skip an extension header: X += (hdr ext len + 1) * 8, A = its next header.
            int v6advance = s.Count;
            s.Add(NewStmt(Ld | Ind | B, nl));
            s.Add(NewStmt(St, (uint)reg2));
            s.Add(NewStmt(Ld | Ind | B, nl + 1));
            s.Add(NewStmt(Alu | Add | K, 1));
            s.Add(NewStmt(Alu | Mul | K, 8));
            s.Add(NewStmt(Alu | Add | X, 0));
            s.Add(NewStmt(Misc | Tax));
            s.Add(NewStmt(Ld | Mem, (uint)reg2));
            var back = NewStmt(Jmp | Ja, unchecked((uint)(again - s.Count - 1)));
            s[^1].S.Jf = back;
            s.Add(back);

            for (int j = v6start; j <= v6end; j++)
                s[j].S.Jt = s[v6advance];
        }
        else
        {
            s.Add(NewStmt(Alu | Add | K, 0));
            s[fix2].S.Jf = s[^1];
        }

        // An AH header: skip it too ((payload len + 2) * 4 bytes).
        int ahcheck = s.Count;
        s.Add(NewStmt(Jmp | Jeq | K, IpProto.Ah));
        if (fix3 != 0)
            s[fix3].S.Jf = s[ahcheck];
        int fix4 = ahcheck;

        var txa = NewStmt(Misc | Txa);
        s[^1].S.Jt = txa;
        s.Add(txa);
        s.Add(NewStmt(Ld | Ind | B, nl));
        s.Add(NewStmt(St, (uint)reg2));
        var txa2 = NewStmt(Misc | Txa);
        s[^1].S.Jt = txa2;
        s.Add(txa2);
        s.Add(NewStmt(Alu | Add | K, 1));
        s.Add(NewStmt(Misc | Tax));
        s.Add(NewStmt(Ld | Ind | B, nl));
        s.Add(NewStmt(Alu | Add | K, 2));
        s.Add(NewStmt(Alu | Mul | K, 4));
        s.Add(NewStmt(Misc | Tax));
        s.Add(NewStmt(Ld | Mem, (uint)reg2));
        s.Add(NewStmt(Jmp | Ja, unchecked((uint)(again - s.Count - 1))));

        int end = s.Count;
        s.Add(NewStmt(Alu | Add | K, 0));
        s[fix2].S.Jt = s[end];
        s[fix4].S.Jf = s[end];
        s[fix5].S.Jt = s[end];

        for (int i = 0; i < s.Count - 1; i++)
            s[i].Next = s[i + 1];
        s[^1].Next = null;

        var b = NewBlock(JmpK(Jeq));
        b.Stmts = s[1];
        b.S.K = v;
        FreeReg(reg2);
        GenAnd(b0, b);
        return b;
    }

    /// <summary>An 802.11 data frame (type data, not a control frame).</summary>
    private Block GenCheck80211DataFrame()
    {
        var s = GenLoadA(OffsetBase.LinkHeader, 0, B);
        var b0 = NewBlock(JmpK(Jset));
        b0.S.K = 0x08;
        b0.Stmts = s;

        s = GenLoadA(OffsetBase.LinkHeader, 0, B);
        var b1 = NewBlock(JmpK(Jset));
        b1.S.K = 0x04;
        b1.Stmts = s;
        GenNot(b1);

        GenAnd(b1, b0);
        return b0;
    }

    /// <summary>"[proto] proto v": the given layer carries protocol <paramref name="v"/>.</summary>
    private Block GenProto(uint v, int proto, int dir)
    {
        Block b0, b1, b2;
        if (dir != QDir.Default)
            throw Error("direction applied to 'proto'");

        switch (proto)
        {
            case QProto.Default:
                b0 = GenProto(v, QProto.Ip, dir);
                b1 = GenProto(v, QProto.Ipv6, dir);
                GenOr(b0, b1);
                return b1;
            case QProto.Link:
                return GenLinktype(v);
            case QProto.Ip:
                b0 = GenLinktype(EtherType.Ip);
                b1 = GenCmp(OffsetBase.LinkPayload, 9, B, v);
                GenAnd(b0, b1);
                return b1;
            case QProto.Arp:
                throw Error("arp does not encapsulate another protocol");
            case QProto.Rarp:
                throw Error("rarp does not encapsulate another protocol");
            case QProto.Atalk:
                throw Error("AppleTalk encapsulation is not specifiable");
            case QProto.Decnet:
                throw Error("DECNET encapsulation is not specifiable");
            case QProto.Lat:
                throw Error("LAT does not encapsulate another protocol");
            case QProto.Sca:
                throw Error("SCA does not encapsulate another protocol");
            case QProto.Moprc:
                throw Error("MOPRC does not encapsulate another protocol");
            case QProto.Mopdl:
                throw Error("MOPDL does not encapsulate another protocol");
            case QProto.Ipv6:
                // The next header, or the one after a fragment header.
                b0 = GenLinktype(EtherType.Ipv6);
                b2 = GenCmp(OffsetBase.LinkPayload, 6, B, IpProto.Fragment);
                b1 = GenCmp(OffsetBase.LinkPayload, 40, B, v);
                GenAnd(b2, b1);
                b2 = GenCmp(OffsetBase.LinkPayload, 6, B, v);
                GenOr(b2, b1);
                GenAnd(b0, b1);
                return b1;
            case QProto.Iso:
                switch (_linktype)
                {
                    case LinkType.FRELAY:
                        return GenCmp(OffsetBase.LinkHeader, 2, H, (0x03 << 8) | v);
                    case LinkType.C_HDLC:
                    case Hdlc:
                        b0 = GenLinktype(LlcSap.IsoNs << 8 | LlcSap.IsoNs);
                        b1 = GenCmp(OffsetBase.LinkPayloadNoSnap, 1, B, v);
                        GenAnd(b0, b1);
                        return b1;
                    default:
                        b0 = GenLinktype(LlcSap.IsoNs);
                        b1 = GenCmp(OffsetBase.LinkPayloadNoSnap, 0, B, v);
                        GenAnd(b0, b1);
                        return b1;
                }
            case QProto.Isis:
                b0 = GenProto(IsoProto.Nlpid10589Isis, QProto.Iso, QDir.Default);
                b1 = GenCmp(OffsetBase.LinkPayloadNoSnap, 4, B, v);
                GenAnd(b0, b1);
                return b1;
            case QProto.Clnp:
                throw Error("'clnp proto' is not supported");
            default:
                throw Error($"'{ProtoKeyword(proto)} proto' is bogus");
        }
    }
}
