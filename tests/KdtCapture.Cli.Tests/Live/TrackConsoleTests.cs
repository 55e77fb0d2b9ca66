using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace KdtCapture.Cli.Tests.Live;

/// <summary>
/// <c>kdt capture --track-skb</c> without <c>-w</c> prints a packet's path as pwru does: time, tap,
/// skb address, process, then tcpdump's one-line summary; and <c>-U -w -</c> streams pcapng to a
/// reader while the capture runs.
/// </summary>
public sealed partial class TrackConsoleTests
{
    [GeneratedRegex(@"^\d\d:\d\d:\d\d\.\d{6} (?<tap>\w+) (?<skb>0x[0-9a-f]{8,16}) (?<process>\S+\[\d+\])(?<drop>( reason=\w+)? location=[\w.]+\+0x[0-9a-f]+)? (?<summary>IP .*)$")]
    private static partial Regex TrackLine();

    [GeneratedRegex(@"^\d\d:\d\d:\d\d\.\d{6} (?<summary>IP .*)$")]
    private static partial Regex InterfaceLine();

    private static void RequireTaps()
    {
        LiveRequirements.Require();
        if (!KdtCapture.Bpf.Features.BpfFeatures.HasAttachKind(KdtCapture.Bpf.Features.BpfAttachKind.TpBtf))
            Assert.Skip("this kernel cannot attach tp_btf programs");
    }

    [Fact]
    public void TrackedLinesShowEachDatagramsPathWithOneSkbAndTheSummaryLoPrints()
    {
        RequireTaps();
        int port = Traffic.FreePort();
        // The skb tracepoints of the glob, the transmit ones, and lo itself (the oracle for the summary text).
        using var kdt = Capturer.Kdt(["-n", "--immediate-mode", "-B", "8192", "--track-skb", "-i", "tp_btf/*skb*", "-i", "tp_btf/net_dev_queue",
            "-i", "tp_btf/net_dev_start_xmit", "-i", "tp_btf/net_dev_xmit", "-i", "tp_btf/netif_rx", "-i", "lo", $"udp dst port {port}"]);
        kdt.WaitListening(2);
        const int sent = 3;
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp))
        {
            for (int i = 0; i < sent; i++)
            {
                // Datagram i is 20 + i bytes long: its lines are told apart by their summary.
                socket.SendTo(new byte[20 + i], new IPEndPoint(IPAddress.Loopback, port));
                Thread.Sleep(100);
            }
        }
        // Each path ends with its drop: wait for the three (a loaded machine may take a while) before stopping.
        var clock = Stopwatch.StartNew();
        while (Regex.Count(kdt.Stdout, " kfree_skb ") < sent && clock.Elapsed < TimeSpan.FromSeconds(30))
            Thread.Sleep(50);
        kdt.Stop();
        Assert.True(kdt.ExitCode == 0, kdt.Stderr);

        var lines = kdt.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var tracked = lines.Select(l => TrackLine().Match(l)).Where(m => m.Success).ToList();
        var plain = lines.Select(l => InterfaceLine().Match(l)).Where(m => m.Success).Select(m => m.Groups["summary"].Value).ToList();
        Assert.True(plain.Count == sent, $"lo printed {plain.Count} lines of {sent}:\n{kdt.Stdout}\n{kdt.Stderr}");
        Assert.True(lines.Length == tracked.Count + plain.Count, "lines of neither form:\n" + string.Join('\n', lines.Where(l => !TrackLine().IsMatch(l) && !InterfaceLine().IsMatch(l))));
        // Every datagram printed the same on lo, so each goes by its summary, as lo printed it.
        var perDatagram = tracked.GroupBy(m => m.Groups["summary"].Value).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(plain.Order(StringComparer.Ordinal), perDatagram.Keys.Order(StringComparer.Ordinal));
        foreach (var (summary, path) in perDatagram)
        {
            string text = string.Join('\n', path.Select(m => m.Value));
            // The datagram's skb, from the socket to the drop (no socket listens), the sender named on every hop;
            // besides it only the copy lo's packet socket took (a clone, freed once read: consume_skb).
            string skb = path.First(m => m.Groups["tap"].Value == "net_dev_queue").Groups["skb"].Value;
            Assert.All(path, m => Assert.EndsWith($"[{Environment.ProcessId}]", m.Groups["process"].Value, StringComparison.Ordinal));
            var taps = path.Where(m => m.Groups["skb"].Value == skb).Select(m => m.Groups["tap"].Value).ToList();
            foreach (string hop in new[] { "net_dev_queue", "net_dev_start_xmit", "netif_rx", "net_dev_xmit", "netif_receive_skb", "kfree_skb" })
                Assert.True(taps.Count(t => t == hop) == 1, $"{hop} not once in the path of {skb}:\n{text}");
            Assert.All(path.Where(m => m.Groups["skb"].Value != skb), m => Assert.Equal("consume_skb", m.Groups["tap"].Value));
            // The drop names its reason and place; no other hop of the datagram's skb has them (the freed
            // clone names where it was freed: the packet socket's receive function).
            Assert.All(path.Where(m => m.Groups["skb"].Value == skb), m => Assert.Equal(m.Groups["tap"].Value == "kfree_skb", m.Groups["drop"].Success));
            Assert.All(path.Where(m => m.Groups["skb"].Value != skb), m => Assert.Matches(@"^ location=t?packet_rcv\+", m.Groups["drop"].Value));
            Assert.StartsWith(" reason=NO_SOCKET location=", path.First(m => m.Groups["tap"].Value == "kfree_skb").Groups["drop"].Value, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TrackSkbWithoutKernelTapsIsRefusedWithWhatToDo()
    {
        var result = Kdt.Run("capture", "--track-skb", "-i", "lo", "icmp");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("kdt: --track-skb follows packets between kernel taps: capture with -i tp_btf/", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PacketBufferedPcapngOnStdoutReachesTsharkWhileTheCaptureRuns()
    {
        RequireTaps();
        int port = Traffic.FreePort();
        var kdtStart = new ProcessStartInfo(Kdt.Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "capture", "-i", "tp_btf/net_dev_queue", "-U", "-w", "-", $"udp dst port {port}" })
            kdtStart.ArgumentList.Add(a);
        var tsharkStart = new ProcessStartInfo("tshark") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "-l", "-n", "-i", "-", "-T", "fields", "-e", "udp.dstport", "-e", "frame.comment" })
            tsharkStart.ArgumentList.Add(a);
        using var tshark = Process.Start(tsharkStart)!;
        using var kdt = Process.Start(kdtStart)!;
        try
        {
            var listening = new ManualResetEventSlim();
            var stderr = new System.Text.StringBuilder();
            kdt.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (stderr) stderr.AppendLine(e.Data);
                if (e.Data.Contains("listening on", StringComparison.Ordinal)) listening.Set();
            };
            kdt.BeginErrorReadLine();
            tshark.ErrorDataReceived += (_, _) => { };
            tshark.BeginErrorReadLine();
            var seen = new List<string>();
            tshark.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null) lock (seen) seen.Add(e.Data);
            };
            tshark.BeginOutputReadLine();
            // The test is the pipe: what kdt writes goes on to tshark as it comes.
            CancellationToken cancel = TestContext.Current.CancellationToken;
            var pipe = Task.Run(async () =>
            {
                byte[] buffer = new byte[65536];
                int n;
                while ((n = await kdt.StandardOutput.BaseStream.ReadAsync(buffer, cancel)) > 0)
                {
                    await tshark.StandardInput.BaseStream.WriteAsync(buffer.AsMemory(0, n), cancel);
                    await tshark.StandardInput.BaseStream.FlushAsync(cancel);
                }
                tshark.StandardInput.Close();
            }, cancel);
            Assert.True(listening.Wait(TimeSpan.FromSeconds(30), cancel), $"kdt did not start listening:\n{stderr}");
            Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, port), 3, "pipe");
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                lock (seen) if (seen.Count >= 3) break;
                Thread.Sleep(50);
            }
            // tshark decoded the packets while kdt was still capturing: nothing waited for the end.
            Assert.False(kdt.HasExited, $"kdt ended early:\n{stderr}");
            lock (seen)
            {
                Assert.True(seen.Count == 3, $"tshark printed {seen.Count} packets of 3 while the capture ran: {string.Join(" | ", seen)}\n{stderr}");
                Assert.All(seen, l => Assert.StartsWith($"{port}\tnet_dev_queue ", l, StringComparison.Ordinal));
            }
            using (var kill = Process.Start("kill", ["-INT", kdt.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
                kill.WaitForExit();
            Assert.True(kdt.WaitForExit(TimeSpan.FromSeconds(30)));
            await pipe.WaitAsync(TimeSpan.FromSeconds(30), cancel);
            Assert.True(tshark.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.Equal(0, kdt.ExitCode);
        }
        finally
        {
            foreach (var p in new[] { kdt, tshark })
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit();
                }
        }
    }
}
