using System.Runtime.InteropServices;
using KdtCapture.Capture.Live.Internal;
using KdtCapture.Capture.Pipeline;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Live;

/// <summary>
/// Frames from one or more open <see cref="LiveInterface"/>s, read on the pipeline's source thread:
/// poll(2) waits on every interface's descriptor and a stop request at once, then each ready
/// interface is read without blocking. Filters run in the kernel (<see cref="LiveInterface.SetFilter"/>),
/// so every frame read is accepted. Kernel counters feed the interfaces' statistics.
/// </summary>
/// <remarks>Use it with <see cref="FramePipelineOptions.DropWhenFull"/>: the kernel cannot be paused,
/// so a sink that falls behind must cost counted drops, not a stalled reader.</remarks>
public sealed class LiveInterfaceSource : IFrameSource
{
    // Frames read from one interface before the others get a turn.
    private const int ReadBurst = 512;

    private readonly IReadOnlyList<LiveInterface> _interfaces;
    private readonly string? _filterExpression;
    private FrameInterface[] _announced = [];

    /// <param name="interfaces">Open interfaces, announced to the pipeline in this order.</param>
    /// <param name="filterExpression">Recorded as each interface's if_filter (the filter itself is already installed).</param>
    public LiveInterfaceSource(IReadOnlyList<LiveInterface> interfaces, string? filterExpression = null)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        if (interfaces.Count == 0) throw new ArgumentException("no interface to capture on", nameof(interfaces));
        _interfaces = interfaces;
        _filterExpression = filterExpression;
    }

    /// <summary>Stop after this many frames in all (tcpdump's <c>-c</c>); null: no limit.</summary>
    public long? MaxFrames { get; init; }

    /// <summary>Called on the source thread once it is about to wait for the first frames (tcpdump
    /// says "listening on" here: the rings fill from the moment the interfaces are open, so the
    /// announcement waits until someone is reading them).</summary>
    public Action? Started { get; init; }

    /// <summary>Frames read so far.</summary>
    public long FramesRead => Volatile.Read(ref _framesRead);
    private long _framesRead;

    /// <summary>True when <see cref="MaxFrames"/> ended the capture.</summary>
    public bool ReachedMaxFrames { get; private set; }

    /// <summary>The kernel counters of every interface at the end of <see cref="Run"/> (or now, while running).</summary>
    public IReadOnlyList<LiveInterfaceStatistics> Statistics()
    {
        var result = new LiveInterfaceStatistics[_interfaces.Count];
        for (int i = 0; i < result.Length; i++) result[i] = _final?[i] ?? _interfaces[i].Statistics();
        return result;
    }
    private LiveInterfaceStatistics[]? _final;

    public unsafe void Run(FrameProducer producer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(producer);
        int count = _interfaces.Count;
        _announced = new FrameInterface[count];
        for (int i = 0; i < count; i++) _announced[i] = producer.AddInterface(_interfaces[i].ToDescription(_filterExpression));

        int stop = LibC.EventFd(0, LibC.EfdNonBlock | LibC.EfdCloexec);
        if (stop < 0) throw new IOException($"eventfd: error {Marshal.GetLastPInvokeError()}");
        var fds = new LibC.PollFd[count + 1];
        var pcaps = new nint[count];
        int timeout = -1;
        for (int i = 0; i < count; i++)
        {
            pcaps[i] = _interfaces[i].Pcap;
            int fd = LibPcap.GetSelectableFd(pcaps[i]);
            fds[i] = new LibC.PollFd { Fd = fd, Events = LibC.PollIn };
            // Where libpcap cannot rely on poll alone it says how often to look anyway.
            nint required = LibPcap.GetRequiredSelectTimeout(pcaps[i]);
            if (required != 0)
            {
                long ms = (*(long*)required) * 1000 + (*((long*)required + 1)) / 1000;
                timeout = timeout < 0 ? (int)Math.Max(1, ms) : Math.Min(timeout, (int)Math.Max(1, ms));
            }
        }
        fds[count] = new LibC.PollFd { Fd = stop, Events = LibC.PollIn };

        long limit = MaxFrames ?? long.MaxValue;
        long lastCounters = Environment.TickCount64;
        using CancellationTokenRegistration registration = cancellationToken.Register(() =>
        {
            ulong one = 1;
            LibC.Write(stop, &one, 8);
        });
        try
        {
            Started?.Invoke();
            while (!cancellationToken.IsCancellationRequested)
            {
                int ready;
                fixed (LibC.PollFd* p = fds)
                {
                    ready = LibC.Poll(p, (nuint)fds.Length, 0);
                    if (ready == 0)
                    {
                        // Nothing more yet: what was read reaches the sinks before this thread sleeps
                        // (handing over per wake-up instead would spend a batch on every packet).
                        producer.Flush();
                        ready = LibC.Poll(p, (nuint)fds.Length, timeout);
                    }
                }
                if (ready < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.Eintr) continue;
                    throw new IOException($"poll: error {errno}");
                }
                if (fds[count].Revents != 0)
                {
                    // Asked to stop: take what the kernel already handed over, then end.
                    for (int i = 0; i < count; i++)
                    {
                        if (!ReadReady(producer, i, pcaps[i], limit)) return;
                    }
                    break;
                }
                for (int i = 0; i < count; i++)
                {
                    // Without a required timeout poll is exact; with one, look at every interface.
                    if (fds[i].Revents == 0 && timeout < 0) continue;
                    if (!ReadReady(producer, i, pcaps[i], limit)) return;
                }
                // pcap_stats is a system call: a few times a second is enough for the counters.
                long now = Environment.TickCount64;
                if (now - lastCounters >= 200)
                {
                    lastCounters = now;
                    for (int i = 0; i < count; i++) UpdateKernelCounters(i);
                }
            }
        }
        finally
        {
            FinishCounters();
            LibC.Close(stop);
        }
    }

    /// <summary>Reads what interface <paramref name="index"/> has ready; false once the frame limit is reached.</summary>
    private unsafe bool ReadReady(FrameProducer producer, int index, nint pcap, long limit)
    {
        FrameInterface frameInterface = _announced[index];
        LiveInterface live = _interfaces[index];
        TimestampResolution resolution = live.Resolution;
        ulong units = resolution.UnitsPerSecond;
        for (int n = 0; n < ReadBurst; n++)
        {
            LibPcap.PacketHeader* header;
            byte* data;
            int status = LibPcap.NextEx(pcap, &header, &data);
            if (status == 0 || status == LibPcap.ErrorBreak) return true;
            if (status < 0) throw new LiveInterfaceException(live.Name, $"pcap_loop: {LibPcap.ErrorText(pcap)}");

            ulong fraction = (ulong)header->Fraction;
            if (fraction >= units) fraction = units - 1;
            var frame = new FrameHeader(PacketTimestamp.FromUnixSeconds(header->Seconds, fraction, resolution),
                frameInterface.Index, live.LinkType, header->Length);
            FrameProducer.Count(frameInterface);
            producer.Write(frame, new ReadOnlySpan<byte>(data, (int)header->CapturedLength));
            if (Interlocked.Increment(ref _framesRead) >= limit)
            {
                ReachedMaxFrames = true;
                return false;
            }
        }
        return true;
    }

    private void UpdateKernelCounters(int index)
    {
        LiveInterfaceStatistics stats = _interfaces[index].Statistics();
        FrameProducer.ReportKernelDrops(_announced[index], stats.Dropped);
    }

    private void FinishCounters()
    {
        var final = new LiveInterfaceStatistics[_interfaces.Count];
        for (int i = 0; i < final.Length; i++)
        {
            final[i] = _interfaces[i].Statistics();
            FrameInterface fi = _announced[i];
            FrameProducer.ReportKernelDrops(fi, final[i].Dropped);
            // "Received" is what the kernel filter let through (libpcap's ps_recv), read or not;
            // "Accepted" stays what was read.
            long unread = final[i].Received - fi.Received;
            if (unread > 0) FrameProducer.Count(fi, unread, 0);
        }
        _final = final;
    }
}
