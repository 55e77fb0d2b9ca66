using KdtCapture.Cli.Tests.Offline;

namespace KdtCapture.Cli.Tests.Live;

/// <summary>-D, -L and the errors of opening interfaces, against tcpdump's output on this machine.</summary>
[Collection("live capture")]
public sealed class ListingAndErrorTests
{
    [Fact]
    public void InterfaceListStartsAsTcpdumpsThenListsTapKinds()
    {
        LiveRequirements.Require();
        var tcpdump = Tcpdump.Run(["-D"]);
        var kdt = Kdt.Run("capture", "-D");
        Assert.True(kdt.ExitCode == 0, kdt.ToString());
        string[] expected = tcpdump.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] actual = kdt.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(expected.Length > 1, tcpdump.ToString());
        Assert.Equal(expected, actual[..expected.Length]);
        string[] taps = actual[(expected.Length + 1)..];
        Assert.Equal(["fentry/FUNC", "fexit/FUNC", "kprobe/FUNC", "tp_btf/TP", "raw_tp/TP"], taps.Select(t => t.Trim().Split(' ')[0]));
        // This kernel (DESIGN.md): tp_btf and raw_tp load, fentry is refused, kprobes are absent.
        Assert.EndsWith("[supported]", taps[3], StringComparison.Ordinal);
        Assert.EndsWith("[supported]", taps[4], StringComparison.Ordinal);
        Assert.EndsWith("[not supported by this kernel]", taps[2], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lo")]
    [InlineData("any")]
    [InlineData("eth0")]
    public void LinkTypeListEqualsTcpdumps(string device)
    {
        LiveRequirements.Require();
        if (!Directory.Exists($"/sys/class/net/{device}") && device != "any") Assert.Skip($"no {device} on this machine");
        var tcpdump = Tcpdump.Run(["-L", "-i", device]);
        var kdt = Kdt.Run("capture", "-L", "-i", device);
        Assert.Equal(tcpdump.ExitCode, kdt.ExitCode);
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
        Assert.Equal(tcpdump.Stderr, kdt.Stderr);
    }

    [Theory]
    [InlineData("-i kdt-no-such-if")]
    [InlineData("-i 999")]
    [InlineData("-i lo -y ieee802_11")]
    [InlineData("-i lo -Q sideways")]
    [InlineData("-i lo -B 0")]
    [InlineData("-i lo 'tcp port'")]
    [InlineData("-i lo 'ether host nosuchhost.invalid'")]
    public void ErrorsAreTcpdumps(string commandLine)
    {
        LiveRequirements.Require();
        var tcpdump = Tcpdump.Run(Words.Split(commandLine));
        var kdt = Kdt.Run(["capture", .. Words.Split(commandLine)]);
        Assert.Equal(1, tcpdump.ExitCode);
        Assert.Equal(tcpdump.ExitCode, kdt.ExitCode);
        Assert.Equal("", kdt.Stdout);
        Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
    }

    [Fact]
    public void InterfaceThatIsDownIsRefusedAsTcpdump()
    {
        LiveRequirements.Require();
        using var veth = new VethPair();
        VethPair.Exec(veth.NamespaceA, "ip", "link", "set", VethPair.InterfaceA, "down");
        var tcpdump = ProcessRunner.Run("ip", ["netns", "exec", veth.NamespaceA, Tcpdump.Location!, "-i", VethPair.InterfaceA], TimeSpan.FromSeconds(30));
        var kdt = ProcessRunner.Run("ip", ["netns", "exec", veth.NamespaceA, Kdt.Binary, "capture", "-i", VethPair.InterfaceA], TimeSpan.FromSeconds(30));
        Assert.Equal(1, kdt.ExitCode);
        Assert.Equal("kdt: kdtveth0: That device is not up\n", kdt.Stderr);
        Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
    }

    [Fact]
    public void WithoutPrivilegesOneLineSaysWhatToDo()
    {
        LiveRequirements.Require();
        string setpriv = Tool.Require("setpriv");
        var result = ProcessRunner.Run(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", Kdt.Binary, "capture", "-i", "lo"],
            TimeSpan.FromSeconds(30), workingDirectory: "/");
        if (result.Stderr.Contains("Permission denied", StringComparison.Ordinal) && result.Stderr.Contains("setpriv", StringComparison.Ordinal))
            Assert.Skip($"the kdt binary is not executable by nobody here: {result.Stderr}");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("kdt: lo: You don't have permission to perform this capture on that device", lines[0], StringComparison.Ordinal);
        Assert.Contains("root", lines[0], StringComparison.Ordinal);
        Assert.Contains("CAP_NET_RAW", lines[0], StringComparison.Ordinal);
    }
}
