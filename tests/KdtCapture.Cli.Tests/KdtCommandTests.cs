namespace KdtCapture.Cli.Tests;

/// <summary>The kdt executable's own behaviour, where no tcpdump and no compiled filter is involved.</summary>
public class KdtCommandTests
{
    [Fact]
    public void HelpListsOnlyExistingCommands()
    {
        var result = Kdt.Run("--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Stderr);
        Assert.Contains("capture", result.Stdout, StringComparison.Ordinal);
        foreach (var command in new[] { "trace", "ftrace", "hotfix", "psi", "btf" })
        {
            Assert.Matches($@"(?m)^\s+{command}\b", result.Stdout);
            Assert.Equal(0, Kdt.Run(command, "--help").ExitCode);
        }
        Assert.Equal(Kdt.Run("hotfix", "--help").Stdout, Kdt.Run("help", "hotfix").Stdout);
        Assert.Equal(result.Stdout, Kdt.Run("-h").Stdout);
        Assert.Equal(result.Stdout, Kdt.Run("help").Stdout);
    }

    [Fact]
    public void Version()
    {
        var result = Kdt.Run("--version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^kdt version \d+\.\d+\.\d+\n$", result.Stdout);
        Assert.Equal(result.Stdout, Kdt.Run("capture", "--version").Stdout);
    }

    [Fact]
    public void CaptureHelpHasExamples()
    {
        var result = Kdt.Run("capture", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Examples:", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(result.Stdout, Kdt.Run("capture", "-h").Stdout);
        Assert.Equal(result.Stdout, Kdt.Run("help", "capture").Stdout);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("--frobnicate")]
    [InlineData("help frobnicate")]
    public void UnknownCommandIsOneLineError(string commandLine)
    {
        var result = Kdt.Run(Words.Split(commandLine));
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        AssertOneErrorLine(result);
    }

    [Theory]
    [InlineData("-J -i lo")]
    [InlineData("-J")]
    [InlineData("-J -i nosuchdev0")]
    public void TimestampTypesAreListedAsTcpdumpListsThem(string commandLine)
    {
        Tcpdump.RequireLiveInterfaces();
        var expected = Tcpdump.Run(Words.Split(commandLine));
        var result = Kdt.Run(["capture", .. Words.Split(commandLine)]);
        Assert.Equal(expected.ExitCode, result.ExitCode);
        Assert.Equal(expected.Stdout, result.Stdout);
        Assert.Equal(expected.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), result.Stderr);
    }

    [Fact]
    public void TimestampTypesOfATapCannotBeSet()
    {
        var result = Kdt.Run("capture", "-J", "-i", "tp_btf/net_dev_queue");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Time stamp type cannot be set for tp_btf/net_dev_queue\n", result.Stderr);
    }

    [Theory]
    [InlineData("", "udp port 53")]
    [InlineData("-y RAW", "udp port 53")]
    [InlineData("", "vlan 5 and ip")]
    [InlineData("-y EN10MB -dd", "tcp[tcpflags] & tcp-syn != 0")]
    public void DumpAtATapPrintsTheProgramTheTapRuns(string options, string expression)
    {
        // A tap has no live socket: no kernel VLAN tag metadata, netmask 0, as a dead handle of
        // that link type compiles (tcpdump -y LT -d without -i). Without -y, the EN10MB program.
        var optionWords = Words.Split(options);
        string[] dump = optionWords.Any(w => w.StartsWith("-d", StringComparison.Ordinal)) ? [] : ["-d"];
        var expected = Tcpdump.Run([.. (optionWords.Length > 0 && optionWords[0] == "-y" ? optionWords : ["-y", "EN10MB", .. optionWords]), .. dump, expression]);
        Assert.Equal(0, expected.ExitCode);
        var result = Kdt.Run(["capture", "-i", "tp_btf/net_dev_queue", .. optionWords, .. dump, expression]);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(expected.Stdout, result.Stdout);
        AssertOneErrorLine(result);
        Assert.Contains(optionWords.Length > 0 && optionWords[0] == "-y" ? "data link type" : "EN10MB program", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-y foo -d ip", "invalid data link type foo")]
    [InlineData("-s 262145 -d ip", "invalid snaplen 262145 (must be >= 0 and <= 262144)")]
    [InlineData("-d -Y", "invalid option -- 'Y'")]
    [InlineData("-d -i", "option requires an argument -- 'i'")]
    [InlineData("-d --linktype", "option '--linktype' requires an argument")]
    [InlineData("--version=1", "option '--version' doesn't allow an argument")]
    [InlineData("-d --l=1", "option '--l=1' is ambiguous; possibilities: '--list-interfaces' '--list-time-stamp-types' '--list-data-link-types' '--linktype'")]
    [InlineData("-d -F /nonexistent/kdt-filter", "can't open /nonexistent/kdt-filter: No such file or directory")]
    [InlineData("-d -i kdt-no-such-interface ip", "kdt-no-such-interface: No such device exists")]
    [InlineData("-d -i lo -y linux_sll2 ip", "LINUX_SLL2 is not one of the DLTs supported by this device")]
    public void RefusalsAreOneLineWithTcpdumpWording(string commandLine, string message)
    {
        var result = Kdt.Run(["capture", .. Words.Split(commandLine)]);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        AssertOneErrorLine(result);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void AssumingEthernetWarningComesFirst()
    {
        // Printed before the filter file is read, as tcpdump does, even when reading then fails.
        var result = Kdt.Run("capture", "-d", "-F", "/nonexistent/kdt-filter");
        Assert.StartsWith("Warning: assuming Ethernet\n", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("kdt: can't open /nonexistent/kdt-filter: No such file or directory\n",
            Kdt.Run("capture", "-y", "raw", "-d", "-F", "/nonexistent/kdt-filter").Stderr);
    }

    /// <summary>One "kdt: " line, after tcpdump's "Warning: assuming Ethernet" where that applies.</summary>
    private static void AssertOneErrorLine(ProcessResult result)
    {
        string[] lines = result.Stderr.TrimEnd('\n').Split('\n').Where(l => l != "Warning: assuming Ethernet").ToArray();
        Assert.True(lines.Length == 1 && lines[0].StartsWith("kdt: ", StringComparison.Ordinal), $"expected one 'kdt: ' line on stderr:\n{result}");
        Assert.DoesNotContain("Exception", result.Stderr, StringComparison.Ordinal);
    }
}
