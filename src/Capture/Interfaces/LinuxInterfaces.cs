using System.Globalization;
using KdtCapture.Capture.Internal.Sys;
using KdtCapture.Filters;

namespace KdtCapture.Capture.Interfaces;

/// <summary>
/// Link-layer facts about Linux network interfaces, read from sysfs without opening a socket
/// (so no privileges are needed), giving the answers libpcap 1.10 gives once it has opened one.
/// </summary>
public static class LinuxInterfaces
{
    /// <summary>libpcap's pseudo-device that captures on every interface, in cooked mode.</summary>
    public const string AnyDevice = "any";

    private const string DefaultSysClassNet = "/sys/class/net";

    /// <summary>The link-layer types a capture on <paramref name="interfaceName"/> can deliver.</summary>
    /// <param name="interfaceName">An interface name such as "eth0", or "any".</param>
    /// <param name="sysClassNet">Where sysfs lists interfaces; tests point it at a fake tree.</param>
    /// <exception cref="CaptureDeviceException">No such interface, it is down, or its link layer is unusable.</exception>
    public static InterfaceLinkLayer DescribeLinkLayer(string interfaceName, string sysClassNet = DefaultSysClassNet)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(sysClassNet);

        if (interfaceName == AnyDevice)
            return new InterfaceLinkLayer(interfaceName, LinkType.LINUX_SLL, [LinkType.LINUX_SLL, LinkType.LINUX_SLL2]);

        // Interface names never contain '/', and "." or ".." would walk out of sysfs.
        if (interfaceName.Length == 0 || interfaceName.Contains('/') || interfaceName is "." or "..")
            throw NoSuchDevice(interfaceName);

        string directory = Path.Combine(sysClassNet, interfaceName);
        string? typeText = TryReadAttribute(directory, "type");
        if (typeText is null || !int.TryParse(typeText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int arpType))
            throw NoSuchDevice(interfaceName);

        // libpcap finds out that an interface is down when binding to it fails; sysfs says it up front.
        string? flagsText = TryReadAttribute(directory, "flags");
        if (flagsText is not null && TryParseHex(flagsText, out uint flags) && ((InterfaceFlags)flags & InterfaceFlags.UP) == 0)
            throw new CaptureDeviceException(interfaceName, CaptureDeviceError.NotUp, "That device is not up");

        bool isWireless = Directory.Exists(Path.Combine(directory, "wireless"));
        string? dsaTagging = TryReadAttribute(Path.Combine(directory, "dsa"), "tagging");
        return FromArpHardwareType(interfaceName, arpType, isWireless, dsaTagging);
    }

    /// <summary>
    /// The link layer libpcap on Linux gives an interface of ARPHRD type <paramref name="arpType"/>
    /// (pcap-linux.c's mapping, including its fall-back to cooked capture for types it cannot
    /// capture raw).
    /// </summary>
    /// <param name="isWireless">Whether /sys/class/net/IFACE/wireless exists.</param>
    /// <param name="dsaTagging">The content of /sys/class/net/IFACE/dsa/tagging, or null when absent.</param>
    public static InterfaceLinkLayer FromArpHardwareType(string interfaceName, int arpType, bool isWireless, string? dsaTagging)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);

        LinkType? linkType;
        LinkType[]? offered = null;
        switch (arpType)
        {
            case ArpHardwareType.ETHER:
                // Qualcomm's cdma_rmnet claims Ethernet but delivers bare IP.
                if (interfaceName.StartsWith("cdma_rmnet", StringComparison.Ordinal))
                {
                    linkType = LinkType.RAW;
                    break;
                }
                linkType = LinkType.EN10MB;
                if (!isWireless)
                {
                    LinkType? dsa = DsaLinkType(interfaceName, dsaTagging);
                    if (dsa is not null)
                    {
                        linkType = dsa;
                        break;
                    }
                    // DOCSIS frames arrive on Ethernet interfaces of cable-modem test gear.
                    offered = [LinkType.EN10MB, LinkType.DOCSIS];
                }
                break;
            case ArpHardwareType.METRICOM:
            case ArpHardwareType.LOOPBACK:
                linkType = LinkType.EN10MB;
                break;
            case ArpHardwareType.EETHER:
                linkType = (LinkType)2; // DLT_EN3MB has no name in libpcap's table
                break;
            case ArpHardwareType.AX25:
                linkType = LinkType.AX25_KISS;
                break;
            case ArpHardwareType.PRONET:
                linkType = (LinkType)4; // DLT_PRONET
                break;
            case ArpHardwareType.CHAOS:
                linkType = (LinkType)5; // DLT_CHAOS
                break;
            case ArpHardwareType.CAN:
                linkType = LinkType.CAN_SOCKETCAN;
                break;
            case ArpHardwareType.IEEE802_TR:
            case ArpHardwareType.IEEE802:
                linkType = LinkType.IEEE802;
                break;
            case ArpHardwareType.ARCNET:
                linkType = LinkType.ARCNET_LINUX;
                break;
            case ArpHardwareType.FDDI:
                linkType = LinkType.FDDI;
                break;
            case ArpHardwareType.ATM:
            case ArpHardwareType.PPP:
                linkType = LinkType.LINUX_SLL;
                break;
            case ArpHardwareType.IEEE80211:
                linkType = LinkType.IEEE802_11;
                break;
            case ArpHardwareType.IEEE80211_PRISM:
                linkType = LinkType.PRISM_HEADER;
                break;
            case ArpHardwareType.IEEE80211_RADIOTAP:
                linkType = LinkType.IEEE802_11_RADIO;
                break;
            case ArpHardwareType.CISCO:
                linkType = LinkType.C_HDLC;
                break;
            case ArpHardwareType.TUNNEL:
            case ArpHardwareType.SIT:
            case ArpHardwareType.CSLIP:
            case ArpHardwareType.SLIP6:
            case ArpHardwareType.CSLIP6:
            case ArpHardwareType.ADAPT:
            case ArpHardwareType.SLIP:
            case ArpHardwareType.RAWHDLC:
            case ArpHardwareType.DLCI:
            case ArpHardwareType.NONE:
                linkType = LinkType.RAW;
                break;
            case ArpHardwareType.FRAD:
                linkType = LinkType.FRELAY;
                break;
            case ArpHardwareType.LOCALTLK:
                linkType = LinkType.LTALK;
                break;
            case ArpHardwareType.OldFibreChannel:
                linkType = LinkType.IP_OVER_FC;
                break;
            case ArpHardwareType.FCPP:
            case ArpHardwareType.FCAL:
            case ArpHardwareType.FCPL:
            case ArpHardwareType.FCFABRIC:
                linkType = LinkType.FC_2;
                offered = [LinkType.FC_2, LinkType.FC_2_WITH_FRAME_DELIMS, LinkType.IP_OVER_FC];
                break;
            case ArpHardwareType.IRDA:
                linkType = LinkType.LINUX_IRDA;
                break;
            case ArpHardwareType.LAPD:
                linkType = LinkType.LINUX_LAPD;
                break;
            case ArpHardwareType.IEEE802154:
                linkType = LinkType.IEEE802_15_4_NOFCS;
                break;
            case ArpHardwareType.NETLINK:
                linkType = LinkType.NETLINK;
                break;
            case ArpHardwareType.VSOCKMON:
                linkType = LinkType.VSOCK;
                break;
            default:
                linkType = null;
                break;
        }

        // Types libpcap cannot capture raw (and ISDN's fake Ethernet) are captured in cooked mode:
        // a Linux SLL header replaces the link header. IrDA, LAPD and netlink keep their own type.
        bool isdn = linkType == LinkType.EN10MB
            && (interfaceName.StartsWith("isdn", StringComparison.Ordinal) || interfaceName.StartsWith("isdY", StringComparison.Ordinal));
        if (linkType is null or LinkType.LINUX_SLL || isdn)
        {
            // Only an interface that offered a choice gets the choice of both cooked headers.
            if (offered is not null)
                offered = [LinkType.LINUX_SLL, LinkType.LINUX_SLL2];
            linkType = LinkType.LINUX_SLL;
        }

        return new InterfaceLinkLayer(interfaceName, linkType.Value, offered ?? [linkType.Value]);
    }

    /// <summary>The link type of a DSA switch port's tagging protocol, or null for an ordinary Ethernet port.</summary>
    private static LinkType? DsaLinkType(string interfaceName, string? dsaTagging)
    {
        if (dsaTagging is null)
            return null;
        string tagging = dsaTagging.EndsWith('\n') ? dsaTagging[..^1] : dsaTagging;
        return tagging switch
        {
            "none" => null,
            "brcm" => LinkType.DSA_TAG_BRCM,
            "brcm-prepend" => LinkType.DSA_TAG_BRCM_PREPEND,
            "dsa" => LinkType.DSA_TAG_DSA,
            "edsa" => LinkType.DSA_TAG_EDSA,
            _ => throw new CaptureDeviceException(interfaceName, CaptureDeviceError.Unsupported, $"unsupported DSA tag: {tagging}"),
        };
    }

    private static CaptureDeviceException NoSuchDevice(string interfaceName)
        => new(interfaceName, CaptureDeviceError.NoSuchDevice, "No such device exists");

    private static string? TryReadAttribute(string directory, string attribute)
    {
        try
        {
            return File.ReadAllText(Path.Combine(directory, attribute)).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool TryParseHex(string text, out uint value)
    {
        ReadOnlySpan<char> digits = text.AsSpan();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            digits = digits[2..];
        return uint.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
