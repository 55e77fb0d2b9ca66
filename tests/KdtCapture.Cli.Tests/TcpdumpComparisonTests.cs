using System.Text.RegularExpressions;

namespace KdtCapture.Cli.Tests;

/// <summary>
/// kdt capture against the real tcpdump, same arguments: stdout and exit status must be equal,
/// and stderr equal once "tcpdump: " is read as "kdt: ". When tcpdump fails, kdt must fail
/// with one line carrying tcpdump's message text (tcpdump may add its usage text; kdt does not).
/// </summary>
public sealed class TcpdumpComparisonTests : IDisposable
{
    private readonly List<string> _tempFiles = [];

    public void Dispose()
    {
        foreach (var file in _tempFiles)
            File.Delete(file);
    }

    private static void AssertSameAsTcpdump(string commandLine)
    {
        Tcpdump.RequireInstalled();
        string[] args = Words.Split(commandLine);
        var expected = Tcpdump.Run(args);
        var actual = Kdt.Run(["capture", .. args]);
        string context = $"kdt capture {commandLine}\n[tcpdump] {expected}\n[kdt] {actual}";

        Assert.True(expected.ExitCode == actual.ExitCode, $"exit status differs\n{context}");
        Assert.True(expected.Stdout == actual.Stdout, $"stdout differs\n{context}");
        if (expected.ExitCode == 0)
        {
            Assert.True(Normalize(expected.Stderr) == actual.Stderr, $"stderr differs\n{context}");
        }
        else
        {
            string message = FirstErrorMessage(expected.Stderr);
            Assert.True(actual.Stderr.Contains(message, StringComparison.Ordinal), $"kdt's error lacks tcpdump's \"{message}\"\n{context}");
            // Besides the notes tcpdump also prints before failing, exactly one error line.
            var errorLines = actual.Stderr.TrimEnd('\n').Split('\n')
                .Where(l => l != "Warning: assuming Ethernet" && !l.StartsWith("kdt: data link type ", StringComparison.Ordinal))
                .ToList();
            Assert.True(errorLines.Count == 1 && errorLines[0].StartsWith("kdt: ", StringComparison.Ordinal),
                $"kdt must report exactly one error line\n{context}");
            Assert.DoesNotContain("   at ", actual.Stderr, StringComparison.Ordinal);
        }
    }

    // tcpdump names itself "tcpdump: "; glibc's getopt uses argv[0], here its full path.
    private static readonly Regex s_tcpdumpPrefix = new(@"^(?:\S*/)?tcpdump: ", RegexOptions.Multiline);

    private static string Normalize(string tcpdumpStderr) => s_tcpdumpPrefix.Replace(tcpdumpStderr, "kdt: ");

    /// <summary>tcpdump's error line without its "tcpdump: " prefix.</summary>
    private static string FirstErrorMessage(string tcpdumpStderr)
    {
        foreach (var line in tcpdumpStderr.Split('\n'))
        {
            var prefix = s_tcpdumpPrefix.Match(line);
            if (prefix.Success)
                return line[prefix.Length..];
        }
        throw new InvalidOperationException($"tcpdump failed without an error line:\n{tcpdumpStderr}");
    }

    [Theory]
    [InlineData("-d ip")]
    [InlineData("-d 'tcp port 80'")]
    [InlineData("-d host 192.0.2.1 and not port 22")]
    [InlineData("-d 'udp or icmp or arp'")]
    [InlineData("-d 'ether broadcast or ether multicast'")]
    [InlineData("-d 'vlan and tcp[tcpflags] & tcp-syn != 0'")]
    [InlineData("-d")]
    [InlineData("-d ''")]
    [InlineData("-d 'ip broadcast'")]
    [InlineData("-d 'net 10.0.0.0 mask 255.0.0.0 or ip multicast'")]
    public void ReadableListing(string commandLine) => AssertSameAsTcpdump(commandLine);

    [Theory]
    [InlineData("-dd ip")]
    [InlineData("-dd 'tcp port 443'")]
    [InlineData("-ddd ip")]
    [InlineData("-ddd 'ip6 and udp port 53'")]
    [InlineData("-dddd 'icmp'")]
    [InlineData("-d -d 'tcp port 443'")]
    [InlineData("-d -d -d 'tcp port 443'")]
    [InlineData("-dd -d 'net 10.0.0.0/8'")]
    public void RepeatedDumpFlag(string commandLine) => AssertSameAsTcpdump(commandLine);

    [Theory]
    [InlineData("-O -d 'ip and ip'")]
    [InlineData("-O -d 'tcp port 80'")]
    [InlineData("-Od 'host 192.0.2.1 or host 192.0.2.2'")]
    [InlineData("-dO 'not ip6'")]
    [InlineData("--no-optimize -dd 'udp portrange 1000-2000'")]
    [InlineData("-O -ddd 'ip[0] & 0xf > 5'")]
    public void WithoutOptimizer(string commandLine) => AssertSameAsTcpdump(commandLine);

    [Theory]
    [InlineData("-y EN10MB -d 'tcp port 80'")]
    [InlineData("-y en10mb -d ip")]
    [InlineData("-y RAW -d 'tcp port 80'")]
    [InlineData("-y raw -dd 'ip6'")]
    [InlineData("-y IPV4 -d 'udp'")]
    [InlineData("-y ipv6 -d 'udp'")]
    [InlineData("-y LINUX_SLL -d 'tcp port 80'")]
    [InlineData("-y linux_sll2 -d 'arp or ip'")]
    [InlineData("-y NULL -d 'ip or ip6'")]
    [InlineData("-y LOOP -d ip")]
    [InlineData("-y PPP -d 'ip and tcp'")]
    [InlineData("-y IEEE802_11 -d 'wlan host 00:11:22:33:44:55'")]
    [InlineData("-y ieee802_11_radio -d 'type mgt subtype beacon'")]
    [InlineData("-y LINUX_SLL -O -d 'inbound'")]
    [InlineData("--linktype=raw -d 'host 192.0.2.1'")]
    [InlineData("-yraw -d 'ip'")]
    public void LinkTypes(string commandLine) => AssertSameAsTcpdump(commandLine);

    [Theory]
    [InlineData("-y foo -d ip")]
    [InlineData("-y DLT_EN10MB -d ip")]
    [InlineData("-y 1 -d ip")]
    public void BadLinkType(string commandLine) => AssertSameAsTcpdump(commandLine);

    [Theory]
    [InlineData("-d 'tcp port'")]
    [InlineData("-d 'ip and ('")]
    [InlineData("-d 'host'")]
    [InlineData("-d 'port 99999'")]
    [InlineData("-d 'ip proto foo'")]
    [InlineData("-y RAW -d 'ether host 00:11:22:33:44:55'")]
    public void BadExpression(string commandLine) => AssertSameAsTcpdump(commandLine);

    [Theory]
    [InlineData("-s 0 -d ip")]
    [InlineData("-s 100 -d ip")]
    [InlineData("-s100 -d 'tcp port 80'")]
    [InlineData("-s 0x100 -d ip")]
    [InlineData("-s 010 -d ip")]
    [InlineData("-s +5 -d ip")]
    [InlineData("--snapshot-length=96 -dd ip")]
    [InlineData("--snap 64 -ddd ip")]
    [InlineData("-s 300000 -d ip")]
    [InlineData("-s -1 -d ip")]
    [InlineData("-s abc -d ip")]
    [InlineData("-s 08 -d ip")]
    public void Snaplen(string commandLine) => AssertSameAsTcpdump(commandLine);

    [Theory]
    [InlineData("ip -d")]
    [InlineData("tcp -d port 80")]
    [InlineData("-d -- ip")]
    [InlineData("-nn -d ip")]
    [InlineData("-nnvv -d ip")]
    [InlineData("-d -c 5 -w /dev/null ip")]
    [InlineData("-d --n ip")]
    [InlineData("-d --bogus ip")]
    [InlineData("-d -g ip")]
    [InlineData("-d -y")]
    [InlineData("-d --snapshot-length")]
    [InlineData("-d --count=3 ip")]
    [InlineData("-d 'ip[0] = 1' and len '>' -1")]
    public void TcpdumpGetopt(string commandLine) => AssertSameAsTcpdump(commandLine);

    [Fact]
    public void FilterFileWithComments()
    {
        string file = WriteTemp("# web traffic, and name service\ntcp port 80 # http\n  or udp port 53 # dns\n#\n");
        AssertSameAsTcpdump($"-d -F {file}");
        AssertSameAsTcpdump($"-O -dd -F {file}");
    }

    [Fact]
    public void FilterFileWinsOverCommandLineExpression()
    {
        string file = WriteTemp("ip and # a comment # with another '#'\nudp");
        AssertSameAsTcpdump($"-d -F {file} tcp");
        AssertSameAsTcpdump($"-d -F {file} 'garbage (('");
    }

    [Fact]
    public void FilterFileEndsAtNulByte()
    {
        string file = WriteTemp("ip\0udp");
        AssertSameAsTcpdump($"-d -F {file}");
    }

    [Fact]
    public void FilterFileErrors()
    {
        AssertSameAsTcpdump("-d -F /nonexistent/kdt-filter");
        AssertSameAsTcpdump($"-d -F {Path.GetTempPath()}");
        AssertSameAsTcpdump($"-d -F {WriteTemp("host '#x'")}");
    }

    [Theory]
    [InlineData("-i lo -d ip")]
    [InlineData("-i lo -dd 'tcp port 80'")]
    [InlineData("-i lo -s 100 -d ip")]
    [InlineData("-i any -d ip")]
    [InlineData("-i any -y linux_sll -d ip")]
    [InlineData("-i any -y en10mb -d ip")]
    [InlineData("-i lo -y EN10MB -d ip")]
    [InlineData("-i lo -y linux_sll -d ip")]
    [InlineData("--interface=lo -O -d 'ip and ip'")]
    [InlineData("-i lo -d 'ip broadcast'")]
    [InlineData("-i any -d 'ip broadcast'")]
    [InlineData("-i lo -d vlan")]
    [InlineData("-i lo -d 'vlan 10 and ip'")]
    [InlineData("-i lo -O -d 'vlan and vlan 20'")]
    [InlineData("-i any -y linux_sll -d 'vlan'")]
    [InlineData("-i lo -d inbound")]
    [InlineData("-i kdt-no-such-interface -d ip")]
    public void Interface(string commandLine)
    {
        Tcpdump.RequireLiveInterfaces();
        AssertSameAsTcpdump(commandLine);
    }

    [Fact]
    public void Help()
    {
        Tcpdump.RequireInstalled();
        var expected = Tcpdump.Run(["--help"]);
        var actual = Kdt.Run("capture", "--help");
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal("", actual.Stderr);
        Assert.StartsWith("Usage: kdt capture", actual.Stdout, StringComparison.Ordinal);
        Assert.Contains("Examples:", actual.Stdout, StringComparison.Ordinal);
        Assert.Contains("kdt capture -d 'tcp port 443'", actual.Stdout, StringComparison.Ordinal);
        // -h acts when getopt reaches it, as in tcpdump: later options are not examined.
        Assert.Equal(Tcpdump.Run(["-h", "-g"]).ExitCode, Kdt.Run("capture", "-h", "-g").ExitCode);
    }

    private string WriteTemp(string content)
    {
        string path = Path.Combine(Path.GetTempPath(), $"kdt-test-{Guid.NewGuid():N}.filter");
        File.WriteAllText(path, content);
        _tempFiles.Add(path);
        return path;
    }
}
