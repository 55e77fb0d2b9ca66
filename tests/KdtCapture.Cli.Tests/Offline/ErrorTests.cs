namespace KdtCapture.Cli.Tests.Offline;

/// <summary>
/// Bad input files, filters, options and outputs: kdt fails as tcpdump does (exit 1, tcpdump's
/// message after "kdt: "), with one error line and never a stack trace; a file cut short prints the
/// packets before the cut and then tcpdump's warning.
/// </summary>
public sealed class ErrorTests
{
    private static readonly Dictionary<string, string?> Utc = new() { ["TZ"] = "UTC" };

    [Theory]
    [InlineData("-r {dir}/missing.pcap")]
    [InlineData("-r {dir}")]
    [InlineData("-r /etc/passwd")]
    [InlineData("-r {dir}/empty")]
    [InlineData("-r {dir}/three")]
    [InlineData("-r {dir}/ten")]
    [InlineData("-r {corpus} 'tcp port'")]
    [InlineData("-r {corpus} 'ether host 1:2:3:4:5:6:7'")]
    [InlineData("-r {corpus} -c 0")]
    [InlineData("-r {corpus} -c abc")]
    [InlineData("-r {corpus} -w {dir}/x -C 0")]
    [InlineData("-r {corpus} -w {dir}/x -C 1k")]
    [InlineData("-r {corpus} -w {dir}/x -C 9223372036854775807")]
    [InlineData("-r {corpus} -w {dir}/x -W 0")]
    [InlineData("-r {corpus} -w {dir}/x -G -1")]
    [InlineData("-r {corpus} --time-stamp-precision=pico")]
    [InlineData("-r {corpus} -tttttt")]
    [InlineData("-r {corpus} -w {dir}/no/such/dir/x.pcap")]
    [InlineData("-r {corpus} -w {dir}")]
    [InlineData("-r {corpus} -F {dir}/missing.filter")]
    public void FailsAsTcpdumpFails(string commandLine)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        File.WriteAllBytes(dir["empty"], []);
        File.WriteAllBytes(dir["three"], [0xd4, 0xc3, 0xb2]);
        File.WriteAllBytes(dir["ten"], File.ReadAllBytes(Corpus.Tcpdump("3560_CDP.pcap")).AsSpan(0, 10).ToArray());
        string[] args = Words.Split(commandLine.Replace("{dir}", dir.Path, StringComparison.Ordinal)
            .Replace("{corpus}", Corpus.Tcpdump("3560_CDP.pcap"), StringComparison.Ordinal));

        var tcpdump = Tcpdump.Run(["-Z", "root", .. args]);
        var kdt = Kdt.Run(["capture", .. args]);
        Assert.True(tcpdump.ExitCode == 1, $"tcpdump was expected to fail: {tcpdump}");
        Assert.True(kdt.ExitCode == 1, $"kdt: {kdt}");
        Assert.Equal("", kdt.Stdout);
        string message = tcpdump.Stderr.Split('\n').First(l => l.StartsWith("tcpdump: ", StringComparison.Ordinal))["tcpdump: ".Length..];
        string[] errorLines = kdt.Stderr.TrimEnd('\n').Split('\n').Where(l => !l.StartsWith("reading from file ", StringComparison.Ordinal)).ToArray();
        Assert.True(errorLines.Length == 1, $"one error line expected:\n{kdt.Stderr}");
        Assert.Equal($"kdt: {message}", errorLines[0]);
        // The "reading from file" note comes exactly when tcpdump prints it too.
        Assert.Equal(tcpdump.Stderr.Contains("reading from file", StringComparison.Ordinal), kdt.Stderr.Contains("reading from file", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(30)]
    [InlineData(24)]
    public void TruncatedFilePrintsWhatWasReadThenWarns(int keep)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        File.WriteAllBytes(dir["cut.pcap"], File.ReadAllBytes(Corpus.Tcpdump("mptcp-v0.pcap")).AsSpan(0, keep * 10).ToArray());
        foreach (string[] args in new[] { new[] { "-n" }, ["--count"] })
        {
            string[] all = [.. args, "-r", dir["cut.pcap"]];
            var tcpdump = ProcessRunner.Run(Tcpdump.Location!, all, TimeSpan.FromSeconds(60), environment: Utc);
            var kdt = Kdt.Run(["capture", .. all], Utc);
            Assert.Equal(tcpdump.ExitCode, kdt.ExitCode);
            Assert.Equal(tcpdump.Stdout, kdt.Stdout);
            Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
        }
    }

    [Fact]
    public void TruncatedFileStillWritesWhatWasRead()
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        File.WriteAllBytes(dir["cut.pcap"], File.ReadAllBytes(Corpus.Tcpdump("mptcp-v0.pcap")).AsSpan(0, 7000).ToArray());
        var tcpdump = Tcpdump.Run(["-Z", "root", "--nano", "-r", dir["cut.pcap"], "-w", dir["t.pcap"]]);
        var kdt = Kdt.Run("capture", "-r", dir["cut.pcap"], "-w", dir["k.pcapng"]);
        Assert.Equal(1, tcpdump.ExitCode);
        Assert.Equal(1, kdt.ExitCode);
        Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
        Captures.AssertSamePackets(Captures.Read(dir["t.pcap"]), Captures.Read(dir["k.pcapng"]), "cut file");
    }
}
