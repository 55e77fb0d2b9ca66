namespace KdtCapture.Cli.Tests.Offline;

/// <summary>
/// `kdt capture -r big | head`: when the reader of stdout goes away kdt stops, quietly, with
/// the status SIGPIPE gives tcpdump, instead of reading (and printing into nothing) the rest.
/// </summary>
public sealed class BrokenPipeTests
{
    private static (int KdtStatus, string Stderr) RunIntoHead(TempDir dir, string kdtArguments)
    {
        // 200,000 packets: far more output than a pipe buffer holds, so kdt must hit the closed pipe.
        string input = dir["big.pcap"];
        Synthetic.WriteUdpPcap(input, 200_000, 60);
        string script = $"'{Kdt.Binary}' capture {kdtArguments} -r '{input}' 2>'{dir["err"]}' | head -c 1000 >/dev/null; echo ${{PIPESTATUS[0]}}";
        var run = ProcessRunner.Run("bash", ["-c", script], TimeSpan.FromSeconds(120));
        Assert.Equal(0, run.ExitCode);
        return (int.Parse(run.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(dir["err"]));
    }

    [Fact]
    public void Printing_into_a_closed_pipe_stops_with_sigpipes_status_and_no_error_line()
    {
        using var dir = new TempDir();
        (int status, string stderr) = RunIntoHead(dir, "-n");
        Assert.Equal(141, status);
        Assert.DoesNotContain("error", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_a_capture_into_a_closed_pipe_stops_the_same_way()
    {
        using var dir = new TempDir();
        (int status, string stderr) = RunIntoHead(dir, "-w -");
        Assert.Equal(141, status);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }
}
