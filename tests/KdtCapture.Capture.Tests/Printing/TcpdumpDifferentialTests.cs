using KdtCapture.Testing;

namespace KdtCapture.Capture.Tests.Printing;

/// <summary>
/// The printer against the installed tcpdump over tcpdump's own test captures (../shared/corpora/tcpdump-tests,
/// read in place): the share of tcpdump's lines the printer reproduces exactly, per protocol family and option set.
/// To see the differences of one capture: dotnet run -c Release --project tests/PrintDiff -- FILE (tests/PrintDiff/README.md).
/// </summary>
public sealed class TcpdumpDifferentialTests
{
    // The floors: shares of identical lines measured on the corpus, rounded down (a family at 100 % gets 99.5 %).
    // Raise them as the printer improves; a drop below one is a regression. (tcpdump 4.99.3 / libpcap 1.10.3.)
    // The core families are those whose text the printer promises; the others (application protocols, IP
    // protocols and link types beyond the core) mostly get a short summary line, and their floors only guard
    // against losing what already matches.
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
        void SetOthers(string options, double tcpApp, double udpApp, double ipOther, double linkOther)
        {
            floors[(options, "TCP-app")] = tcpApp;
            floors[(options, "UDP-app")] = udpApp;
            floors[(options, "IP-other")] = ipOther;
            floors[(options, "Link-other")] = linkOther;
        }
        //  options          Ethernet ARP  IPv4   IPv6   TCP    UDP    ICMP   ICMPv6 DNS    core
        Set("-n",        0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -e",     0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -q",     0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -tt",    0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -ttt",   0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -tttt",  0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -ttttt", 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n --nano", 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -v",     0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -v -K",  0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -S",     0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -#",     0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -x",     0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -xx",    0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -X",     0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -XX",    0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        Set("-n -A",     0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995, 0.995);
        //  options          TCP-app UDP-app IP-other Link-other
        SetOthers("-n",        0.96, 0.70, 0.73, 0.44);
        SetOthers("-n -e",     0.96, 0.70, 0.73, 0.44);
        SetOthers("-n -q",     0.99, 0.99, 0.74, 0.53);
        SetOthers("-n -tt",    0.96, 0.70, 0.73, 0.44);
        SetOthers("-n -ttt",   0.96, 0.70, 0.73, 0.44);
        SetOthers("-n -tttt",  0.96, 0.70, 0.73, 0.44);
        SetOthers("-n -ttttt", 0.96, 0.70, 0.73, 0.44);
        SetOthers("-n --nano", 0.96, 0.70, 0.73, 0.44);
        SetOthers("-n -v",     0.10, 0.21, 0.42, 0.12);
        SetOthers("-n -v -K",  0.10, 0.21, 0.42, 0.12);
        SetOthers("-n -S",     0.96, 0.70, 0.73, 0.44);
        SetOthers("-n -#",     0.96, 0.70, 0.73, 0.44);
        SetOthers("-n -x",     0.85, 0.97, 0.97, 0.97);
        SetOthers("-n -xx",    0.99, 0.98, 0.97, 0.97);
        SetOthers("-n -X",     0.85, 0.97, 0.97, 0.97);
        SetOthers("-n -XX",    0.99, 0.98, 0.97, 0.97);
        SetOthers("-n -A",     0.97, 0.88, 0.90, 0.68);
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
        foreach (var (family, score) in scores)
        {
            if (PrinterDifferential.CoreFamilies.Contains(family))
            {
                coreLines += score.Lines;
                coreSame += score.Identical;
            }
            if (Floors.TryGetValue((options, family), out double floor) && score.Share < floor)
                failures.Add($"{family}: {score.Share:P2} < floor {floor:P1}");
        }
        double core = coreLines == 0 ? 1 : (double)coreSame / coreLines;
        if (core < Floors[(options, "core")])
            failures.Add($"core: {core:P2} < floor {Floors[(options, "core")]:P1}");

        output.WriteLine("First differing packets of the core families:");
        foreach (var d in differences.Where(d => PrinterDifferential.CoreFamilies.Contains(d.Family)).Take(15))
            output.WriteLine(PrinterDifferential.Describe(d));

        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }
}
