using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// Byte-offset expressions ("ip[2:2] - 20 > 100"): every value lives in a scratch register.
internal sealed partial class CodeGenerator
{
    private Slist XferToX(Arth a) => NewStmt(Ldx | Mem, (uint)a.Regno);

    private Slist XferToA(Arth a) => NewStmt(Ld | Mem, (uint)a.Regno);

    /// <summary>"proto[inst : size]": loads relative to a protocol header; adds the checks that the header is there.</summary>
    public Arth GenLoad(int proto, Arth inst, uint size)
    {
        int regno = AllocReg();
        FreeReg(inst.Regno);

        int sizeCode = size switch
        {
            1 => B,
            2 => H,
            4 => W,
            _ => throw Error("data size must be 1, 2, or 4"),
        };

        Slist s;
        Slist tmp;
        Block b;
        switch (proto)
        {
            case QProto.Radio:
                if (_linktype != LinkType.IEEE802_11_RADIO_AVS &&
                    _linktype != LinkType.IEEE802_11_RADIO &&
                    _linktype != LinkType.PRISM_HEADER)
                    throw Error("radio information not present in capture");
                s = XferToX(inst);
                SAppend(s, NewStmt(Ld | Ind | sizeCode));
                SAppend(inst.S!, s);
                break;

            case QProto.Link:
            {
                // The index is relative to the link header, which may follow a variable-length header.
                var v = GenAbsOffsetVarpart(ref _offLinkhdr);
                if (v is not null)
                {
                    SAppend(v, XferToA(inst));
                    SAppend(v, NewStmt(Alu | Add | X));
                    SAppend(v, NewStmt(Misc | Tax));
                    s = v;
                }
                else
                {
                    s = XferToX(inst);
                }
                SAppend(s, NewStmt(Ld | Ind | sizeCode, _offLinkhdr.ConstantPart));
                SAppend(inst.S!, s);
                break;
            }

            case QProto.Ip:
            case QProto.Arp:
            case QProto.Rarp:
            case QProto.Atalk:
            case QProto.Decnet:
            case QProto.Sca:
            case QProto.Lat:
            case QProto.Moprc:
            case QProto.Mopdl:
            case QProto.Ipv6:
            {
                var v = GenAbsOffsetVarpart(ref _offLinkpl);
                if (v is not null)
                {
                    SAppend(v, XferToA(inst));
                    SAppend(v, NewStmt(Alu | Add | X));
                    SAppend(v, NewStmt(Misc | Tax));
                    s = v;
                }
                else
                {
                    s = XferToX(inst);
                }
                SAppend(s, NewStmt(Ld | Ind | sizeCode, _offLinkpl.ConstantPart + _offNl));
                SAppend(inst.S!, s);

                b = GenProtoAbbrevInternal(proto);
                if (inst.B is not null)
                    GenAnd(inst.B, b);
                inst.B = b;
                break;
            }

            case QProto.Sctp:
            case QProto.Tcp:
            case QProto.Udp:
            case QProto.Icmp:
            case QProto.Igmp:
            case QProto.Igrp:
            case QProto.Pim:
            case QProto.Vrrp:
            case QProto.Carp:
            {
                // Relative to the transport header after a variable-length IPv4 header.
                s = GenLoadxIphdrlen();
                SAppend(s, XferToA(inst));
                SAppend(s, NewStmt(Alu | Add | X));
                SAppend(s, NewStmt(Misc | Tax));
                tmp = NewStmt(Ld | Ind | sizeCode, _offLinkpl.ConstantPart + _offNl);
                SAppend(s, tmp);
                SAppend(inst.S!, s);

                // The protocol, not a later fragment, and IPv4.
                var protoCheck = GenProtoAbbrevInternal(proto);
                b = GenIpfrag();
                GenAnd(protoCheck, b);
                if (inst.B is not null)
                    GenAnd(inst.B, b);
                GenAnd(GenProtoAbbrevInternal(QProto.Ip), b);
                inst.B = b;
                break;
            }

            case QProto.Icmpv6:
            {
                // Only directly after a fixed IPv6 header (no extension headers).
                b = GenProtoAbbrevInternal(QProto.Ipv6);
                if (inst.B is not null)
                    GenAnd(inst.B, b);
                inst.B = b;
                b = GenCmp(OffsetBase.LinkPayload, 6, B, 58);
                if (inst.B is not null)
                    GenAnd(inst.B, b);
                inst.B = b;

                var v = GenAbsOffsetVarpart(ref _offLinkpl);
                if (v is not null)
                {
                    SAppend(v, XferToA(inst));
                    SAppend(v, NewStmt(Alu | Add | X));
                    SAppend(v, NewStmt(Misc | Tax));
                    s = v;
                }
                else
                {
                    s = XferToX(inst);
                }
                SAppend(s, NewStmt(Ld | Ind | sizeCode, _offLinkpl.ConstantPart + _offNl + 40));
                SAppend(inst.S!, s);
                break;
            }

            default:
                throw Error("unsupported index operation");
        }

        inst.Regno = regno;
        SAppend(inst.S!, NewStmt(St, (uint)regno));
        return inst;
    }

    /// <summary>"a0 op a1" as a branch: jeq compares a0 - a1 with 0; jgt/jge compare with X.</summary>
    public Block GenRelation(int code, Arth a0, Arth a1, bool reversed)
    {
        var s0 = XferToX(a1);
        var s1 = XferToA(a0);
        Block b;
        if (code == Jeq)
        {
            var s2 = NewStmt(Alu | Sub | X);
            b = NewBlock(JmpK(code));
            SAppend(s1, s2);
        }
        else
        {
            b = NewBlock(Jmp | code | X);
        }
        if (reversed)
            GenNot(b);

        SAppend(s0, s1);
        SAppend(a1.S!, s0);
        SAppend(a0.S!, a1.S);
        b.Stmts = a0.S;

        FreeReg(a0.Regno);
        FreeReg(a1.Regno);

        Block? tmp;
        if (a0.B is not null)
        {
            if (a1.B is not null)
            {
                tmp = a1.B;
                GenAnd(a0.B, tmp);
            }
            else
            {
                tmp = a0.B;
            }
        }
        else
        {
            tmp = a1.B;
        }
        if (tmp is not null)
            GenAnd(tmp, b);
        return b;
    }

    public Arth GenLoadLen()
    {
        int regno = AllocReg();
        var s = NewStmt(Ld | Len);
        s.Next = NewStmt(St, (uint)regno);
        return new Arth { S = s, Regno = regno };
    }

    public Arth GenLoadI(uint val)
    {
        int reg = AllocReg();
        var s = NewStmt(Ld | Imm, val);
        s.Next = NewStmt(St, (uint)reg);
        return new Arth { S = s, Regno = reg };
    }

    public Arth GenNeg(Arth a)
    {
        SAppend(a.S!, XferToA(a));
        SAppend(a.S!, NewStmt(Alu | Neg, 0));
        SAppend(a.S!, NewStmt(St, (uint)a.Regno));
        return a;
    }

    public Arth GenArth(int code, Arth a0, Arth a1)
    {
        // Constant right operands are checked the way libpcap checks them (only a literal, not an expression).
        bool rightIsConstant = a1.S!.S.Code == (Ld | Imm);
        if (code == Div)
        {
            if (rightIsConstant && a1.S.S.K == 0)
                throw Error("division by zero");
        }
        else if (code == Mod)
        {
            if (rightIsConstant && a1.S.S.K == 0)
                throw Error("modulus by zero");
        }
        else if (code == Lsh || code == Rsh)
        {
            if (rightIsConstant && a1.S.S.K > 31)
                throw Error("shift by more than 31 bits");
        }

        var s0 = XferToX(a1);
        var s1 = XferToA(a0);
        var s2 = NewStmt(Alu | X | code);
        SAppend(s1, s2);
        SAppend(s0, s1);
        SAppend(a1.S, s0);
        SAppend(a0.S!, a1.S);

        FreeReg(a0.Regno);
        FreeReg(a1.Regno);

        var st = NewStmt(St);
        a0.Regno = AllocReg();
        st.S.K = (uint)a0.Regno;
        SAppend(a0.S!, st);
        return a0;
    }

    private Block GenLen(int jmp, uint n)
    {
        var b = NewBlock(JmpK(jmp));
        b.Stmts = NewStmt(Ld | Len);
        b.S.K = n;
        return b;
    }

    public Block GenGreater(uint n) => GenLen(Jge, n);

    public Block GenLess(uint n)
    {
        var b = GenLen(Jgt, n);
        GenNot(b);
        return b;
    }

    /// <summary>"byte IDX OP VAL" on the link header.</summary>
    public Block GenByteop(char op, uint idx, uint val)
    {
        Slist s;
        switch (op)
        {
            case '=':
                return GenCmp(OffsetBase.LinkHeader, idx, B, val);
            case '<':
                return GenCmpLt(OffsetBase.LinkHeader, idx, B, val);
            case '>':
                return GenCmpGt(OffsetBase.LinkHeader, idx, B, val);
            case '|':
                s = NewStmt(Alu | Or | K);
                break;
            case '&':
                s = NewStmt(Alu | And | K);
                break;
            default:
                throw new InvalidOperationException($"unexpected byte operator {op}");
        }
        // libpcap applies the operation to whatever is in A, without loading the byte first.
        s.S.K = val;
        var b = NewBlock(JmpK(Jeq));
        b.Stmts = s;
        GenNot(b);
        return b;
    }
}
