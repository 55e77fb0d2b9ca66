using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using KdtCapture.Bpf.Features;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests;

/// <summary>
/// kdt as a Wireshark extcap: its answers parse as extcap(4) and Wireshark's extcap code expect
/// (sentences of {key=value} fields, args numbered from 0, values pointing at selector args, an empty
/// answer for a valid capture filter and libpcap's error — checked against tcpdump's — for an invalid
/// one), and tshark 4.0 itself, with kdt installed in its personal extcap folder, lists the taps and
/// captures at tp_btf/net_dev_queue the datagrams the test sends.
/// </summary>
public sealed partial class ExtcapTests
{
    [GeneratedRegex(@"^(?<kind>extcap|interface|dlt|arg|value)(?<fields> (\{[a-z]+=[^{}\n]*\})+)$")]
    private static partial Regex Sentence();

    [GeneratedRegex(@"\{(?<key>[a-z]+)=(?<value>[^{}]*)\}")]
    private static partial Regex Field();

    private static readonly string[] ArgTypes =
        ["integer", "unsigned", "long", "double", "string", "password", "boolean", "boolflag", "selector", "editselector", "radio", "multicheck", "fileselect", "timestamp"];

    /// <summary>Every line of an answer as (kind, fields); fails on a line the grammar does not allow or a repeated key.</summary>
    private static List<(string Kind, Dictionary<string, string> Fields)> Parse(string stdout)
    {
        var result = new List<(string, Dictionary<string, string>)>();
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Match m = Sentence().Match(line);
            Assert.True(m.Success, $"not an extcap sentence: '{line}'");
            var fields = new Dictionary<string, string>();
            foreach (Match f in Field().Matches(line))
                Assert.True(fields.TryAdd(f.Groups["key"].Value, f.Groups["value"].Value), $"repeated field in '{line}'");
            result.Add((m.Groups["kind"].Value, fields));
        }
        return result;
    }

    [Fact]
    public void Interfaces_are_listed_after_the_extcap_sentence()
    {
        ProcessResult r = Kdt.Run("--extcap-interfaces", "--extcap-version=4.0");
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = Parse(r.Stdout);
        Assert.Equal("extcap", lines[0].Kind);
        string version = Kdt.Run("--version").Stdout.Trim();
        Assert.Equal($"kdt version {lines[0].Fields["version"]}", version);
        Assert.True(lines[0].Fields.ContainsKey("help"), r.Stdout);
        var interfaces = lines.Skip(1).ToList();
        Assert.All(interfaces, l => Assert.Equal("interface", l.Kind));
        Assert.All(interfaces, l => Assert.False(string.IsNullOrWhiteSpace(l.Fields["display"])));
        var values = interfaces.Select(l => l.Fields["value"]).ToList();
        Assert.Equal(values.Distinct().Count(), values.Count);
        if (Environment.IsPrivilegedProcess && BpfFeatures.HasAttachKind(BpfAttachKind.TpBtf))
        {
            Assert.Contains("tp_btf/net_dev_queue", values);
            Assert.Contains("tp_btf/netif_receive_skb", values);
            Assert.Contains("tp_btf/kfree_skb", values);
            // Only what attaches here: fentry where trampolines are allowed.
            Assert.Equal(BpfFeatures.HasAttachKind(BpfAttachKind.Fentry), values.Contains("fentry/ip_output"));
        }
        // Each value is a tap spec, as kdt capture -i takes it.
        Assert.All(values, v => Assert.True(KdtCapture.Capture.Taps.TapSpec.TryParse(v, out _, out string? error), error));

        ProcessResult alone = Kdt.Run("--extcap-version");
        Assert.Equal(0, alone.ExitCode);
        Assert.Equal(lines[0].Fields, Parse(alone.Stdout).Single().Fields);
    }

    [Fact]
    public void Dlts_and_config_follow_the_grammar()
    {
        ProcessResult dlts = Kdt.Run("--extcap-interface", "tp_btf/net_dev_queue", "--extcap-dlts");
        Assert.True(dlts.ExitCode == 0, dlts.ToString());
        var dlt = Assert.Single(Parse(dlts.Stdout));
        Assert.Equal("dlt", dlt.Kind);
        // DLT_EN10MB, named as libpcap names it.
        Assert.Equal("1", dlt.Fields["number"]);
        Assert.Equal("EN10MB", dlt.Fields["name"]);

        ProcessResult config = Kdt.Run("--extcap-interface=tp_btf/net_dev_queue", "--extcap-config");
        Assert.True(config.ExitCode == 0, config.ToString());
        var lines = Parse(config.Stdout);
        var args = lines.Where(l => l.Kind == "arg").ToList();
        Assert.Equal(Enumerable.Range(0, args.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            args.Select(a => a.Fields["number"]));
        foreach (var a in args)
        {
            Assert.StartsWith("--", a.Fields["call"]);
            Assert.Contains(a.Fields["type"], ArgTypes);
            Assert.False(string.IsNullOrWhiteSpace(a.Fields["display"]));
            if (a.Fields.TryGetValue("range", out string? range))
            {
                var bounds = range.Split(',').Select(long.Parse).ToArray();
                Assert.Equal(2, bounds.Length);
                Assert.InRange(long.Parse(a.Fields["default"]), bounds[0], bounds[1]);
            }
        }
        foreach (var v in lines.Where(l => l.Kind == "value"))
        {
            var owner = args.Single(a => a.Fields["number"] == v.Fields["arg"]);
            Assert.Contains(owner.Fields["type"], new[] { "selector", "radio", "multicheck", "editselector" });
        }
        // One default per selector.
        foreach (var selector in args.Where(a => a.Fields["type"] == "selector"))
            Assert.Single(lines, l => l.Kind == "value" && l.Fields["arg"] == selector.Fields["number"] && l.Fields.GetValueOrDefault("default") == "true");
    }

    [Fact]
    public void A_capture_filter_is_checked_as_Wireshark_asks()
    {
        Tcpdump.RequireLiveInterfaces();
        ProcessResult valid = Kdt.Run("--extcap-interface", "tp_btf/net_dev_queue", "--extcap-capture-filter", "udp port 53 and host 10.0.0.1");
        Assert.Equal(0, valid.ExitCode);
        Assert.Equal("", valid.Stdout);

        foreach (string bad in new[] { "udp port ninety", "tcp and and", "ether proto nosuchproto" })
        {
            ProcessResult answer = Kdt.Run("--extcap-interface", "tp_btf/net_dev_queue", "--extcap-capture-filter", bad);
            Assert.Equal(0, answer.ExitCode);
            ProcessResult tcpdump = Tcpdump.Run(["-i", "lo", "-y", "EN10MB", "-d", bad]);
            Assert.NotEqual(0, tcpdump.ExitCode);
            string libpcap = tcpdump.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
            Assert.Equal(libpcap["tcpdump: ".Length..], answer.Stdout.Split('\n')[0]);
        }
    }

    [Fact]
    public void Help_says_how_to_use_kdt_from_Wireshark()
    {
        ProcessResult help = Kdt.Run("--help");
        Assert.Contains("--extcap-interfaces", help.Stdout, StringComparison.Ordinal);
        Assert.Contains(".config/wireshark/extcap", help.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--extcap-interface", "eth0", "--extcap-dlts")]
    [InlineData("--extcap-dlts")]
    [InlineData("--extcap-interface", "tp_btf/net_dev_queue", "--capture")]
    [InlineData("--extcap-interface", "tp_btf/net_dev_queue", "--extcap-bogus")]
    [InlineData("--extcap-interface")]
    public void Wrong_calls_fail_with_one_line(params string[] args)
    {
        ProcessResult r = Kdt.Run(args);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("kdt: ", line);
    }

    [Fact]
    public async Task Tshark_captures_at_a_tap_through_the_installed_extcap()
    {
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("kernel taps need root (CAP_BPF, CAP_PERFMON)");
        if (!BpfFeatures.HasAttachKind(BpfAttachKind.TpBtf))
            Assert.Skip("this kernel cannot attach tp_btf programs");
        string? tshark = new[] { "/usr/bin/tshark", "/usr/local/bin/tshark" }.FirstOrDefault(File.Exists);
        if (tshark is null)
            Assert.Skip("tshark is not installed (apt-get install tshark)");

        // Wireshark 4.0's personal extcap folder (as root: its configuration folder, `tshark -G folders`).
        string configuration = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "wireshark");
        string folder = Path.Combine(configuration, "extcap");
        bool createdConfiguration = !Directory.Exists(configuration), createdFolder = !Directory.Exists(folder);
        string wrapper = Path.Combine(folder, $"kdx-kdt-{Environment.ProcessId}");
        string output = Path.Combine(Path.GetTempPath(), $"kdx-extcap-{Environment.ProcessId}.pcapng");
        Directory.CreateDirectory(folder);
        try
        {
            // What the README tells users to install: a script that runs kdt with Wireshark's arguments.
            File.WriteAllText(wrapper, $"#!/bin/sh\nexec '{Kdt.Binary}' \"$@\"\n");
            if (OperatingSystem.IsLinux())
                File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            ProcessResult list = ProcessRunner.Run(tshark, ["-D"], TimeSpan.FromSeconds(60));
            Assert.Contains(". tp_btf/net_dev_queue (", list.Stdout, StringComparison.Ordinal);

            const int wanted = 6;
            int port = Live.Traffic.FreePort();
            var psi = new ProcessStartInfo(tshark) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "-i", "tp_btf/net_dev_queue", "-f", $"udp dst port {port}", "-c", wanted.ToString(System.Globalization.CultureInfo.InvariantCulture), "-w", output })
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            Task<string> stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            // Datagrams until tshark has its count: the tap attaches some time after tshark starts.
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            var clock = Stopwatch.StartNew();
            int sent = 0;
            while (!process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                socket.SendTo(Encoding.ASCII.GetBytes($"kdx-extcap {sent++}"), new IPEndPoint(IPAddress.Loopback, port));
                Thread.Sleep(50);
            }
            if (!process.HasExited)
                process.Kill();
            process.WaitForExit();
            string messages = await stderr;
            Assert.True(process.ExitCode == 0, $"tshark exited {process.ExitCode}: {messages}");

            // The file tshark wrote (through dumpcap, from our pipe), read back.
            var numbers = new List<int>();
            using (var reader = CaptureReader.Open(output))
            {
                while (reader.TryReadPacket(out CapturePacket packet))
                {
                    string text = Encoding.ASCII.GetString(packet.Data.Span);
                    int at = text.IndexOf("kdx-extcap ", StringComparison.Ordinal);
                    Assert.True(at >= 0, "a packet that is not ours: " + Convert.ToHexString(packet.Data.Span));
                    numbers.Add(int.Parse(text[(at + "kdx-extcap ".Length)..], System.Globalization.CultureInfo.InvariantCulture));
                    Assert.Equal(packet.OriginalLength, (uint)packet.Data.Length);
                }
                Assert.Equal("tp_btf/net_dev_queue", reader.Interfaces[0].Name);
            }
            Assert.Equal(wanted, numbers.Count);
            // Consecutive datagrams: once the tap is attached, none is missed.
            numbers.Sort();
            Assert.Equal(Enumerable.Range(numbers[0], wanted), numbers);
        }
        finally
        {
            File.Delete(wrapper);
            File.Delete(output);
            if (createdFolder && Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
                Directory.Delete(folder);
            if (createdConfiguration && Directory.Exists(configuration) && !Directory.EnumerateFileSystemEntries(configuration).Any())
                Directory.Delete(configuration);
        }
    }
}
