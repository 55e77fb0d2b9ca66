using System.Globalization;
using System.Text.RegularExpressions;
using KdtCapture.Testing;

namespace KdtCapture.Cli.Tests.Vm;

/// <summary>
/// The kdt binary itself on a kernel that allows fentry, fexit and kprobes: Debian 12's 6.1 in the
/// VM guest of tests/vm. One boot runs every capture of this class as a shell batch (kdt is Native
/// AOT, so no .NET runs in the guest); the files land in the repository, which the guest mounts
/// read-write, and are judged here by tshark and capinfos; the guest's BTF (copied out) by bpftool.
/// Skipped with the harness's reason where no guest can be booted.
/// </summary>
public sealed partial class GuestCaptureTests(GuestCaptureTests.Guest guest, ITestOutputHelper output) : IClassFixture<GuestCaptureTests.Guest>
{
    /// <summary>Boots the guest once for the class; keeps each check's output and status by name.</summary>
    public sealed class Guest : IDisposable
    {
        public Guest()
        {
            if (VmHarness.IsGuest)
            {
                SkipReason = "already in the VM guest: these checks boot one from the host";
                return;
            }
            if (!Environment.IsPrivilegedProcess)
            {
                SkipReason = "the guest's files come back owned by root (mode 0600): run as root";
                return;
            }
            if (!VmHarness.IsAvailable(out var reason))
            {
                SkipReason = reason;
                return;
            }
            Directory = Path.Combine(Kdt.RepositoryRoot, ".build", "vm-cli", $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..16]);
            System.IO.Directory.CreateDirectory(Directory);
            Result = VmHarness.Run(["bash", "-c", BatchScript(Kdt.Binary, Directory)], TimeSpan.FromMinutes(15),
                CancellationToken.None);
            foreach (Match m in SectionPattern().Matches(Result.Stdout))
                Sections[m.Groups["name"].Value] = (int.Parse(m.Groups["status"].Value, CultureInfo.InvariantCulture), m.Groups["body"].Value);
        }

        public string? SkipReason { get; }

        public VmResult? Result { get; }

        /// <summary>Where the guest wrote its capture files (in the repository's .build).</summary>
        public string Directory { get; } = "";

        public Dictionary<string, (int Status, string Output)> Sections { get; } = [];

        public void Dispose()
        {
            if (Directory.Length > 0 && System.IO.Directory.Exists(Directory))
                System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    /// <summary>One check's output (kdt's stderr among it); fails when missing or when its exit status is not the expected one.</summary>
    private string Section(string name, int expectedStatus = 0)
    {
        if (guest.SkipReason is { } reason)
            Assert.Skip(reason);
        var result = guest.Result!;
        output.WriteLine($"guest run: exit {result.ExitCode}, {result.Elapsed.TotalSeconds:F1} s");
        Assert.True(guest.Sections.TryGetValue(name, out var section), $"the guest printed no '{name}' section: {result}");
        output.WriteLine(section.Output);
        Assert.True(section.Status == expectedStatus,
            $"'{name}' exited {section.Status} in the guest, not {expectedStatus}:\n{section.Output}\n--- stderr\n{result.Stderr}");
        return section.Output;
    }

    private string File(string name)
    {
        string path = Path.Combine(guest.Directory, name);
        Assert.True(System.IO.File.Exists(path), $"the guest wrote no {name}");
        return path;
    }

    /// <summary>capinfos's encapsulation and packet count for a file the guest wrote.</summary>
    private (string Encapsulation, int Packets) CapInfos(string file)
    {
        var r = ProcessRunner.Run("capinfos", ["-E", "-c", File(file)], TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, $"capinfos {file}: {r}");
        string encapsulation = Regex.Match(r.Stdout, @"File encapsulation:\s+(.+)").Groups[1].Value.Trim();
        int packets = int.Parse(Regex.Match(r.Stdout, @"Number of packets:\s+(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        return (encapsulation, packets);
    }

    /// <summary>tshark's fields of every frame, tab-separated, one list per frame.</summary>
    private List<string[]> Fields(string file, params string[] fields)
    {
        var args = new List<string> { "-n", "-r", File(file), "-T", "fields", "-E", "occurrence=f" };
        foreach (var f in fields)
        {
            args.Add("-e");
            args.Add(f);
        }
        var r = ProcessRunner.Run("tshark", args, TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, $"tshark {file}: {r}");
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
    }

    private static void RequireTools()
    {
        foreach (var tool in new[] { "tshark", "capinfos", "bpftool" })
        {
            if (!new[] { "/usr/bin/", "/usr/sbin/" }.Any(d => System.IO.File.Exists(d + tool)))
                Assert.Skip($"{tool} is not installed (apt-get install tshark bpftool; ./test.sh installs them)");
        }
    }

    [Fact]
    public void Fentry_on_ip_output_writes_exactly_the_count_asked_for_as_RAW()
    {
        RequireTools();
        string stderr = Section("fentry-ip-output");
        Assert.Contains("5 packets captured", stderr, StringComparison.Ordinal);
        Assert.Equal(("Raw IP", 5), CapInfos("ip_output.pcapng"));
        foreach (var f in Fields("ip_output.pcapng", "frame.interface_name", "udp.dstport", "frame.comment"))
        {
            Assert.Equal(["fentry/ip_output", "9101"], f[..2]);
            Assert.StartsWith("ip_output bash[", f[2], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Dev_queue_xmit_and_netif_receive_skb_give_Ethernet_frames_on_loopback()
    {
        RequireTools();
        Section("loopback-ethernet");
        var frames = Fields("loopback.pcapng", "frame.interface_name", "frame.protocols", "udp.dstport");
        Assert.Equal(6, frames.Count);
        Assert.All(frames, f => Assert.Equal("9102", f[2]));
        var received = frames.Where(f => f[0] == "fentry/__netif_receive_skb_one_core").ToList();
        Assert.Equal(3, received.Count);
        Assert.All(received, f => Assert.StartsWith("eth:ethertype:ip:udp", f[1], StringComparison.Ordinal));
        // At __dev_queue_xmit's entry the Ethernet header is at skb->data though skb->mac_header is
        // set only inside it: the tap takes the header in front of the network header.
        var sent = frames.Where(f => f[0] == "fentry/__dev_queue_xmit").ToList();
        Assert.Equal(3, sent.Count);
        Assert.All(sent, f => Assert.StartsWith("eth:ethertype:ip:udp", f[1], StringComparison.Ordinal));
    }

    [Fact]
    public void Netif_receive_skb_and_dev_queue_xmit_give_Ethernet_frames_on_a_veth_pair_as_AF_PACKET_sees_them()
    {
        RequireTools();
        Section("veth");
        Assert.Equal(("Ethernet", 6), CapInfos("veth.pcapng"));
        var frames = Fields("veth.pcapng", "eth.type", "ip.dst", "udp.dstport", "frame.comment", "frame.interface_name");
        Assert.All(frames, f => Assert.Equal(["0x0800", "10.199.0.2", "9103"], f[..3]));
        // Received by the veth end in the namespace: a netns other than the sender's (the initial one's).
        var netns = Regex.Match(Section("veth-netns"), @"net:\[(\d+)\]").Groups[1].Value;
        var received = frames.Where(f => f[4] == "fentry/__netif_receive_skb_one_core").ToList();
        Assert.Equal(3, received.Count);
        Assert.All(received, f => Assert.DoesNotContain($"netns={netns} ", f[3], StringComparison.Ordinal));
        // Sent through kdv0: the bytes tcpdump's AF_PACKET socket on kdv0 saw, Ethernet header and all.
        var sent = HexDumps("veth.pcapng", "frame.interface_name == \"fentry/__dev_queue_xmit\"");
        Assert.Equal(3, sent.Count);
        Assert.Equal(HexDumps("veth-af-packet.pcap", null), sent);
    }

    /// <summary>tshark's hex dump of every frame (that the display filter keeps), in byte order of the dumps.</summary>
    private List<string> HexDumps(string file, string? displayFilter)
    {
        var args = new List<string> { "-n", "-r", File(file), "-x" };
        if (displayFilter is not null)
            args.AddRange(["-Y", displayFilter]);
        var r = ProcessRunner.Run("tshark", args, TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, $"tshark {file}: {r}");
        return r.Stdout.Replace("\r", "", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void Fexit_on_ip_output_records_its_return_value()
    {
        RequireTools();
        Section("fexit");
        var frames = Fields("fexit.pcapng", "frame.interface_name", "frame.comment", "ip.proto");
        Assert.Equal(3, frames.Count);
        Assert.All(frames, f =>
        {
            Assert.Equal("fexit/ip_output", f[0]);
            Assert.EndsWith(" ret=0", f[1], StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Fexit_with_a_filter_captures_exactly_the_datagrams_it_matches_with_their_return_values()
    {
        RequireTools();
        string stderr = Section("fexit-filter");
        // 4 datagrams to 9110, 5 to 9111 (and their ICMP answers): the filter keeps the 4, each with
        // the bytes ip_output was given (its skb is freed before it returns) and its return value 0.
        Assert.Contains("4 packets captured", stderr, StringComparison.Ordinal);
        Assert.Contains("4 packets received by filter", stderr, StringComparison.Ordinal);
        Assert.Contains("0 packets dropped by kernel", stderr, StringComparison.Ordinal);
        Assert.Equal(("Raw IP", 4), CapInfos("fexit-filter.pcapng"));
        var frames = Fields("fexit-filter.pcapng", "frame.interface_name", "udp.dstport", "data.data", "frame.comment");
        Assert.Equal(["kdt-9110-1", "kdt-9110-2", "kdt-9110-3", "kdt-9110-4"],
            frames.Select(f => System.Text.Encoding.ASCII.GetString(Convert.FromHexString(f[2])).TrimEnd('\n')).Order(StringComparer.Ordinal));
        Assert.All(frames, f =>
        {
            Assert.Equal(["fexit/ip_output", "9110"], f[..2]);
            Assert.EndsWith(" ret=0", f[3], StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Kprobe_on_ip_output_sees_the_same_packets_as_fentry()
    {
        RequireTools();
        Section("kprobe-fentry");
        Assert.Equal(("Raw IP", 8), CapInfos("kprobe.pcapng"));
        var frames = Fields("kprobe.pcapng", "frame.interface_name", "ip.id", "data.data");
        var fentry = frames.Where(f => f[0] == "fentry/ip_output").Select(f => $"{f[1]} {f[2]}").Order().ToList();
        var kprobe = frames.Where(f => f[0] == "kprobe/ip_output").Select(f => $"{f[1]} {f[2]}").Order().ToList();
        Assert.Equal(4, fentry.Count);
        Assert.Equal(fentry, kprobe);
        Assert.Equal(4, fentry.Distinct().Count());
    }

    [Fact]
    public void The_kernel_side_filter_drops_what_it_should()
    {
        RequireTools();
        string stderr = Section("kernel-filter");
        // 5 datagrams to 9106 and 7 to 9107 passed ip_output; the program's filter accepted 5.
        Assert.Contains("5 packets captured", stderr, StringComparison.Ordinal);
        Assert.Contains("5 packets received by filter", stderr, StringComparison.Ordinal);
        Assert.Contains("0 packets dropped by kernel", stderr, StringComparison.Ordinal);
        var frames = Fields("filter.pcapng", "udp.dstport");
        Assert.Equal(5, frames.Count);
        Assert.All(frames, f => Assert.Equal("9106", f[0]));
    }

    [Fact]
    public void A_glob_taps_every_matching_function_and_too_many_are_refused()
    {
        RequireTools();
        var bpftool = SkbFunctions();
        var expected = bpftool.Where(n => GlobIpOutput().IsMatch(n)).Select(n => "fentry/" + n).Order().ToList();
        string stderr = Section("glob");
        var listening = ListeningPattern().Matches(stderr).Select(m => m.Groups[1].Value).Order().ToList();
        Assert.Equal(expected, listening);
        var taps = Fields("glob.pcapng", "frame.interface_name").Select(f => f[0]).ToHashSet();
        Assert.Subset(expected.ToHashSet(), taps);
        // Every function on the datagrams' way out is among them (no -c: which taps the first N
        // frames come from depends on the order the per-tap rings are drained).
        Assert.Contains("fentry/ip_output", taps);
        Assert.Contains("fentry/ip_finish_output", taps);

        int tcp = bpftool.Count(n => n.StartsWith("tcp_", StringComparison.Ordinal));
        Assert.True(tcp > 64, $"bpftool finds only {tcp} tcp_* functions with an skb");
        var refused = Section("glob-cap", expectedStatus: 1).Trim().Split('\n');
        Assert.Single(refused);
        Assert.Equal($"kdt: fentry/tcp_* matches {tcp} functions that take an skb; at most 64 taps at once: narrow the pattern", refused[0]);
    }

    [Fact]
    public void Btf_funcs_skb_lists_the_functions_bpftool_finds_with_an_skb_parameter()
    {
        RequireTools();
        var expected = SkbFunctions().Order(StringComparer.Ordinal).ToList();
        var listed = Section("btf-funcs-skb").Split('\n')
            .Where(l => l.StartsWith("fentry/", StringComparison.Ordinal)).Select(l => l["fentry/".Length..].Trim())
            .Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(expected.Count > 1000, $"bpftool found only {expected.Count} functions");
        Assert.Equal(expected, listed);
    }

    [Fact]
    public void Ieee802_11_frames_are_captured_at_mac80211s_scan_rx_while_hwsim_radios_scan()
    {
        RequireTools();
        string stderr = Section("wifi");
        Assert.Contains("listening on fentry/ieee80211_scan_rx [mac80211], link-type IEEE802_11", stderr, StringComparison.Ordinal);
        Assert.Contains("listening on kprobe/mac80211:ieee80211_scan_rx, link-type IEEE802_11", stderr, StringComparison.Ordinal);
        Assert.Equal(("IEEE 802.11 Wireless LAN", 8), CapInfos("wifi.pcapng"));
        var frames = Fields("wifi.pcapng", "wlan.fc.type_subtype", "wlan.ssid", "frame.interface_name", "_ws.expert.severity", "wlan.bssid");
        // What a scan receives: beacons and probe responses, whole and well-formed (no expert warning
        // or error from the dissector), the IBSS radio's (wlan0's address is its BSSID's base) with its SSID.
        Assert.All(frames, f =>
        {
            Assert.Contains(f[0], (string[])["0x0005", "0x0008"]);
            Assert.Equal(Convert.ToHexStringLower("kdv-ibss"u8), f[1]);
            Assert.DoesNotContain(f[3], (string[])["4194304", "8388608"]); // PI_WARN, PI_ERROR
        });
        // The fentry tap (module found in the loaded modules' BTF) and the kprobe (by symbol name) both see them.
        Assert.Contains(frames, f => f[2] == "fentry/ieee80211_scan_rx");
        Assert.Contains(frames, f => f[2] == "kprobe/mac80211:ieee80211_scan_rx");
    }

    [Fact]
    public void A_function_of_a_module_not_loaded_names_the_modprobe_and_btf_funcs_lists_a_modules_functions()
    {
        string refusal = Section("module-unloaded", expectedStatus: 1).Trim();
        Assert.Equal("kdt: fentry/ieee80211_rx_napi: 'ieee80211_rx_napi' is a function of module mac80211, which is not loaded: load it with 'modprobe mac80211' and try again", refusal);
        var listed = Section("btf-funcs-module").Split('\n').Where(l => l.StartsWith("fentry/", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        Assert.Contains("fentry/mac80211:ieee80211_scan_rx", listed);
        Assert.Contains("fentry/mac80211:ieee80211_rx_napi", listed);
        Assert.All(listed, l => Assert.StartsWith("fentry/mac80211:ieee80211_", l, StringComparison.Ordinal));
    }

    /// <summary>The guest kernel's functions with a 'struct sk_buff *' parameter, from bpftool's raw dump of its BTF.</summary>
    private HashSet<string> SkbFunctions()
    {
        Section("btf");
        var bpftool = ProcessRunner.Run("bpftool", ["btf", "dump", "file", File("vmlinux.btf"), "format", "raw"], TimeSpan.FromMinutes(5));
        Assert.True(bpftool.ExitCode == 0, $"bpftool btf dump: {bpftool.ExitCode}\n{bpftool.Stderr}");
        var types = new Dictionary<int, (string Kind, string Name, int Type)>();
        var parameters = new Dictionary<int, List<int>>();
        var functions = new List<(string Name, int Proto)>();
        int current = -1;
        foreach (var line in bpftool.Stdout.Split('\n'))
        {
            var t = TypeLine().Match(line);
            if (t.Success)
            {
                current = int.Parse(t.Groups["id"].Value, CultureInfo.InvariantCulture);
                int type = t.Groups["type"].Success ? int.Parse(t.Groups["type"].Value, CultureInfo.InvariantCulture) : 0;
                types[current] = (t.Groups["kind"].Value, t.Groups["name"].Value, type);
                if (t.Groups["kind"].Value == "FUNC")
                    functions.Add((t.Groups["name"].Value, type));
                continue;
            }
            var p = ParameterLine().Match(line);
            if (p.Success && current >= 0 && types[current].Kind == "FUNC_PROTO")
            {
                if (!parameters.TryGetValue(current, out var list))
                    parameters[current] = list = [];
                list.Add(int.Parse(p.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        }
        int Strip(int id)
        {
            while (types.TryGetValue(id, out var t) && t.Kind is "CONST" or "VOLATILE" or "RESTRICT" or "TYPE_TAG" or "TYPEDEF")
                id = t.Type;
            return id;
        }
        bool IsSkbPointer(int id) =>
            types.TryGetValue(Strip(id), out var ptr) && ptr.Kind == "PTR"
            && types.TryGetValue(Strip(ptr.Type), out var s) && s.Kind == "STRUCT" && s.Name == "sk_buff";
        return functions.Where(f => parameters.TryGetValue(f.Proto, out var ps) && ps.Any(IsSkbPointer)).Select(f => f.Name).ToHashSet();
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string BatchScript(string kdt, string directory) =>
        // Each check prints "@@kdt NAME" before and "@@kdt-end STATUS" after its output. A capture
        // runs in the background until kdt has announced every tap ("listening on"), then the
        // traffic is sent; bash's /dev/udp opens one socket per datagram. Stopped with SIGTERM:
        // bash starts background jobs with SIGINT ignored. On 6.1, dev_queue_xmit is an inline
        // wrapper of __dev_queue_xmit and __netif_receive_skb_core exists only as a .constprop
        // clone (no BTF): the taps are on __dev_queue_xmit and __netif_receive_skb_one_core.
        $$"""
        cd {{Quote(directory)}} || exit 1
        K={{Quote(kdt)}}
        section() { echo "@@kdt $1"; shift; "$@" 2>&1; local status=$?; echo; echo "@@kdt-end $status"; }
        start() { # ERR-FILE TAPS KDT-ARGS...: kdt capture in the background, once it listens on TAPS taps
            local err=$1 taps=$2; shift 2
            timeout -k 10 120 "$K" capture "$@" 2>"$err" &
            capture=$!
            for _ in $(seq 1 600); do
                [ "$(grep -c 'listening on' "$err")" -ge "$taps" ] && return 0
                kill -0 $capture 2>/dev/null || return 1
                sleep 0.1
            done
            return 1
        }
        finish() { # ERR-FILE: wait for the capture (at most 60 s), then show what it said
            for _ in $(seq 1 600); do kill -0 $capture 2>/dev/null || break; sleep 0.1; done
            kill -TERM $capture 2>/dev/null
            wait $capture; local status=$?
            cat "$1"; return $status
        }
        udp() { local i; for i in $(seq 1 $3); do echo "kdt-$2-$i" >/dev/udp/$1/$2; done; }

        ip_output() { start e1 1 -i fentry/ip_output -c 5 -w ip_output.pcapng 'udp dst port 9101' && udp 127.0.0.1 9101 8; finish e1; }
        section fentry-ip-output ip_output
        loopback() { start e2 2 -i fentry/__dev_queue_xmit -i fentry/__netif_receive_skb_one_core -c 6 -w loopback.pcapng 'udp dst port 9102' && udp 127.0.0.1 9102 3; finish e2; }
        section loopback-ethernet loopback
        veth() {
            ip netns add kdv-ns && ip link add kdv0 type veth peer name kdv1 && ip link set kdv1 netns kdv-ns &&
            ip addr add 10.199.0.1/24 dev kdv0 && ip link set kdv0 up &&
            ip -n kdv-ns addr add 10.199.0.2/24 dev kdv1 && ip -n kdv-ns link set kdv1 up && ip -n kdv-ns link set lo up || return 1
            timeout -k 5 100 tcpdump -i kdv0 -c 3 -w veth-af-packet.pcap 'udp dst port 9103' 2>tcpdump.err & local af=$!
            for _ in $(seq 1 300); do grep -q 'listening on' tcpdump.err && break; sleep 0.1; done
            start e3 2 -i fentry/__netif_receive_skb_one_core -i fentry/__dev_queue_xmit -c 6 -w veth.pcapng 'udp dst port 9103' && udp 10.199.0.2 9103 3; finish e3
            local status=$?; wait $af; cat tcpdump.err; return $status
        }
        section veth veth
        section veth-netns readlink /proc/self/ns/net
        ip netns del kdv-ns 2>/dev/null; ip link del kdv0 2>/dev/null
        # No filter here: the datagrams' ICMP answers pass ip_output too.
        fexit() { start e4 1 -i fexit/ip_output -c 3 -w fexit.pcapng && udp 127.0.0.1 9104 3; finish e4; }
        section fexit fexit
        # Nothing listens on 9110: loopback's receiver frees each datagram's skb (answering with ICMP,
        # which the filter leaves out) before ip_output returns.
        fexit_filter() {
            start e9 1 -i fexit/ip_output -w fexit-filter.pcapng 'udp dst port 9110' && udp 127.0.0.1 9110 4 && udp 127.0.0.1 9111 5 && sleep 1 && kill -TERM $capture
            finish e9
        }
        section fexit-filter fexit_filter
        kprobe() { start e5 2 -i fentry/ip_output -i kprobe/ip_output -c 8 -w kprobe.pcapng 'udp dst port 9105' && udp 127.0.0.1 9105 4; finish e5; }
        section kprobe-fentry kprobe
        filter() { start e6 1 -i fentry/ip_output -w filter.pcapng 'udp dst port 9106' && udp 127.0.0.1 9106 5 && udp 127.0.0.1 9107 7 && sleep 1 && kill -TERM $capture; finish e6; }
        section kernel-filter filter
        glob() {
            local n; n=$("$K" btf funcs 'fentry/ip_*output*' --skb | grep -c '^fentry/')
            start e7 "$n" -i 'fentry/ip_*output*' -w glob.pcapng 'udp dst port 9108' && udp 127.0.0.1 9108 2 && sleep 1 && kill -TERM $capture; finish e7
        }
        section glob glob
        section glob-cap "$K" capture -i 'fentry/tcp_*' -c 1
        section btf-funcs-skb "$K" btf funcs 'fentry/*' --skb
        # bpftool dumps it here: under emulation its raw dump (some 50 MB of text) takes many minutes.
        section btf cp /sys/kernel/btf/vmlinux vmlinux.btf
        section module-unloaded "$K" capture -i fentry/ieee80211_rx_napi -c 1
        wifi() {
            # mac80211's ieee80211_scan_rx gets every frame a scanning radio receives that a scan
            # wants (beacons, probe responses), skb->data at the 802.11 header. wlan0 joins an IBSS
            # (it beacons and answers probes), wlan1 scans.
            modprobe mac80211_hwsim radios=2 && ip link set wlan0 up && iw dev wlan0 set type ibss &&
            ip link set wlan0 up && iw dev wlan0 ibss join kdv-ibss 2412 && ip link set wlan1 up || return 1
            start e8 2 -y ieee802_11 -i fentry/ieee80211_scan_rx -i kprobe/mac80211:ieee80211_scan_rx -c 8 -w wifi.pcapng 'wlan type mgt' || { finish e8; return 1; }
            # Scan until kdt has its 8 frames (-c): under emulation on a busy machine a scan may see none.
            for _ in $(seq 1 40); do
                iw dev wlan1 scan trigger freq 2412 >/dev/null 2>&1; sleep 1
                kill -0 $capture 2>/dev/null || break
            done
            finish e8
        }
        section wifi wifi
        section btf-funcs-module "$K" btf funcs --module mac80211 'ieee80211_*rx*' --skb
        """;

    [GeneratedRegex(@"^@@kdt (?<name>\S+)\n(?<body>.*?)^@@kdt-end (?<status>\d+)$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex SectionPattern();

    [GeneratedRegex(@"^kdt: listening on (\S+),", RegexOptions.Multiline)]
    private static partial Regex ListeningPattern();

    [GeneratedRegex(@"^ip_.*output.*$")]
    private static partial Regex GlobIpOutput();

    // "[12] FUNC 'ip_output' type_id=11 linkage=static", "[5] PTR '(anon)' type_id=6", "[11] FUNC_PROTO '(anon)' ret_type_id=..."
    [GeneratedRegex(@"^\[(?<id>\d+)\] (?<kind>[A-Z_0-9]+) '(?<name>[^']*)'(?: type_id=(?<type>\d+))?")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^\t'[^']*' type_id=(\d+)$")]
    private static partial Regex ParameterLine();
}
