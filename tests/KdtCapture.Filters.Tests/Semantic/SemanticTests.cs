using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Semantic;

/// <summary>
/// What the compiled filters do on real packets: for each expression and every capture of tcpdump's test suite whose
/// link type we support, the packets our program accepts (optimized, and unoptimized too) are the ones libpcap's
/// program accepts under libpcap's bpf_filter; the reference interpreter, the fast interpreter and the IL compiler
/// return the same value on every packet; and (TcpdumpCountTests) tcpdump -r counts the same.
/// </summary>
public sealed class SemanticTests
{
    /// <summary>The expressions run over the captures: common filters, every encapsulation, loops (protochain), 802.11.</summary>
    public static readonly string[] Expressions =
    [
        "ip",
        "ip6",
        "arp or rarp",
        "tcp",
        "udp",
        "icmp or icmp6",
        "tcp port 80 or tcp port 443",
        "udp port 53",
        "port domain",
        "portrange 1-1023",
        "src net 10.0.0.0/8 or dst net 192.168.0.0/16",
        "net 172.16.0.0/12 or host 127.0.0.1",
        "ip6 net fe80::/10",
        "ether broadcast",
        "ether multicast and not ether broadcast",
        "ip multicast",
        "ip broadcast",
        "ip6 multicast",
        "vlan",
        "vlan and ip and udp",
        "mpls",
        "pppoes and ip",
        "pppoed",
        "geneve",
        "tcp[tcpflags] & tcp-syn != 0",
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        "icmp[icmptype] = icmp-echo or icmp[icmptype] = icmp-echoreply",
        "icmp6[icmp6type] = icmp6-neighborsolicit",
        "ip[6:2] & 0x1fff != 0",
        "len > 200",
        "less 80",
        "ip6 protochain 6",
        "ip protochain 17",
        "sctp or igmp or pim or vrrp",
        "esp or ah",
        "ip proto 47",
        "stp or llc",
        "isis or clnp or esis",
        "decnet or atalk or ipx or netbeui",
        "type mgt subtype beacon",
        "type data and dir tods",
        "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
        "tcp port 80 and ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0",
        "udp and udp[8:2] > 0x1000",
        "inbound",
        "not ip and not ip6 and not arp",
        "ether proto 0x88cc or ether[12:2] < 1500",
    ];

    public static IEnumerable<TheoryDataRow<string>> Cases()
        => Expressions.Select(e => new TheoryDataRow<string>(e) { TestDisplayName = $"semantics of '{e}' on tcpdump's captures" });

    internal static void RequireCorpus()
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        if (CaptureCorpus.Directory is null)
            Assert.Skip("the tcpdump-tests capture corpus (../shared/corpora/tcpdump-tests) is not on this machine");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Accepts_the_packets_libpcap_accepts_on_every_capture(string expression)
    {
        RequireCorpus();
        var problems = new List<string>();
        // The program depends on the file only through its link type, snapshot length and byte order.
        var programs = new Dictionary<LibPcapOracle.FileInfo, Programs?>();
        int captures = 0, packets = 0, matched = 0;
        foreach (var capture in CaptureCorpus.Usable)
        {
            if (!programs.TryGetValue(capture.Info, out var p))
            {
                p = Programs.For(expression, capture, problems);
                programs[capture.Info] = p;
            }
            if (p is null)
                continue;
            captures++;
            int libpcapCount = 0, ourCount = 0, unoptimizedCount = 0;
            var perPacket = new List<string>();
            for (int i = 0; i < capture.Packets.Count; i++)
            {
                var packet = capture.Packets[i];
                uint libpcap = LibPcapOracle.Filter(p.Libpcap, packet.Data, packet.WireLength);
                uint reference = CbpfInterpreter.Run(p.Ours.Instructions, packet.Data, packet.WireLength);
                uint fast = p.Fast.Run(packet.Data, packet.WireLength);
                uint il = p.Il.Run(packet.Data, packet.WireLength);
                uint unoptimized = CbpfInterpreter.Run(p.Unoptimized.Instructions, packet.Data, packet.WireLength);
                libpcapCount += libpcap != 0 ? 1 : 0;
                ourCount += reference != 0 ? 1 : 0;
                unoptimizedCount += unoptimized != 0 ? 1 : 0;
                if (fast != reference || il != reference || libpcap != reference || unoptimized != reference)
                {
                    if (perPacket.Count < 3)
                        perPacket.Add($"packet {i + 1} ({packet.Data.Length}/{packet.WireLength} bytes): libpcap {libpcap}, interpreter {reference}, fast {fast}, IL {il}, unoptimized {unoptimized}");
                }
            }
            packets += capture.Packets.Count;
            matched += libpcapCount;
            if (perPacket.Count > 0)
            {
                problems.Add($"{capture}: libpcap accepts {libpcapCount}, ours {ourCount} (unoptimized {unoptimizedCount})\n    "
                    + string.Join("\n    ", perPacket));
            }
        }
        Assert.True(problems.Count == 0,
            $"'{expression}' on {captures} captures ({packets} packets, {matched} accepted by libpcap): {problems.Count} problems\n"
            + string.Join("\n", problems.Take(25)) + (problems.Count > 25 ? $"\n… {problems.Count - 25} more" : ""));
    }

    /// <summary>
    /// libpcap's program for a file (compiled on its pcap_open_offline handle, as tcpdump -r compiles it) and ours with the
    /// same savefile options, with its runners; null when both refuse the expression.
    /// </summary>
    private sealed record Programs(CbpfInstruction[] Libpcap, CbpfProgram Ours, CbpfProgram Unoptimized, CbpfFilter Fast, CbpfFilter Il)
    {
        public static Programs? For(string expression, CaptureCorpus.Capture capture, List<string> problems)
        {
            var oracle = CaptureCorpus.LibpcapProgram(capture, expression);
            var ours = FilterDifferential.Ours(expression, capture.LinkType, capture.Options(optimize: true));
            var unoptimized = FilterDifferential.Ours(expression, capture.LinkType, capture.Options(optimize: false));
            string what = $"{FilterDifferential.NameOf(capture.LinkType)} files{(capture.Info.Swapped ? " in the other byte order" : "")} (e.g. {capture.Name})";
            if (!oracle.Succeeded)
            {
                if (ours.Program is not null)
                    problems.Add($"{what}: libpcap refuses it ({oracle.Error}) but we compile it");
                else if (ours.Failure is not FilterCompileException || ours.Failure.Message != oracle.Error)
                    problems.Add($"{what}: libpcap refuses it ({oracle.Error}); we say {FilterDifferential.Describe(ours.Failure!)}");
                return null;
            }
            if (ours.Program is null || unoptimized.Program is null)
            {
                problems.Add($"{what}: libpcap compiles it but we do not: {FilterDifferential.Describe((ours.Failure ?? unoptimized.Failure)!)}");
                return null;
            }
            return new Programs(oracle.Instructions!, ours.Program, unoptimized.Program,
                CbpfFilter.Create(ours.Program, CbpfEngine.FastInterpreter),
                CbpfFilter.Create(ours.Program, CbpfEngine.IlCompiler));
        }
    }

    [Fact]
    public void The_capture_corpus_is_read_and_mostly_usable()
    {
        RequireCorpus();
        var output = TestContext.Current.TestOutputHelper;
        foreach (var (name, reason) in CaptureCorpus.Skipped)
            output?.WriteLine($"skipped {name}: {reason}");
        foreach (var c in CaptureCorpus.Usable.Where(c => c.ReadError is not null))
            output?.WriteLine($"{c}: read stopped early: {c.ReadError}");
        var byType = CaptureCorpus.Usable.GroupBy(c => c.LinkType).ToDictionary(g => g.Key, g => g.Count());
        output?.WriteLine(string.Join(", ", byType.Select(kv => $"{FilterDifferential.NameOf(kv.Key)} {kv.Value}")));
        Assert.True(CaptureCorpus.Usable.Count >= 500, $"only {CaptureCorpus.Usable.Count} usable captures");
        int packets = CaptureCorpus.Usable.Sum(c => c.Packets.Count);
        output?.WriteLine($"{CaptureCorpus.Usable.Count} usable captures, {packets} packets; {CaptureCorpus.Skipped.Count} skipped");
        Assert.True(packets >= 5_000, $"only {packets} packets in the usable captures");
        foreach (var lt in new[] { LinkType.EN10MB, LinkType.IEEE802_11_RADIO, LinkType.LINUX_SLL, LinkType.PPP, LinkType.NULL, LinkType.RAW, LinkType.IPV6 })
            Assert.True(byType.ContainsKey(lt), $"no capture of link type {lt}");
    }

    [Fact]
    public void Each_expression_accepts_something_somewhere_and_rejects_something()
    {
        RequireCorpus();
        // Guards against a vacuous suite: most expressions must match some packets (a few name rare protocols).
        var neverMatching = new List<string>();
        foreach (var expression in Expressions)
        {
            long accepted = 0, seen = 0;
            foreach (var c in CaptureCorpus.Usable)
            {
                var oracle = CaptureCorpus.LibpcapProgram(c, expression);
                if (!oracle.Succeeded)
                    continue;
                foreach (var p in c.Packets)
                {
                    seen++;
                    accepted += LibPcapOracle.Filter(oracle.Instructions, p.Data, p.WireLength) != 0 ? 1 : 0;
                }
            }
            if (accepted == 0 || accepted == seen)
                neverMatching.Add($"'{expression}': {accepted} of {seen}");
        }
        Assert.True(neverMatching.Count <= 4, "expressions that match nothing or everything:\n" + string.Join("\n", neverMatching));
    }
}
