namespace KdtCapture.Capture.Internal.Sys;

/// <summary>
/// ARPHRD_* values from linux/if_arp.h: what /sys/class/net/IFACE/type holds.
/// Only the ones that decide a link type are named.
/// </summary>
internal static class ArpHardwareType
{
    public const int ETHER = 1;
    public const int EETHER = 2;
    public const int AX25 = 3;
    public const int PRONET = 4;
    public const int CHAOS = 5;
    public const int IEEE802 = 6;
    public const int ARCNET = 7;
    public const int DLCI = 15;
    /// <summary>Fibre Channel in the old numbering (before ARPHRD_FC*).</summary>
    public const int OldFibreChannel = 18;
    public const int ATM = 19;
    public const int METRICOM = 23;
    public const int SLIP = 256;
    public const int CSLIP = 257;
    public const int SLIP6 = 258;
    public const int CSLIP6 = 259;
    public const int ADAPT = 264;
    public const int CAN = 280;
    public const int PPP = 512;
    public const int CISCO = 513;
    public const int RAWHDLC = 518;
    public const int TUNNEL = 768;
    public const int FRAD = 770;
    public const int LOOPBACK = 772;
    public const int LOCALTLK = 773;
    public const int FDDI = 774;
    public const int SIT = 776;
    public const int IRDA = 783;
    public const int FCPP = 784;
    public const int FCAL = 785;
    public const int FCPL = 786;
    public const int FCFABRIC = 787;
    public const int IEEE802_TR = 800;
    public const int IEEE80211 = 801;
    public const int IEEE80211_PRISM = 802;
    public const int IEEE80211_RADIOTAP = 803;
    public const int IEEE802154 = 804;
    public const int NETLINK = 824;
    public const int VSOCKMON = 826;
    public const int LAPD = 8445;
    public const int NONE = 0xFFFE;
}
