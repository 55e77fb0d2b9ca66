using System.Diagnostics;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests.Offline;

/// <summary>-C/-W through the CLI against tcpdump's file names; SIGINT on a capture fed slowly from a pipe.</summary>
public sealed class RotationAndSignalTests
{
    [Theory]
    [InlineData("-C 1")]
    [InlineData("-C 1 -W 2")]
    [InlineData("-C 1 -W 12")]
    public void RotationNamesFilesAsTcpdump(string options)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        // About 3.5 MB: four or five files of a million bytes.
        Synthetic.WriteUdpPcap(dir["big.pcap"], 3500, 1000);
        Directory.CreateDirectory(dir["t"]);
        Directory.CreateDirectory(dir["k"]);
        var tcpdump = Tcpdump.Run(["-Z", "root", .. Words.Split(options), "-r", dir["big.pcap"], "-w", Path.Combine(dir["t"], "out.pcap")]);
        Assert.True(tcpdump.ExitCode == 0, tcpdump.ToString());
        var kdt = Kdt.Run(["capture", .. Words.Split(options), "-r", dir["big.pcap"], "-w", Path.Combine(dir["k"], "out.pcap")]);
        Assert.True(kdt.ExitCode == 0, kdt.ToString());

        string[] expected = Directory.GetFiles(dir["t"]).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        string[] actual = Directory.GetFiles(dir["k"]).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        Assert.True(expected.Length > 1, "the capture should have rotated");
        Assert.Equal(expected, actual);
        long packets = 0;
        foreach (string f in actual)
        {
            string path = Path.Combine(dir["k"], f);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Captures.Mode(path));
            packets += Captures.Read(path).Count;
        }
        if (!options.Contains("-W", StringComparison.Ordinal))
            Assert.Equal(3500, packets);
    }

    [Fact]
    public void SigintOnSlowPipeLeavesCompleteFileWithStatistics()
    {
        Tool.Require("tshark");
        byte[] file = File.ReadAllBytes(Corpus.Tcpdump("mptcp-v0.pcap"));
        using var dir = new TempDir();
        string output = dir["out.pcapng"];
        using Process kdt = Captures.StartWithInput(Kdt.Binary, ["capture", "-r", "-", "-w", output]);
        Stream stdin = kdt.StandardInput.BaseStream;

        // The file header and the first packets arrive one by one, then the writer goes quiet.
        const int sent = 12;
        stdin.Write(file, 0, 24);
        int offset = 24;
        for (int i = 0; i < sent; i++)
        {
            int caplen = BitConverter.ToInt32(file, offset + 8);
            stdin.Write(file, offset, 16 + caplen);
            stdin.Flush();
            offset += 16 + caplen;
            Thread.Sleep(20);
        }
        // Once kdt said where it reads from, it has opened the file and is about to capture.
        string? first = kdt.StandardError.ReadLine();
        Assert.Equal("reading from file -, link-type EN10MB (Ethernet), snapshot length 65535", first);
        Thread.Sleep(500);
        Assert.False(kdt.HasExited, "kdt ended although its input is still open");

        using (var kill = Process.Start("kill", ["-INT", kdt.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            kill!.WaitForExit();
        Assert.True(kdt.WaitForExit(TimeSpan.FromSeconds(20)), "kdt did not stop on SIGINT");
        string rest = kdt.StandardError.ReadToEnd();
        Assert.True(kdt.ExitCode == 0, $"exit {kdt.ExitCode}: {rest}");
        Assert.Equal("", rest);

        using (var reader = (PcapNgReader)CaptureReader.Open(output))
        {
            var blocks = reader.ReadAllBlocks().ToList();
            Assert.Null(reader.Truncation);
            Assert.Equal(sent, blocks.OfType<EnhancedPacketBlock>().Count());
            var isb = Assert.Single(blocks.OfType<InterfaceStatisticsBlock>());
            Assert.Equal((ulong)sent, isb.Received);
        }
        var tshark = Tool.Run("tshark", "-r", output, "-T", "fields", "-e", "frame.number");
        Assert.True(tshark.ExitCode == 0, tshark.ToString());
        Assert.Equal(sent, tshark.Stdout.TrimEnd('\n').Split('\n').Length);
        stdin.Dispose();
    }
}
