namespace KdtCapture.Filters.CodeGen;

/// <summary>Address qualifiers: what kind of thing an identifier names.</summary>
internal static class QAddr
{
    public const int Default = 0;
    public const int Host = 1;
    public const int Net = 2;
    public const int Port = 3;
    public const int Gateway = 4;
    public const int Proto = 5;
    public const int Protochain = 6;
    public const int Portrange = 7;
    public const int Undef = 255;
}

/// <summary>Protocol qualifiers (pcap-filter's protocol names).</summary>
internal static class QProto
{
    public const int Default = 0;
    public const int Link = 1;
    public const int Ip = 2;
    public const int Arp = 3;
    public const int Rarp = 4;
    public const int Sctp = 5;
    public const int Tcp = 6;
    public const int Udp = 7;
    public const int Icmp = 8;
    public const int Igmp = 9;
    public const int Igrp = 10;
    public const int Atalk = 11;
    public const int Decnet = 12;
    public const int Lat = 13;
    public const int Sca = 14;
    public const int Moprc = 15;
    public const int Mopdl = 16;
    public const int Ipv6 = 17;
    public const int Icmpv6 = 18;
    public const int Ah = 19;
    public const int Esp = 20;
    public const int Pim = 21;
    public const int Vrrp = 22;
    public const int Aarp = 23;
    public const int Iso = 24;
    public const int Esis = 25;
    public const int Isis = 26;
    public const int Clnp = 27;
    public const int Stp = 28;
    public const int Ipx = 29;
    public const int Netbeui = 30;
    public const int IsisL1 = 31;
    public const int IsisL2 = 32;
    public const int IsisIih = 33;
    public const int IsisSnp = 34;
    public const int IsisCsnp = 35;
    public const int IsisPsnp = 36;
    public const int IsisLsp = 37;
    public const int Radio = 38;
    public const int Carp = 39;
    public const int Undef = 255;
}

/// <summary>Direction qualifiers.</summary>
internal static class QDir
{
    public const int Default = 0;
    public const int Src = 1;
    public const int Dst = 2;
    public const int Or = 3;
    public const int And = 4;
    public const int Addr1 = 5;
    public const int Addr2 = 6;
    public const int Addr3 = 7;
    public const int Addr4 = 8;
    public const int Ra = 9;
    public const int Ta = 10;
    public const int Undef = 255;
}

/// <summary>The qualifiers in force for an identifier ("src tcp port" → dir, proto, addr).</summary>
internal struct Qual
{
    public byte Addr;
    public byte Proto;
    public byte Dir;

    public Qual(int proto, int dir, int addr)
    {
        Proto = (byte)proto;
        Dir = (byte)dir;
        Addr = (byte)addr;
    }

    /// <summary>The "no qualifier may carry over" value the grammar uses after non-address terms.</summary>
    public static Qual Error => new(QProto.Undef, QDir.Undef, QAddr.Undef);
}

/// <summary>ATM keywords and fields (SunATM pseudo-header).</summary>
internal static class AtmKind
{
    public const int Metac = 22;
    public const int Bcc = 23;
    public const int Oamf4Sc = 24;
    public const int Oamf4Ec = 25;
    public const int Sc = 26;
    public const int Ilmic = 27;
    public const int Oam = 28;
    public const int Oamf4 = 29;
    public const int Lane = 30;
    public const int Llc = 31;
    public const int Setup = 41;
    public const int CallProceed = 42;
    public const int Connect = 43;
    public const int ConnectAck = 44;
    public const int Release = 45;
    public const int ReleaseDone = 46;
    public const int Vpi = 51;
    public const int Vci = 52;
    public const int ProtoType = 53;
    public const int MsgType = 54;
    public const int CallRefType = 55;
    public const int ConnectMsg = 70;
    public const int MetaConnect = 71;
}

/// <summary>SS7 MTP2 frame kinds and MTP3 fields.</summary>
internal static class Mtp
{
    public const int Fisu = 22;
    public const int Lssu = 23;
    public const int Msu = 24;
    public const int HFisu = 25;
    public const int HLssu = 26;
    public const int HMsu = 27;
    public const int Sio = 1;
    public const int Opc = 2;
    public const int Dpc = 3;
    public const int Sls = 4;
    public const int HSio = 5;
    public const int HOpc = 6;
    public const int HDpc = 7;
    public const int HSls = 8;
}
