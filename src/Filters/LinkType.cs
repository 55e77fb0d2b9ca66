// Generated from libpcap's dlt_choices table (names, values on Linux, descriptions).
namespace KdtCapture.Filters;

/// <summary>Data link types (DLT_* values on Linux), named as libpcap and tcpdump's <c>-y</c> name them.</summary>
#pragma warning disable CA1707 // the DLT names are the domain's own words
public enum LinkType
{
    /// <summary>BSD loopback</summary>
    NULL = 0,
    /// <summary>Ethernet</summary>
    EN10MB = 1,
    /// <summary>Token ring</summary>
    IEEE802 = 6,
    /// <summary>BSD ARCNET</summary>
    ARCNET = 7,
    /// <summary>SLIP</summary>
    SLIP = 8,
    /// <summary>PPP</summary>
    PPP = 9,
    /// <summary>FDDI</summary>
    FDDI = 10,
    /// <summary>RFC 1483 LLC-encapsulated ATM</summary>
    ATM_RFC1483 = 11,
    /// <summary>Raw IP</summary>
    RAW = 12,
    /// <summary>BSD/OS SLIP</summary>
    SLIP_BSDOS = 15,
    /// <summary>BSD/OS PPP</summary>
    PPP_BSDOS = 16,
    /// <summary>Linux Classical IP over ATM</summary>
    ATM_CLIP = 19,
    /// <summary>PPP over serial</summary>
    PPP_SERIAL = 50,
    /// <summary>PPPoE</summary>
    PPP_ETHER = 51,
    /// <summary>Symantec Firewall</summary>
    SYMANTEC_FIREWALL = 99,
    /// <summary>Cisco HDLC</summary>
    C_HDLC = 104,
    /// <summary>802.11</summary>
    IEEE802_11 = 105,
    /// <summary>Frame Relay</summary>
    FRELAY = 107,
    /// <summary>OpenBSD loopback</summary>
    LOOP = 108,
    /// <summary>OpenBSD encapsulated IP</summary>
    ENC = 109,
    /// <summary>Linux cooked v1</summary>
    LINUX_SLL = 113,
    /// <summary>Localtalk</summary>
    LTALK = 114,
    /// <summary>OpenBSD pflog file</summary>
    PFLOG = 117,
    /// <summary>Packet filter state syncing</summary>
    PFSYNC = 246,
    /// <summary>802.11 plus Prism header</summary>
    PRISM_HEADER = 119,
    /// <summary>RFC 2625 IP-over-Fibre Channel</summary>
    IP_OVER_FC = 122,
    /// <summary>Sun raw ATM</summary>
    SUNATM = 123,
    /// <summary>802.11 plus radiotap header</summary>
    IEEE802_11_RADIO = 127,
    /// <summary>Linux ARCNET</summary>
    ARCNET_LINUX = 129,
    /// <summary>Juniper Multi-Link PPP</summary>
    JUNIPER_MLPPP = 130,
    /// <summary>Juniper Multi-Link Frame Relay</summary>
    JUNIPER_MLFR = 131,
    /// <summary>Juniper Encryption Services PIC</summary>
    JUNIPER_ES = 132,
    /// <summary>Juniper GGSN PIC</summary>
    JUNIPER_GGSN = 133,
    /// <summary>Juniper FRF.16 Frame Relay</summary>
    JUNIPER_MFR = 134,
    /// <summary>Juniper ATM2 PIC</summary>
    JUNIPER_ATM2 = 135,
    /// <summary>Juniper Advanced Services PIC</summary>
    JUNIPER_SERVICES = 136,
    /// <summary>Juniper ATM1 PIC</summary>
    JUNIPER_ATM1 = 137,
    /// <summary>Apple IP-over-IEEE 1394</summary>
    APPLE_IP_OVER_IEEE1394 = 138,
    /// <summary>SS7 MTP2 with Pseudo-header</summary>
    MTP2_WITH_PHDR = 139,
    /// <summary>SS7 MTP2</summary>
    MTP2 = 140,
    /// <summary>SS7 MTP3</summary>
    MTP3 = 141,
    /// <summary>SS7 SCCP</summary>
    SCCP = 142,
    /// <summary>DOCSIS</summary>
    DOCSIS = 143,
    /// <summary>Linux IrDA</summary>
    LINUX_IRDA = 144,
    /// <summary>802.11 plus AVS radio information header</summary>
    IEEE802_11_RADIO_AVS = 163,
    /// <summary>Juniper Passive Monitor PIC</summary>
    JUNIPER_MONITOR = 164,
    /// <summary>BACnet MS/TP</summary>
    BACNET_MS_TP = 165,
    /// <summary>PPP for pppd, with direction flag</summary>
    PPP_PPPD = 166,
    /// <summary>Juniper PPPoE</summary>
    JUNIPER_PPPOE = 167,
    /// <summary>Juniper PPPoE/ATM</summary>
    JUNIPER_PPPOE_ATM = 168,
    /// <summary>GPRS LLC</summary>
    GPRS_LLC = 169,
    /// <summary>GPF-T</summary>
    GPF_T = 170,
    /// <summary>GPF-F</summary>
    GPF_F = 171,
    /// <summary>Juniper PIC Peer</summary>
    JUNIPER_PIC_PEER = 174,
    /// <summary>Ethernet with Endace ERF header</summary>
    ERF_ETH = 175,
    /// <summary>Packet-over-SONET with Endace ERF header</summary>
    ERF_POS = 176,
    /// <summary>Linux vISDN LAPD</summary>
    LINUX_LAPD = 177,
    /// <summary>Juniper Ethernet</summary>
    JUNIPER_ETHER = 178,
    /// <summary>Juniper PPP</summary>
    JUNIPER_PPP = 179,
    /// <summary>Juniper Frame Relay</summary>
    JUNIPER_FRELAY = 180,
    /// <summary>Juniper C-HDLC</summary>
    JUNIPER_CHDLC = 181,
    /// <summary>FRF.16 Frame Relay</summary>
    MFR = 182,
    /// <summary>Juniper Voice PIC</summary>
    JUNIPER_VP = 183,
    /// <summary>Arinc 429</summary>
    A429 = 184,
    /// <summary>Arinc 653 Interpartition Communication</summary>
    A653_ICM = 185,
    /// <summary>USB with FreeBSD header</summary>
    USB_FREEBSD = 186,
    /// <summary>Bluetooth HCI UART transport layer</summary>
    BLUETOOTH_HCI_H4 = 187,
    /// <summary>IEEE 802.16 MAC Common Part Sublayer</summary>
    IEEE802_16_MAC_CPS = 188,
    /// <summary>USB with Linux header</summary>
    USB_LINUX = 189,
    /// <summary>Controller Area Network (CAN) v. 2.0B</summary>
    CAN20B = 190,
    /// <summary>IEEE 802.15.4 with Linux padding</summary>
    IEEE802_15_4_LINUX = 191,
    /// <summary>Per-Packet Information</summary>
    PPI = 192,
    /// <summary>IEEE 802.16 MAC Common Part Sublayer plus radiotap header</summary>
    IEEE802_16_MAC_CPS_RADIO = 193,
    /// <summary>Juniper Integrated Service Module</summary>
    JUNIPER_ISM = 194,
    /// <summary>IEEE 802.15.4 with FCS</summary>
    IEEE802_15_4 = 195,
    /// <summary>SITA pseudo-header</summary>
    SITA = 196,
    /// <summary>Endace ERF header</summary>
    ERF = 197,
    /// <summary>Ethernet with u10 Networks pseudo-header</summary>
    RAIF1 = 198,
    /// <summary>IPMB with Kontron pseudo-header</summary>
    IPMB_KONTRON = 199,
    /// <summary>Juniper Secure Tunnel</summary>
    JUNIPER_ST = 200,
    /// <summary>Bluetooth HCI UART transport layer plus pseudo-header</summary>
    BLUETOOTH_HCI_H4_WITH_PHDR = 201,
    /// <summary>AX.25 with KISS header</summary>
    AX25_KISS = 202,
    /// <summary>IPMB with Linux/Pigeon Point pseudo-header</summary>
    IPMB_LINUX = 209,
    /// <summary>IEEE 802.15.4 with non-ASK PHY data</summary>
    IEEE802_15_4_NONASK_PHY = 215,
    /// <summary>MPLS with label as link-layer header</summary>
    MPLS = 219,
    /// <summary>Linux evdev events</summary>
    LINUX_EVDEV = 216,
    /// <summary>USB with padded Linux header</summary>
    USB_LINUX_MMAPPED = 220,
    /// <summary>DECT</summary>
    DECT = 221,
    /// <summary>AOS Space Data Link protocol</summary>
    AOS = 222,
    /// <summary>Wireless HART</summary>
    WIHART = 223,
    /// <summary>Fibre Channel FC-2</summary>
    FC_2 = 224,
    /// <summary>Fibre Channel FC-2 with frame delimiters</summary>
    FC_2_WITH_FRAME_DELIMS = 225,
    /// <summary>Solaris ipnet</summary>
    IPNET = 226,
    /// <summary>CAN-bus with SocketCAN headers</summary>
    CAN_SOCKETCAN = 227,
    /// <summary>Raw IPv4</summary>
    IPV4 = 228,
    /// <summary>Raw IPv6</summary>
    IPV6 = 229,
    /// <summary>IEEE 802.15.4 without FCS</summary>
    IEEE802_15_4_NOFCS = 230,
    /// <summary>D-Bus</summary>
    DBUS = 231,
    /// <summary>Juniper Virtual Server</summary>
    JUNIPER_VS = 232,
    /// <summary>Juniper SRX E2E</summary>
    JUNIPER_SRX_E2E = 233,
    /// <summary>Juniper Fibre Channel</summary>
    JUNIPER_FIBRECHANNEL = 234,
    /// <summary>DVB-CI</summary>
    DVB_CI = 235,
    /// <summary>MUX27010</summary>
    MUX27010 = 236,
    /// <summary>STANAG 5066 D_PDUs</summary>
    STANAG_5066_D_PDU = 237,
    /// <summary>Juniper ATM CEMIC</summary>
    JUNIPER_ATM_CEMIC = 238,
    /// <summary>Linux netfilter log messages</summary>
    NFLOG = 239,
    /// <summary>Ethernet with Hilscher netANALYZER pseudo-header</summary>
    NETANALYZER = 240,
    /// <summary>Ethernet with Hilscher netANALYZER pseudo-header and with preamble and SFD</summary>
    NETANALYZER_TRANSPARENT = 241,
    /// <summary>RFC 4391 IP-over-Infiniband</summary>
    IPOIB = 242,
    /// <summary>MPEG-2 transport stream</summary>
    MPEG_2_TS = 243,
    /// <summary>ng40 protocol tester Iub/Iur</summary>
    NG40 = 244,
    /// <summary>NFC LLCP PDUs with pseudo-header</summary>
    NFC_LLCP = 245,
    /// <summary>InfiniBand</summary>
    INFINIBAND = 247,
    /// <summary>SCTP</summary>
    SCTP = 248,
    /// <summary>USB with USBPcap header</summary>
    USBPCAP = 249,
    /// <summary>Schweitzer Engineering Laboratories RTAC packets</summary>
    RTAC_SERIAL = 250,
    /// <summary>Bluetooth Low Energy air interface</summary>
    BLUETOOTH_LE_LL = 251,
    /// <summary>Linux netlink</summary>
    NETLINK = 253,
    /// <summary>Bluetooth Linux Monitor</summary>
    BLUETOOTH_LINUX_MONITOR = 254,
    /// <summary>Bluetooth Basic Rate/Enhanced Data Rate baseband packets</summary>
    BLUETOOTH_BREDR_BB = 255,
    /// <summary>Bluetooth Low Energy air interface with pseudo-header</summary>
    BLUETOOTH_LE_LL_WITH_PHDR = 256,
    /// <summary>PROFIBUS data link layer</summary>
    PROFIBUS_DL = 257,
    /// <summary>Apple DLT_PKTAP</summary>
    PKTAP = 258,
    /// <summary>Ethernet with 802.3 Clause 65 EPON preamble</summary>
    EPON = 259,
    /// <summary>IPMI trace packets</summary>
    IPMI_HPM_2 = 260,
    /// <summary>Z-Wave RF profile R1 and R2 packets</summary>
    ZWAVE_R1_R2 = 261,
    /// <summary>Z-Wave RF profile R3 packets</summary>
    ZWAVE_R3 = 262,
    /// <summary>WattStopper Digital Lighting Management (DLM) and Legrand Nitoo Open protocol</summary>
    WATTSTOPPER_DLM = 263,
    /// <summary>ISO 14443 messages</summary>
    ISO_14443 = 264,
    /// <summary>IEC 62106 Radio Data System groups</summary>
    RDS = 265,
    /// <summary>USB with Darwin header</summary>
    USB_DARWIN = 266,
    /// <summary>OpenBSD DLT_OPENFLOW</summary>
    OPENFLOW = 267,
    /// <summary>IBM SDLC frames</summary>
    SDLC = 268,
    /// <summary>TI LLN sniffer frames</summary>
    TI_LLN_SNIFFER = 269,
    /// <summary>Linux vsock</summary>
    VSOCK = 271,
    /// <summary>Nordic Semiconductor Bluetooth LE sniffer frames</summary>
    NORDIC_BLE = 272,
    /// <summary>Excentis XRA-31 DOCSIS 3.1 RF sniffer frames</summary>
    DOCSIS31_XRA31 = 273,
    /// <summary>802.3br mPackets</summary>
    ETHERNET_MPACKET = 274,
    /// <summary>DisplayPort AUX channel monitoring data</summary>
    DISPLAYPORT_AUX = 275,
    /// <summary>Linux cooked v2</summary>
    LINUX_SLL2 = 276,
    /// <summary>OpenVizsla USB</summary>
    OPENVIZSLA = 278,
    /// <summary>Elektrobit High Speed Capture and Replay (EBHSCR)</summary>
    EBHSCR = 279,
    /// <summary>VPP graph dispatch tracer</summary>
    VPP_DISPATCH = 280,
    /// <summary>Broadcom tag</summary>
    DSA_TAG_BRCM = 281,
    /// <summary>Broadcom tag (prepended)</summary>
    DSA_TAG_BRCM_PREPEND = 282,
    /// <summary>IEEE 802.15.4 with pseudo-header</summary>
    IEEE802_15_4_TAP = 283,
    /// <summary>Marvell DSA</summary>
    DSA_TAG_DSA = 284,
    /// <summary>Marvell EDSA</summary>
    DSA_TAG_EDSA = 285,
    /// <summary>ELEE lawful intercept packets</summary>
    ELEE = 286,
    /// <summary>Z-Wave serial frames between host and chip</summary>
    Z_WAVE_SERIAL = 287,
    /// <summary>USB 2.0/1.1/1.0 as transmitted over the cable</summary>
    USB_2_0 = 288,
    /// <summary>ATSC Link-Layer Protocol packets</summary>
    ATSC_ALP = 289,
}
#pragma warning restore CA1707

/// <summary>Names and descriptions of link types, as <c>pcap_datalink_name_to_val</c> and friends give them.</summary>
public static class LinkTypes
{
    private static readonly (string Name, LinkType Value, string Description)[] Table =
    [
        ("NULL", LinkType.NULL, "BSD loopback"),
        ("EN10MB", LinkType.EN10MB, "Ethernet"),
        ("IEEE802", LinkType.IEEE802, "Token ring"),
        ("ARCNET", LinkType.ARCNET, "BSD ARCNET"),
        ("SLIP", LinkType.SLIP, "SLIP"),
        ("PPP", LinkType.PPP, "PPP"),
        ("FDDI", LinkType.FDDI, "FDDI"),
        ("ATM_RFC1483", LinkType.ATM_RFC1483, "RFC 1483 LLC-encapsulated ATM"),
        ("RAW", LinkType.RAW, "Raw IP"),
        ("SLIP_BSDOS", LinkType.SLIP_BSDOS, "BSD/OS SLIP"),
        ("PPP_BSDOS", LinkType.PPP_BSDOS, "BSD/OS PPP"),
        ("ATM_CLIP", LinkType.ATM_CLIP, "Linux Classical IP over ATM"),
        ("PPP_SERIAL", LinkType.PPP_SERIAL, "PPP over serial"),
        ("PPP_ETHER", LinkType.PPP_ETHER, "PPPoE"),
        ("SYMANTEC_FIREWALL", LinkType.SYMANTEC_FIREWALL, "Symantec Firewall"),
        ("C_HDLC", LinkType.C_HDLC, "Cisco HDLC"),
        ("IEEE802_11", LinkType.IEEE802_11, "802.11"),
        ("FRELAY", LinkType.FRELAY, "Frame Relay"),
        ("LOOP", LinkType.LOOP, "OpenBSD loopback"),
        ("ENC", LinkType.ENC, "OpenBSD encapsulated IP"),
        ("LINUX_SLL", LinkType.LINUX_SLL, "Linux cooked v1"),
        ("LTALK", LinkType.LTALK, "Localtalk"),
        ("PFLOG", LinkType.PFLOG, "OpenBSD pflog file"),
        ("PFSYNC", LinkType.PFSYNC, "Packet filter state syncing"),
        ("PRISM_HEADER", LinkType.PRISM_HEADER, "802.11 plus Prism header"),
        ("IP_OVER_FC", LinkType.IP_OVER_FC, "RFC 2625 IP-over-Fibre Channel"),
        ("SUNATM", LinkType.SUNATM, "Sun raw ATM"),
        ("IEEE802_11_RADIO", LinkType.IEEE802_11_RADIO, "802.11 plus radiotap header"),
        ("ARCNET_LINUX", LinkType.ARCNET_LINUX, "Linux ARCNET"),
        ("JUNIPER_MLPPP", LinkType.JUNIPER_MLPPP, "Juniper Multi-Link PPP"),
        ("JUNIPER_MLFR", LinkType.JUNIPER_MLFR, "Juniper Multi-Link Frame Relay"),
        ("JUNIPER_ES", LinkType.JUNIPER_ES, "Juniper Encryption Services PIC"),
        ("JUNIPER_GGSN", LinkType.JUNIPER_GGSN, "Juniper GGSN PIC"),
        ("JUNIPER_MFR", LinkType.JUNIPER_MFR, "Juniper FRF.16 Frame Relay"),
        ("JUNIPER_ATM2", LinkType.JUNIPER_ATM2, "Juniper ATM2 PIC"),
        ("JUNIPER_SERVICES", LinkType.JUNIPER_SERVICES, "Juniper Advanced Services PIC"),
        ("JUNIPER_ATM1", LinkType.JUNIPER_ATM1, "Juniper ATM1 PIC"),
        ("APPLE_IP_OVER_IEEE1394", LinkType.APPLE_IP_OVER_IEEE1394, "Apple IP-over-IEEE 1394"),
        ("MTP2_WITH_PHDR", LinkType.MTP2_WITH_PHDR, "SS7 MTP2 with Pseudo-header"),
        ("MTP2", LinkType.MTP2, "SS7 MTP2"),
        ("MTP3", LinkType.MTP3, "SS7 MTP3"),
        ("SCCP", LinkType.SCCP, "SS7 SCCP"),
        ("DOCSIS", LinkType.DOCSIS, "DOCSIS"),
        ("LINUX_IRDA", LinkType.LINUX_IRDA, "Linux IrDA"),
        ("IEEE802_11_RADIO_AVS", LinkType.IEEE802_11_RADIO_AVS, "802.11 plus AVS radio information header"),
        ("JUNIPER_MONITOR", LinkType.JUNIPER_MONITOR, "Juniper Passive Monitor PIC"),
        ("BACNET_MS_TP", LinkType.BACNET_MS_TP, "BACnet MS/TP"),
        ("PPP_PPPD", LinkType.PPP_PPPD, "PPP for pppd, with direction flag"),
        ("JUNIPER_PPPOE", LinkType.JUNIPER_PPPOE, "Juniper PPPoE"),
        ("JUNIPER_PPPOE_ATM", LinkType.JUNIPER_PPPOE_ATM, "Juniper PPPoE/ATM"),
        ("GPRS_LLC", LinkType.GPRS_LLC, "GPRS LLC"),
        ("GPF_T", LinkType.GPF_T, "GPF-T"),
        ("GPF_F", LinkType.GPF_F, "GPF-F"),
        ("JUNIPER_PIC_PEER", LinkType.JUNIPER_PIC_PEER, "Juniper PIC Peer"),
        ("ERF_ETH", LinkType.ERF_ETH, "Ethernet with Endace ERF header"),
        ("ERF_POS", LinkType.ERF_POS, "Packet-over-SONET with Endace ERF header"),
        ("LINUX_LAPD", LinkType.LINUX_LAPD, "Linux vISDN LAPD"),
        ("JUNIPER_ETHER", LinkType.JUNIPER_ETHER, "Juniper Ethernet"),
        ("JUNIPER_PPP", LinkType.JUNIPER_PPP, "Juniper PPP"),
        ("JUNIPER_FRELAY", LinkType.JUNIPER_FRELAY, "Juniper Frame Relay"),
        ("JUNIPER_CHDLC", LinkType.JUNIPER_CHDLC, "Juniper C-HDLC"),
        ("MFR", LinkType.MFR, "FRF.16 Frame Relay"),
        ("JUNIPER_VP", LinkType.JUNIPER_VP, "Juniper Voice PIC"),
        ("A429", LinkType.A429, "Arinc 429"),
        ("A653_ICM", LinkType.A653_ICM, "Arinc 653 Interpartition Communication"),
        ("USB_FREEBSD", LinkType.USB_FREEBSD, "USB with FreeBSD header"),
        ("BLUETOOTH_HCI_H4", LinkType.BLUETOOTH_HCI_H4, "Bluetooth HCI UART transport layer"),
        ("IEEE802_16_MAC_CPS", LinkType.IEEE802_16_MAC_CPS, "IEEE 802.16 MAC Common Part Sublayer"),
        ("USB_LINUX", LinkType.USB_LINUX, "USB with Linux header"),
        ("CAN20B", LinkType.CAN20B, "Controller Area Network (CAN) v. 2.0B"),
        ("IEEE802_15_4_LINUX", LinkType.IEEE802_15_4_LINUX, "IEEE 802.15.4 with Linux padding"),
        ("PPI", LinkType.PPI, "Per-Packet Information"),
        ("IEEE802_16_MAC_CPS_RADIO", LinkType.IEEE802_16_MAC_CPS_RADIO, "IEEE 802.16 MAC Common Part Sublayer plus radiotap header"),
        ("JUNIPER_ISM", LinkType.JUNIPER_ISM, "Juniper Integrated Service Module"),
        ("IEEE802_15_4", LinkType.IEEE802_15_4, "IEEE 802.15.4 with FCS"),
        ("SITA", LinkType.SITA, "SITA pseudo-header"),
        ("ERF", LinkType.ERF, "Endace ERF header"),
        ("RAIF1", LinkType.RAIF1, "Ethernet with u10 Networks pseudo-header"),
        ("IPMB_KONTRON", LinkType.IPMB_KONTRON, "IPMB with Kontron pseudo-header"),
        ("JUNIPER_ST", LinkType.JUNIPER_ST, "Juniper Secure Tunnel"),
        ("BLUETOOTH_HCI_H4_WITH_PHDR", LinkType.BLUETOOTH_HCI_H4_WITH_PHDR, "Bluetooth HCI UART transport layer plus pseudo-header"),
        ("AX25_KISS", LinkType.AX25_KISS, "AX.25 with KISS header"),
        ("IPMB_LINUX", LinkType.IPMB_LINUX, "IPMB with Linux/Pigeon Point pseudo-header"),
        ("IEEE802_15_4_NONASK_PHY", LinkType.IEEE802_15_4_NONASK_PHY, "IEEE 802.15.4 with non-ASK PHY data"),
        ("MPLS", LinkType.MPLS, "MPLS with label as link-layer header"),
        ("LINUX_EVDEV", LinkType.LINUX_EVDEV, "Linux evdev events"),
        ("USB_LINUX_MMAPPED", LinkType.USB_LINUX_MMAPPED, "USB with padded Linux header"),
        ("DECT", LinkType.DECT, "DECT"),
        ("AOS", LinkType.AOS, "AOS Space Data Link protocol"),
        ("WIHART", LinkType.WIHART, "Wireless HART"),
        ("FC_2", LinkType.FC_2, "Fibre Channel FC-2"),
        ("FC_2_WITH_FRAME_DELIMS", LinkType.FC_2_WITH_FRAME_DELIMS, "Fibre Channel FC-2 with frame delimiters"),
        ("IPNET", LinkType.IPNET, "Solaris ipnet"),
        ("CAN_SOCKETCAN", LinkType.CAN_SOCKETCAN, "CAN-bus with SocketCAN headers"),
        ("IPV4", LinkType.IPV4, "Raw IPv4"),
        ("IPV6", LinkType.IPV6, "Raw IPv6"),
        ("IEEE802_15_4_NOFCS", LinkType.IEEE802_15_4_NOFCS, "IEEE 802.15.4 without FCS"),
        ("DBUS", LinkType.DBUS, "D-Bus"),
        ("JUNIPER_VS", LinkType.JUNIPER_VS, "Juniper Virtual Server"),
        ("JUNIPER_SRX_E2E", LinkType.JUNIPER_SRX_E2E, "Juniper SRX E2E"),
        ("JUNIPER_FIBRECHANNEL", LinkType.JUNIPER_FIBRECHANNEL, "Juniper Fibre Channel"),
        ("DVB_CI", LinkType.DVB_CI, "DVB-CI"),
        ("MUX27010", LinkType.MUX27010, "MUX27010"),
        ("STANAG_5066_D_PDU", LinkType.STANAG_5066_D_PDU, "STANAG 5066 D_PDUs"),
        ("JUNIPER_ATM_CEMIC", LinkType.JUNIPER_ATM_CEMIC, "Juniper ATM CEMIC"),
        ("NFLOG", LinkType.NFLOG, "Linux netfilter log messages"),
        ("NETANALYZER", LinkType.NETANALYZER, "Ethernet with Hilscher netANALYZER pseudo-header"),
        ("NETANALYZER_TRANSPARENT", LinkType.NETANALYZER_TRANSPARENT, "Ethernet with Hilscher netANALYZER pseudo-header and with preamble and SFD"),
        ("IPOIB", LinkType.IPOIB, "RFC 4391 IP-over-Infiniband"),
        ("MPEG_2_TS", LinkType.MPEG_2_TS, "MPEG-2 transport stream"),
        ("NG40", LinkType.NG40, "ng40 protocol tester Iub/Iur"),
        ("NFC_LLCP", LinkType.NFC_LLCP, "NFC LLCP PDUs with pseudo-header"),
        ("INFINIBAND", LinkType.INFINIBAND, "InfiniBand"),
        ("SCTP", LinkType.SCTP, "SCTP"),
        ("USBPCAP", LinkType.USBPCAP, "USB with USBPcap header"),
        ("RTAC_SERIAL", LinkType.RTAC_SERIAL, "Schweitzer Engineering Laboratories RTAC packets"),
        ("BLUETOOTH_LE_LL", LinkType.BLUETOOTH_LE_LL, "Bluetooth Low Energy air interface"),
        ("NETLINK", LinkType.NETLINK, "Linux netlink"),
        ("BLUETOOTH_LINUX_MONITOR", LinkType.BLUETOOTH_LINUX_MONITOR, "Bluetooth Linux Monitor"),
        ("BLUETOOTH_BREDR_BB", LinkType.BLUETOOTH_BREDR_BB, "Bluetooth Basic Rate/Enhanced Data Rate baseband packets"),
        ("BLUETOOTH_LE_LL_WITH_PHDR", LinkType.BLUETOOTH_LE_LL_WITH_PHDR, "Bluetooth Low Energy air interface with pseudo-header"),
        ("PROFIBUS_DL", LinkType.PROFIBUS_DL, "PROFIBUS data link layer"),
        ("PKTAP", LinkType.PKTAP, "Apple DLT_PKTAP"),
        ("EPON", LinkType.EPON, "Ethernet with 802.3 Clause 65 EPON preamble"),
        ("IPMI_HPM_2", LinkType.IPMI_HPM_2, "IPMI trace packets"),
        ("ZWAVE_R1_R2", LinkType.ZWAVE_R1_R2, "Z-Wave RF profile R1 and R2 packets"),
        ("ZWAVE_R3", LinkType.ZWAVE_R3, "Z-Wave RF profile R3 packets"),
        ("WATTSTOPPER_DLM", LinkType.WATTSTOPPER_DLM, "WattStopper Digital Lighting Management (DLM) and Legrand Nitoo Open protocol"),
        ("ISO_14443", LinkType.ISO_14443, "ISO 14443 messages"),
        ("RDS", LinkType.RDS, "IEC 62106 Radio Data System groups"),
        ("USB_DARWIN", LinkType.USB_DARWIN, "USB with Darwin header"),
        ("OPENFLOW", LinkType.OPENFLOW, "OpenBSD DLT_OPENFLOW"),
        ("SDLC", LinkType.SDLC, "IBM SDLC frames"),
        ("TI_LLN_SNIFFER", LinkType.TI_LLN_SNIFFER, "TI LLN sniffer frames"),
        ("VSOCK", LinkType.VSOCK, "Linux vsock"),
        ("NORDIC_BLE", LinkType.NORDIC_BLE, "Nordic Semiconductor Bluetooth LE sniffer frames"),
        ("DOCSIS31_XRA31", LinkType.DOCSIS31_XRA31, "Excentis XRA-31 DOCSIS 3.1 RF sniffer frames"),
        ("ETHERNET_MPACKET", LinkType.ETHERNET_MPACKET, "802.3br mPackets"),
        ("DISPLAYPORT_AUX", LinkType.DISPLAYPORT_AUX, "DisplayPort AUX channel monitoring data"),
        ("LINUX_SLL2", LinkType.LINUX_SLL2, "Linux cooked v2"),
        ("OPENVIZSLA", LinkType.OPENVIZSLA, "OpenVizsla USB"),
        ("EBHSCR", LinkType.EBHSCR, "Elektrobit High Speed Capture and Replay (EBHSCR)"),
        ("VPP_DISPATCH", LinkType.VPP_DISPATCH, "VPP graph dispatch tracer"),
        ("DSA_TAG_BRCM", LinkType.DSA_TAG_BRCM, "Broadcom tag"),
        ("DSA_TAG_BRCM_PREPEND", LinkType.DSA_TAG_BRCM_PREPEND, "Broadcom tag (prepended)"),
        ("IEEE802_15_4_TAP", LinkType.IEEE802_15_4_TAP, "IEEE 802.15.4 with pseudo-header"),
        ("DSA_TAG_DSA", LinkType.DSA_TAG_DSA, "Marvell DSA"),
        ("DSA_TAG_EDSA", LinkType.DSA_TAG_EDSA, "Marvell EDSA"),
        ("ELEE", LinkType.ELEE, "ELEE lawful intercept packets"),
        ("Z_WAVE_SERIAL", LinkType.Z_WAVE_SERIAL, "Z-Wave serial frames between host and chip"),
        ("USB_2_0", LinkType.USB_2_0, "USB 2.0/1.1/1.0 as transmitted over the cable"),
        ("ATSC_ALP", LinkType.ATSC_ALP, "ATSC Link-Layer Protocol packets"),
    ];

    /// <summary>Looks a link type up by its name, case-insensitively, as tcpdump's <c>-y</c> does.</summary>
    public static bool TryParse(string name, out LinkType linkType)
    {
        foreach (var row in Table)
        {
            if (string.Equals(row.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                linkType = row.Value;
                return true;
            }
        }
        linkType = default;
        return false;
    }

    /// <summary>The libpcap name of a link type (e.g. "EN10MB"), or null when it has none.</summary>
    public static string? GetName(LinkType linkType)
    {
        foreach (var row in Table)
        {
            if (row.Value == linkType)
                return row.Name;
        }
        return null;
    }

    /// <summary>The libpcap description of a link type (e.g. "Ethernet"), or null when it has none.</summary>
    public static string? GetDescription(LinkType linkType)
    {
        foreach (var row in Table)
        {
            if (row.Value == linkType)
                return row.Description;
        }
        return null;
    }

    /// <summary>Every named link type, in libpcap's order.</summary>
    public static IEnumerable<(string Name, LinkType Value, string Description)> All => Table;
}
