using KdtCapture.Capture.Printing;
using KdtCapture.Filters;
using KdtCapture.Testing;

namespace KdtCapture.Capture.Tests.Printing;

/// <summary>
/// Malformed and truncated packets never make the printer throw or hit a decoder fault: every corpus packet cut
/// short at many lengths, corpus packets with damaged bytes, and random bytes under every link type, through every
/// option set. Each packet still gets its text, ending in a newline.
/// </summary>
public sealed class PrinterRobustnessTests
{
    private const int Seed = 20240531;

    // Every option set the differential test and PrintDiff know, plus the rarer switches together and names (-n off;
    // DNS off, so only /etc/hosts and /etc/services are read).
    private static readonly PacketPrinterOptions[] AllOptions =
    [
        .. PrinterDifferential.AllOptionSets.Select(s => s.Options),
        new() { TimeZone = TimeZoneInfo.Utc, Numeric = true, Verbosity = 3, LinkHeader = true, HexDump = HexDumpMode.HexAndAsciiWithLinkHeader, PacketNumbers = true, AbsoluteTcpSequenceNumbers = true },
        new() { TimeZone = TimeZoneInfo.Utc, Numeric = true, Verbosity = 2, Quiet = true, HexDump = HexDumpMode.AsciiWithLinkHeader, DontVerifyChecksums = true },
        new() { TimeZone = TimeZoneInfo.Utc, Numeric = false, ResolveHostsWithDns = false, Verbosity = 1, LinkHeader = true },
    ];

    // Link types with a decoder, and some without (they get a one-line summary).
    private static readonly LinkType[] AllLinkTypes =
    [
        .. PrinterDifferential.LinkTypes, LinkType.IEEE802_11, LinkType.PPP, (LinkType)147,
    ];

    private static void Feed(PacketPrinter printer, LinkType linkType, ReadOnlySpan<byte> data, long wireLength, ref long packets)
    {
        string text = printer.Format(linkType, 1_700_000_000_123_456_789L + packets * 1_000_003, data, wireLength);
        packets++;
        if (text.Length == 0 || text[^1] != '\n')
            Assert.Fail($"{linkType}, {data.Length} bytes: the text does not end in a newline: {text}");
    }

    private static void AssertNoFaults(PacketPrinter[] printers, string what)
    {
        for (int i = 0; i < printers.Length; i++)
            Assert.True(printers[i].DecoderFaults == 0, $"{what}: {printers[i].DecoderFaults} decoder faults with option set {i} ({AllOptions[i]})");
    }

    [Fact]
    public void Corpus_packets_cut_short_at_many_lengths_print_without_faults()
    {
        if (!LibPcapOracle.IsAvailable || PrinterDifferential.Captures.Count == 0)
            Assert.Skip("needs libpcap and the tcpdump-tests corpus (../shared/corpora/tcpdump-tests)");

        var random = new Random(Seed);
        var printers = AllOptions.Select(o => new PacketPrinter(o)).ToArray();
        long packets = 0;
        foreach (var capture in PrinterDifferential.Captures)
        {
            foreach (var packet in capture.Packets)
            {
                byte[] data = packet.Data;
                // Every length through the headers (the first 96 bytes) with one printer per length in turn, then a
                // few random lengths beyond; every option set sees the whole packet.
                int headers = Math.Min(data.Length, 96);
                for (int cut = 0; cut < headers; cut++)
                    Feed(printers[cut % printers.Length], capture.LinkType, data.AsSpan(0, cut), packet.WireLength, ref packets);
                for (int k = 0; k < 3 && data.Length > headers; k++)
                {
                    int cut = random.Next(headers, data.Length);
                    Feed(printers[random.Next(printers.Length)], capture.LinkType, data.AsSpan(0, cut), packet.WireLength, ref packets);
                }
                foreach (var printer in printers)
                    Feed(printer, capture.LinkType, data, packet.WireLength, ref packets);
            }
        }
        TestContext.Current.TestOutputHelper!.WriteLine($"{packets} packets printed");
        AssertNoFaults(printers, "corpus packets cut short");
    }

    [Fact]
    public void Damaged_corpus_packets_print_without_faults()
    {
        if (!LibPcapOracle.IsAvailable || PrinterDifferential.Captures.Count == 0)
            Assert.Skip("needs libpcap and the tcpdump-tests corpus (../shared/corpora/tcpdump-tests)");

        var random = new Random(Seed + 1);
        var printers = AllOptions.Select(o => new PacketPrinter(o)).ToArray();
        var all = PrinterDifferential.Captures.SelectMany(c => c.Packets.Select(p => (c.LinkType, p.Data))).ToArray();
        var buffer = new byte[all.Max(x => x.Data.Length)];
        long packets = 0;
        for (int i = 0; i < 150_000; i++)
        {
            var (linkType, data) = all[random.Next(all.Length)];
            if (data.Length == 0)
                continue;
            data.CopyTo(buffer, 0);
            int length = data.Length;
            // Damage: a few bytes set at random (lengths, types and flags are where decoders branch), sometimes a
            // length field's neighbourhood zeroed or maxed, sometimes the packet cut as well.
            int hits = 1 + random.Next(4);
            for (int h = 0; h < hits; h++)
            {
                int at = random.Next(Math.Min(length, 128));
                buffer[at] = random.Next(4) switch { 0 => 0, 1 => 0xff, _ => (byte)random.Next(256) };
            }
            if (random.Next(3) == 0)
                length = random.Next(length + 1);
            long wire = random.Next(8) == 0 ? random.Next(0, 70000) : data.Length;
            Feed(printers[i % printers.Length], linkType, buffer.AsSpan(0, length), wire, ref packets);
        }
        AssertNoFaults(printers, "damaged corpus packets");
    }

    [Fact]
    public void Random_bytes_under_every_link_type_print_without_faults()
    {
        var random = new Random(Seed + 2);
        var printers = AllOptions.Select(o => new PacketPrinter(o)).ToArray();
        var buffer = new byte[1600];
        long packets = 0;
        for (int i = 0; i < 60_000; i++)
        {
            var linkType = AllLinkTypes[i % AllLinkTypes.Length];
            int length = random.Next(4) == 0 ? random.Next(64) : random.Next(buffer.Length);
            random.NextBytes(buffer.AsSpan(0, length));
            // Plausible headers now and then, so decoding goes past the first layer: IPv4/IPv6 version nibbles
            // right after where each link header ends.
            if (random.Next(2) == 0 && length > 24)
            {
                int ip = linkType switch
                {
                    LinkType.EN10MB => 14, LinkType.LINUX_SLL => 16, LinkType.LINUX_SLL2 => 20,
                    LinkType.NULL or LinkType.LOOP => 4, _ => 0,
                };
                if (ip + 1 < length)
                {
                    bool v6 = random.Next(2) == 0;
                    buffer[ip] = (byte)(v6 ? 0x60 : 0x45);
                    if (linkType == LinkType.EN10MB)
                    {
                        buffer[12] = (byte)(v6 ? 0x86 : 0x08);
                        buffer[13] = (byte)(v6 ? 0xdd : 0x00);
                    }
                }
            }
            Feed(printers[i % printers.Length], linkType, buffer.AsSpan(0, length), length + random.Next(3) * random.Next(100), ref packets);
        }
        AssertNoFaults(printers, "random bytes");
    }
}
