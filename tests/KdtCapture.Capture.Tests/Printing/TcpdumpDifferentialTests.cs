using KdtCapture.Testing;

namespace KdtCapture.Capture.Tests.Printing;

/// <summary>
/// The printer against the installed tcpdump over tcpdump's own test captures (../shared/corpora/tcpdump-tests,
/// read in place): the share of tcpdump's lines the printer reproduces exactly, per protocol family and option set.
/// To see the differences of one capture: dotnet run -c Release --project tests/PrintDiff -- FILE (tests/PrintDiff/README.md).
/// </summary>
public sealed class TcpdumpDifferentialTests
{
    // The floors: shares of identical lines measured on the corpus, rounded down. Raise them as the printer
    // improves; a drop below one is a regression. (Measured with tcpdump 4.99.3 / libpcap 1.10.3.)
    private static readonly Dictionary<(string Options, string Family), double> Floors = BuildFloors();

    private static Dictionary<(string, string), double> BuildFloors()
    {
        var floors = new Dictionary<(string, string), double>();
        void Set(string options, double ethernet, double arp, double ipv4, double ipv6, double tcp, double udp,
            double icmp, double icmp6, double dns, double core)
        {
            floors[(options, "Ethernet")] = ethernet;
            floors[(options, "ARP")] = arp;
            floors[(options, "IPv4")] = ipv4;
            floors[(options, "IPv6")] = ipv6;
            floors[(options, "TCP")] = tcp;
            floors[(options, "UDP")] = udp;
            floors[(options, "ICMP")] = icmp;
            floors[(options, "ICMPv6")] = icmp6;
            floors[(options, "DNS")] = dns;
            floors[(options, "core")] = core;
        }
        //      options    Ethernet ARP   IPv4  IPv6  TCP   UDP   ICMP  ICMPv6 DNS  core
        Set("-n", 0.99, 0.99, 0.99, 0.33, 0.99, 0.99, 0.99, 0.80, 0.99, 0.98);
        Set("-n -e", 0.99, 0.99, 0.99, 0.33, 0.99, 0.99, 0.99, 0.80, 0.99, 0.98);
        Set("-n -q", 0.99, 0.99, 0.99, 0.33, 0.99, 0.99, 0.99, 0.80, 0.99, 0.98);
        Set("-n -tt", 0.99, 0.99, 0.99, 0.33, 0.99, 0.99, 0.99, 0.80, 0.99, 0.98);
        Set("-n -ttt", 0.99, 0.99, 0.99, 0.33, 0.99, 0.99, 0.99, 0.80, 0.99, 0.98);
        Set("-n -v", 0.99, 0.99, 0.99, 0.33, 0.99, 0.99, 0.88, 0.85, 0.99, 0.98);
        return floors;
    }

    public static TheoryData<string> OptionSets => new(PrinterDifferential.OptionSets.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void Identical_lines_per_family_stay_above_their_floors(string options)
    {
        if (PrinterDifferential.TcpdumpPath is null)
            Assert.Skip("tcpdump is not installed (apt-get install tcpdump); the printer is compared against it");
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap0.8) is not installed; it reads the captures");
        if (PrinterDifferential.Captures.Count == 0)
            Assert.Skip("the tcpdump-tests capture corpus (../shared/corpora/tcpdump-tests) is not on this machine");

        var set = PrinterDifferential.OptionSets.Single(s => s.Name == options);
        var (scores, differences) = PrinterDifferential.Measure(PrinterDifferential.Captures, set);
        var output = TestContext.Current.TestOutputHelper!;
        output.WriteLine(PrinterDifferential.Report($"tcpdump {set.Name}: {PrinterDifferential.Captures.Count} captures", scores));

        long coreLines = 0, coreSame = 0;
        var failures = new List<string>();
        foreach (var family in PrinterDifferential.CoreFamilies)
        {
            if (!scores.TryGetValue(family, out var score))
                continue;
            coreLines += score.Lines;
            coreSame += score.Identical;
            double floor = Floors[(options, family)];
            if (score.Share < floor)
                failures.Add($"{family}: {score.Share:P2} < floor {floor:P0}");
        }
        double core = coreLines == 0 ? 1 : (double)coreSame / coreLines;
        if (core < Floors[(options, "core")])
            failures.Add($"core: {core:P2} < floor {Floors[(options, "core")]:P0}");

        output.WriteLine("First differing packets of the core families:");
        foreach (var d in differences.Where(d => PrinterDifferential.CoreFamilies.Contains(d.Family)).Take(15))
            output.WriteLine(PrinterDifferential.Describe(d));

        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }
}
