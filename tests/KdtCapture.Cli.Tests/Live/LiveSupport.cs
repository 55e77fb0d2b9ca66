using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KdtCapture.Cli.Tests.Offline;

namespace KdtCapture.Cli.Tests.Live;

/// <summary>Live captures need root (AF_PACKET) and tcpdump to compare with; tests skip with the reason otherwise.</summary>
internal static class LiveRequirements
{
    public static void Require()
    {
        Tcpdump.RequireInstalled();
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("live capture needs root (or CAP_NET_RAW): run the tests as root");
    }
}

/// <summary>
/// A capture process running in the background (kdt or tcpdump): stderr is collected as it comes so
/// the test can wait for "listening on" before sending, then stop it with a signal.
/// </summary>
internal sealed class Capturer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();
    private readonly Lock _lock = new();
    private int _listening;

    private Capturer(Process process)
    {
        _process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_lock)
            {
                _stderr.Append(e.Data).Append('\n');
                if (e.Data.Contains("listening on ", StringComparison.Ordinal)) _listening++;
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_lock) _stdout.Append(e.Data).Append('\n');
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    /// <summary>Starts <paramref name="fileName"/>, optionally inside network namespace <paramref name="netns"/>.</summary>
    public static Capturer Start(string fileName, IEnumerable<string> args, string? netns = null)
    {
        var start = new ProcessStartInfo(netns is null ? fileName : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            start.ArgumentList.Add("netns");
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(netns);
            start.ArgumentList.Add(fileName);
        }
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["LC_ALL"] = "C";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        return new Capturer(process);
    }

    public static Capturer Kdt(IEnumerable<string> args, string? netns = null) => Start(Tests.Kdt.Binary, ["capture", .. args], netns);

    public static Capturer Tcpdump(IEnumerable<string> args, string? netns = null) => Start(Tests.Tcpdump.Location!, ["-Z", "root", .. args], netns);

    public string Stderr { get { lock (_lock) return _stderr.ToString(); } }
    public string Stdout { get { lock (_lock) return _stdout.ToString(); } }
    public int ExitCode => _process.ExitCode;
    public bool HasExited => _process.HasExited;

    /// <summary>Waits until the process announced <paramref name="count"/> "listening on" lines.</summary>
    public void WaitListening(int count = 1)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_lock)
            {
                if (_listening >= count) break;
            }
            if (_process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
                Assert.Fail($"the capture did not start listening: exited={_process.HasExited}\n{Stderr}");
            Thread.Sleep(20);
        }
        // libpcap installs the filter before "listening on" is printed; the ring is live now.
    }

    public void Signal(string name)
    {
        // With "ip netns exec" the capture replaced ip by exec, so the pid is the capture's.
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>Waits for the process to end by itself (e.g. after -c).</summary>
    public void WaitExit()
    {
        Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(30)), $"the capture did not end\n{Stderr}");
        _process.WaitForExit();
    }

    /// <summary>Stops the capture with <paramref name="signal"/> and waits for it.</summary>
    public void Stop(string signal = "INT")
    {
        if (!_process.HasExited) Signal(signal);
        WaitExit();
    }

    /// <summary>The number in a statistics line such as "12 packets received by filter".</summary>
    public long Statistic(string what)
    {
        foreach (string line in Stderr.Split('\n'))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && line.EndsWith(" " + what, StringComparison.Ordinal) && long.TryParse(line.AsSpan(0, space), CultureInfo.InvariantCulture, out long n))
                return n;
        }
        Assert.Fail($"no '{what}' line in\n{Stderr}");
        return 0;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}

/// <summary>UDP datagrams with distinct payloads, so captures can be compared packet for packet.</summary>
internal static class Traffic
{
    /// <summary>Sends <paramref name="count"/> datagrams to <paramref name="to"/>; payload i is "kdt-live {tag} {i}" padded to a varying length.</summary>
    public static void SendUdp(IPEndPoint to, int count, string tag, IPAddress? from = null)
    {
        using var socket = new Socket(to.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (from is not null) socket.Bind(new IPEndPoint(from, 0));
        for (int i = 0; i < count; i++)
        {
            string text = $"kdt-live {tag} {i} ".PadRight(20 + i % 50, '.');
            socket.SendTo(Encoding.ASCII.GetBytes(text), to);
        }
    }

    /// <summary>A UDP port no other test uses at the same time.</summary>
    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}

/// <summary>
/// Two network namespaces joined by a veth pair, with addresses of our own (10.213.N.1/.2): created
/// for one test and removed after it. Commands run inside with <see cref="Exec"/>.
/// </summary>
internal sealed class VethPair : IDisposable
{
    private static int s_next;

    public VethPair()
    {
        int n = Interlocked.Increment(ref s_next) + (Environment.ProcessId % 50) * 4;
        string id = $"{Environment.ProcessId % 10000}x{n}";
        NamespaceA = $"kdtJa{id}";
        NamespaceB = $"kdtJb{id}";
        AddressA = IPAddress.Parse($"10.213.{n % 250}.1");
        AddressB = IPAddress.Parse($"10.213.{n % 250}.2");
        Run("ip", "netns", "add", NamespaceA);
        Run("ip", "netns", "add", NamespaceB);
        Run("ip", "link", "add", "kdtveth0", "netns", NamespaceA, "type", "veth", "peer", "name", "kdtveth1", "netns", NamespaceB);
        Exec(NamespaceA, "ip", "addr", "add", $"{AddressA}/24", "dev", "kdtveth0");
        Exec(NamespaceB, "ip", "addr", "add", $"{AddressB}/24", "dev", "kdtveth1");
        Exec(NamespaceA, "ip", "link", "set", "kdtveth0", "up");
        Exec(NamespaceB, "ip", "link", "set", "kdtveth1", "up");
        Exec(NamespaceA, "ip", "link", "set", "lo", "up");
        Exec(NamespaceB, "ip", "link", "set", "lo", "up");
        // Static neighbours: no ARP exchange mixes into the traffic the tests count.
        string macA = Exec(NamespaceA, "cat", "/sys/class/net/kdtveth0/address").Trim();
        string macB = Exec(NamespaceB, "cat", "/sys/class/net/kdtveth1/address").Trim();
        Exec(NamespaceA, "ip", "neigh", "replace", AddressB.ToString(), "lladdr", macB, "dev", "kdtveth0", "nud", "permanent");
        Exec(NamespaceB, "ip", "neigh", "replace", AddressA.ToString(), "lladdr", macA, "dev", "kdtveth1", "nud", "permanent");
        // IPv6 would send router solicitations and DAD probes of its own.
        Exec(NamespaceA, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
        Exec(NamespaceB, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
    }

    public string NamespaceA { get; }
    public string NamespaceB { get; }
    public IPAddress AddressA { get; }
    public IPAddress AddressB { get; }
    public const string InterfaceA = "kdtveth0";

    /// <summary>Sends UDP datagrams from namespace B to A (or A to B) with a small python-free sender: kdt's test binary itself cannot
    /// enter a namespace per thread reliably, so the shell's /dev/udp is used.</summary>
    public void SendUdp(bool fromB, int port, int count, string tag)
    {
        string ns = fromB ? NamespaceB : NamespaceA;
        IPAddress to = fromB ? AddressA : AddressB;
        var script = new StringBuilder();
        for (int i = 0; i < count; i++)
            script.Append(CultureInfo.InvariantCulture, $"printf '%s' 'kdt-live {tag} {i} {new string('.', i % 40)}' > /dev/udp/{to}/{port}\n");
        Exec(ns, "bash", "-c", script.ToString());
    }

    public static string Exec(string netns, params string[] command) => Run(["ip", "netns", "exec", netns, .. command]);

    private static string Run(params string[] command)
    {
        var result = ProcessRunner.Run(command[0], command[1..], TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', command)} failed: {result}");
        return result.Stdout;
    }

    public void Dispose()
    {
        // Deleting a namespace removes its end of the veth pair, and with it the other end.
        ProcessRunner.Run("ip", ["netns", "del", NamespaceA], TimeSpan.FromSeconds(30));
        ProcessRunner.Run("ip", ["netns", "del", NamespaceB], TimeSpan.FromSeconds(30));
    }
}
