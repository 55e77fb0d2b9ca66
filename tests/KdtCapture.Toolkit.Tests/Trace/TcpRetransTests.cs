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

    /// <summary>Connects, exchanges a first segment (so the connection has measured its round
    /// trip), blackholes the replies inside the namespace and sends more: the client sends a
    /// tail loss probe, then retransmits on each timeout. Returns the client's local port.</summary>
    private static int LoseReplies(VethNamespace ns, Socket listener)
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
        // The first timeout is at least 200 ms away (TCP_RTO_MIN), the second 400 ms after it.
        Thread.Sleep(1000);
        int port = ((IPEndPoint)client.LocalEndPoint!).Port;
        client.Close(0);
        return port;
    }

    [Fact]
    public void RetransmitsAndTheTailLossProbeOfABlackholedConnection()
    {
        var tool = new TcpRetrans();
        TraceRun.SkipUnlessSupported(tool);
        using var ns = new VethNamespace();
        using var listener = ns.ListenInside();
        int serverPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
        int clientPort = 0;
        var events = TraceRun.Json(tool, new TraceToolOptions { LossProbes = true }, () => clientPort = LoseReplies(ns, listener));
        var ours = events.Where(e => e.GetProperty("lport").GetInt32() == clientPort && e.GetProperty("rport").GetInt32() == serverPort).ToList();
        Assert.NotEmpty(ours);
        foreach (var e in ours)
        {
            Assert.Equal(4, e.GetProperty("ip").GetInt32());
            Assert.Equal(ns.Outside.ToString(), e.GetProperty("laddr").GetString());
            Assert.Equal(ns.Inside.ToString(), e.GetProperty("raddr").GetString());
            Assert.Equal("ESTABLISHED", e.GetProperty("state").GetString());
        }
        // No reply comes: first the probe of the last segment (2 round trips later), then a
        // retransmission at every timeout (at least two within the second).
        var types = ours.Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal("L", types[0]);
        Assert.True(types.Skip(1).Count(t => t == "R") >= 2, string.Join(",", types));
        Assert.Single(types, t => t == "L");
        // The server never sent data, so nothing of it is retransmitted.
        Assert.DoesNotContain(events, e => e.GetProperty("lport").GetInt32() == serverPort);
    }

    [Fact]
    public void CountModeCountsTheConnectionsRetransmitsWithoutProbes()
    {
        var tool = new TcpRetrans();
        TraceRun.SkipUnlessSupported(tool);
        using var ns = new VethNamespace();
        using var listener = ns.ListenInside();
        int serverPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
        int clientPort = 0;
        var result = TraceRun.Json(tool, new TraceToolOptions { Count = true }, () => clientPort = LoseReplies(ns, listener));
        var table = Assert.Single(result);
        var row = Assert.Single(table.GetProperty("connections").EnumerateArray(),
            r => r.GetProperty("local").GetString() == $"{ns.Outside}:{clientPort}");
        Assert.Equal($"{ns.Inside}:{serverPort}", row.GetProperty("remote").GetString());
        Assert.InRange(row.GetProperty("retransmits").GetInt64(), 2, 10);
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
