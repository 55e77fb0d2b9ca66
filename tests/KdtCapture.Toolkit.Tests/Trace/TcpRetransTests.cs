using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>tcpretrans against a connection into a network namespace of the test's own whose
/// replies are blackholed after the handshake, so the client's data is retransmitted.</summary>
public sealed class TcpRetransTests
{
    private const int CloneNewNet = 0x40000000;

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(nint fd, int nstype);

    /// <summary>A namespace joined to this one by a veth pair: 10.213.N.1 here, 10.213.N.2 inside.</summary>
    private sealed class VethNamespace : IDisposable
    {
        public VethNamespace()
        {
            string id = Guid.NewGuid().ToString("N")[..6];
            Name = "kdr-rt-" + id;
            Host = "kdr" + id + "a";
            int net = Random.Shared.Next(0, 256);
            Outside = IPAddress.Parse($"10.213.{net}.1");
            Inside = IPAddress.Parse($"10.213.{net}.2");
            var (code, output) = TraceRun.RunToEnd("ip", "netns", "add", Name);
            if (code != 0)
                Assert.Skip($"cannot create a network namespace ({output.Trim()})");
            Ip("link", "add", Host, "type", "veth", "peer", "name", "kdr" + id + "b", "netns", Name);
            Ip("addr", "add", $"{Outside}/30", "dev", Host);
            Ip("link", "set", Host, "up");
            Ip("-n", Name, "addr", "add", $"{Inside}/30", "dev", "kdr" + id + "b");
            Ip("-n", Name, "link", "set", "kdr" + id + "b", "up");
        }

        public string Name { get; }

        public string Host { get; }

        public IPAddress Outside { get; }

        public IPAddress Inside { get; }

        public static void Ip(params string[] args)
        {
            var (code, output) = TraceRun.RunToEnd("ip", args);
            Assert.True(code == 0, $"ip {string.Join(' ', args)}: {output.Trim()}");
        }

        /// <summary>A listening socket made inside the namespace (from a thread that enters it and leaves again).</summary>
        public Socket ListenInside()
        {
            Socket? socket = null;
            Exception? failure = null;
            var thread = new Thread(() =>
            {
                using var home = File.OpenHandle("/proc/thread-self/ns/net");
                using var target = File.OpenHandle($"/run/netns/{Name}");
                if (setns(target.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    failure = new InvalidOperationException($"setns: errno {Marshal.GetLastPInvokeError()}");
                    return;
                }
                try
                {
                    socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    socket.Bind(new IPEndPoint(Inside, 0));
                    socket.Listen();
                }
                catch (Exception e)
                {
                    failure = e;
                }
                finally
                {
                    Assert.Equal(0, setns(home.DangerousGetHandle(), CloneNewNet));
                }
            });
            thread.Start();
            thread.Join();
            if (failure is not null)
                throw new InvalidOperationException($"cannot listen in {Name}: {failure.Message}", failure);
            return socket!;
        }

        public void Dispose()
        {
            TraceRun.RunToEnd("ip", "netns", "del", Name);
            TraceRun.RunToEnd("ip", "link", "del", Host);
        }
    }

    /// <summary>The kernel's count of the connection's retransmitted segments (struct tcp_info's
    /// tcpi_total_retrans, at byte 100 since Linux 3.x).</summary>
    private static int TotalRetransmits(Socket socket)
    {
        var info = new byte[232];
        int n = socket.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
        Assert.True(n >= 104, $"TCP_INFO gave {n} bytes");
        return BitConverter.ToInt32(info, 100);
    }

    /// <summary>Connects, exchanges a first segment (so the connection has measured its round
    /// trip), blackholes the replies inside the namespace and sends more: the client sends a
    /// tail loss probe, then retransmits on each timeout, until the kernel has counted three.
    /// Returns the client's local port and the kernel's count just before the close.</summary>
    private static (int Port, int Retransmits) LoseReplies(VethNamespace ns, Socket listener)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect((IPEndPoint)listener.LocalEndPoint!);
        using var server = listener.Accept();
        client.Send(new byte[100]);
        var buffer = new byte[100];
        int got = 0;
        while (got < 100)
            got += server.Receive(buffer, got, 100 - got, SocketFlags.None);
        VethNamespace.Ip("-n", ns.Name, "route", "add", "blackhole", $"{ns.Outside}/32");
        client.Send(new byte[5000]);
        // Timeouts are at least 200 ms (TCP_RTO_MIN) and double each time: three take about 1.5 s.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        int retransmits;
        while ((retransmits = TotalRetransmits(client)) < 3 && DateTime.UtcNow < deadline)
            Thread.Sleep(20);
        Assert.True(retransmits >= 3, $"only {retransmits} retransmissions in 30 s");
        int port = ((IPEndPoint)client.LocalEndPoint!).Port;
        client.Close(0);
        return (port, retransmits);
    }

    /// <summary>tcpretrans with <paramref name="options"/> around <see cref="LoseReplies"/> in a namespace of its own.</summary>
    private static (List<JsonElement> Output, IPAddress Outside, IPAddress Inside, int ServerPort, int ClientPort, int Retransmits) Retransmit(TraceToolOptions options)
    {
        var tool = new TcpRetrans();
        TraceRun.SkipUnlessSupported(tool);
        using var ns = new VethNamespace();
        using var listener = ns.ListenInside();
        (int Port, int Retransmits) client = default;
        var output = TraceRun.Json(tool, options, () => client = LoseReplies(ns, listener));
        return (output, ns.Outside, ns.Inside, ((IPEndPoint)listener.LocalEndPoint!).Port, client.Port, client.Retransmits);
    }

    [Fact]
    public void RetransmitsAndTheTailLossProbeOfABlackholedConnection()
    {
        var (events, outside, inside, serverPort, clientPort, kernelCount) = Retransmit(new TraceToolOptions { LossProbes = true });
        var ours = events.Where(e => e.GetProperty("lport").GetInt32() == clientPort && e.GetProperty("rport").GetInt32() == serverPort).ToList();
        Assert.NotEmpty(ours);
        foreach (var e in ours)
        {
            Assert.Equal(4, e.GetProperty("ip").GetInt32());
            Assert.Equal(outside.ToString(), e.GetProperty("laddr").GetString());
            Assert.Equal(inside.ToString(), e.GetProperty("raddr").GetString());
            Assert.Equal("ESTABLISHED", e.GetProperty("state").GetString());
        }
        // No reply comes: first the probe of the last segment (2 round trips later), then a
        // retransmission at every timeout. The kernel counted each of them (a timeout may
        // fire between its last count and the close).
        var types = ours.Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal("L", types[0]);
        Assert.Single(types, t => t == "L");
        Assert.InRange(types.Count, kernelCount, kernelCount + 1);
        // The server never sent data, so nothing of it is retransmitted.
        Assert.DoesNotContain(events, e => e.GetProperty("lport").GetInt32() == serverPort);
    }

    [Fact]
    public void CountModeCountsTheConnectionsRetransmitsWithoutProbes()
    {
        var (result, outside, inside, serverPort, clientPort, kernelCount) = Retransmit(new TraceToolOptions { Count = true });
        var table = Assert.Single(result);
        var row = Assert.Single(table.GetProperty("connections").EnumerateArray(),
            r => r.GetProperty("local").GetString() == $"{outside}:{clientPort}");
        Assert.Equal($"{inside}:{serverPort}", row.GetProperty("remote").GetString());
        // The kernel's count includes the tail loss probe, which is not shown without -l.
        Assert.InRange(row.GetProperty("retransmits").GetInt64(), kernelCount - 1, kernelCount);
        Assert.False(row.TryGetProperty("loss_probes", out _));
    }

    [Fact]
    public void TcpretransTakesNoProcessFilter()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(1, KdtCapture.Cli.KdtCommand.Run(["trace", "tcpretrans", "-p", "1"], stdout, stderr));
        Assert.Equal("kdt trace: tcpretrans: option -p does not apply to tcpretrans, whose events happen in interrupt or timer context, for no process (see 'kdt trace tcpretrans --help')\n", stderr.ToString());
    }
}
