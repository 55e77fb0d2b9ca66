using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>tcpconnect, tcplife, tcpstates and tcpdrop against TCP connections the test makes
/// on loopback and inside a network namespace of its own.</summary>
public sealed class TcpToolTests
{
    private static int Port(JsonElement e, string name) => e.GetProperty(name).GetInt32();

    /// <summary>A port nobody listens on (bound, then closed) on <paramref name="address"/>.</summary>
    private static int ClosedPort(IPAddress address)
    {
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>Connects to a listener, sends <paramref name="send"/> bytes, gets <paramref name="reply"/>
    /// back, and closes the client first, then the server side. Returns the listener's port.</summary>
    private static int Session(IPAddress address, int send, int reply)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var client = new TcpClient(address.AddressFamily);
        client.Connect(address, port);
        var server = listener.AcceptTcpClient();
        client.GetStream().Write(new byte[send]);
        ReadExactly(server.GetStream(), send);
        server.GetStream().Write(new byte[reply]);
        ReadExactly(client.GetStream(), reply);
        client.Close();
        // The server sees the FIN (read returns 0), then closes: FIN_WAIT/TIME_WAIT on the
        // client's side, CLOSE_WAIT/LAST_ACK on the server's.
        Assert.Equal(0, server.GetStream().Read(new byte[1]));
        server.Close();
        return port;
    }

    private static void ReadExactly(NetworkStream s, int n)
    {
        var buffer = new byte[n];
        s.ReadExactly(buffer);
    }

    [Fact]
    public void TcpconnectSeesThisProcessesConnectsOverIpv4AndIpv6()
    {
        int port4 = 0, port6 = 0;
        var events = TraceRun.Json(new TcpStates(TcpStates.Mode.Connect), new TraceToolOptions { Pid = Environment.ProcessId }, () =>
        {
            port4 = Session(IPAddress.Loopback, 10, 10);
            port6 = Session(IPAddress.IPv6Loopback, 10, 10);
        });
        var v4 = Assert.Single(events, e => Port(e, "dport") == port4);
        Assert.Equal(4, v4.GetProperty("ip").GetInt32());
        Assert.Equal("127.0.0.1", v4.GetProperty("saddr").GetString());
        Assert.Equal("127.0.0.1", v4.GetProperty("daddr").GetString());
        Assert.Equal(Environment.ProcessId, v4.GetProperty("pid").GetInt32());
        var v6 = Assert.Single(events, e => Port(e, "dport") == port6);
        Assert.Equal(6, v6.GetProperty("ip").GetInt32());
        Assert.Equal("::1", v6.GetProperty("daddr").GetString());
        // Only connects: the accepted sockets and the listeners are not reported.
        Assert.DoesNotContain(events, e => Port(e, "sport") == port4 || Port(e, "sport") == port6);
    }

    [Fact]
    public void TcplifeReportsBothEndsWithBytesEachWay()
    {
        int port = 0;
        var events = TraceRun.Json(new TcpStates(TcpStates.Mode.Life), new TraceToolOptions { Pid = Environment.ProcessId }, () =>
            port = Session(IPAddress.Loopback, 5000, 3000));
        // The kernel's counters, as bcc's tcplife reports them: bytes_acked and bytes_received
        // count sequence space, so the SYN and FIN each add one where that socket's own
        // counter saw them (a socket accepted from a request sock starts after the handshake).
        var client = Assert.Single(events, e => Port(e, "dport") == port);
        Assert.Equal(1 + 5000 + 1, client.GetProperty("tx_bytes").GetInt64());
        Assert.Equal(3000 + 1, client.GetProperty("rx_bytes").GetInt64());
        var server = Assert.Single(events, e => Port(e, "sport") == port);
        Assert.Equal(3000 + 1, server.GetProperty("tx_bytes").GetInt64());
        Assert.Equal(5000 + 1, server.GetProperty("rx_bytes").GetInt64());
        Assert.Equal(Port(client, "sport"), Port(server, "dport"));
        foreach (var e in new[] { client, server })
        {
            Assert.Equal(Environment.ProcessId, e.GetProperty("pid").GetInt32());
            Assert.InRange(e.GetProperty("ms").GetDouble(), 0, 60_000);
        }
        // The listener closing is not a session.
        Assert.Equal(2, events.Count(e => Port(e, "sport") == port || Port(e, "dport") == port));
    }

    [Fact]
    public void TcpstatesFollowsBothSocketsThroughTheirStates()
    {
        int port = 0;
        var events = TraceRun.Json(new TcpStates(TcpStates.Mode.States), new TraceToolOptions(), () =>
            port = Session(IPAddress.Loopback, 100, 100));
        string First(Func<JsonElement, bool> match) => events.First(match).GetProperty("skaddr").GetString()!;
        string client = First(e => Port(e, "dport") == port && e.GetProperty("newstate").GetString() == "SYN_SENT");
        string server = First(e => Port(e, "sport") == port && e.GetProperty("newstate").GetString() == "SYN_RECV");
        List<string> Path(string sk) => events.Where(e => e.GetProperty("skaddr").GetString() == sk)
            .Select(e => e.GetProperty("oldstate").GetString() + "->" + e.GetProperty("newstate").GetString()).ToList();
        // .NET's Close shuts the socket down before closing it: the kernel reports the second
        // tcp_close_state as FIN_WAIT1 -> FIN_WAIT1 (bcc's tcpstates prints it too).
        var clientPath = Path(client);
        Assert.Equal(["CLOSE->SYN_SENT", "SYN_SENT->ESTABLISHED", "ESTABLISHED->FIN_WAIT1", "FIN_WAIT1->FIN_WAIT2", "FIN_WAIT2->CLOSE"],
            clientPath.Where(p => p != "FIN_WAIT1->FIN_WAIT1"));
        Assert.InRange(clientPath.Count(p => p == "FIN_WAIT1->FIN_WAIT1"), 0, 1);
        Assert.Equal(["LISTEN->SYN_RECV", "SYN_RECV->ESTABLISHED", "ESTABLISHED->CLOSE_WAIT", "CLOSE_WAIT->LAST_ACK", "LAST_ACK->CLOSE"], Path(server));
        // Every change after the first says how long the socket sat in its previous state.
        Assert.All(events.Where(e => e.GetProperty("skaddr").GetString() == client), e => Assert.InRange(e.GetProperty("ms").GetDouble(), 0, 60_000));
        // The listener: CLOSE -> LISTEN and back, with its port as the local one.
        var listener = events.Where(e => Port(e, "sport") == port && Port(e, "dport") == 0).ToList();
        Assert.Equal(["CLOSE->LISTEN", "LISTEN->CLOSE"], listener.Select(e => e.GetProperty("oldstate").GetString() + "->" + e.GetProperty("newstate").GetString()));
    }

    [Fact]
    public void TcpdropNamesTheReasonForASynToAClosedPort()
    {
        int closed = ClosedPort(IPAddress.Loopback);
        var events = TraceRun.Json(new TcpDrop(), new TraceToolOptions(), () =>
        {
            using var client = new TcpClient();
            var refused = Assert.Throws<SocketException>(() => client.Connect(IPAddress.Loopback, closed));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        });
        var drop = Assert.Single(events, e => Port(e, "dport") == closed);
        Assert.Equal("NO_SOCKET", drop.GetProperty("reason").GetString());
        Assert.Equal("SYN", drop.GetProperty("flags").GetString());
        Assert.Equal("127.0.0.1", drop.GetProperty("daddr").GetString());
        Assert.Equal(4, drop.GetProperty("ip").GetInt32());
        Assert.StartsWith("tcp_v4_rcv+0x", drop.GetProperty("location").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void DropReasonNamesComeFromTheKernelsEnum()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
            Assert.Skip("no /sys/kernel/btf/vmlinux: the drop reasons come from the kernel's BTF");
        var reasons = TcpDrop.DropReasons();
        // include/net/dropreason-core.h: SKB_NOT_DROPPED_YET = 0, SKB_CONSUMED, SKB_DROP_REASON_NOT_SPECIFIED, NO_SOCKET, ...
        Assert.Equal("SKB_NOT_DROPPED_YET", reasons[0]);
        Assert.Equal("SKB_CONSUMED", reasons[1]);
        Assert.Equal("NOT_SPECIFIED", reasons[2]);
        Assert.Equal("NO_SOCKET", reasons[3]);
        Assert.Contains("TCP_CSUM", reasons.Values);
    }

    /// <summary>A network namespace of the test's own (kdr- prefix), removed afterwards.</summary>
    private sealed class Netns : IDisposable
    {
        public Netns()
        {
            Name = "kdr-trace-" + Guid.NewGuid().ToString("N")[..8];
            var (code, output) = TraceRun.RunToEnd("ip", "netns", "add", Name);
            if (code != 0)
                Assert.Skip($"cannot create a network namespace ({output.Trim()})");
        }

        public string Name { get; }

        public void Dispose() => TraceRun.RunToEnd("ip", "netns", "del", Name);
    }

    [Fact]
    public void TcpconnectAndTcpdropInANetworkNamespace()
    {
        TraceRun.SkipUnlessSupported(new TcpDrop());
        using var ns = new Netns();
        Assert.Equal(0, TraceRun.RunToEnd("ip", "-n", ns.Name, "link", "set", "lo", "up").ExitCode);
        // bash's /dev/tcp connects from the shell itself; port 9 (discard) has no listener there.
        string shell = TraceRun.CopyBinary("/bin/bash", "kdr-bash-");
        try
        {
            int pid = 0;
            void Connect()
            {
                using var p = TraceRun.Start("ip", "netns", "exec", ns.Name, shell, "-c", "exec 3<>/dev/tcp/127.0.0.1/9");
                pid = p.Id; // ip netns exec execs the shell: same process
                p.WaitForExit();
                Assert.NotEqual(0, p.ExitCode);
            }
            string comm = TraceRun.CommOf(shell);
            var connects = TraceRun.Json(new TcpStates(TcpStates.Mode.Connect), new TraceToolOptions { Comm = comm }, Connect);
            var c = Assert.Single(connects);
            Assert.Equal(pid, c.GetProperty("pid").GetInt32());
            Assert.Equal(9, Port(c, "dport"));
            Assert.Equal("127.0.0.1", c.GetProperty("daddr").GetString());

            var drops = TraceRun.Json(new TcpDrop(), new TraceToolOptions(), Connect);
            var d = Assert.Single(drops, e => Port(e, "dport") == 9 && e.GetProperty("flags").GetString() == "SYN");
            Assert.Equal("NO_SOCKET", d.GetProperty("reason").GetString());
        }
        finally
        {
            File.Delete(shell);
        }
    }
}
