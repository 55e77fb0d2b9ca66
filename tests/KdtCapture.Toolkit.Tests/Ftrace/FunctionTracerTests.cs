using System.Net;
using System.Net.Sockets;
using KdtCapture.Cli.Ftrace;
using KdtCapture.Testing;

namespace KdtCapture.Toolkit.Tests.Ftrace;

/// <summary>
/// The function tracers, where the kernel allows them (the tests/vm guest; this host refuses
/// them, which FtraceRefusalTests covers): what `kdt ftrace record -p function` and
/// `-p function_graph` write, trace-cmd reads.
/// </summary>
public sealed class FunctionTracerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kdf-ftrace-fn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string? WhyNot(string tracer)
    {
        if (TraceCmd.Missing() is { } why)
            return why;
        if (!File.ReadAllText("/sys/kernel/tracing/available_tracers").Split(' ', '\n').Contains(tracer))
            return $"this kernel has no {tracer} tracer";
        try
        {
            // Refused with EPERM on this host (a VM policy), even where available_tracers lists it.
            File.ReadAllText("/sys/kernel/tracing/set_ftrace_filter");
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return "this kernel refuses the function tracer (the tests/vm guest runs this test)";
        }
    }

    [Fact]
    public async Task FunctionRecordOfTcpIsReadByTraceCmd()
    {
        if (WhyNot("function") is { } why)
            Assert.Skip(why);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accept = listener.AcceptTcpClientAsync(TestContext.Current.CancellationToken).AsTask();

        string dat = Path.Combine(_dir, "function.dat");
        var stderr = new StringWriter();
        int status = FtraceCommand.Run(["record", "-B", $"kdf-fn-{Environment.ProcessId}", "-p", "function", "-l", "tcp_*", "-o", dat,
            "--", "/bin/bash", "-c", $"exec 3<>/dev/tcp/127.0.0.1/{port}; echo x >&3"], new StringWriter(), stderr, CancellationToken.None);
        Assert.True(status == 0, stderr.ToString());
        using (await accept) { }

        var oracle = TraceCmd.Run("report", dat);
        Assert.True(oracle.ExitCode == 0, oracle.Stderr);
        var theirs = TraceCmd.Lines(oracle.Stdout);
        Assert.Contains(theirs, l => l.Contains(" function:", StringComparison.Ordinal) && l.Contains("tcp_v4_connect", StringComparison.Ordinal));
        Assert.All(theirs.Skip(1), l => Assert.Contains(" function:", l, StringComparison.Ordinal));
        var ours = new StringWriter();
        Assert.Equal(0, FtraceCommand.Run(["report", dat], ours, stderr, CancellationToken.None));
        Assert.Equal(theirs, TraceCmd.Lines(ours.ToString()));
    }

    [Fact]
    public void FunctionGraphRecordOfWriteIsReadByTraceCmd()
    {
        if (WhyNot("function_graph") is { } why)
            Assert.Skip(why);
        string dat = Path.Combine(_dir, "graph.dat");
        var stderr = new StringWriter();
        int status = FtraceCommand.Run(["record", "-p", "function_graph", "-g", "__x64_sys_write", "-o", dat, "-F",
            "--", "/bin/sh", "-c", "echo hello > /dev/null"], new StringWriter(), stderr, CancellationToken.None);
        Assert.True(status == 0, stderr.ToString());
        Assert.Equal("nop", File.ReadAllText("/sys/kernel/tracing/current_tracer").Trim());

        var oracle = TraceCmd.Run("report", dat);
        Assert.True(oracle.ExitCode == 0, oracle.Stderr);
        // trace-cmd's graph plugin folds entry/exit pairs into one line, so only the kinds of
        // record are compared, not the lines.
        Assert.Contains(TraceCmd.Lines(oracle.Stdout), l => l.Contains("funcgraph_entry:", StringComparison.Ordinal));
        var ours = new StringWriter();
        Assert.Equal(0, FtraceCommand.Run(["report", dat], ours, stderr, CancellationToken.None));
        Assert.Contains(TraceCmd.Lines(ours.ToString()), l => l.Contains("funcgraph_entry:", StringComparison.Ordinal));
        Assert.Contains(TraceCmd.Lines(ours.ToString()), l => l.Contains("funcgraph_exit:", StringComparison.Ordinal));
    }
}

/// <summary>Runs <see cref="FunctionTracerTests"/> in the tests/vm guest, whose stock Debian kernel has the function tracers.</summary>
public sealed class GuestFunctionTracerTests
{
    [Fact]
    public void FunctionTracerTestsPassInTheGuest()
    {
        if (VmHarness.IsGuest)
            Assert.Skip("already in the guest");
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("the guest runs the tests as root; run this as root");
        if (!VmHarness.IsAvailable(out var reason))
            Assert.Skip(reason);
        // One vCPU: with two, multi-threaded TCG and the kernel's live patching of every function's
        // call site (function_graph hooks them all) left both vCPUs stuck in soft lockups, for
        // trace-cmd as for kdt (tests/vm/README.md); with one, every run took some 20 s.
        var (tests, run) = VmHarness.RunTestClass(typeof(FunctionTracerTests), TimeSpan.FromMinutes(6), TestContext.Current.CancellationToken, cpus: 1);
        Assert.Equal(2, tests.Count);
        foreach (var t in tests)
            Assert.True(t.Result == "Pass", $"{t.Name}: {t.Result} in the guest: {t.Details}\n{run.Stderr}");
    }
}
