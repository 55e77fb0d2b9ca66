using System.Buffers.Binary;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Filters;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests.Pipeline;

/// <summary>The frame pipeline in-process: no loss with back-pressure, counted loss without, stops and failures.</summary>
public sealed class FramePipelineTests
{
    private static readonly InterfaceDescription Ethernet = new() { LinkType = LinkTypeValues.Ethernet, SnapLength = 262144 };

    /// <summary>Writes frames numbered 0..count-1 (the number in the first 4 bytes, length varying).</summary>
    private sealed class NumberedSource(int count, Func<int, int> length, Action<int>? after = null) : IFrameSource
    {
        public void Run(FrameProducer producer, CancellationToken cancellationToken)
        {
            FrameInterface i = producer.AddInterface(Ethernet);
            var buffer = new byte[1 << 21];
            for (int n = 0; n < count && !cancellationToken.IsCancellationRequested; n++)
            {
                int len = length(n);
                BinaryPrimitives.WriteInt32LittleEndian(buffer, n);
                buffer[len - 1] = (byte)n;
                FrameProducer.Count(i);
                producer.Write(new FrameHeader(PacketTimestamp.FromUnixNanoseconds(n), i.Index, LinkType.EN10MB, (uint)len), buffer.AsSpan(0, len));
                after?.Invoke(n);
            }
        }
    }

    private sealed class RecordingSink(Action? onBatch = null) : IFrameSink
    {
        public List<int> Numbers { get; } = [];
        public bool Completed { get; private set; }

        public void Consume(FrameBatch batch, FrameInterfaces interfaces)
        {
            onBatch?.Invoke();
            for (int k = 0; k < batch.Count; k++)
            {
                Frame f = batch[k];
                int n = BinaryPrimitives.ReadInt32LittleEndian(f.Data);
                Assert.Equal((byte)n, f.Data[^1]);
                Assert.Equal((uint)f.Data.Length, f.OriginalLength);
                Assert.Equal(n, f.Timestamp.ToUnixNanoseconds());
                Numbers.Add(n);
            }
        }

        public void Complete(FrameInterfaces interfaces) => Completed = true;
    }

    [Fact]
    public void FilesLoseNothingUnderBackPressure()
    {
        // Small batches and a slow sink: the source must wait, never drop. One frame is larger than a batch.
        var source = new NumberedSource(20_000, n => n == 777 ? 1_500_000 : 5 + n % 1500);
        int batches = 0;
        var sink = new RecordingSink(() => { if (++batches % 50 == 0) Thread.Sleep(1); });
        var result = FramePipeline.Run(source, [sink], TestContext.Current.CancellationToken, new FramePipelineOptions { Batches = 2, BatchBytes = 64 * 1024, BatchFrames = 100 });
        Assert.Null(result.SourceError);
        Assert.False(result.Stopped);
        Assert.True(sink.Completed);
        Assert.Equal(Enumerable.Range(0, 20_000), sink.Numbers);
        Assert.Equal(20_000, result.FramesDelivered);
        Assert.Equal(0, result.Interfaces[0].DroppedInPipeline);
    }

    [Fact]
    public void LiveSourcesDropAndCountWhenTheSinksFallBehind()
    {
        using var release = new ManualResetEventSlim();
        // The sink holds the first batch until the source has written everything.
        var sink = new RecordingSink(() => release.Wait());
        var source = new NumberedSource(5_000, _ => 100, n => { if (n == 4_999) release.Set(); });
        var result = FramePipeline.Run(source, [sink], TestContext.Current.CancellationToken, new FramePipelineOptions { Batches = 2, BatchFrames = 10, DropWhenFull = true });
        FrameInterface i = result.Interfaces[0];
        Assert.True(i.DroppedInPipeline > 0, "nothing was dropped");
        Assert.Equal(5_000, i.Accepted);
        Assert.Equal(i.Accepted - i.DroppedInPipeline, sink.Numbers.Count);
        Assert.Equal(sink.Numbers.Count, i.Delivered);
        Assert.Equal(sink.Numbers.Order(), sink.Numbers);
        InterfaceStatistics stats = i.ToStatistics();
        Assert.Equal((ulong)i.Delivered, stats.Delivered);
        Assert.Contains($"{i.DroppedInPipeline} packets dropped in kdt's pipeline", stats.Comments);
    }

    [Fact]
    public void StopHandsOverWhatWasReadWhileTheSourceIsBlocked()
    {
        using var stop = new CancellationTokenSource();
        using var never = new ManualResetEventSlim();
        var source = new BlockingSource(never, stop);
        var sink = new RecordingSink();
        var result = FramePipeline.Run(source, [sink], stop.Token);
        Assert.True(result.Stopped);
        Assert.True(sink.Completed);
        Assert.Equal(Enumerable.Range(0, 10), sink.Numbers);
    }

    /// <summary>Writes ten frames, hands them over and blocks (as on a quiet pipe), asking for a stop.</summary>
    private sealed class BlockingSource(ManualResetEventSlim never, CancellationTokenSource stop) : IFrameSource
    {
        public void Run(FrameProducer producer, CancellationToken cancellationToken)
        {
            new NumberedSource(10, _ => 60).Run(producer, CancellationToken.None);
            producer.Flush();
            stop.Cancel();
            never.Wait(); // a blocking read(2) that a token cannot interrupt
        }
    }

    [Fact]
    public void SourceFailureComesAfterTheFramesBeforeIt()
    {
        var source = new NumberedSource(300, _ => 64, n => { if (n == 250) throw new CaptureFormatException("bad block"); });
        var sink = new RecordingSink();
        var result = FramePipeline.Run(source, [sink], TestContext.Current.CancellationToken);
        Assert.IsType<CaptureFormatException>(result.SourceError);
        Assert.Equal(Enumerable.Range(0, 251), sink.Numbers);
        Assert.True(sink.Completed);
    }

    [Fact]
    public void SinkFailureStopsTheRunAndStillCompletesTheOtherSinks()
    {
        var failing = new RecordingSink(() => throw new IOException("disk full"));
        var other = new RecordingSink();
        var source = new NumberedSource(1_000_000, _ => 64);
        var e = Assert.Throws<IOException>(() => FramePipeline.Run(source, [failing, other], TestContext.Current.CancellationToken, new FramePipelineOptions { BatchFrames = 16 }));
        Assert.Equal("disk full", e.Message);
        Assert.True(other.Completed);
        Assert.True(failing.Completed);
    }
    /// <summary>Sinks on the source's thread: every frame in order (one larger than a batch), each batch
    /// consumed on the thread that wrote it, nothing dropped, even with a single small batch.</summary>
    [Fact]
    public void SinksOnTheSourceThreadGetEveryFrameOnThatThread()
    {
        int sourceThread = -1;
        var threads = new HashSet<int>();
        var source = new NumberedSource(20_000, n => n == 777 ? 1_500_000 : 5 + n % 1500,
            n => { if (n == 0) sourceThread = Environment.CurrentManagedThreadId; });
        var sink = new RecordingSink(() => threads.Add(Environment.CurrentManagedThreadId));
        var result = FramePipeline.Run(source, [sink], TestContext.Current.CancellationToken,
            new FramePipelineOptions { SinksOnSourceThread = true, DropWhenFull = true, BatchBytes = 64 * 1024, BatchFrames = 100 });
        Assert.Null(result.SourceError);
        Assert.False(result.Stopped);
        Assert.True(sink.Completed);
        Assert.Equal(Enumerable.Range(0, 20_000), sink.Numbers);
        Assert.Equal(20_000, result.FramesDelivered);
        Assert.Equal(0, result.Interfaces[0].DroppedInPipeline);
        Assert.Equal([sourceThread], threads);
    }

    [Fact]
    public void SinksOnTheSourceThreadSeeTheFramesBeforeASourceFailureOrAStop()
    {
        var failing = new NumberedSource(300, _ => 64, n => { if (n == 250) throw new CaptureFormatException("bad block"); });
        var sink = new RecordingSink();
        var options = new FramePipelineOptions { SinksOnSourceThread = true, BatchFrames = 16 };
        var result = FramePipeline.Run(failing, [sink], TestContext.Current.CancellationToken, options);
        Assert.IsType<CaptureFormatException>(result.SourceError);
        Assert.Equal(Enumerable.Range(0, 251), sink.Numbers);
        Assert.True(sink.Completed);

        // A stop: the source returns at the token, what it wrote reaches the sink.
        using var stop = new CancellationTokenSource();
        var stopped = new NumberedSource(1_000_000, _ => 64, n => { if (n == 99) stop.Cancel(); });
        var second = new RecordingSink();
        result = FramePipeline.Run(stopped, [second], stop.Token, options);
        Assert.True(result.Stopped);
        Assert.Null(result.SourceError);
        Assert.Equal(Enumerable.Range(0, 100), second.Numbers);
        Assert.True(second.Completed);
    }

    [Fact]
    public void SinkFailureOnTheSourceThreadStopsTheRunAndStillCompletesTheOtherSinks()
    {
        var failing = new RecordingSink(() => throw new IOException("disk full"));
        var other = new RecordingSink();
        int written = 0;
        var source = new NumberedSource(1_000_000, _ => 64, _ => written++);
        var e = Assert.Throws<IOException>(() => FramePipeline.Run(source, [failing, other], TestContext.Current.CancellationToken,
            new FramePipelineOptions { SinksOnSourceThread = true, BatchFrames = 16 }));
        Assert.Equal("disk full", e.Message);
        Assert.True(other.Completed);
        Assert.True(failing.Completed);
        Assert.True(written <= 17, $"the source went on after the failure ({written} frames)");
    }
}
