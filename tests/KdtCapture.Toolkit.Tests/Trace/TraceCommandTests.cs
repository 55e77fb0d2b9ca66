using KdtCapture.Cli;
using KdtCapture.Toolkit.Trace;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>`kdt trace` in-process: the list, each tool's help, and one-line refusals.</summary>
public sealed class TraceCommandTests
{
    private static (int Status, string Stdout, string Stderr) Kdt(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = KdtCommand.Run(args, stdout, stderr);
        return (status, stdout.ToString(), stderr.ToString());
    }

    public static TheoryData<string> ToolNames()
    {
        var data = new TheoryData<string>();
        foreach (var t in TraceTools.All)
            data.Add(t.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(ToolNames))]
    public void EveryToolsHelpHasExamplesOfThatTool(string tool)
    {
        var (status, stdout, stderr) = Kdt("trace", tool, "--help");
        Assert.Equal(0, status);
        Assert.Equal("", stderr);
        Assert.StartsWith($"kdt trace {tool}: ", stdout, StringComparison.Ordinal);
        int examples = stdout.IndexOf("\nExamples:\n", StringComparison.Ordinal);
        Assert.True(examples > 0, "no Examples section");
        var lines = stdout[examples..].Split('\n').Where(l => l.StartsWith($"  kdt trace {tool}", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count >= 2, $"fewer than two examples of {tool}");
        Assert.Equal(stdout, Kdt("trace", tool, "-h").Stdout);
    }

    [Fact]
    public void ListNamesEveryToolWithThisKernelsSupport()
    {
        var (status, stdout, _) = Kdt("trace", "--list");
        Assert.Equal(0, status);
        var lines = stdout.Split('\n');
        Assert.Equal("TOOL        SUPPORTED  DESCRIPTION", lines[0]);
        foreach (var t in TraceTools.All)
        {
            string line = Assert.Single(lines, l => l.StartsWith(t.Name + " ", StringComparison.Ordinal));
            string expected = TraceSupport.WhyNot(t) is null ? "yes" : "no";
            Assert.Equal(expected, line[12..].Split(' ')[0]);
            Assert.EndsWith(t.Summary, line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ATracepointTheKernelLacksIsOneSentence()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
            Assert.Skip("no kernel BTF: every tool is refused for that reason instead");
        string? why = TraceSupport.WhyNot("kdrtool", ["kdr_no_such_tracepoint"]);
        Assert.Equal("kdrtool needs the tracepoint kdr_no_such_tracepoint, which this kernel does not have", why);
    }

    [Theory]
    [InlineData("trace frobsnoop", "no trace tool 'frobsnoop' (see 'kdt trace --list' for the tools)")]
    [InlineData("trace -p 1", "give the tool first: kdt trace TOOL [options] (see 'kdt trace --list')")]
    [InlineData("trace tcpdrop -x", "tcpdrop: option -x does not apply to tcpdrop (see 'kdt trace tcpdrop --help')")]
    [InlineData("trace execsnoop -p abc", "execsnoop: -p PID needs a positive whole number, not 'abc'")]
    [InlineData("trace runqlat -d 0", "runqlat: -d SECONDS needs a positive number of seconds, not '0'")]
    [InlineData("trace runqlat -P -L", "runqlat: -P and -L both choose the histograms: give one (per process or per thread)")]
    [InlineData("trace execsnoop 5", "execsnoop: unexpected argument '5' (see 'kdt trace execsnoop --help')")]
    [InlineData("trace syscount -e EWHAT", "syscount: -e needs an errno name or number (ENOENT or 2), not 'EWHAT'")]
    [InlineData("trace opensnoop -c a-name-longer-than-15", "-c 'a-name-longer-than-15' is longer than the kernel's 15-byte comm: give the first 15 bytes ('a-name-longer-t')")]
    public void BadCommandLinesAreRefusedInOneLine(string commandLine, string message)
    {
        var (status, stdout, stderr) = Kdt(commandLine.Split(' '));
        if (commandLine.Contains("-c a-name", StringComparison.Ordinal) && TraceSupport.WhyNot(TraceTools.Find("opensnoop")!) is { } why)
            Assert.Skip(why); // the comm is checked when the program is prepared
        Assert.Equal(1, status);
        Assert.Equal("", stdout);
        Assert.Equal($"kdt trace: {message}\n", stderr);
    }

    [Fact]
    public void ADurationEndsTheToolAndPrintsTheSummary()
    {
        TraceRun.SkipUnlessSupported(TraceTools.Find("runqlat")!);
        var (status, stdout, stderr) = Kdt("trace", "runqlat", "-d", "1", "-m");
        Assert.Equal(0, status);
        Assert.Equal("", stderr);
        Assert.StartsWith("Tracing run queue latency... Hit Ctrl-C to end.\n\n     msecs               : count     distribution\n", stdout, StringComparison.Ordinal);
    }
}
