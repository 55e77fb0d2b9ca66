using System.Collections.ObjectModel;
using KdtCapture.Bpf.Features;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Devices;

/// <summary>A tap worth offering by name: its spec and what it sees.</summary>
public sealed record KnownTap(string Spec, string Description);

/// <summary>
/// The usual kernel taps this kernel can capture at, as devices — what SharpPcap's
/// <c>CaptureDeviceList</c> is for interfaces (<c>kdt capture -i</c> takes any other function or
/// tracepoint that has a <c>struct sk_buff *</c>; <c>kdt btf funcs --skb</c> lists them).
/// </summary>
/// <example>
/// <code>
/// foreach (KdtTapDevice device in KdtTapDeviceList.Instance)
///     Console.WriteLine($"{device.Name}: {device.Description}");
/// </code>
/// </example>
public sealed class KdtTapDeviceList : ReadOnlyCollection<KdtTapDevice>
{
    /// <summary>The taps offered, in this order, where the kernel has them and lets them attach.</summary>
    public static IReadOnlyList<KnownTap> Known { get; } =
    [
        new("tp_btf/net_dev_queue", "packets sent, as they are queued to a device (every interface)"),
        new("tp_btf/netif_receive_skb", "packets received, as a device hands them to the stack (every interface)"),
        new("tp_btf/kfree_skb", "packets dropped by the kernel, with the drop reason"),
        new("tp_btf/consume_skb", "packets freed after normal processing"),
        new("fentry/ip_output", "IPv4 packets sent, at ip_output (no MAC header yet)"),
        new("fentry/ip6_output", "IPv6 packets sent, at ip6_output (no MAC header yet)"),
        new("fentry/ip_rcv", "IPv4 packets received, at ip_rcv"),
        new("fentry/ipv6_rcv", "IPv6 packets received, at ipv6_rcv"),
    ];

    private static readonly Lazy<KdtTapDeviceList> Shared = new(New);

    private KdtTapDeviceList(IList<KdtTapDevice> devices)
        : base(devices)
    {
    }

    /// <summary>The list, made once (as SharpPcap's <c>CaptureDeviceList.Instance</c>).</summary>
    public static KdtTapDeviceList Instance => Shared.Value;

    /// <summary>The device for <paramref name="name"/> (a tap spec), or null when it is not in the list.</summary>
    public KdtTapDevice? this[string name]
    {
        get
        {
            foreach (KdtTapDevice device in this)
                if (device.Name == name)
                    return device;
            return null;
        }
    }

    /// <summary>A fresh list with fresh devices. A tap is listed when the kernel's BTF has it with an
    /// skb argument and, where BPF programs can be loaded, its kind attaches (fentry is left out where
    /// trampolines are refused). Without the rights to probe, every tap the BTF has is listed.</summary>
    public static KdtTapDeviceList New()
    {
        var devices = new List<KdtTapDevice>();
        foreach (ResolvedTapEntry entry in Available())
            devices.Add(new KdtTapDevice(entry.Tap.Spec, entry.Tap.Description));
        return new KdtTapDeviceList(devices);
    }

    /// <summary>One <see cref="Known"/> tap that resolved here.</summary>
    public readonly record struct ResolvedTapEntry(KnownTap Tap, ResolvedTap Resolved);

    /// <summary>The <see cref="Known"/> taps that resolve against this kernel and may attach.</summary>
    public static IReadOnlyList<ResolvedTapEntry> Available()
    {
        var result = new List<ResolvedTapEntry>();
        TapResolver resolver;
        try
        {
            resolver = TapResolver.ForKernel(new TapResolverOptions { CheckAttachKind = false });
        }
        catch (TapException)
        {
            return result;
        }
        bool canProbe = BpfFeatures.CanLoadPrograms;
        foreach (KnownTap known in Known)
        {
            TapSpec spec = TapSpec.Parse(known.Spec);
            try
            {
                ResolvedTap resolved = resolver.Resolve(spec)[0];
                if (canProbe && TapResolver.AttachKindRefusal(spec.Kind, resolved.Target) is not null)
                    continue;
                result.Add(new ResolvedTapEntry(known, resolved));
            }
            catch (TapException)
            {
                // Not in this kernel (or not traceable): not offered.
            }
        }
        return result;
    }
}
