using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace KdtCapture.Cli.Tests.Live;

/// <summary>
/// <c>kdt capture -w FILE EXPR -- COMMAND</c>: only the command's packets (sent, and received back on
/// its socket) while another process sends to the same port, capture ended by the command's exit,
/// kdt's exit code the command's, the cgroup made for it gone afterwards. tshark reads the file.
/// </summary>
public sealed class CommandCaptureTests
{
    /// <summary>Sends COUNT datagrams starting with TAG to the port, each after the echo of the one before; exits with EXIT.</summary>
    private const string SenderScript = """
        import socket, sys, time
        tag, port, count, code = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        for i in range(count):
            s.sendto((tag + str(i)).encode(), ("127.0.0.1", port))
            s.recvfrom(100)
            time.sleep(0.05)
        sys.exit(code)
        """;

    [Fact]
    public void The_commands_packets_only_and_its_exit_code()
    {
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("needs root to load tap programs and make a cgroup");
        if (!KdtCapture.Bpf.Features.BpfFeatures.HasAttachKind(KdtCapture.Bpf.Features.BpfAttachKind.TpBtf))
            Assert.Skip("this kernel cannot attach tp_btf programs");
        if (!File.Exists("/usr/bin/tshark") || !File.Exists("/usr/bin/python3"))
            Assert.Skip("needs tshark (reads the file) and python3 (the senders)");

        int port = Traffic.FreePort();
        string file = Path.Combine(Path.GetTempPath(), $"kdk-command-{Environment.ProcessId}-{port}.pcapng");
        using var echo = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        echo.Bind(new IPEndPoint(IPAddress.Loopback, port));
        var echoing = new Thread(() =>
        {
            var buffer = new byte[100];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            try
            {
                while (true)
                {
                    int n = echo.ReceiveFrom(buffer, ref from);
                    echo.SendTo(buffer.AsSpan(0, n), from);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }) { IsBackground = true };
        echoing.Start();
        // Another process sending to the same port all along: none of its packets may be captured.
        using var other = Process.Start(new ProcessStartInfo("python3") { ArgumentList = { "-c", SenderScript, "B", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "60", "0" } })!;
        try
        {
            var result = Kdt.Run(["capture", "-n", "-w", file, $"udp port {port}", "--", "python3", "-c", SenderScript, "A", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "5", "7"], null);
            Assert.True(result.ExitCode == 7, result.ToString());
            Assert.Contains("packets captured", result.Stderr, StringComparison.Ordinal);

            var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "data.data" })
                psi.ArgumentList.Add(a);
            using var tshark = Process.Start(psi)!;
            string output = tshark.StandardOutput.ReadToEnd();
            tshark.WaitForExit();
            var frames = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToList();
            string all = string.Join("; ", frames.Select(f => string.Join(' ', f)));
            // 'A' is 0x41: the command's datagrams, out at net_dev_queue and echoed back to its socket at netif_receive_skb.
            Assert.True(frames.All(f => f[1].StartsWith("41", StringComparison.Ordinal)), all);
            Assert.True(frames.Count(f => f[0] == "tp_btf/net_dev_queue") == 5, all);
            Assert.True(frames.Count(f => f[0] == "tp_btf/netif_receive_skb") == 5, all);
            // The cgroup made for the command is gone.
            Assert.DoesNotContain(Directory.EnumerateDirectories("/sys/fs/cgroup", "kdt-capture-*", SearchOption.AllDirectories),
                d => !Directory.Exists("/proc/" + d[(d.LastIndexOf('-') + 1)..]));
        }
        finally
        {
            if (!other.HasExited)
                other.Kill();
            echo.Dispose();
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(new[] { "--", "kdk-no-such-command" }, "kdt: -- kdk-no-such-command: command not found")]
    [InlineData(new[] { "--pid", "999999999" }, "kdt: --pid 999999999: no such process")]
    [InlineData(new[] { "-i", "lo", "--comm", "x" }, "kdt: --pid, --comm, --cgroup, --netns and -- COMMAND select packets at kernel taps, and -i lo")]
    [InlineData(new[] { "-r", "/dev/null", "--pid", "1" }, "kdt: --pid, --comm, --cgroup, --netns and -- COMMAND select packets at kernel taps while capturing")]
    public void Bad_selections_are_one_line(string[] args, string start)
    {
        var result = Kdt.Run(["capture", .. args], null);
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith(start, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
