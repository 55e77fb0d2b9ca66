using KdtCapture.Cli.Ftrace;

namespace KdtCapture.Toolkit.Tests.Ftrace;

/// <summary>What `kdt ftrace` says where the kernel refuses something: one line on stderr, exit 1, tracefs left as it was.</summary>
public sealed class FtraceRefusalTests
{
    private readonly string _instance = $"kdf-refuse-{Environment.ProcessId}";

    [Theory]
    [InlineData("function", "tcp_*")]
    [InlineData("function", null)]
    public void TheFunctionTracerRefusalSaysWhatToDoInstead(string tracer, string? filter)
    {
        if (!TraceCmd.IsRoot || TraceCmd.TraceFs is null)
            Assert.Skip("needs root and tracefs");
        if (!File.ReadAllText("/sys/kernel/tracing/available_tracers").Split(' ', '\n').Contains(tracer))
            Assert.Skip($"this kernel has no {tracer} tracer at all");
        if (FunctionTracerWorks())
            Assert.Skip("this kernel allows the function tracer (the guest test records with it)");

        string[] args = filter is null
            ? ["record", "-B", _instance, "-p", tracer, "-o", "/dev/null", "--", "/bin/true"]
            : ["record", "-B", _instance, "-p", tracer, "-l", filter, "-o", "/dev/null", "--", "/bin/true"];
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = FtraceCommand.Run(args, stdout, stderr, CancellationToken.None);

        Assert.Equal(1, status);
        string error = stderr.ToString();
        Assert.Equal(error.Length - 1, error.IndexOf('\n'));
        Assert.StartsWith("kdt ftrace: this kernel refuses the function tracer (permission denied writing '", error);
        Assert.Contains("trace events instead (kdt ftrace record -e SYSTEM:EVENT", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/sys/kernel/tracing/instances/{_instance}"), "the refused record left its instance behind");
    }

    private bool FunctionTracerWorks()
    {
        string probe = $"/sys/kernel/tracing/instances/{_instance}-probe";
        Directory.CreateDirectory(probe);
        try
        {
            File.WriteAllText(Path.Combine(probe, "current_tracer"), "function");
            File.WriteAllText(Path.Combine(probe, "current_tracer"), "nop");
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        finally
        {
            Directory.Delete(probe);
        }
    }

    [Theory]
    [InlineData(new[] { "record", "-e", "kdf_no_such_system:nothing", "--", "/bin/true" }, "no event matches 'kdf_no_such_system:nothing'")]
    [InlineData(new[] { "record", "--", "/bin/true" }, "record needs something to trace")]
    [InlineData(new[] { "record", "-f", "pid == 1", "-e", "sched:sched_switch" }, "-f FILTER applies to the -e EVENT before it")]
    [InlineData(new[] { "record", "-e", "sched:sched_switch", "-l", "tcp_*", "--", "/bin/true" }, "-l, -n and -g choose functions for a tracer")]
    [InlineData(new[] { "frobnicate" }, "unknown verb 'frobnicate'")]
    [InlineData(new[] { "report", "/kdf/no/such/trace.dat" }, "cannot read /kdf/no/such/trace.dat")]
    [InlineData(new[] { "record", "-Q" }, "invalid option -- 'Q'")]
    public void BadRequestsAreOneLine(string[] args, string expected)
    {
        if (args[0] == "record" && args.Length > 2 && args[1] == "-e" && (!TraceCmd.IsRoot || TraceCmd.TraceFs is null))
            Assert.Skip("needs root and tracefs");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = FtraceCommand.Run(args, stdout, stderr, CancellationToken.None);
        Assert.Equal(1, status);
        string error = stderr.ToString();
        Assert.StartsWith("kdt ftrace: ", error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Equal(error.Length - 1, error.IndexOf('\n'));
    }

    [Fact]
    public void NotATraceDatIsOneLine()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "hello, not a trace");
            var stderr = new StringWriter();
            Assert.Equal(1, FtraceCommand.Run(["report", path], new StringWriter(), stderr, CancellationToken.None));
            Assert.Equal($"kdt ftrace: {path} is not a trace.dat file (no trace-cmd magic)\n", stderr.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
