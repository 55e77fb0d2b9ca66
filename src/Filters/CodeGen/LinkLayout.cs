namespace KdtCapture.Filters.CodeGen;

// Per-link-type packet layout: where the link header, the type field and the payload are.
internal sealed partial class CodeGenerator
{
    /// <summary>NetBSD's Cisco HDLC value, which libpcap also accepts on Linux.</summary>
    private const LinkType Hdlc = (LinkType)112;

    /// <summary>libpcap assigns link types in this range "matching" LINKTYPE_ values; only link[] works on unknown ones.</summary>
    private const int MatchingMin = 104;
    private const int MatchingMax = 289;

    // SunATM pseudo-header positions.
    private const uint SunAtmDirPos = 0;
    private const uint SunAtmVpiPos = 1;
    private const uint SunAtmVciPos = 2;
    private const uint SunAtmPktBeginPos = 4;
    private const uint ProtoPos = 0;

    private void InitLinkType(LinkType linkType)
    {
        _outermostlinktype = linkType;
        _offOutermostlinkhdr = new AbsOffset(0);
        _prevlinktype = linkType;
        _offPrevlinkhdr = new AbsOffset(0);
        _linktype = linkType;
        _offLinkhdr = new AbsOffset(0);
        _offLinkpl = new AbsOffset(0);
        _offLinktype = new AbsOffset(0);

        _isAtm = false;
        _offVpi = OffsetNotSet;
        _offVci = OffsetNotSet;
        _offProto = OffsetNotSet;
        _offPayload = OffsetNotSet;
        _isGeneve = false;
        _isVlanVloffset = false;
        _offLi = OffsetNotSet;
        _offLiHsl = OffsetNotSet;
        _offSio = OffsetNotSet;
        _offOpc = OffsetNotSet;
        _offDpc = OffsetNotSet;
        _offSls = OffsetNotSet;
        _labelStackDepth = 0;
        _vlanStackDepth = 0;

        switch (linkType)
        {
            case LinkType.ARCNET:
                SetLayout(2, 6, 0, 0);
                break;
            case LinkType.ARCNET_LINUX:
                SetLayout(4, 8, 0, 0);
                break;
            case LinkType.EN10MB:
                SetLayout(12, 14, 0, 3);
                break;
            case LinkType.SLIP:
                SetLayout(OffsetNotSet, 16, 0, 0);
                break;
            case LinkType.SLIP_BSDOS:
                SetLayout(OffsetNotSet, 24, 0, 0);
                break;
            case LinkType.NULL:
            case LinkType.LOOP:
                SetLayout(0, 4, 0, 0);
                break;
            case LinkType.ENC:
                SetLayout(0, 12, 0, 0);
                break;
            case LinkType.PPP:
            case LinkType.PPP_PPPD:
            case LinkType.C_HDLC:
            case Hdlc:
            case LinkType.PPP_SERIAL:
                SetLayout(2, 4, 0, 0);
                break;
            case LinkType.PPP_ETHER:
                SetLayout(6, 8, 0, 0);
                break;
            case LinkType.PPP_BSDOS:
                SetLayout(5, 24, 0, 0);
                break;
            case LinkType.FDDI:
                // No FDDI padding on Linux.
                SetLayout(13, 13, 8, 3);
                break;
            case LinkType.IEEE802:
                SetLayout(14, 14, 8, 3);
                break;
            case LinkType.PRISM_HEADER:
            case LinkType.IEEE802_11_RADIO_AVS:
            case LinkType.IEEE802_11_RADIO:
                _offLinkhdr.IsVariable = true;
                SetLayout(24, 0, 8, 3);
                _offLinkpl.IsVariable = true;
                break;
            case LinkType.IEEE802_11:
                SetLayout(24, 0, 8, 3);
                _offLinkpl.IsVariable = true;
                break;
            case LinkType.PPI:
                SetLayout(24, 0, 8, 3);
                _offLinkpl.IsVariable = true;
                _offLinkhdr.IsVariable = true;
                break;
            case LinkType.ATM_RFC1483:
            case LinkType.ATM_CLIP:
                SetLayout(0, 0, 8, 3);
                break;
            case LinkType.SUNATM:
                _isAtm = true;
                _offVpi = SunAtmVpiPos;
                _offVci = SunAtmVciPos;
                _offProto = ProtoPos;
                _offPayload = SunAtmPktBeginPos;
                SetLayout(_offPayload, _offPayload, 8, 3);
                break;
            case LinkType.RAW:
            case LinkType.IPV4:
            case LinkType.IPV6:
                SetLayout(OffsetNotSet, 0, 0, 0);
                break;
            case LinkType.LINUX_SLL:
                SetLayout(14, 16, 0, 0);
                break;
            case LinkType.LINUX_SLL2:
                SetLayout(0, 20, 0, 0);
                break;
            case LinkType.LTALK:
                SetLayout(OffsetNotSet, 0, 0, 0);
                break;
            case LinkType.IP_OVER_FC:
                SetLayout(16, 16, 8, 3);
                break;
            case LinkType.FRELAY:
                SetLayout(OffsetNotSet, 0, 0, 0);
                break;
            case LinkType.MFR:
                SetLayout(OffsetNotSet, 0, 4, 0);
                break;
            case LinkType.APPLE_IP_OVER_IEEE1394:
                SetLayout(16, 18, 0, 0);
                break;
            case LinkType.SYMANTEC_FIREWALL:
                SetLayout(6, 44, 0, 0);
                break;
            case LinkType.PFLOG:
                SetLayout(0, 0, 0, 0);
                _offLinkpl.IsVariable = true;
                break;
            case LinkType.JUNIPER_MFR:
            case LinkType.JUNIPER_MLFR:
            case LinkType.JUNIPER_MLPPP:
            case LinkType.JUNIPER_PPP:
            case LinkType.JUNIPER_CHDLC:
            case LinkType.JUNIPER_FRELAY:
                SetLayout(4, 4, 0, OffsetNotSet);
                break;
            case LinkType.JUNIPER_ATM1:
                SetLayout(4, 4, 0, 10);
                break;
            case LinkType.JUNIPER_ATM2:
                SetLayout(8, 8, 0, 10);
                break;
            case LinkType.JUNIPER_PPPOE:
            case LinkType.JUNIPER_ETHER:
                SetLayout(16, 14, 18, 21);
                break;
            case LinkType.JUNIPER_PPPOE_ATM:
                SetLayout(4, 6, 0, OffsetNotSet);
                break;
            case LinkType.JUNIPER_GGSN:
                SetLayout(6, 12, 0, OffsetNotSet);
                break;
            case LinkType.JUNIPER_ES:
                SetLayout(6, OffsetNotSet, OffsetNotSet, OffsetNotSet);
                break;
            case LinkType.JUNIPER_MONITOR:
                SetLayout(12, 12, 0, OffsetNotSet);
                break;
            case LinkType.BACNET_MS_TP:
                SetLayout(OffsetNotSet, OffsetNotSet, OffsetNotSet, OffsetNotSet);
                break;
            case LinkType.JUNIPER_SERVICES:
                SetLayout(12, OffsetNotSet, OffsetNotSet, OffsetNotSet);
                break;
            case LinkType.JUNIPER_VP:
            case LinkType.JUNIPER_ST:
                SetLayout(18, OffsetNotSet, OffsetNotSet, OffsetNotSet);
                break;
            case LinkType.JUNIPER_ISM:
            case LinkType.JUNIPER_VS:
            case LinkType.JUNIPER_SRX_E2E:
            case LinkType.JUNIPER_FIBRECHANNEL:
            case LinkType.JUNIPER_ATM_CEMIC:
                SetLayout(8, OffsetNotSet, OffsetNotSet, OffsetNotSet);
                break;
            case LinkType.MTP2:
                SetMtpLayout(2, 4, 3, 4, 4, 7);
                break;
            case LinkType.MTP2_WITH_PHDR:
                SetMtpLayout(6, 8, 7, 8, 8, 11);
                break;
            case LinkType.ERF:
                SetMtpLayout(22, 24, 23, 24, 24, 27);
                break;
            case LinkType.PFSYNC:
                SetLayout(OffsetNotSet, 4, 0, 0);
                break;
            case LinkType.AX25_KISS:
                SetLayout(OffsetNotSet, OffsetNotSet, OffsetNotSet, OffsetNotSet);
                break;
            case LinkType.IPNET:
                SetLayout(1, 24, 0, OffsetNotSet);
                break;
            case LinkType.NETANALYZER:
                _offLinkhdr.ConstantPart = 4;
                SetLayout(4 + 12, 4 + 14, 0, 3);
                break;
            case LinkType.NETANALYZER_TRANSPARENT:
                _offLinkhdr.ConstantPart = 12;
                SetLayout(12 + 12, 12 + 14, 0, 3);
                break;
            default:
                if ((int)linkType >= MatchingMin && (int)linkType <= MatchingMax)
                    SetLayout(OffsetNotSet, OffsetNotSet, OffsetNotSet, OffsetNotSet);
                else
                    throw Error($"unknown data link type {(int)linkType} (min {MatchingMin}, max {MatchingMax})");
                break;
        }

        _offOutermostlinkhdr = _offPrevlinkhdr = _offLinkhdr;
    }

    private void SetLayout(uint offLinktype, uint offLinkpl, uint offNl, uint offNlNosnap)
    {
        _offLinktype.ConstantPart = offLinktype;
        _offLinkpl.ConstantPart = offLinkpl;
        _offNl = offNl;
        _offNlNosnap = offNlNosnap;
    }

    private void SetMtpLayout(uint li, uint liHsl, uint sio, uint opc, uint dpc, uint sls)
    {
        _offLi = li;
        _offLiHsl = liHsl;
        _offSio = sio;
        _offOpc = opc;
        _offDpc = dpc;
        _offSls = sls;
        SetLayout(OffsetNotSet, OffsetNotSet, OffsetNotSet, OffsetNotSet);
    }
}
