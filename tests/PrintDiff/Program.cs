using KdtCapture.Testing;

// PrintDiff: how far KdtCapture's packet printer agrees with tcpdump, per protocol family, and where it does not.
// See README.md for the invocations.

var files = new List<string>();
var optionNames = new List<string>();
var families = new List<string>();
int maxDifferences = 20;
bool allOptions = false, quiet = false;

for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "-o" or "--options":
            optionNames.Add(args[++i]);
            break;
        case "-f" or "--family":
            families.Add(args[++i]);
            break;
        case "-m" or "--max":
            maxDifferences = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--all-options":
            allOptions = true;
            break;
        case "-q" or "--quiet":
            quiet = true;
            break;
        case "-h" or "--help":
            Console.WriteLine("""
                usage: PrintDiff [-o "OPTIONS"]... [-f FAMILY]... [-m N] [--all-options] [-q] [FILE...]
                  FILE            captures to compare (default: the tcpdump-tests corpus, link types the printer decodes)
                  -o "-n -e"      an option set (repeatable); default: the differential test's sets
                  --all-options   every known option set (-vv, -x, -X, -tttt, --nano, ...)
                  -f FAMILY       show differences of this family only (repeatable): Ethernet ARP IPv4 IPv6 TCP UDP
                                  ICMP ICMPv6 DNS TCP-app UDP-app IP-other Link-other
                  -m N            show at most N differences per option set (default 20; 0 = none)
                  -q              tables only
                """);
            return 0;
        default:
            files.Add(args[i]);
            break;
    }
}

if (PrinterDifferential.TcpdumpPath is null)
{
    Console.Error.WriteLine("PrintDiff: tcpdump is not installed");
    return 2;
}

var sets = PrinterDifferential.AllOptionSets
    .Where(s => optionNames.Count > 0 ? optionNames.Contains(s.Name) : allOptions || PrinterDifferential.OptionSets.Contains(s))
    .ToList();
foreach (var name in optionNames.Where(n => sets.All(s => s.Name != n)))
{
    Console.Error.WriteLine($"PrintDiff: unknown option set '{name}'; known: {string.Join(", ", PrinterDifferential.AllOptionSets.Select(s => $"'{s.Name}'"))}");
    return 2;
}

List<PrinterDifferential.Capture> captures;
if (files.Count > 0)
{
    captures = [];
    foreach (var f in files)
    {
        var c = PrinterDifferential.Load(f);
        if (c is null)
        {
            Console.Error.WriteLine($"PrintDiff: libpcap cannot read {f}");
            return 2;
        }
        captures.Add(c);
    }
}
else
{
    if (PrinterDifferential.CorpusDirectory is null)
    {
        Console.Error.WriteLine("PrintDiff: no corpus (set KDT_TCPDUMP_TESTS to the tcpdump-tests directory)");
        return 2;
    }
    captures = [.. PrinterDifferential.Captures];
}

bool allIdentical = true;
foreach (var set in sets)
{
    var (scores, differences) = PrinterDifferential.Measure(captures, set);
    Console.WriteLine(PrinterDifferential.Report($"tcpdump {set.Name}: {captures.Count} captures", scores));
    var shown = differences.Where(d => families.Count == 0 || families.Contains(d.Family)).ToList();
    allIdentical &= differences.Count == 0;
    if (quiet || maxDifferences == 0)
        continue;
    foreach (var d in shown.Take(maxDifferences))
        Console.Write(PrinterDifferential.Describe(d));
    if (shown.Count > maxDifferences)
        Console.WriteLine($"... {shown.Count - maxDifferences} more differing packets");
    Console.WriteLine();
}
return allIdentical ? 0 : 1;
