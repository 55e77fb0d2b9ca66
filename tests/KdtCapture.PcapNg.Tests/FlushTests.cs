namespace KdtCapture.PcapNg.Tests;

/// <summary>
/// What a capture killed at any moment leaves behind. Catching SIGINT/SIGTERM is the command's
/// business (a library must not take over process signals): it cancels the capture and disposes
/// its writers. The library's share is tested here: with FlushEachPacket (tcpdump -U) every
/// packet a write returned from is in the file, readable, even though the writer was never
/// closed, for every format and compression; and closing on another thread than the one that
/// wrote (a signal handler's) finishes the file with its statistics blocks.
/// </summary>
public sealed class FlushTests
{
    [Theory]
    [InlineData("x.pcapng")]
    [InlineData("x.pcap")]
    [InlineData("x.pcapng.lz4")]
    [InlineData("x.pcapng.gz")]
    [InlineData("x.pcap.lz4")]
    public void With_flush_each_packet_every_written_packet_is_readable_before_close(string name)
    {
        using var dir = new TempDir();
        string path = dir.File(name);
        List<InterfaceDescription> ifs = Samples.Interfaces(mixedLinkTypes: false);
        List<Samples.Packet> packets = Samples.Packets(ifs.Count, 40);
        var w = CaptureWriter.Create(path, new CaptureWriterOptions { FlushEachPacket = true });
        try
        {
            foreach (InterfaceDescription d in ifs)
                w.AddInterface(d);
            for (int i = 0; i < packets.Count; i++)
            {
                Samples.Packet p = packets[i];
                w.WritePacket(p.Interface, p.Timestamp, p.Data, p.OriginalLength, default);
                // The process could die now: the file as it is on disk holds packets 0..i.
                using var r = CaptureReader.Open(new MemoryStream(File.ReadAllBytes(path)));
                var read = r.ReadAllPackets().ToList();
                Assert.Equal(i + 1, read.Count);
                Assert.Equal(Convert.ToHexString(p.Data), Convert.ToHexString(read[^1].Data.Span));
                Assert.Equal(p.Timestamp, read[^1].Timestamp);
            }
        }
        finally
        {
            w.Dispose();
        }
    }

    [Theory]
    [InlineData("x.pcapng")]
    [InlineData("x.pcapng.lz4")]
    public async Task Closing_from_another_thread_after_cancellation_finishes_the_file(string name)
    {
        using var dir = new TempDir();
        string path = dir.File(name);
        List<InterfaceDescription> ifs = Samples.Interfaces(mixedLinkTypes: true);
        List<Samples.Packet> packets = Samples.Packets(ifs.Count, 5000);
        using var cancel = new CancellationTokenSource();
        var written = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var w = CaptureWriter.Create(path, new CaptureWriterOptions
        {
            CloseStatistics = (i, _) => new InterfaceStatistics { Received = (ulong)(100 + i), OsDropped = 1 },
        });
        foreach (InterfaceDescription d in ifs)
            w.AddInterface(d);

        // The capture thread writes until cancelled (as a signal handler would cancel it)...
        var capture = new Thread(() =>
        {
            int n = 0;
            while (!cancel.IsCancellationRequested)
            {
                Samples.Packet p = packets[n % packets.Count];
                w.WritePacket(p.Interface, p.Timestamp, p.Data, p.OriginalLength, default);
                n++;
                if (n == 1000)
                    cancel.Cancel();
            }
            written.SetResult(n);
        });
        capture.Start();
        int count = await written.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        // ...and the writer is closed here, on another thread, once it has stopped.
        w.Dispose();

        using var r = Assert.IsType<PcapNgReader>(CaptureReader.Open(path));
        Assert.Equal(count, r.ReadAllPackets().Count());
        Assert.Null(r.Truncation);
        Assert.Equal(ifs.Count, r.Statistics.Count);
        Assert.Equal([100UL, 101UL, 102UL, 103UL], r.Statistics.Select(s => s.Received!.Value));
    }
}
