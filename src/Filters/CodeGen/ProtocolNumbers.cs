namespace KdtCapture.Filters.CodeGen;

/// <summary>Ethernet types the code generator tests for.</summary>
internal static class EtherType
{
    public const uint Pup = 0x0200;
    public const uint Ip = 0x0800;
    public const uint Arp = 0x0806;
    public const uint Ns = 0x0600;
    public const uint Sprite = 0x0500;
    public const uint Trail = 0x1000;
    public const uint MopDl = 0x6001;
    public const uint MopRc = 0x6002;
    public const uint Dn = 0x6003;
    public const uint Lat = 0x6004;
    public const uint Sca = 0x6007;
    public const uint Teb = 0x6558;
    public const uint RevArp = 0x8035;
    public const uint LanBridge = 0x8038;
    public const uint DecDns = 0x803c;
    public const uint DecDts = 0x803e;
    public const uint VExp = 0x805b;
    public const uint VProd = 0x805c;
    public const uint Atalk = 0x809b;
    public const uint Aarp = 0x80f3;
    public const uint Vlan8021Q = 0x8100;
    public const uint Ipx = 0x8137;
    public const uint Ipv6 = 0x86dd;
    public const uint Mpls = 0x8847;
    public const uint MplsMulti = 0x8848;
    public const uint PppoeDiscovery = 0x8863;
    public const uint PppoeSession = 0x8864;
    public const uint Vlan8021AD = 0x88a8;
    public const uint Loopback = 0x9000;
    public const uint Vlan8021QinQ = 0x9100;

    /// <summary>Largest 802.3 length field; larger values are Ethernet types.</summary>
    public const uint EtherMtu = 1500;
}

/// <summary>802.2 LLC SAPs and control values.</summary>
internal static class LlcSap
{
    public const uint Null = 0x00;
    public const uint Global = 0xff;
    public const uint Ip = 0x06;
    public const uint Stp8021D = 0x42;
    public const uint Snap = 0xaa;
    public const uint Ipx = 0xe0;
    public const uint Netbeui = 0xf0;
    public const uint IsoNs = 0xfe;

    public const uint UFormat = 3;
    public const uint SFormat = 1;
    public const uint UCommandMask = 0xef;
    public const uint SCommandMask = 0x0f;
    public const uint Ui = 0x03;
    public const uint Ua = 0x63;
    public const uint Disc = 0x43;
    public const uint Dm = 0x0f;
    public const uint Sabme = 0x6f;
    public const uint Test = 0xe3;
    public const uint Xid = 0xaf;
    public const uint Frmr = 0x87;
    public const uint Rr = 0x0001;
    public const uint Rnr = 0x0005;
    public const uint Rej = 0x0009;
}

/// <summary>IP protocol numbers the code generator knows by heart.</summary>
internal static class IpProto
{
    public const uint HopOpts = 0;
    public const uint Icmp = 1;
    public const uint Igmp = 2;
    public const uint Tcp = 6;
    public const uint Igrp = 9;
    public const uint Udp = 17;
    public const uint Ipv6 = 41;
    public const uint Routing = 43;
    public const uint Fragment = 44;
    public const uint Esp = 50;
    public const uint Ah = 51;
    public const uint Icmpv6 = 58;
    public const uint None = 59;
    public const uint DstOpts = 60;
    public const uint Pim = 103;
    public const uint Vrrp = 112;
    public const uint Carp = 112;
    public const uint Sctp = 132;
}

/// <summary>OSI network-layer protocol identifiers and IS-IS PDU types.</summary>
internal static class IsoProto
{
    public const uint Nlpid8473Clnp = 0x81;
    public const uint Nlpid9542Esis = 0x82;
    public const uint Nlpid10589Isis = 0x83;
    public const uint Nlpid8473Inactive = 0x00;
    public const uint NlpidIp = 0xcc;
    public const uint NlpidIp6 = 0x8e;

    public const uint IsisL1Lan = 15;
    public const uint IsisL2Lan = 16;
    public const uint IsisPtp = 17;
    public const uint IsisL1Lsp = 18;
    public const uint IsisL2Lsp = 20;
    public const uint IsisL1Csnp = 24;
    public const uint IsisL2Csnp = 25;
    public const uint IsisL1Psnp = 26;
    public const uint IsisL2Psnp = 27;
}

/// <summary>Linux "cooked" capture protocol values that are not Ethernet types.</summary>
internal static class SllProto
{
    public const uint P8023 = 0x0001;
    public const uint P8022 = 0x0004;
}
