using KdtCapture.Capture.Interfaces;
using KdtCapture.Filters;

namespace KdtCapture.Cli.Tests;

/// <summary>Interface link types as libpcap 1.10 on Linux gives them, from a fake sysfs tree.</summary>
public sealed class InterfaceLinkLayerTests : IDisposable
{
    private readonly string _sys = Directory.CreateTempSubdirectory("kdt-sysfs-").FullName;

    public void Dispose() => Directory.Delete(_sys, recursive: true);

    private void AddInterface(string name, int arpType, string flags = "0x1003", bool wireless = false, string? dsaTagging = null)
    {
        string dir = Path.Combine(_sys, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "type"), $"{arpType}\n");
        File.WriteAllText(Path.Combine(dir, "flags"), $"{flags}\n");
        if (wireless)
            Directory.CreateDirectory(Path.Combine(dir, "wireless"));
        if (dsaTagging is not null)
        {
            Directory.CreateDirectory(Path.Combine(dir, "dsa"));
            File.WriteAllText(Path.Combine(dir, "dsa", "tagging"), dsaTagging + "\n");
        }
    }

    [Theory]
    [InlineData("lo", 772, LinkType.EN10MB, new[] { LinkType.EN10MB })]
    [InlineData("eth0", 1, LinkType.EN10MB, new[] { LinkType.EN10MB, LinkType.DOCSIS })]
    [InlineData("tun0", 0xFFFE, LinkType.RAW, new[] { LinkType.RAW })]
    [InlineData("sit0", 776, LinkType.RAW, new[] { LinkType.RAW })]
    [InlineData("ipip0", 768, LinkType.RAW, new[] { LinkType.RAW })]
    [InlineData("ppp0", 512, LinkType.LINUX_SLL, new[] { LinkType.LINUX_SLL })]
    [InlineData("gre0", 778, LinkType.LINUX_SLL, new[] { LinkType.LINUX_SLL })]
    [InlineData("mon0", 803, LinkType.IEEE802_11_RADIO, new[] { LinkType.IEEE802_11_RADIO })]
    [InlineData("vcan0", 280, LinkType.CAN_SOCKETCAN, new[] { LinkType.CAN_SOCKETCAN })]
    [InlineData("nlmon0", 824, LinkType.NETLINK, new[] { LinkType.NETLINK })]
    [InlineData("fc0", 785, LinkType.FC_2, new[] { LinkType.FC_2, LinkType.FC_2_WITH_FRAME_DELIMS, LinkType.IP_OVER_FC })]
    [InlineData("isdn0", 1, LinkType.LINUX_SLL, new[] { LinkType.LINUX_SLL, LinkType.LINUX_SLL2 })]
    [InlineData("cdma_rmnet0", 1, LinkType.RAW, new[] { LinkType.RAW })]
    public void MapsArpHardwareTypes(string name, int arpType, LinkType expected, LinkType[] supported)
    {
        AddInterface(name, arpType);
        var linkLayer = LinuxInterfaces.DescribeLinkLayer(name, _sys);
        Assert.Equal(expected, linkLayer.DefaultLinkType);
        Assert.Equal(supported, linkLayer.SupportedLinkTypes);
    }

    [Fact]
    public void WirelessEthernetOffersNoDocsis()
    {
        AddInterface("wlan0", 1, wireless: true);
        Assert.Equal([LinkType.EN10MB], LinuxInterfaces.DescribeLinkLayer("wlan0", _sys).SupportedLinkTypes);
    }

    [Theory]
    [InlineData("edsa", LinkType.DSA_TAG_EDSA)]
    [InlineData("brcm-prepend", LinkType.DSA_TAG_BRCM_PREPEND)]
    public void DsaPortsGetTheirTagType(string tagging, LinkType expected)
    {
        AddInterface("lan1", 1, dsaTagging: tagging);
        var linkLayer = LinuxInterfaces.DescribeLinkLayer("lan1", _sys);
        Assert.Equal(expected, linkLayer.DefaultLinkType);
        Assert.Equal([expected], linkLayer.SupportedLinkTypes);
    }

    [Fact]
    public void DsaTagNoneIsEthernet()
    {
        AddInterface("lan2", 1, dsaTagging: "none");
        Assert.Equal([LinkType.EN10MB, LinkType.DOCSIS], LinuxInterfaces.DescribeLinkLayer("lan2", _sys).SupportedLinkTypes);
    }

    [Fact]
    public void UnknownDsaTagIsRefused()
    {
        AddInterface("lan3", 1, dsaTagging: "ocelot");
        var e = Assert.Throws<CaptureDeviceException>(() => LinuxInterfaces.DescribeLinkLayer("lan3", _sys));
        Assert.Equal("unsupported DSA tag: ocelot", e.Message);
    }

    [Fact]
    public void AnyIsCooked()
    {
        var linkLayer = LinuxInterfaces.DescribeLinkLayer("any", _sys);
        Assert.Equal(LinkType.LINUX_SLL, linkLayer.DefaultLinkType);
        Assert.Equal([LinkType.LINUX_SLL, LinkType.LINUX_SLL2], linkLayer.SupportedLinkTypes);
    }

    [Fact]
    public void DownInterfaceIsRefused()
    {
        AddInterface("ifb0", 1, flags: "0x82");
        var e = Assert.Throws<CaptureDeviceException>(() => LinuxInterfaces.DescribeLinkLayer("ifb0", _sys));
        Assert.Equal(CaptureDeviceError.NotUp, e.Error);
        Assert.Equal("That device is not up", e.Message);
    }

    [Theory]
    [InlineData("nosuch0")]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("../lo")]
    public void MissingInterfaceIsRefused(string name)
    {
        AddInterface("lo", 772);
        var e = Assert.Throws<CaptureDeviceException>(() => LinuxInterfaces.DescribeLinkLayer(name, _sys));
        Assert.Equal(CaptureDeviceError.NoSuchDevice, e.Error);
        Assert.Equal("No such device exists", e.Message);
    }

    [Fact]
    public void ThisMachinesLoopbackIsEthernet()
    {
        if (!File.Exists("/sys/class/net/lo/type"))
            Assert.Skip("no /sys/class/net/lo on this machine");
        Assert.Equal(LinkType.EN10MB, LinuxInterfaces.DescribeLinkLayer("lo").DefaultLinkType);
    }
}
