using KdtCapture.PcapNg;
using SharpPcap;
using SharpPcap.LibPcap;
using SharpPcapResolution = SharpPcap.TimestampResolution;

namespace KdtCapture.Capture.Devices;

/// <summary>
/// The background capture of a SharpPcap-compatible device (<see cref="KdtTapDevice"/>,
/// <see cref="CaptureFileDevice"/>): StartCapture's one long-running thread, StopCapture's
/// cancellation and bounded wait (no wait when called from that thread, i.e. a packet handler).
/// </summary>
internal sealed class BackgroundCapture
{
    private readonly Lock _gate = new();
    private Task? _task;
    private CancellationTokenSource? _cancellation;
    private volatile int _threadId;

    /// <summary>True from <see cref="Start{T}"/> until <see cref="Stop"/>.</summary>
    public bool Started
    {
        get
        {
            lock (_gate)
                return _task is not null;
        }
    }

    /// <summary>
    /// Runs <paramref name="loop"/> on a new long-running thread with what <paramref name="prepare"/>
    /// returned; does nothing if a capture is running. <paramref name="prepare"/> runs first, under
    /// the lock, and throws when the device cannot start.
    /// </summary>
    public void Start<T>(Func<T> prepare, Action<T, CancellationToken> loop)
    {
        lock (_gate)
        {
            if (_task is not null)
                return;
            T state = prepare();
            var cancellation = new CancellationTokenSource();
            CancellationToken token = cancellation.Token;
            _cancellation = cancellation;
            // Not Task.Run(…, token): a capture cancelled before its thread starts must still
            // report that it stopped.
            _task = Task.Factory.StartNew(() => loop(state, token),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>Cancels the running capture and waits up to <paramref name="timeout"/> for its thread
    /// (not at all from that thread).</summary>
    public void Stop(TimeSpan timeout)
    {
        Task? task;
        CancellationTokenSource? cancellation;
        lock (_gate)
        {
            task = _task;
            cancellation = _cancellation;
            _task = null;
            _cancellation = null;
        }
        if (task is null)
            return;
        cancellation!.Cancel();
        if (Environment.CurrentManagedThreadId != _threadId)
            Task.WaitAny([task], timeout);
    }

    /// <summary>Marks the calling thread as the one delivering packets (a capture loop, background or not).</summary>
    public void Enter() => _threadId = Environment.CurrentManagedThreadId;

    /// <summary>The capture loop of <see cref="Enter"/> has ended.</summary>
    public void Leave() => _threadId = 0;
}

/// <summary>The PcapHeader SharpPcap's devices hand out, for ours.</summary>
internal static class PcapHeaders
{
    /// <summary>
    /// The header libpcap would give a packet: seconds and the fraction truncated to
    /// <paramref name="resolution"/>, as a PosixTimeval built the way SharpPcap builds it (so
    /// values and their text, e.g. "1186341404.189852000s" at ns, are identical).
    /// </summary>
    public static PcapHeader Make(PacketTimestamp timestamp, uint originalLength, uint capturedLength, SharpPcapResolution resolution)
    {
        long seconds = timestamp.UnixSeconds;
        if (resolution == SharpPcapResolution.Microsecond && seconds >= 0 && seconds <= uint.MaxValue)
        {
            // The (seconds, microseconds) constructor builds the same PosixTimeval in one allocation less.
            return new PcapHeader((uint)seconds, timestamp.Microseconds, originalLength, capturedLength);
        }
        ulong fraction = resolution == SharpPcapResolution.Nanosecond ? timestamp.Nanoseconds : timestamp.Microseconds;
        return new PcapHeader(0, 0, originalLength, capturedLength)
        {
            // tv_sec is signed in libpcap; SharpPcap converts it to ulong as is.
            Timeval = new PosixTimeval(unchecked((ulong)seconds), fraction, resolution),
        };
    }
}
