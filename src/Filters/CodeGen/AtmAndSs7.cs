using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// SunATM pseudo-header fields and SS7 MTP2/MTP3 fields.
internal sealed partial class CodeGenerator
{
    private const uint AtmPtLane = 0x01;
    private const uint AtmPtLlc = 0x02;
    private const uint MsgTypePos = 5;

    // Q.2931 signalling message types.
    private const uint Q2931Setup = 0x05;
    private const uint Q2931CallProceed = 0x02;
    private const uint Q2931Connect = 0x07;
    private const uint Q2931ConnectAck = 0x0f;
    private const uint Q2931Release = 0x4d;
    private const uint Q2931ReleaseDone = 0x5a;

    private Block GenAtmfieldCodeInternal(int atmfield, uint jvalue, int jtype, bool reverse)
    {
        switch (atmfield)
        {
            case AtmKind.Vpi:
                if (!_isAtm)
                    throw Error("'vpi' supported only on raw ATM");
                return GenNcmp(OffsetBase.LinkHeader, _offVpi, B, 0xffffffff, jtype, reverse, jvalue);
            case AtmKind.Vci:
                if (!_isAtm)
                    throw Error("'vci' supported only on raw ATM");
                return GenNcmp(OffsetBase.LinkHeader, _offVci, H, 0xffffffff, jtype, reverse, jvalue);
            case AtmKind.ProtoType:
                return GenNcmp(OffsetBase.LinkHeader, _offProto, B, 0x0f, jtype, reverse, jvalue);
            case AtmKind.MsgType:
                return GenNcmp(OffsetBase.LinkHeader, _offPayload + MsgTypePos, B, 0xffffffff, jtype, reverse, jvalue);
            case AtmKind.CallRefType:
                if (!_isAtm)
                    throw Error("'callref' supported only on raw ATM");
                return GenNcmp(OffsetBase.LinkHeader, _offProto, B, 0xffffffff, jtype, reverse, jvalue);
            default:
                throw new InvalidOperationException($"unexpected ATM field {atmfield}");
        }
    }

    private Block GenAtmVc(uint vpi, uint vci)
    {
        var b0 = GenAtmfieldCodeInternal(AtmKind.Vpi, vpi, Jeq, false);
        var b1 = GenAtmfieldCodeInternal(AtmKind.Vci, vci, Jeq, false);
        GenAnd(b0, b1);
        return b1;
    }

    private Block GenAtmtypeMetac() => GenAtmVc(0, 1);

    private Block GenAtmtypeSc() => GenAtmVc(0, 5);

    private Block GenAtmtypeLlc()
    {
        var b0 = GenAtmfieldCodeInternal(AtmKind.ProtoType, AtmPtLlc, Jeq, false);
        _linktype = _prevlinktype;
        return b0;
    }

    /// <summary>"vpi N", "vci > N" and friends.</summary>
    public Block GenAtmfieldCode(int atmfield, uint jvalue, int jtype, bool reverse)
        => GenAtmfieldCodeInternal(atmfield, jvalue, jtype, reverse);

    public Block GenAtmtypeAbbrev(int type)
    {
        Block b1;
        switch (type)
        {
            case AtmKind.Metac:
                RequireAtm("metac");
                return GenAtmtypeMetac();
            case AtmKind.Bcc:
                RequireAtm("bcc");
                return GenAtmVc(0, 2);
            case AtmKind.Oamf4Sc:
                RequireAtm("oam4sc");
                return GenAtmVc(0, 3);
            case AtmKind.Oamf4Ec:
                RequireAtm("oam4ec");
                return GenAtmVc(0, 4);
            case AtmKind.Sc:
                RequireAtm("sc");
                return GenAtmtypeSc();
            case AtmKind.Ilmic:
                RequireAtm("ilmic");
                return GenAtmVc(0, 16);
            case AtmKind.Lane:
                RequireAtm("lane");
                b1 = GenAtmfieldCodeInternal(AtmKind.ProtoType, AtmPtLane, Jeq, false);
                // LANE carries Ethernet frames after a 2-byte LE header.
                PushLinkHeader(LinkType.EN10MB, false, _offPayload + 2, -1);
                _offLinktype.ConstantPart = _offLinkhdr.ConstantPart + 12;
                _offLinkpl.ConstantPart = _offLinkhdr.ConstantPart + 14;
                _offNl = 0;
                _offNlNosnap = 3;
                return b1;
            case AtmKind.Llc:
                RequireAtm("llc");
                return GenAtmtypeLlc();
            default:
                throw new InvalidOperationException($"unexpected ATM type {type}");
        }
    }

    private void RequireAtm(string keyword)
    {
        if (!_isAtm)
            throw Error($"'{keyword}' supported only on raw ATM");
    }

    private Block GenMsgAbbrev(uint msgType) => GenAtmfieldCodeInternal(AtmKind.MsgType, msgType, Jeq, false);

    public Block GenAtmmultiAbbrev(int type)
    {
        Block b0, b1;
        switch (type)
        {
            case AtmKind.Oam:
            case AtmKind.Oamf4:
                RequireAtm(type == AtmKind.Oam ? "oam" : "oamf4");
                // Segment or end-to-end OAM F4 cells.
                b0 = GenAtmfieldCodeInternal(AtmKind.Vci, 3, Jeq, false);
                b1 = GenAtmfieldCodeInternal(AtmKind.Vci, 4, Jeq, false);
                GenOr(b0, b1);
                b0 = GenAtmfieldCodeInternal(AtmKind.Vpi, 0, Jeq, false);
                GenAnd(b0, b1);
                return b1;
            case AtmKind.ConnectMsg:
                RequireAtm("connectmsg");
                b0 = GenMsgAbbrev(Q2931Setup);
                b1 = GenMsgAbbrev(Q2931CallProceed);
                GenOr(b0, b1);
                b0 = GenMsgAbbrev(Q2931Connect);
                GenOr(b0, b1);
                b0 = GenMsgAbbrev(Q2931ConnectAck);
                GenOr(b0, b1);
                b0 = GenMsgAbbrev(Q2931Release);
                GenOr(b0, b1);
                b0 = GenMsgAbbrev(Q2931ReleaseDone);
                GenOr(b0, b1);
                b0 = GenAtmtypeSc();
                GenAnd(b0, b1);
                return b1;
            case AtmKind.MetaConnect:
                RequireAtm("metaconnect");
                b0 = GenMsgAbbrev(Q2931Setup);
                b1 = GenMsgAbbrev(Q2931CallProceed);
                GenOr(b0, b1);
                b0 = GenMsgAbbrev(Q2931Connect);
                GenOr(b0, b1);
                b0 = GenMsgAbbrev(Q2931Release);
                GenOr(b0, b1);
                b0 = GenMsgAbbrev(Q2931ReleaseDone);
                GenOr(b0, b1);
                b0 = GenAtmtypeMetac();
                GenAnd(b0, b1);
                return b1;
            default:
                throw new InvalidOperationException($"unexpected ATM type {type}");
        }
    }

    private bool IsMtp2 => _linktype is LinkType.MTP2 or LinkType.ERF or LinkType.MTP2_WITH_PHDR;

    public Block GenMtp2typeAbbrev(int type)
    {
        Block b0, b1;
        switch (type)
        {
            case Mtp.Fisu:
                if (!IsMtp2)
                    throw Error("'fisu' supported only on MTP2");
                return GenNcmp(OffsetBase.Packet, _offLi, B, 0x3f, Jeq, false, 0);
            case Mtp.Lssu:
                if (!IsMtp2)
                    throw Error("'lssu' supported only on MTP2");
                b0 = GenNcmp(OffsetBase.Packet, _offLi, B, 0x3f, Jgt, true, 2);
                b1 = GenNcmp(OffsetBase.Packet, _offLi, B, 0x3f, Jgt, false, 0);
                GenAnd(b1, b0);
                return b0;
            case Mtp.Msu:
                if (!IsMtp2)
                    throw Error("'msu' supported only on MTP2");
                return GenNcmp(OffsetBase.Packet, _offLi, B, 0x3f, Jgt, false, 2);
            case Mtp.HFisu:
                if (!IsMtp2)
                    throw Error("'hfisu' supported only on MTP2_HSL");
                return GenNcmp(OffsetBase.Packet, _offLiHsl, H, 0xff80, Jeq, false, 0);
            case Mtp.HLssu:
                if (!IsMtp2)
                    throw Error("'hlssu' supported only on MTP2_HSL");
                b0 = GenNcmp(OffsetBase.Packet, _offLiHsl, H, 0xff80, Jgt, true, 0x0100);
                b1 = GenNcmp(OffsetBase.Packet, _offLiHsl, H, 0xff80, Jgt, false, 0);
                GenAnd(b1, b0);
                return b0;
            case Mtp.HMsu:
                if (!IsMtp2)
                    throw Error("'hmsu' supported only on MTP2_HSL");
                return GenNcmp(OffsetBase.Packet, _offLiHsl, H, 0xff80, Jgt, false, 0x0100);
            default:
                throw new InvalidOperationException($"unexpected MTP2 type {type}");
        }
    }

    public Block GenMtp3fieldCode(int mtp3field, uint jvalue, int jtype, bool reverse)
    {
        uint newoffSio = _offSio, newoffOpc = _offOpc, newoffDpc = _offDpc, newoffSls = _offSls;
        switch (mtp3field)
        {
            case Mtp.HSio:
            case Mtp.Sio:
                if (mtp3field == Mtp.HSio)
                    newoffSio += 3; // MTP2 HSL header is 3 bytes longer
                if (_offSio == OffsetNotSet)
                    throw Error("'sio' supported only on SS7");
                if (jvalue > 255)
                    throw Error($"sio value {jvalue} too big; max value = 255");
                return GenNcmp(OffsetBase.Packet, newoffSio, B, 0xffffffff, jtype, reverse, jvalue);

            case Mtp.HOpc:
            case Mtp.Opc:
            {
                if (mtp3field == Mtp.HOpc)
                    newoffOpc += 3;
                if (_offOpc == OffsetNotSet)
                    throw Error("'opc' supported only on SS7");
                if (jvalue > 16383)
                    throw Error($"opc value {jvalue} too big; max value = 16383");
                // The 14-bit point code is split over the routing label's bytes.
                uint val1 = (jvalue & 0x00003c00) >> 10;
                uint val2 = (jvalue & 0x000003fc) << 6;
                uint val3 = (jvalue & 0x00000003) << 22;
                return GenNcmp(OffsetBase.Packet, newoffOpc, W, 0x00c0ff0f, jtype, reverse, val1 + val2 + val3);
            }

            case Mtp.HDpc:
            case Mtp.Dpc:
            {
                if (mtp3field == Mtp.HDpc)
                    newoffDpc += 3;
                if (_offDpc == OffsetNotSet)
                    throw Error("'dpc' supported only on SS7");
                if (jvalue > 16383)
                    throw Error($"dpc value {jvalue} too big; max value = 16383");
                uint val1 = (jvalue & 0x000000ff) << 24;
                uint val2 = (jvalue & 0x00003f00) << 8;
                return GenNcmp(OffsetBase.Packet, newoffDpc, W, 0xff3f0000, jtype, reverse, val1 + val2);
            }

            case Mtp.HSls:
            case Mtp.Sls:
                if (mtp3field == Mtp.HSls)
                    newoffSls += 3;
                if (_offSls == OffsetNotSet)
                    throw Error("'sls' supported only on SS7");
                if (jvalue > 15)
                    throw Error($"sls value {jvalue} too big; max value = 15");
                return GenNcmp(OffsetBase.Packet, newoffSls, B, 0xf0, jtype, reverse, jvalue << 4);

            default:
                throw new InvalidOperationException($"unexpected MTP3 field {mtp3field}");
        }
    }
}
