using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// Packets selected in the kernel by process (--pid, --comm), cgroup (--cgroup) and network namespace
/// (--netns). Two sender processes the test starts (python3, each with a comm of its own) send to
/// the same loopback port, where the test echoes every datagram back: a selection must capture
/// exactly one sender's datagrams, sent (at net_dev_queue) and received back (at netif_receive_skb),
/// and nothing of the other's.
/// </summary>
[Collection(KernelTapCollection.Name)]
public sealed class TapSelectionTests
{
    private const int SentByA = 4, SentByB = 6;

    /// <summary>
    /// A sender: names itself (its comm), waits for a line on stdin, then sends COUNT datagrams
    /// starting with TAG to the port, each after the echo of the one before.
    /// </summary>
    private const string SenderScript = """
        import socket, sys
        tag, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        open("/proc/self/comm", "w").write("kdk-send-" + tag)
        sys.stdin.readline()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        for i in range(count):
            s.sendto((tag + str(i)).encode(), ("127.0.0.1", port))
            s.recvfrom(100)
        """;

    private sealed class Sender : IDisposable
    {
        public Sender(string tag, int port, int count, string? netns = null)
        {
            var psi = new ProcessStartInfo(netns is null ? "python3" : "ip") { RedirectStandardInput = true };
            if (netns is not null)
                foreach (string a in new[] { "netns", "exec", netns, "python3" }) psi.ArgumentList.Add(a);
            foreach (string a in new[] { "-c", SenderScript, tag, port.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture) })
                psi.ArgumentList.Add(a);
            Process = Process.Start(psi)!;
            // The comm is set before the process reads stdin: wait until it shows.
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(10) && !Comm().StartsWith("kdk-send-", StringComparison.Ordinal))
                Thread.Sleep(10);
        }

        public Process Process { get; }

        private string Comm()
        {
            try
            {
                return File.ReadAllText($"/proc/{Process.Id}/comm").Trim();
            }
            catch (IOException)
            {
                return "";
            }
        }

        public void Go() => Process.StandardInput.WriteLine("go");

        public void WaitDone()
        {
            Assert.True(Process.WaitForExit(TimeSpan.FromSeconds(15)), "the sender did not finish");
            Assert.Equal(0, Process.ExitCode);
        }

        public void Dispose()
        {
            if (!Process.HasExited)
                Process.Kill();
            Process.Dispose();
        }
    }

    /// <summary>Echoes every datagram on 127.0.0.1:port back to its sender until disposed.</summary>
    private sealed class Echo : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly Thread _thread;

        public Echo(int port)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            _thread = new Thread(() =>
            {
                var buffer = new byte[100];
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                try
                {
                    while (true)
                    {
                        int n = _socket.ReceiveFrom(buffer, ref from);
                        _socket.SendTo(buffer.AsSpan(0, n), from);
                    }
                }
                catch (SocketException)
                {
                }
                catch (ObjectDisposedException)
                {
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public void Dispose()
        {
            _socket.Dispose();
            _thread.Join(TimeSpan.FromSeconds(2));
        }
    }

    private static void RequirePython()
    {
        TapTestKit.RequireTaps();
        if (CommandCapturePath("python3") is null)
            Assert.Skip("python3 (the test's sender processes) is not installed");
    }

    private static string? CommandCapturePath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Join(d, name)).FirstOrDefault(File.Exists);

    /// <summary>The payload's first byte (the sender's tag) of each frame, by tap; UDP over IPv4 on Ethernet: payload at 42.</summary>
    private static List<(string Tap, char Tag)> Tags(List<CapturedFrame> frames) =>
        [.. frames.Select(f => (f.InterfaceName, (char)f.Data[42]))];

    /// <summary>Runs senders A and B to one echoing port while a capture with <paramref name="selection"/> (made once they exist) runs.</summary>
    private static List<(string Tap, char Tag)> CaptureTwoSenders(Func<Sender, Sender, ProcessSelection> selection, Action<Sender>? beforeCapture = null)
    {
        int port = TapTestKit.FreshPort();
        using var echo = new Echo(port);
        using var a = new Sender("A", port, SentByA);
        using var b = new Sender("B", port, SentByB);
        beforeCapture?.Invoke(a);
        var taps = TapResolver.ForKernel().Resolve([TapSpec.Parse("tp_btf/net_dev_queue"), TapSpec.Parse("tp_btf/netif_receive_skb")]);
        using var capture = new RunningCapture(TapSource.Open(taps, new TapSourceOptions
        {
            Filter = $"udp port {port}",
            Immediate = true,
            Selection = selection(a, b),
        }));
        a.Go();
        b.Go();
        a.WaitDone();
        b.WaitDone();
        Thread.Sleep(400);
        capture.Stop();
        return Tags(capture.Sink.Frames);
    }

    private static void AssertOnly(char tag, int count, List<(string Tap, char Tag)> frames)
    {
        string all = string.Join(", ", frames);
        Assert.True(frames.All(f => f.Tag == tag), $"frames of the other sender: {all}");
        Assert.True(frames.Count(f => f.Tap == "tp_btf/net_dev_queue") == count, $"sent: {all}");
        Assert.True(frames.Count(f => f.Tap == "tp_btf/netif_receive_skb") == count, $"received: {all}");
    }

    [Fact]
    public void Pid_selects_one_senders_packets_sent_and_received()
    {
        RequirePython();
        var frames = CaptureTwoSenders((a, _) => ProcessSelection.Resolve(a.Process.Id.ToString(CultureInfo.InvariantCulture), null, null, null));
        AssertOnly('A', SentByA, frames);
    }

    [Fact]
    public void Comm_selects_one_senders_packets_sent_and_received()
    {
        RequirePython();
        var frames = CaptureTwoSenders((_, _) => ProcessSelection.Resolve(null, "kdk-send-B", null, null));
        AssertOnly('B', SentByB, frames);
    }

    [Fact]
    public void Cgroup_selects_the_packets_of_the_processes_in_it()
    {
        RequirePython();
        string root = ProcessSelection.Cgroup2Root() ?? throw new InvalidOperationException("no cgroup2");
        string cgroup = Path.Join(root, $"kdk-test-{Environment.ProcessId}");
        Directory.CreateDirectory(cgroup);
        try
        {
            var frames = CaptureTwoSenders(
                (_, _) => ProcessSelection.Resolve(null, null, cgroup, null),
                a => File.WriteAllText(Path.Join(cgroup, "cgroup.procs"), a.Process.Id.ToString(CultureInfo.InvariantCulture)));
            AssertOnly('A', SentByA, frames);
        }
        finally
        {
            // The sender has exited (or been killed): the cgroup is empty.
            for (int i = 0; i < 50 && Directory.Exists(cgroup); i++)
            {
                try
                {
                    Directory.Delete(cgroup);
                }
                catch (IOException)
                {
                    Thread.Sleep(20);
                }
            }
        }
    }

    [Fact]
    public void Netns_selects_the_packets_of_that_namespace()
    {
        RequirePython();
        string ns = $"kdk-sel-{Environment.ProcessId}";
        TapTestKit.Run("ip", "netns", "add", ns);
        try
        {
            TapTestKit.Run("ip", "-n", ns, "link", "set", "lo", "up");
            int port = TapTestKit.FreshPort();
            // In the namespace: a sender (and its own echo there); outside: the test's datagrams to the same port.
            using var inside = new Process { StartInfo = new ProcessStartInfo("ip") { ArgumentList = { "netns", "exec", ns, "python3", "-c",
                $"import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(5): s.sendto(b'N', ('127.0.0.1', {port}))" } } };
            var source = TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions
            {
                Filter = $"udp dst port {port}",
                Immediate = true,
                Selection = ProcessSelection.Resolve(null, null, null, "/run/netns/" + ns),
            });
            using var capture = new RunningCapture(source);
            Assert.Equal(3, TapTestKit.SendUdp(port, 3));
            inside.Start();
            Assert.True(inside.WaitForExit(TimeSpan.FromSeconds(10)));
            Thread.Sleep(400);
            var counters = source.ReadCounters()[0];
            capture.Stop();
            var frames = capture.Sink.Frames;
            Assert.Equal(5, frames.Count);
            Assert.All(frames, f => Assert.Equal((byte)'N', f.Data[42]));
            Assert.All(frames, f => Assert.Contains($" netns={VethPair.NetnsInode(ns)} ", f.Comment, StringComparison.Ordinal));
            Assert.True(counters.Filtered >= 3, $"{counters.Filtered} left in the kernel");
        }
        finally
        {
            TapTestKit.Run("ip", "netns", "del", ns);
        }
    }

    [Theory]
    [InlineData("999999999", null, null, null, "--pid 999999999: no such process")]
    [InlineData("x1", null, null, null, "--pid 'x1': not a process id")]
    [InlineData(null, "0123456789abcdefg", null, null, "--comm '0123456789abcdefg': longer than the 15 bytes")]
    [InlineData(null, null, "/kdk-no-such-cgroup", null, "--cgroup /kdk-no-such-cgroup: no such cgroup")]
    [InlineData(null, null, "/tmp", null, "--cgroup /tmp: not a cgroup v2 directory")]
    [InlineData(null, null, null, "/etc/hostname", "--netns /etc/hostname: not a network namespace")]
    [InlineData(null, null, null, "/proc/self/ns/uts", "--netns /proc/self/ns/uts: not a network namespace")]
    [InlineData(null, null, null, "kdk-no-such-ns", "--netns kdk-no-such-ns: no such file")]
    public void Bad_values_are_one_line_saying_what_to_give(string? pid, string? comm, string? cgroup, string? netns, string start)
    {
        if (cgroup is not null && ProcessSelection.Cgroup2Root() is null)
            Assert.Skip("no cgroup v2 file system is mounted");
        var e = Assert.Throws<TapException>(() => ProcessSelection.Resolve(pid, comm, cgroup, netns));
        Assert.StartsWith(start, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("give", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_thread_id_selects_its_whole_process_and_a_namespace_file_its_inode()
    {
        // This process's threads: any of their ids names the process.
        string thread = Directory.EnumerateDirectories("/proc/self/task").Select(Path.GetFileName).First(t => t != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))!;
        Assert.Equal((uint)Environment.ProcessId, ProcessSelection.Resolve(thread, null, null, null).Pid);
        uint inode = uint.Parse(TapTestKit.Run("stat", "-L", "-c", "%i", "/proc/self/ns/net").Trim(), CultureInfo.InvariantCulture);
        Assert.Equal(inode, ProcessSelection.Resolve(null, null, null, "/proc/self/ns/net").NetnsInode);
        Assert.Equal(4026531840u, ProcessSelection.Resolve(null, null, null, "4026531840").NetnsInode);
    }
}
