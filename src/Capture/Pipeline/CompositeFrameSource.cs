using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace KdtCapture.Capture.Pipeline;

/// <summary>
/// Several sources feeding one pipeline (e.g. <c>-i lo -i tp_btf/net_dev_queue</c>): each runs on its
/// own thread into its own pooled batches; this source merges the batches in arrival order into the
/// pipeline, announcing every child interface once and renumbering frames' interface indexes.
/// Counters follow the children's (received, accepted, kernel drops); pipeline drops add up.
/// </summary>
public sealed class CompositeFrameSource : IFrameSource
{
    private readonly IReadOnlyList<IFrameSource> _sources;
    private readonly FramePipelineOptions _options;

    /// <param name="sources">The sources, announced in this order as their interfaces appear.</param>
    /// <param name="options">Buffering of each child (default: <see cref="FramePipelineOptions"/>'s, dropping when full:
    /// children are live sources that cannot wait).</param>
    public CompositeFrameSource(IReadOnlyList<IFrameSource> sources, FramePipelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        if (sources.Count == 0) throw new ArgumentException("no source to combine", nameof(sources));
        _sources = sources;
        _options = options ?? new FramePipelineOptions { DropWhenFull = true, Batches = 4 };
    }

    /// <summary>Stop after this many frames from all sources together (tcpdump's <c>-c</c>); null: no limit.</summary>
    public long? MaxFrames { get; init; }

    /// <summary>True when <see cref="MaxFrames"/> ended the run.</summary>
    public bool ReachedMaxFrames { get; private set; }

    /// <summary>The outer interface index of child <paramref name="source"/>'s interface <paramref name="index"/>, once announced; else -1.</summary>
    public int OuterIndex(int source, int index)
    {
        int[] map = _maps is { } maps && source < maps.Length ? maps[source] : [];
        return index < map.Length ? map[index] : -1;
    }

    private int[][]? _maps;

    private sealed class Child
    {
        public required FrameInterfaces Interfaces;
        public required FrameProducer Producer;
        public required Channel<FrameBatch> Free;
        public required FrameBatch[] Batches;
        public FrameInterface[] Outer = [];
        public long[] DroppedSynced = [];
        public Exception? Error;
    }

    public void Run(FrameProducer producer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(producer);
        int count = _sources.Count;
        int batchesEach = Math.Max(2, _options.Batches);
        var full = Channel.CreateBounded<FrameBatch>(new BoundedChannelOptions(batchesEach * count)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var owner = new Dictionary<FrameBatch, int>(ReferenceEqualityComparer.Instance);
        var children = new Child[count];
        for (int i = 0; i < count; i++)
        {
            var free = Channel.CreateUnbounded<FrameBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var batches = new FrameBatch[batchesEach];
            for (int b = 0; b < batchesEach; b++)
            {
                batches[b] = new FrameBatch(Math.Max(4096, _options.BatchBytes), Math.Max(1, _options.BatchFrames));
                owner[batches[b]] = i;
                free.Writer.TryWrite(batches[b]);
            }
            var interfaces = new FrameInterfaces();
            children[i] = new Child
            {
                Interfaces = interfaces,
                Producer = new FrameProducer(interfaces, full.Writer, free.Reader, _options.DropWhenFull, stop.Token),
                Free = free,
                Batches = batches,
            };
        }
        _maps = new int[count][];
        for (int i = 0; i < count; i++) _maps[i] = [];

        int running = count;
        var threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            threads[i] = new Thread(() =>
            {
                Child child = children[index];
                try
                {
                    _sources[index].Run(child.Producer, stop.Token);
                    child.Producer.Flush();
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                catch (Exception e)
                {
                    try { child.Producer.Flush(); } catch (InvalidOperationException) { }
                    child.Error = e;
                    // One failing source ends the capture, as a failing single source would.
                    stop.Cancel();
                }
                finally
                {
                    if (Interlocked.Decrement(ref running) == 0) full.Writer.TryComplete();
                }
            })
            {
                IsBackground = true,
                Name = $"kdt frame source {index}",
            };
        }
        foreach (Thread t in threads) t.Start();

        long limit = MaxFrames ?? long.MaxValue;
        long written = 0;
        try
        {
            ChannelReader<FrameBatch> reader = full.Reader;
            while (WaitForBatch(reader))
            {
                while (reader.TryRead(out FrameBatch? batch))
                {
                    int from = owner[batch];
                    Child child = children[from];
                    Announce(producer, child, from, batch.InterfaceCount);
                    if (written < limit)
                    {
                        for (int f = 0; f < batch.Count && written < limit; f++)
                        {
                            Frame frame = batch[f];
                            var header = new FrameHeader(frame.Timestamp, child.Outer[frame.InterfaceIndex].Index, frame.LinkType, frame.OriginalLength);
                            producer.Write(header, frame.Data, frame.Options.Raw.Span, frame.Options.IsBigEndian);
                            written++;
                        }
                        if (written >= limit)
                        {
                            ReachedMaxFrames = true;
                            stop.Cancel();
                        }
                    }
                    batch.Clear();
                    child.Free.Writer.TryWrite(batch);
                    SyncCounters(child);
                }
                producer.Flush();
            }
        }
        finally
        {
            stop.Cancel();
            bool allEnded = true;
            foreach (Thread t in threads) allEnded &= t.Join(_options.StopGracePeriod);
            for (int i = 0; i < count; i++)
            {
                Announce(producer, children[i], i, children[i].Interfaces.Count);
                SyncCounters(children[i]);
                // The buffers go back to the pool only when no source thread can touch them.
                if (allEnded)
                {
                    foreach (FrameBatch b in children[i].Batches) b.Release();
                }
            }
        }
        foreach (Child child in children)
        {
            if (child.Error is { } error) ExceptionDispatchInfo.Throw(error);
        }
    }

    private static bool WaitForBatch(ChannelReader<FrameBatch> reader)
    {
        ValueTask<bool> wait = reader.WaitToReadAsync(CancellationToken.None);
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Announces the child's interfaces the pipeline has not seen yet.</summary>
    private void Announce(FrameProducer producer, Child child, int from, int known)
    {
        if (known <= child.Outer.Length) return;
        int before = child.Outer.Length;
        Array.Resize(ref child.Outer, known);
        Array.Resize(ref child.DroppedSynced, known);
        var map = new int[known];
        for (int i = 0; i < known; i++)
        {
            if (i >= before) child.Outer[i] = producer.AddInterface(child.Interfaces[i].Description);
            map[i] = child.Outer[i].Index;
        }
        Volatile.Write(ref _maps![from], map);
    }

    /// <summary>Mirrors a child's counters on the interfaces announced for it.</summary>
    private static void SyncCounters(Child child)
    {
        for (int i = 0; i < child.Outer.Length; i++)
        {
            FrameInterface inner = child.Interfaces[i];
            FrameInterface outer = child.Outer[i];
            Volatile.Write(ref outer.ReceivedCount, inner.Received);
            Volatile.Write(ref outer.AcceptedCount, inner.Accepted);
            if (inner.DroppedInKernel is long k) FrameProducer.ReportKernelDrops(outer, k);
            long dropped = inner.DroppedInPipeline;
            long delta = dropped - child.DroppedSynced[i];
            if (delta != 0)
            {
                Interlocked.Add(ref outer.DroppedInPipelineCount, delta);
                child.DroppedSynced[i] = dropped;
            }
        }
    }
}
