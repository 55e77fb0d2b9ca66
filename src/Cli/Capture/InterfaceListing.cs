using System.Text;
using KdtCapture.Bpf.Features;
using KdtCapture.Capture.Live;
using KdtCapture.Filters;
using SharpPcap.LibPcap;

namespace KdtCapture.Cli.Capture;

/// <summary><c>kdt capture -D</c> and <c>-L</c>: tcpdump's listings, followed by kdt's kernel tap kinds.</summary>
internal static class InterfaceListing
{
    // pcap_if_t flags (pcap.h).
    private const uint Loopback = 0x1, Up = 0x2, Running = 0x4, Wireless = 0x8;
    private const uint ConnectionStatus = 0x30, Connected = 0x10, Disconnected = 0x20, NotApplicable = 0x30;

    /// <summary>The tap kinds -i accepts, with what each attaches to.</summary>
    internal static readonly (string Spec, BpfAttachKind Kind, string Description)[] TapKinds =
    [
        ("fentry/FUNC", BpfAttachKind.Fentry, "entry of kernel function FUNC (BPF trampoline; skb argument from BTF)"),
        ("fexit/FUNC", BpfAttachKind.Fexit, "return of kernel function FUNC, with its return value"),
        ("kprobe/FUNC", BpfAttachKind.Kprobe, "kprobe at kernel function FUNC (where trampolines are refused)"),
        ("tp_btf/TP", BpfAttachKind.TpBtf, "BTF-typed tracepoint TP, e.g. net_dev_queue, netif_receive_skb, kfree_skb"),
        ("raw_tp/TP", BpfAttachKind.RawTracepoint, "raw tracepoint TP"),
    ];

    /// <summary>
    /// -J: the time stamp types of the device (-i, else the first interface, as tcpdump picks it),
    /// on stderr in tcpdump's words. A tap's time stamps are the kernel's clock: nothing to set.
    /// </summary>
    public static int ListTimestampTypes(string? device, TextWriter stderr)
    {
        if (device is null)
        {
            var devices = LiveInterface.List();
            if (devices.Count == 0)
                return CaptureCommand.Fail(stderr, "no interfaces available for capture");
            device = devices[0].Name;
        }
        IReadOnlyList<(string Name, string Description)> types;
        if (CaptureCommand.LooksLikeTapSpec(device))
        {
            types = [];
        }
        else
        {
            try
            {
                types = LiveInterface.TimestampTypes(device);
            }
            catch (LiveInterfaceException e)
            {
                return CaptureCommand.Fail(stderr, $"{e.InterfaceName}: {e.Message}");
            }
        }
        if (types.Count == 0)
        {
            stderr.WriteLine($"Time stamp type cannot be set for {device}");
            return ExitCodes.Success;
        }
        stderr.WriteLine($"Time stamp types for {device} (use option -j to set):");
        foreach (var (name, description) in types)
            stderr.WriteLine($"  {name} ({description})");
        return ExitCodes.Success;
    }

    public static int ListInterfaces(TextWriter stdout, TextWriter stderr)
    {
        IReadOnlyList<LibPcapLiveDevice> devices;
        try
        {
            devices = LiveInterface.List();
        }
        catch (Exception e) when (e is SharpPcap.PcapException or DllNotFoundException)
        {
            return CaptureCommand.Fail(stderr, e.Message);
        }
        var line = new StringBuilder();
        for (int i = 0; i < devices.Count; i++)
        {
            line.Clear();
            LibPcapLiveDevice device = devices[i];
            line.Append(i + 1).Append('.').Append(device.Name);
            if (!string.IsNullOrEmpty(device.Description)) line.Append(" (").Append(device.Description).Append(')');
            uint flags = device.Flags;
            if (flags != 0) line.Append(" [").Append(FlagsText(flags)).Append(']');
            stdout.WriteLine(line.ToString());
        }

        stdout.WriteLine("Kernel taps (-i KIND/NAME; kdt btf funcs --skb lists functions):");
        bool canProbe = BpfFeatures.CanLoadPrograms;
        foreach (var (spec, kind, description) in TapKinds)
        {
            string support = !canProbe ? "support unknown: probing needs CAP_BPF (run as root)"
                : BpfFeatures.HasAttachKind(kind) ? "supported"
                : "not supported by this kernel";
            stdout.WriteLine($"  {spec,-12} {description} [{support}]");
        }
        return ExitCodes.Success;
    }

    /// <summary>tcpdump's flags text: bittok2str over Up/Running/Loopback/Wireless, then the connection status.</summary>
    internal static string FlagsText(uint flags)
    {
        var parts = new List<string>();
        if ((flags & Up) != 0) parts.Add("Up");
        if ((flags & Running) != 0) parts.Add("Running");
        if ((flags & Loopback) != 0) parts.Add("Loopback");
        if ((flags & Wireless) != 0) parts.Add("Wireless");
        string text = parts.Count == 0 ? "none" : string.Join(", ", parts);
        uint status = flags & ConnectionStatus;
        if ((flags & Wireless) != 0)
        {
            text += status switch
            {
                0 => ", Association status unknown",
                Connected => ", Associated",
                Disconnected => ", Not associated",
                _ => "",
            };
        }
        else
        {
            text += status switch
            {
                0 => ", Connection status unknown",
                Connected => ", Connected",
                Disconnected => ", Disconnected",
                _ => "",
            };
        }
        return text;
    }

    /// <summary>tcpdump -L's block for one interface or tap, on stderr as tcpdump writes it.</summary>
    public static void WriteLinkTypes(TextWriter stderr, string device, IReadOnlyList<LinkType> linkTypes)
    {
        stderr.WriteLine($"Data link types for {device} (use option -y to set):");
        foreach (LinkType linkType in linkTypes)
        {
            if (LinkTypes.GetName(linkType) is { } name)
                stderr.WriteLine($"  {name} ({LinkTypes.GetDescription(linkType)}){(Printable(linkType) ? "" : " (printing not supported)")}");
            else
                stderr.WriteLine($"  DLT {(int)linkType} (printing not supported)");
        }
    }

    /// <summary>The link types kdt's printer decodes.</summary>
    private static bool Printable(LinkType linkType) => linkType is LinkType.EN10MB or LinkType.LINUX_SLL or LinkType.LINUX_SLL2
        or LinkType.NULL or LinkType.LOOP or LinkType.RAW or LinkType.IPV4 or LinkType.IPV6;

    /// <summary>What a tap delivers: Ethernet frames where the skb has a MAC header, IP packets
    /// otherwise (DESIGN.md); with -y another type, starting at skb->data.</summary>
    public static void WriteTapLinkTypes(TextWriter stderr, string tap)
    {
        WriteLinkTypes(stderr, tap, [LinkType.EN10MB, LinkType.RAW]);
        stderr.WriteLine("  (any other link type with -y: frames start at skb->data)");
    }
}
