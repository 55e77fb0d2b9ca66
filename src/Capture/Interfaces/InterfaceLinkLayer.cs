using KdtCapture.Filters;

namespace KdtCapture.Capture.Interfaces;

/// <summary>
/// The link-layer types a live capture on one network interface can deliver, as libpcap on
/// Linux offers them: the one it picks by default and the ones <c>-y</c> may choose instead.
/// </summary>
public sealed class InterfaceLinkLayer
{
    public InterfaceLinkLayer(string interfaceName, LinkType defaultLinkType, IReadOnlyList<LinkType> supportedLinkTypes)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(supportedLinkTypes);
        InterfaceName = interfaceName;
        DefaultLinkType = defaultLinkType;
        SupportedLinkTypes = supportedLinkTypes.Count == 0 ? [defaultLinkType] : supportedLinkTypes;
    }

    public string InterfaceName { get; }

    /// <summary>What libpcap's <c>pcap_datalink</c> reports right after activation.</summary>
    public LinkType DefaultLinkType { get; }

    /// <summary>What <c>pcap_list_datalinks</c> reports; never empty, always contains <see cref="DefaultLinkType"/>.</summary>
    public IReadOnlyList<LinkType> SupportedLinkTypes { get; }

    public bool Supports(LinkType linkType)
    {
        foreach (var supported in SupportedLinkTypes)
        {
            if (supported == linkType)
                return true;
        }
        return false;
    }
}
