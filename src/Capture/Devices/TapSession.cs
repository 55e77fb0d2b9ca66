using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Devices;

/// <summary>What <see cref="TapSession.TryNext"/> found.</summary>
internal enum TapSessionRead
{
    Frame,
    Timeout,
    Ended,
}

/// <summary>
/// One loaded <see cref="TapSource"/> running into a frame pipeline on its own thread, read one
/// frame at a time by a single consumer (a device's pull, its capture thread, or an async
/// enumerator). The pipeline's sink hands each batch over and waits until the consumer has read it,
/// so frames are read in place, never copied again. A session is replaced, not changed, when the
/// filter changes: <see cref="Retire"/> disposes it as soon as its consumer lets go of its batch.
/// </summary>
internal sealed class TapSession : IFrameSink, IDisposable
{
    // Live buffering as `kdt capture` does, smaller: 16 x 256 KiB in flight, then drops are counted.
    private static readonly FramePipelineOptions Buffering = new()
    {
        DropWhenFull = true,
        Batches = 16,
        BatchBytes = 256 * 1024,
        BatchFrames = 2048,
        StopGracePeriod = TimeSpan.FromSeconds(1),
    };

    private readonly TapSource _source;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abandon = new();
    private readonly SemaphoreSlim _ready = new(0);
    private readonly SemaphoreSlim _done = new(0);
    private readonly Lock _gate = new();
    private FrameBatch? _offered;
    private FrameBatch? _current;
    private int _index;
    private volatile bool _completed;
    private bool _retired;
    private bool _disposed;
    private long _delivered;

    public TapSession(TapSource source)
    {
        _source = source;
        _thread = new Thread(Run) { IsBackground = true, Name = "kdt tap device" };
        _thread.Start();
    }

    public TapSource Source => _source;

    /// <summary>The pipeline's interfaces, once the first batch or the end has arrived.</summary>
    public FrameInterfaces? Interfaces { get; private set; }

    /// <summary>What ended the source early; null while it runs or when it ended normally.</summary>
    public Exception? Error { get; private set; }

    /// <summary>Frames the consumer took.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Bumped each time the consumer moves on: a <see cref="TapPacket"/> from before is stale.</summary>
    public int Generation { get; private set; }

    public bool IsRetired
    {
        get
        {
            lock (_gate) return _retired;
        }
    }

    private void Run()
    {
        try
        {
            FramePipelineResult result = FramePipeline.Run(_source, [this], _stop.Token, Buffering);
            Error = result.SourceError;
        }
        catch (Exception e)
        {
            Error = e;
        }
        finally
        {
            _completed = true;
            _ready.Release();
        }
    }

    void IFrameSink.Consume(FrameBatch batch, FrameInterfaces interfaces)
    {
        Interfaces = interfaces;
        Volatile.Write(ref _offered, batch);
        _ready.Release();
        try
        {
            // Until the consumer has read the whole batch: it reads the frames in place.
            _done.Wait(_abandon.Token);
        }
        catch (OperationCanceledException)
        {
            // The session is being disposed with nobody reading: the batch is let go unread.
        }
    }

    void IFrameSink.Complete(FrameInterfaces interfaces) => Interfaces = interfaces;

    /// <summary>
    /// The next frame: the batch held and the frame's index in it, valid until the next call.
    /// Waits up to <paramref name="timeout"/> (infinite: <see cref="Timeout.InfiniteTimeSpan"/>).
    /// </summary>
    public TapSessionRead TryNext(TimeSpan timeout, CancellationToken cancellationToken, out FrameBatch? batch, out int index)
    {
        if (TryNextHeld(out batch, out index))
            return TapSessionRead.Frame;
        while (true)
        {
            if (TryTakeOffered(out batch, out index))
                return TapSessionRead.Frame;
            if (_completed || IsRetired)
                return TapSessionRead.Ended;
            if (!_ready.Wait(timeout, cancellationToken))
                return TapSessionRead.Timeout;
            // The count is a wake-up only: the offered slot says whether a batch is there.
        }
    }

    /// <summary>As <see cref="TryNext"/>, waiting asynchronously (no timeout).</summary>
    public async ValueTask<(bool Got, FrameBatch? Batch, int Index)> NextAsync(CancellationToken cancellationToken)
    {
        if (TryNextHeld(out FrameBatch? batch, out int index))
            return (true, batch, index);
        while (true)
        {
            if (TryTakeOffered(out batch, out index))
                return (true, batch, index);
            if (_completed || IsRetired)
                return (false, null, 0);
            await _ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The next frame of the batch held, or lets the batch go (the pipeline reuses it).</summary>
    private bool TryNextHeld(out FrameBatch? batch, out int index)
    {
        lock (_gate)
        {
            Generation++;
            if (_current is not null)
            {
                if (!_retired && _index + 1 < _current.Count)
                {
                    _index++;
                    _delivered++;
                    batch = _current;
                    index = _index;
                    return true;
                }
                _current = null;
                _done.Release();
            }
        }
        batch = null;
        index = 0;
        return false;
    }

    private bool TryTakeOffered(out FrameBatch? batch, out int index)
    {
        lock (_gate)
        {
            batch = null;
            index = 0;
            if (_retired || Volatile.Read(ref _offered) is not { } offered)
                return false;
            _offered = null;
            if (offered.Count == 0)
            {
                _done.Release();
                return false;
            }
            _current = offered;
            _index = 0;
            _delivered++;
            batch = offered;
            return true;
        }
    }

    /// <summary>Ends reading: the consumer's next call lets go of the batch it holds and finds the
    /// session ended; it then disposes the session (the device does, between packets).</summary>
    public void Retire()
    {
        lock (_gate)
        {
            _retired = true;
            Generation++;
        }
        _ready.Release();
    }

    /// <summary>Stops the capture, unloads the tap programs. The consumer must not be reading.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _retired = true;
            Generation++;
            _current = null;
        }
        _stop.Cancel();
        _abandon.Cancel();
        _thread.Join();
        _ready.Release();
        _source.Dispose();
        _stop.Dispose();
        _abandon.Dispose();
    }

    /// <summary>Kernel counters of every tap, summed, and what the pipeline dropped.</summary>
    public (long Received, long KernelDropped, long PipelineDropped) Counts()
    {
        long received = 0, lost = 0;
        if (!_disposed)
        {
            foreach (TapCounters c in _source.ReadCounters())
            {
                received += c.Accepted; // includes what user space accepted of the undecided (paged) ones
                lost += c.Lost;
            }
        }
        long pipeline = Interfaces?.Total(i => i.DroppedInPipeline) ?? 0;
        return (received, lost, pipeline);
    }
}
