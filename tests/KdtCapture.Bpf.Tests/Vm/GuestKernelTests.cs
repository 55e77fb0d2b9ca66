using System.Globalization;
using System.Text.RegularExpressions;
using KdtCapture.Testing;

namespace KdtCapture.Bpf.Tests.Vm;

/// <summary>
/// What this machine's kernel cannot show, checked in the VM guest of tests/vm (Debian 12's 6.1
/// kernel under QEMU): one boot runs every check of this class as a batch, each test asserts its
/// part. Skipped with the harness's reason where the guest cannot be booted.
/// </summary>
public sealed partial class GuestKernelTests(GuestKernelTests.Guest guest, ITestOutputHelper output) : IClassFixture<GuestKernelTests.Guest>
{
    private const int KprobeDatagrams = 3;

    /// <summary>Boots the guest once for the class and keeps each check's output by name.</summary>
    public sealed class Guest
    {
        public Guest()
        {
            if (!VmHarness.IsAvailable(out var reason))
            {
                SkipReason = reason;
                return;
            }
            Result = VmHarness.Run(["bash", "-c", BatchScript()], TimeSpan.FromMinutes(20));
            foreach (Match m in SectionPattern().Matches(Result.Stdout))
                Sections[m.Groups["name"].Value] = (int.Parse(m.Groups["status"].Value, CultureInfo.InvariantCulture), m.Groups["body"].Value);
        }

        public string? SkipReason { get; }

        public VmResult? Result { get; }

        public Dictionary<string, (int Status, string Output)> Sections { get; } = [];
    }

    /// <summary>The output of one check of the batch; fails the test when it is missing or failed.</summary>
    private string Section(string name, bool mustSucceed = true)
    {
        if (guest.SkipReason is { } reason)
            Assert.Skip(reason);
        var result = guest.Result!;
        output.WriteLine($"guest run: exit {result.ExitCode}, {result.Elapsed.TotalSeconds:F1} s");
        Assert.True(guest.Sections.TryGetValue(name, out var section), $"the guest printed no '{name}' section: {result}");
        output.WriteLine(section.Output);
        if (mustSucceed)
            Assert.True(section.Status == 0, $"'{name}' exited {section.Status} in the guest:\n{section.Output}\n--- stderr\n{result.Stderr}");
        return section.Output;
    }

    [Fact]
    public void The_guest_runs_Debian_12s_6_1_kernel()
    {
        string release = Section("uname").Trim();
        Assert.Matches(@"^6\.1\.\d+-\d+-amd64$", release);
        output.WriteLine($"boot to command (guest uptime): {Section("uptime").Split(' ')[0]} s");
    }

    [Fact]
    public void The_guest_has_the_function_tracer_and_livepatch()
    {
        var tracers = Section("tracers").Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("function", tracers);
        Assert.Contains("function_graph", tracers);
        Assert.Equal("directory", Section("livepatch").Trim());
    }

    [Fact]
    public void A_kprobe_event_on_ip_output_fires_once_per_datagram()
    {
        // Lines of the trace buffer, one per hit: "kdtsend-PID [CPU] ... kdt_test: (ip_output+0x0/...)".
        var hits = Section("kprobe").Split('\n').Count(line => line.Contains("kdt_test:", StringComparison.Ordinal));
        Assert.Equal(KprobeDatagrams, hits);
    }

    [Fact]
    public void Modprobe_loads_the_guest_kernels_modules_and_network_namespaces_work()
    {
        // mac80211_hwsim makes as many radios as it is asked for, each with one interface.
        var interfaces = Section("hwsim").Split('\n').Count(line => line.TrimStart().StartsWith("Interface ", StringComparison.Ordinal));
        Assert.Equal(2, interfaces);
        // A new namespace has its own loopback and nothing else.
        var links = Section("netns").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(links);
        Assert.Contains(": lo: ", links[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Kdt_btf_funcs_lists_ip_output_as_the_guest_kernels_btf_has_it()
    {
        if (!File.Exists(KdtBinary()))
            Assert.Skip($"kdt is not built ({KdtBinary()}): ./kdt --version builds it");
        // bpftool is the oracle: the FUNC_PROTO of ip_output in the guest's vmlinux BTF, raw format.
        var parameters = ParameterPattern().Matches(Section("bpftool")).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(parameters);
        string listing = Section("kdt-btf");
        var lines = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("fentry/ip_output", lines[0]);
        var listed = lines.Skip(1).Where(l => !l.TrimStart().EndsWith(" retval", StringComparison.Ordinal))
            .Select(l => ListedNamePattern().Match(l).Groups[1].Value).ToList();
        Assert.Equal(parameters, listed);
        var marked = Regex.Match(listing, @"/\* skb: arg(\d+) \*/");
        Assert.True(marked.Success, $"no skb argument marked:\n{listing}");
        Assert.Equal(parameters.IndexOf("skb"), int.Parse(marked.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string BatchScript()
    {
        // Each check prints "@@kdt NAME" before and "@@kdt-end STATUS" after its output (on a line of its own
        // even when the output does not end with a newline).
        return $$"""
            section() { echo "@@kdt $1"; shift; "$@"; local status=$?; echo; echo "@@kdt-end $status"; }
            section uptime cat /proc/uptime
            section uname uname -r
            section tracers cat /sys/kernel/tracing/available_tracers
            section livepatch stat -c %F /sys/kernel/livepatch
            kprobe() (
                cd /sys/kernel/tracing || exit 1
                echo 'p:kdt_test ip_output' >>kprobe_events || exit 1
                echo 'comm == "kdtsend"' >events/kprobes/kdt_test/filter || exit 1
                echo 1 >events/kprobes/kdt_test/enable || exit 1
                # a receiver bound on loopback, so no ICMP error adds a pass through ip_output
                perl -MIO::Socket::INET -e '
                    open(my $comm, ">", "/proc/self/comm") or die; print $comm "kdtsend"; close $comm;
                    my $r = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "udp") or die;
                    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $r->sockport, Proto => "udp") or die;
                    $s->send("kdt") or die for 1 .. {{KprobeDatagrams}};' || exit 1
                echo 0 >events/kprobes/kdt_test/enable
                cat trace
                echo '-:kdt_test' >>kprobe_events
            )
            section kprobe kprobe
            bpftool_ip_output() {
                bpftool btf dump file /sys/kernel/btf/vmlinux format raw >/tmp/vmlinux.btf.txt || return 1
                proto=$(sed -n "s/^\[[0-9]*\] FUNC 'ip_output' type_id=\([0-9]*\) .*/\1/p" /tmp/vmlinux.btf.txt)
                [ -n "$proto" ] || return 1
                sed -n "/^\[$proto\] FUNC_PROTO /,/^\[/p" /tmp/vmlinux.btf.txt
            }
            section bpftool bpftool_ip_output
            section hwsim sh -c 'modprobe mac80211_hwsim radios=2 && iw dev'
            section netns sh -c 'ip netns add kdt-vm-test && ip -n kdt-vm-test -o link show && ip netns del kdt-vm-test'
            section kdt-btf {{Quote(KdtBinary())}} btf funcs ip_output
            """;
    }

    /// <summary>The kdt the CLI tests use ($KDT_BINARY), else the one ./kdt builds in the repository.</summary>
    private static string KdtBinary()
    {
        var configured = Environment.GetEnvironmentVariable("KDT_BINARY");
        if (!string.IsNullOrEmpty(configured))
            return configured;
        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(VmHarness.Script)!, "..", "..", ".build", "kdt", "kdt"));
    }

    [GeneratedRegex(@"^@@kdt (?<name>\S+)\n(?<body>.*?)^@@kdt-end (?<status>\d+)$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex SectionPattern();

    [GeneratedRegex(@"^\s+'(\w+)' type_id=\d+$", RegexOptions.Multiline)]
    private static partial Regex ParameterPattern();

    [GeneratedRegex(@"(\w+)\s*(?:/\*.*\*/)?\s*$")]
    private static partial Regex ListedNamePattern();
}
