using System.Net;

namespace KdtCapture.PcapNg.Tests;

/// <summary>Deterministic packets and interfaces for write tests.</summary>
internal static class Samples
{
    public sealed record Packet(int Interface, PacketTimestamp Timestamp, byte[] Data, uint OriginalLength, string? Comment, uint? Flags, ulong? PacketId);

    public static byte[] Frame(int seed, int length)
    {
        var rng = new Random(seed);
        var b = new byte[length];
        rng.NextBytes(b);
        return b;
    }

    /// <summary>Interfaces: Ethernet at ns, Ethernet at µs, (optionally) RAW at ms and Linux SLL2 at 2^-20 s.</summary>
    public static List<InterfaceDescription> Interfaces(bool mixedLinkTypes) =>
    [
        new InterfaceDescription
        {
            LinkType = LinkTypeValues.Ethernet, SnapLength = 262144, Name = "fentry/ip_output", Description = "tap on ip_output",
            TimestampResolution = TimestampResolution.Nanoseconds, Comments = ["first interface"],
            IPv4Addresses = [new InterfaceIPv4Address(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("255.255.255.0"))],
            Filter = InterfaceFilter.FromExpression("tcp port 80"), OperatingSystem = "Linux 6.18",
        },
        new InterfaceDescription { LinkType = LinkTypeValues.Ethernet, SnapLength = 262144, Name = "eth0", TimestampResolution = TimestampResolution.Microseconds },
        .. mixedLinkTypes
            ? new[]
            {
                new InterfaceDescription { LinkType = LinkTypeValues.Raw, SnapLength = 1500, Name = "tp_btf/net_dev_queue", TimestampResolution = TimestampResolution.Decimal(3) },
                new InterfaceDescription { LinkType = LinkTypeValues.LinuxSll2, SnapLength = 0, Name = "any", TimestampResolution = TimestampResolution.Binary(20), TimestampOffset = 0 },
            }
            : [],
    ];

    public static List<Packet> Packets(int interfaces, int count)
    {
        var list = new List<Packet>();
        long baseNs = 1_700_000_000_123_456_789L;
        for (int i = 0; i < count; i++)
        {
            int iface = i % interfaces;
            byte[] data = Frame(i, 40 + (i * 37) % 1400);
            // Timestamps representable at every interface's resolution so text comparisons are exact.
            long ns = baseNs + i * 1_000_000_000L + iface switch { 0 => i * 7919L, 1 => i * 1000L, 2 => i * 1_000_000L, _ => 0 };
            if (iface == 2) ns -= ns % 1_000_000;
            if (iface == 1) ns -= ns % 1000;
            if (iface == 3) ns -= ns % 1_000_000_000; // 2^-20 s: whole seconds are exact
            var ts = PacketTimestamp.FromUnixNanoseconds(ns);
            uint orig = (uint)data.Length + (uint)(i % 3 == 0 ? 100 : 0);
            list.Add(new Packet(iface, ts, data, orig, i % 4 == 1 ? $"packet {i} comment" : null,
                i % 5 == 2 ? PacketFlags.Create(PacketDirection.Outbound) : null, i % 2 == 0 ? (ulong)(1000 + i) : null));
        }
        return list;
    }

    public static void Write(CaptureWriter w, IReadOnlyList<InterfaceDescription> interfaces, IReadOnlyList<Packet> packets)
    {
        foreach (InterfaceDescription d in interfaces) w.AddInterface(d);
        foreach (Packet p in packets)
        {
            w.WritePacket(p.Interface, p.Timestamp, p.Data, p.OriginalLength,
                new PacketWriteOptions { Comment = p.Comment, Flags = p.Flags, PacketId = p.PacketId });
        }
    }

    /// <summary>The timestamp as "seconds.nnnnnnnnn" (truncated to ns).</summary>
    public static string Epoch9(PacketTimestamp t) => $"{t.UnixSeconds}.{t.Nanoseconds:D9}";
}
