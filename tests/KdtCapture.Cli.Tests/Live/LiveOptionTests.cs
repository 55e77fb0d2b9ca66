using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KdtCapture.Cli.Tests.Offline;

namespace KdtCapture.Cli.Tests.Live;

/// <summary>tcpdump's options that act on a live interface (-j, -I, -f) or on real traffic (-M), compared with tcpdump.</summary>
public sealed class LiveOptionTests
{
    private static string AsKdt(string tcpdumpText) => tcpdumpText.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal);

    [Fact]
    public void Unknown_time_stamp_type_is_refused_as_tcpdump_refuses_it()
    {
        LiveRequirements.Require();
        ProcessResult tcpdump = Tcpdump.Run(["-j", "kdt-bogus", "-i", "lo", "-c", "1"]);
        ProcessResult kdt = Kdt.Run("capture", "-j", "kdt-bogus", "-i", "lo", "-c", "1");
        Assert.NotEqual(0, kdt.ExitCode);
        Assert.Equal(AsKdt(tcpdump.Stderr), kdt.Stderr);
    }

    [Fact]
    public void Time_stamp_type_the_device_cannot_set_warns_as_tcpdump_and_captures()
    {
        LiveRequirements.Require();
        string warning(Capturer c) => c.Stderr.Split('\n').Single(l => l.Contains("WARNING", StringComparison.Ordinal));
        string expected, actual;
        using (var tcpdump = Capturer.Tcpdump(["-j", "adapter", "-i", "lo", "udp port 9"]))
        {
            tcpdump.WaitListening();
            tcpdump.Stop();
            expected = warning(tcpdump);
        }
        using (var kdt = Capturer.Kdt(["-j", "adapter", "-i", "lo", "udp port 9"]))
        {
            kdt.WaitListening();
            kdt.Stop();
            Assert.Equal(0, kdt.ExitCode);
            actual = warning(kdt);
        }
        Assert.Equal(AsKdt(expected), actual);
    }

    [Fact]
    public void Monitor_mode_on_a_device_without_it_is_refused_as_tcpdump_refuses_it()
    {
        LiveRequirements.Require();
        ProcessResult tcpdump = Tcpdump.Run(["-I", "-i", "lo", "-c", "1"]);
        ProcessResult kdt = Kdt.Run("capture", "-I", "-i", "lo", "-c", "1");
        Assert.NotEqual(0, tcpdump.ExitCode);
        Assert.NotEqual(0, kdt.ExitCode);
        Assert.Equal(AsKdt(tcpdump.Stderr), kdt.Stderr);
    }

    [Theory]
    [InlineData("ip broadcast")]
    [InlineData("ip broadcast or udp")]
    public void Foreign_flag_compiles_with_the_interfaces_netmask_as_tcpdump(string expression)
    {
        LiveRequirements.Require();
        ProcessResult tcpdump = Tcpdump.Run(["-f", "-i", "lo", "-d", expression]);
        ProcessResult kdt = Kdt.Run("capture", "-f", "-i", "lo", "-d", expression);
        Assert.Equal(0, tcpdump.ExitCode);
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
    }

    [Fact]
    public void Verbose_writing_reports_the_count_each_second_as_tcpdump()
    {
        LiveRequirements.Require();
        using var dir = new TempDir();
        int port = Traffic.FreePort();
        using var kdt = Capturer.Kdt(["-v", "-i", "lo", "-w", dir["v.pcapng"], $"udp port {port}"]);
        kdt.WaitListening();
        Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, port), 3, "got");
        // tcpdump's timer fires every second; two ticks see the three datagrams.
        Thread.Sleep(2500);
        kdt.Stop();
        Assert.Equal(0, kdt.ExitCode);
        // "Got N\r" rewrites one line of the terminal; the collected stderr has it as lines of their own.
        Assert.Contains("Got 3", kdt.Stderr.Split('\n', '\r'));
        Assert.Equal(3, Captures.Read(dir["v.pcapng"]).Count);
    }

    /// <summary>
    /// A TCP connection on loopback whose segments carry RFC 2385 signatures (the kernel's TCP_MD5SIG),
    /// recorded by tcpdump; kdt -M must print it as tcpdump -M does, with the right and a wrong secret.
    /// </summary>
    [Fact]
    public void Tcp_md5_signatures_are_checked_as_tcpdump_checks_them()
    {
        LiveRequirements.Require();
        using var dir = new TempDir();
        const string secret = "kdt-md5-secret";
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (!TrySetMd5Key(listener, IPAddress.Loopback, secret, out string? why))
            Assert.Skip($"this kernel refuses TCP_MD5SIG ({why}); TCP MD5 signatures cannot be made here");
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using (var tcpdump = Capturer.Tcpdump(["--immediate-mode", "-i", "lo", "-U", "-w", dir["md5.pcap"], $"tcp port {port}"]))
        {
            tcpdump.WaitListening();
            using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                Assert.True(TrySetMd5Key(client, IPAddress.Loopback, secret, out why), why);
                client.Connect(new IPEndPoint(IPAddress.Loopback, port));
                using Socket server = listener.Accept();
                client.Send(Encoding.ASCII.GetBytes("signed hello"));
                var buffer = new byte[64];
                int n = server.Receive(buffer);
                server.Send(buffer.AsSpan(0, n));
                client.Receive(buffer);
                client.Shutdown(SocketShutdown.Both);
                server.Shutdown(SocketShutdown.Both);
            }
            // Immediate mode hands each segment over as it comes; a moment more lets the last ones land.
            Thread.Sleep(1000);
            tcpdump.Stop();
        }
        foreach (string[] options in new[] { new[] { "-M", secret }, ["-M", "wrong"], [], ["-v", "-M", secret] })
        {
            string[] args = ["-n", .. options, "-r", dir["md5.pcap"]];
            ProcessResult expected = Tcpdump.Run(args);
            ProcessResult actual = Kdt.Run(["capture", .. args]);
            Assert.Equal(0, actual.ExitCode);
            Assert.True(expected.Stdout.Contains("md5", StringComparison.Ordinal), expected.ToString());
            Assert.Equal(expected.Stdout, actual.Stdout);
        }
        Assert.Contains("md5valid", Kdt.Run("capture", "-n", "-M", secret, "-r", dir["md5.pcap"]).Stdout.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    /// <summary>setsockopt(IPPROTO_TCP, TCP_MD5SIG) with struct tcp_md5sig for one IPv4 peer.</summary>
    private static bool TrySetMd5Key(Socket socket, IPAddress peer, string key, out string? why)
    {
        var option = new byte[128 + 1 + 1 + 2 + 4 + 80];
        BinaryPrimitives.WriteUInt16LittleEndian(option, (ushort)AddressFamily.InterNetwork);
        peer.GetAddressBytes().CopyTo(option, 4);
        byte[] keyBytes = Encoding.ASCII.GetBytes(key);
        BinaryPrimitives.WriteUInt16LittleEndian(option.AsSpan(130), (ushort)keyBytes.Length);
        keyBytes.CopyTo(option, 136);
        try
        {
            socket.SetRawSocketOption(6 /* IPPROTO_TCP */, 14 /* TCP_MD5SIG */, option);
            why = null;
            return true;
        }
        catch (SocketException e)
        {
            why = e.Message;
            return false;
        }
    }
}
