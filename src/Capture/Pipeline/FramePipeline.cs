using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace KdtCapture.Capture.Pipeline;

/// <summary>How a pipeline run ended.</summary>
public sealed class FramePipelineResult
{
    internal FramePipelineResult(FrameInterfaces interfaces, long frames, bool stopped, Exception? sourceError)
    {
        Interfaces = interfaces;
        FramesDelivered = frames;
        Stopped = stopped;
        SourceError = sourceError;
    }

    /// <summary>Every interface the source announced, with its counters.</summary>
    public FrameInterfaces Interfaces { get; }

    /// <summary>Frames the sinks consumed.</summary>
    public long FramesDelivered { get; }

    /// <summary>True when the run was stopped (cancellation, SIGINT/SIGTERM) before the source finished.</summary>
    public bool Stopped { get; }

    /// <summary>What ended the source early (e.g. a malformed capture file), after every frame it
    /// produced before the failure had reached the sinks; null when it finished normally.</summary>
    public Exception? SourceError { get; }
}

/// <summary>
/// The frame pipeline: one source thread writes frames into pooled batches, a bounded channel
/// carries whole batches, the calling thread hands each batch to every sink in turn and recycles
/// it. Nothing is allocated per frame. Files are never dropped from (the source waits for a free
/// batch); live sources may drop and count instead (<see cref="FramePipelineOptions.DropWhenFull"/>).
/// </summary>
/// <example>
/// <code>
/// using var stop = new StopSignals();                     // SIGINT/SIGTERM → stop cleanly
/// var result = FramePipeline.Run(source, [fileSink, counter], stop.Token);
/// </code>
/// </example>
public static class FramePipeline
{
    /// <summary>
    /// Runs <paramref name="source"/> into <paramref name="sinks"/> until the source finishes, fails
    /// or <paramref name="cancellationToken"/> stops it; then completes every sink (files get their
    /// statistics blocks and are flushed). Throws what a sink throws, after completing the others.
    /// </summary>
    public static FramePipelineResult Run(IFrameSource source, IReadOnlyList<IFrameSink> sinks,
        CancellationToken cancellationToken = default, FramePipelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sinks);
        options ??= FramePipelineOptions.Default;
        if (options.SinksOnSourceThread)
            return RunOnThisThread(source, sinks, cancellationToken, options);
        int batches = Math.Max(2, options.Batches);

        var full = Channel.CreateBounded<FrameBatch>(new BoundedChannelOptions(batches)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var free = Channel.CreateUnbounded<FrameBatch>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var all = new FrameBatch[batches];
        for (int i = 0; i < batches; i++)
        {
            all[i] = new FrameBatch(Math.Max(4096, options.BatchBytes), Math.Max(1, options.BatchFrames));
            free.Writer.TryWrite(all[i]);
        }

        var interfaces = new FrameInterfaces();
        // The source stops when asked from outside or when the sinks give up.
        using var sourceStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = new FrameProducer(interfaces, full.Writer, free.Reader, options.DropWhenFull, sourceStop.Token);
        Exception? sourceError = null;
        var sourceThread = new Thread(() =>
        {
            try
            {
                source.Run(producer, sourceStop.Token);
                producer.Flush();
            }
            catch (OperationCanceledException) when (sourceStop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                // Hand over what was read before the failure, then report it.
                try { producer.Flush(); } catch (InvalidOperationException) { }
                sourceError = e;
            }
            finally
            {
                full.Writer.TryComplete();
            }
        })
        {
            // A source blocked in read(2) on a pipe must not keep the process alive after a stop.
            IsBackground = true,
            Name = "kdt frame source",
        };

        long delivered = 0;
        bool stopped = false;
        ExceptionDispatchInfo? sinkFailure = null;
        sourceThread.Start();
        try
        {
            ChannelReader<FrameBatch> reader = full.Reader;
            while (true)
            {
                while (reader.TryRead(out FrameBatch? batch))
                {
                    delivered += batch.Count;
                    ConsumeAll(sinks, batch, interfaces);
                    batch.Clear();
                    free.Writer.TryWrite(batch);
                }
                bool more;
                try
                {
                    more = WaitForBatch(reader, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    stopped = true;
                    // Let a source that is between frames hand over its last batch; one stuck in a
                    // blocking read already handed over everything before it blocked.
                    sourceThread.Join(options.StopGracePeriod);
                    while (reader.TryRead(out FrameBatch? batch))
                    {
                        delivered += batch.Count;
                        ConsumeAll(sinks, batch, interfaces);
                        batch.Clear();
                        free.Writer.TryWrite(batch);
                    }
                    break;
                }
                if (!more) break;
            }
        }
        catch (Exception e)
        {
            sinkFailure = ExceptionDispatchInfo.Capture(e);
            sourceStop.Cancel();
        }
        finally
        {
            foreach (IFrameSink sink in sinks)
            {
                try
                {
                    sink.Complete(interfaces);
                }
                catch (Exception e) when (sinkFailure is not null)
                {
                    // The first failure is the one worth reporting.
                    _ = e;
                }
                catch (Exception e)
                {
                    sinkFailure = ExceptionDispatchInfo.Capture(e);
                    sourceStop.Cancel();
                }
            }
        }
        sinkFailure?.Throw();

        if (!stopped)
        {
            sourceThread.Join();
            // The batches go back to the pool only when the source can no longer touch them.
            foreach (FrameBatch b in all) b.Release();
        }
        return new FramePipelineResult(interfaces, delivered, stopped, stopped ? null : sourceError);
    }

    /// <summary><see cref="FramePipelineOptions.SinksOnSourceThread"/>: the source runs here and every
    /// batch it publishes is consumed before it goes on.</summary>
    private static FramePipelineResult RunOnThisThread(IFrameSource source, IReadOnlyList<IFrameSink> sinks,
        CancellationToken cancellationToken, FramePipelineOptions options)
    {
        var interfaces = new FrameInterfaces();
        var batch = new FrameBatch(Math.Max(4096, options.BatchBytes), Math.Max(1, options.BatchFrames));
        long delivered = 0;
        ExceptionDispatchInfo? sinkFailure = null;
        using var sourceStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = new FrameProducer(interfaces, batch, full =>
        {
            try
            {
                ConsumeAll(sinks, full, interfaces);
            }
            catch (Exception e)
            {
                // Told apart from the source's own failures below; the source is asked to stop.
                sinkFailure = ExceptionDispatchInfo.Capture(e);
                sourceStop.Cancel();
                throw new SinkFailedException();
            }
            delivered += full.Count;
        });
        Exception? sourceError = null;
        try
        {
            try
            {
                source.Run(producer, sourceStop.Token);
                producer.Flush();
            }
            catch (SinkFailedException)
            {
            }
            catch (OperationCanceledException) when (sourceStop.IsCancellationRequested)
            {
                if (sinkFailure is null)
                    producer.Flush();
            }
            catch (Exception e) when (sinkFailure is null)
            {
                // Hand over what was read before the failure, then report it.
                try { producer.Flush(); } catch (SinkFailedException) { }
                sourceError = e;
            }
        }
        finally
        {
            foreach (IFrameSink sink in sinks)
            {
                try
                {
                    sink.Complete(interfaces);
                }
                catch (Exception e) when (sinkFailure is null)
                {
                    sinkFailure = ExceptionDispatchInfo.Capture(e);
                }
                catch (Exception)
                {
                    // The first failure is the one worth reporting.
                }
            }
            batch.Release();
        }
        sinkFailure?.Throw();
        bool stopped = cancellationToken.IsCancellationRequested;
        return new FramePipelineResult(interfaces, delivered, stopped, stopped ? null : sourceError);
    }

    /// <summary>A sink threw while the source was publishing (the sink's exception is rethrown by Run).</summary>
    private sealed class SinkFailedException : Exception
    {
        public SinkFailedException() : base("a sink of the frame pipeline failed")
        {
        }
    }

    private static bool WaitForBatch(ChannelReader<FrameBatch> reader, CancellationToken cancellationToken)
    {
        ValueTask<bool> wait = reader.WaitToReadAsync(cancellationToken);
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private static void ConsumeAll(IReadOnlyList<IFrameSink> sinks, FrameBatch batch, FrameInterfaces interfaces)
    {
        for (int i = 0; i < sinks.Count; i++) sinks[i].Consume(batch, interfaces);
    }
}
