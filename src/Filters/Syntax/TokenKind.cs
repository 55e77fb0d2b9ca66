namespace KdtCapture.Filters.Syntax;

/// <summary>The terminal symbols of the pcap-filter grammar.</summary>
internal enum TokenKind : short
{
    End = 0,
    LexError,
    // Keywords.
    Dst, Src, Host, Gateway, Net, Netmask, Port, Portrange, Less, Greater, Proto, Protochain, Cbyte,
    Arp, Rarp, Ip, Sctp, Tcp, Udp, Icmp, Igmp, Igrp, Pim, Vrrp, Carp,
    Atalk, Aarp, Decnet, Lat, Sca, Moprc, Mopdl,
    Broadcast, Multicast, Num, Inbound, Outbound, Ifindex,
    PfIfname, PfRset, PfRnr, PfSrnr, PfReason, PfAction,
    Type, Subtype, Dir, Addr1, Addr2, Addr3, Addr4, Ra, Ta,
    Link, Geq, Leq, Neq, Id, Eid, Hid, Hid6, Aid, Lsh, Rsh, Len,
    Ipv6, Icmpv6, Ah, Esp, Vlan, Mpls, Pppoed, Pppoes, Geneve,
    Iso, Esis, Clnp, Isis, L1, L2, Iih, Lsp, Snp, Csnp, Psnp, Stp, Ipx, Netbeui,
    Lane, Llc, Metac, Bcc, Sc, Ilmic, Oamf4Ec, Oamf4Sc, Oam, Oamf4, ConnectMsg, MetaConnect,
    Vpi, Vci, Radio, Fisu, Lssu, Msu, HFisu, HLssu, HMsu, Sio, Opc, Dpc, Sls, HSio, HOpc, HDpc, HSls,
    And, Or,
    // Single characters.
    Bang, Pipe, Amp, Plus, Minus, Star, Slash, Percent, Caret, Colon, LBracket, RBracket, Lt, Gt, LParen, RParen, Eq,
    Count,
}
