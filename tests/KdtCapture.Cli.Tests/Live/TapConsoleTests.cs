using System.Net;
using System.Text.RegularExpressions;

namespace KdtCapture.Cli.Tests.Live;

/// <summary>
/// Without -w, a tap frame prints as tcpdump's line with the tap and the process after the time
/// stamp (`12:00:00.000000 net_dev_queue curl[1234] Out IP ...`), while interface frames in the same
/// capture print exactly as tcpdump prints them.
/// </summary>
public sealed partial class TapConsoleTests
{
    [GeneratedRegex(@"^\d\d:\d\d:\d\d\.\d{6} (?<rest>.*)$")]
    private static partial Regex TimedLine();

    [Fact]
    public void TapLinesNameTheTapAndTheSendingProcessInterfaceLinesDoNot()
    {
        LiveRequirements.Require();
        if (!KdtCapture.Bpf.Features.BpfFeatures.HasAttachKind(KdtCapture.Bpf.Features.BpfAttachKind.TpBtf))
            Assert.Skip("this kernel cannot attach tp_btf programs");
        int port = Traffic.FreePort();
        using var kdt = Capturer.Kdt(["-n", "--immediate-mode", "-B", "65536", "-i", "tp_btf/net_dev_queue", "-i", "lo", $"udp dst port {port}"]);
        kdt.WaitListening(2);
        const int sent = 10;
        Traffic.SendUdp(new IPEndPoint(IPAddress.Loopback, port), sent, "console");
        Thread.Sleep(500);
        kdt.Stop();
        Assert.True(kdt.ExitCode == 0, kdt.Stderr);

        string packetText = $"IP 127.0.0.1.";
        var lines = kdt.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => TimedLine().Match(l))
            .Where(m => m.Success)
            .Select(m => m.Groups["rest"].Value)
            .ToList();
        // The prefix ends with the direction, as tcpdump prints it for cooked captures: net_dev_queue sends.
        string ownProcess = $"[{Environment.ProcessId}] Out ";
        var tapLines = lines.Where(l => l.StartsWith("net_dev_queue ", StringComparison.Ordinal)).ToList();
        var plainLines = lines.Where(l => l.StartsWith(packetText, StringComparison.Ordinal)).ToList();
        Assert.True(tapLines.Count == sent, $"{tapLines.Count} tap lines of {sent}\n{kdt.Stdout}\n{kdt.Stderr}");
        Assert.True(plainLines.Count == sent, $"{plainLines.Count} interface lines of {sent}\n{kdt.Stdout}");
        foreach (string line in tapLines)
        {
            // "net_dev_queue COMM[PID] Out IP 127.0.0.1.X > 127.0.0.1.PORT: UDP, length N": the prefix, then tcpdump's text.
            int process = line.IndexOf(ownProcess, StringComparison.Ordinal);
            Assert.True(process > "net_dev_queue ".Length, $"no sender {ownProcess.Trim()} in: {line}");
            string tcpdumpText = line[(process + ownProcess.Length)..];
            Assert.StartsWith(packetText, tcpdumpText, StringComparison.Ordinal);
            Assert.Contains($"> 127.0.0.1.{port}: UDP, length ", tcpdumpText, StringComparison.Ordinal);
        }
        // The same packets seen at the tap and on lo print the same tcpdump text after the prefix.
        Assert.Equal(
            plainLines.Order(StringComparer.Ordinal),
            tapLines.Select(l => l[(l.IndexOf(ownProcess, StringComparison.Ordinal) + ownProcess.Length)..]).Order(StringComparer.Ordinal));
    }
}
