using KdtCapture.Capture.Printing;
using KdtCapture.Testing;

namespace KdtCapture.Capture.Tests.Printing;

/// <summary>
/// Printing to a TextWriter allocates nothing per packet once the printer has warmed up (its text buffer grown,
/// its TCP conversations and name caches filled): the second pass over the corpus allocates at most a small constant.
/// </summary>
public sealed class PrinterAllocationTests
{
    /// <summary>A writer that takes the text and throws it away, without allocating.</summary>
    private sealed class DiscardingWriter : TextWriter
    {
        public long Characters;

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => Characters++;

        public override void Write(ReadOnlySpan<char> buffer) => Characters += buffer.Length;
    }

    public static TheoryData<string> OptionSets => new(["-n", "-n -v", "-n -e -vvv -X", "-n -A -#", "names"]);

    private static PacketPrinterOptions OptionsNamed(string name) => name switch
    {
        "-n" => new() { Numeric = true, TimeZone = TimeZoneInfo.Utc },
        "-n -v" => new() { Numeric = true, TimeZone = TimeZoneInfo.Utc, Verbosity = 1 },
        "-n -e -vvv -X" => new() { Numeric = true, TimeZone = TimeZoneInfo.Utc, LinkHeader = true, Verbosity = 3, HexDump = HexDumpMode.HexAndAscii },
        "-n -A -#" => new() { Numeric = true, HexDump = HexDumpMode.Ascii, PacketNumbers = true, Timestamps = TimestampFormat.DateAndTime },
        // Names from /etc/hosts, /etc/services and the OUI table, cached per printer; no DNS in a test.
        "names" => new() { Numeric = false, ResolveHostsWithDns = false, TimeZone = TimeZoneInfo.Utc, Verbosity = 1 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void Printing_well_formed_packets_allocates_nothing_per_packet(string options)
    {
        if (!LibPcapOracle.IsAvailable || PrinterDifferential.Captures.Count == 0)
            Assert.Skip("needs libpcap and the tcpdump-tests corpus (../shared/corpora/tcpdump-tests)");

        var writer = new DiscardingWriter();
        var printer = new PacketPrinter(writer, OptionsNamed(options));
        // Packets the printer decodes to their end. A truncated one ends in a thrown (preallocated) truncation,
        // and the runtime records the stack trace of every throw in newly allocated memory, so those are apart.
        var packets = PrinterDifferential.Captures
            .Where(c => !c.Name.Contains("trunc", StringComparison.Ordinal))
            .SelectMany(c => c.Packets.Select(p => (c.LinkType, p)))
            .ToArray();
        var complete = new List<(KdtCapture.Filters.LinkType, LibPcapOracle.TimedPacket)>();
        var probe = new PacketPrinter(OptionsNamed(options));
        foreach (var (linkType, p) in packets)
        {
            if (p.Data.Length == p.WireLength && !probe.Format(linkType, p.TimestampNanoseconds, p.Data, p.WireLength).Contains("[|", StringComparison.Ordinal))
                complete.Add((linkType, p));
        }
        Assert.True(complete.Count > 3000, $"only {complete.Count} complete packets");

        foreach (var (linkType, p) in complete)
            printer.Print(linkType, p.TimestampNanoseconds, p.Data, p.WireLength);

        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var (linkType, p) in complete)
            printer.Print(linkType, p.TimestampNanoseconds, p.Data, p.WireLength);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Current.TestOutputHelper!.WriteLine(
            $"{complete.Count} packets, {writer.Characters} characters, {allocated} bytes allocated in the second pass");
        // A bounded constant, not a per-packet cost: far below one byte per packet.
        Assert.True(allocated < 16 * 1024, $"{allocated} bytes allocated printing {complete.Count} packets");
    }
}
