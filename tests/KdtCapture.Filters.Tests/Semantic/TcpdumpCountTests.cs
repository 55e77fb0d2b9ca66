using System.Buffers.Binary;
using System.Globalization;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Semantic;

/// <summary>
/// On a sample of captures (each supported link type, plus every n-th file) and expressions, the number of packets
/// <c>tcpdump -r FILE --count EXPR</c> reports equals what libpcap in-process (the semantic suite's reference) and
/// our compiled filter accept. The --count figure is itself checked against the packets <c>tcpdump -r FILE -w - EXPR</c>
/// writes.
/// </summary>
public sealed class TcpdumpCountTests
{
    private static readonly string[] SampleExpressions =
    [
        "ip", "tcp port 80 or tcp port 443", "udp port 53", "ether multicast and not ether broadcast", "vlan and ip",
        "ip6 protochain 6", "type mgt subtype beacon", "len > 200", "icmp or icmp6", "tcp[tcpflags] & tcp-syn != 0",
    ];

    public static IEnumerable<TheoryDataRow<string>> Cases()
        => SampleExpressions.Select(e => new TheoryDataRow<string>(e) { TestDisplayName = $"tcpdump -r counts '{e}' as we do" });

    private static List<CaptureCorpus.Capture> SampleCaptures()
    {
        var usable = CaptureCorpus.Usable.Where(c => c.ReadError is null && c.Packets.Count > 0).ToList();
        var firstOfEachType = usable.GroupBy(c => c.LinkType).SelectMany(g => g.Take(2));
        int step = Math.Max(1, usable.Count / 12);
        return firstOfEachType.Concat(usable.Where((_, i) => i % step == 0)).Distinct().ToList();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tcpdump_counts_the_packets_we_accept(string expression)
    {
        SemanticTests.RequireCorpus();
        if (Tcpdump.Executable is null)
            Assert.Skip("tcpdump is not installed");
        var captures = SampleCaptures();
        var problems = new System.Collections.Concurrent.ConcurrentBag<string>();
        int checkedCaptures = 0;
        Parallel.ForEach(captures.Select((c, i) => (c, i)), new ParallelOptions { MaxDegreeOfParallelism = 4 }, item =>
        {
            var (capture, index) = item;
            var oracle = CaptureCorpus.LibpcapProgram(capture, expression);
            var r = Tcpdump.Run(["-r", capture.Path, "--count", "--", expression]);
            if (!oracle.Succeeded)
            {
                if (r.ExitCode != 1 || !r.Stderr.Contains($"tcpdump: {oracle.Error}", StringComparison.Ordinal))
                    problems.Add($"{capture}: libpcap refuses it ({oracle.Error}); tcpdump exit {r.ExitCode}: {r.Stderr.Trim()}");
                return;
            }
            Interlocked.Increment(ref checkedCaptures);
            int libpcap = capture.Packets.Count(p => LibPcapOracle.Filter(oracle.Instructions, p.Data, p.WireLength) != 0);
            var ours = FilterDifferential.Ours(expression, capture.LinkType, capture.Options(optimize: true));
            int? our = ours.Program is { } prog
                ? capture.Packets.Count(p => CbpfInterpreter.Run(prog.Instructions, p.Data, p.WireLength) != 0)
                : null;
            int? counted = ParseCount(r.Stdout);
            if (r.ExitCode != 0 || counted != libpcap || our != libpcap)
            {
                problems.Add($"{capture}: tcpdump --count {counted?.ToString(CultureInfo.InvariantCulture) ?? "?"} (exit {r.ExitCode}{(r.ExitCode != 0 ? ": " + r.Stderr.Trim() : "")}), "
                    + $"libpcap in-process {libpcap}, ours {our?.ToString(CultureInfo.InvariantCulture) ?? FilterDifferential.Describe(ours.Failure!)}");
                return;
            }
            if (index % 3 == 0)
            {
                // --count is the figure tcpdump prints; the packets it writes out must be as many.
                var w = Tcpdump.Run(["-r", capture.Path, "-w", "-", "--", expression]);
                int? written = CountPcapRecords(w.StdoutBytes);
                if (w.ExitCode != 0 || written != counted)
                    problems.Add($"{capture}: tcpdump --count says {counted}, but -w - wrote {written?.ToString(CultureInfo.InvariantCulture) ?? "an unreadable file"} (exit {w.ExitCode})");
            }
        });
        Assert.True(problems.IsEmpty, $"'{expression}' on {captures.Count} captures:\n" + string.Join("\n", problems.Order(StringComparer.Ordinal)));
        Assert.True(checkedCaptures >= 5, $"only {checkedCaptures} sampled captures have a link type where libpcap compiles '{expression}'");
    }

    /// <summary>"N packets" as tcpdump --count prints it.</summary>
    internal static int? ParseCount(string stdout)
    {
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim();
        if (line is null || !line.EndsWith(" packets", StringComparison.Ordinal) && !line.EndsWith(" packet", StringComparison.Ordinal))
            return null;
        return int.TryParse(line.Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
    }

    /// <summary>The number of packet records in a classic pcap file (either byte order, µs or ns), null when malformed.</summary>
    internal static int? CountPcapRecords(ReadOnlySpan<byte> file)
    {
        if (file.Length < 24)
            return null;
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        bool little = magic is 0xa1b2c3d4 or 0xa1b23c4d;
        bool big = magic is 0xd4c3b2a1 or 0x4d3cb2a1;
        if (!little && !big)
            return null;
        int count = 0;
        int offset = 24;
        while (offset < file.Length)
        {
            if (offset + 16 > file.Length)
                return null;
            var lenField = file.Slice(offset + 8, 4);
            uint caplen = little ? BinaryPrimitives.ReadUInt32LittleEndian(lenField) : BinaryPrimitives.ReadUInt32BigEndian(lenField);
            offset += 16;
            if (caplen > file.Length - offset)
                return null;
            offset += (int)caplen;
            count++;
        }
        return count;
    }

    [Fact]
    public void The_pcap_record_counter_and_count_parser_read_what_tcpdump_writes()
    {
        SemanticTests.RequireCorpus();
        if (Tcpdump.Executable is null)
            Assert.Skip("tcpdump is not installed");
        var capture = CaptureCorpus.Usable.First(c => c.ReadError is null && c.Packets.Count >= 3);
        var all = Tcpdump.Run(["-r", capture.Path, "-w", "-"]);
        Assert.Equal(capture.Packets.Count, CountPcapRecords(all.StdoutBytes));
        Assert.Equal(capture.Packets.Count, ParseCount(Tcpdump.Run(["-r", capture.Path, "--count"]).Stdout));
        Assert.Equal(0, CountPcapRecords(Tcpdump.Run(["-r", capture.Path, "-w", "-", "less", "1"]).StdoutBytes));
        Assert.Null(CountPcapRecords(all.StdoutBytes.AsSpan(0, all.StdoutBytes.Length - 1)));
    }
}
