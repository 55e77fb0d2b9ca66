using System.Net.NetworkInformation;
using System.Runtime.CompilerServices;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;
using KdtCapture.Filters;
using KdtCapture.PcapNg;
using SharpPcap;
using SharpPcap.LibPcap;
using SharpPcapResolution = SharpPcap.TimestampResolution;

namespace KdtCapture.Capture.Devices;

/// <summary>
/// A kernel tap (<c>tp_btf/net_dev_queue</c>, <c>fentry/ip_output</c>, …) as a SharpPcap
/// <see cref="ICaptureDevice"/>: a SharpPcap program captures inside the kernel by changing the line
/// that picks its device (<c>new KdtTapDevice("tp_btf/net_dev_queue")</c>; <see cref="KdtTapDeviceList"/>
/// lists the usual taps), and <see cref="CaptureAsync"/> gives the packets as an
/// <see cref="IAsyncEnumerable{T}"/> without allocating per packet.
/// </summary>
/// <remarks>
/// <para><see cref="Open(DeviceConfiguration)"/> resolves the tap against the kernel's BTF and
/// attaches its program (errors are <see cref="PcapException"/>s of one line: an unknown function, a
/// kind this kernel refuses, missing privileges); from then on packets queue in the device (dropped
/// and counted in <see cref="Statistics"/> when nobody reads) until read with
/// <see cref="GetNextPacket"/>, <see cref="Capture()"/>, <see cref="StartCapture"/> or
/// <see cref="CaptureAsync"/>, one reader at a time. Setting <see cref="Filter"/> reloads the program
/// with the filter compiled into it (it runs in the kernel, before anything is copied).</para>
/// <para>Frames start at the MAC header where the skb has one on an Ethernet or loopback device
/// (<see cref="PacketDotNet.LinkLayers.Ethernet"/>), else at the IP header (raw, DLT 12), so
/// <see cref="LinkType"/> is that of the packet last delivered and each
/// <see cref="RawCapture"/> carries its own. <see cref="DeviceConfiguration.Snaplen"/>,
/// <see cref="DeviceConfiguration.Immediate"/>, <see cref="DeviceConfiguration.BufferSize"/> and
/// <see cref="DeviceConfiguration.TimestampResolution"/> apply; promiscuous and monitor modes mean
/// nothing inside the kernel and are ignored.</para>
/// </remarks>
public sealed class KdtTapDevice : ICaptureDevice
{
    private readonly TapSpec _spec;
    private readonly string _description;
    private readonly BackgroundCapture _background = new();

    private IReadOnlyList<ResolvedTap>? _taps;
    private DeviceConfiguration? _configuration;
    private volatile TapSession? _session;
    private string? _filterExpression;
    private string _lastError = "";
    private SharpPcapResolution _resolution;
    private PacketDotNet.LinkLayers _linkType = PacketDotNet.LinkLayers.Ethernet;
    private int _consumers;
    private readonly System.Collections.Concurrent.ConcurrentQueue<TapSession> _retired = new();
    private long _deliveredBefore;

    private CancellationTokenSource? _syncCancellation;

    /// <summary>A device for the tap <paramref name="tapSpec"/> (<c>KIND/NAME[:N]</c>, as <c>kdt capture -i</c>
    /// takes it; globs allowed). Nothing is loaded until <see cref="Open(DeviceConfiguration)"/>.</summary>
    /// <exception cref="ArgumentException">Not a tap spec; the message says what is wrong.</exception>
    public KdtTapDevice(string tapSpec)
        : this(tapSpec, null)
    {
    }

    internal KdtTapDevice(string tapSpec, string? description)
    {
        ArgumentNullException.ThrowIfNull(tapSpec);
        if (!TapSpec.TryParse(tapSpec, out TapSpec? spec, out string? error))
            throw new ArgumentException(error, nameof(tapSpec));
        _spec = spec;
        _description = description ?? $"kdt kernel tap {spec.Text}";
    }

    /// <summary>The tap spec, e.g. <c>tp_btf/net_dev_queue</c>.</summary>
    public string Name => _spec.Text;

    public string Description => _description;

    /// <summary>The parsed tap spec.</summary>
    public TapSpec Spec => _spec;

    /// <summary>The kernel functions or tracepoints attached to (several for a glob); empty until opened.</summary>
    public IReadOnlyList<ResolvedTap> Taps => _taps ?? [];

    public bool Opened => _session is not null;

    /// <summary>The last failure's text (the filter that did not compile, why the capture ended); "" after open; null while closed.</summary>
    public string? LastError => Opened ? _lastError : null;

    /// <summary>Null: a tap is not a network interface. Frames carry their device's ifindex in their comment.</summary>
    public PhysicalAddress? MacAddress => null;

    /// <summary>
    /// The pcap-filter expression (compiled for Ethernet and raw IP frames, translated to eBPF and
    /// run by the tap program). Setting it reloads the program; packets queued and not yet read are
    /// discarded, as libpcap's pcap_setfilter discards its buffer. Null or "" removes the filter.
    /// </summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    /// <exception cref="PcapException">The expression does not compile (libpcap's message), or the program does not load.</exception>
    public string? Filter
    {
        get => _filterExpression;
        set
        {
            string expression = value ?? string.Empty;
            if (!Opened)
                throw SharpPcapErrors.NotReady("device is not open");
            try
            {
                // Checked here for libpcap's message; the tap compiles it again per link type.
                FilterCompiler.Compile(expression, Filters.LinkType.EN10MB, new FilterCompileOptions { Snaplen = _configuration!.Snaplen, Netmask = 0 });
            }
            catch (FilterCompileException e)
            {
                _lastError = e.Message;
                throw SharpPcapErrors.Pcap(e.Message);
            }
            _filterExpression = expression;
            Replace(OpenSession(expression));
        }
    }

    /// <summary>The link type of the packet last delivered (Ethernet before any, or the one forced).</summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    public PacketDotNet.LinkLayers LinkType
    {
        get
        {
            ThrowIfNotOpen("Cannot get datalink, the pcap device is not opened");
            return _linkType;
        }
    }

    /// <summary>The resolution of the time stamps handed out (microseconds unless the configuration asked for ns).</summary>
    public SharpPcapResolution TimestampResolution
    {
        get
        {
            ThrowIfNotOpen("device is not open");
            return _resolution;
        }
    }

    /// <summary>
    /// Counts since the filter was last set (the program was loaded): packets the program's filter
    /// accepted, and those lost — in the kernel (perf ring full) plus in the device (nobody read them
    /// fast enough). Null while closed.
    /// </summary>
    public ICaptureStatistics? Statistics
    {
        get
        {
            TapSession? session = _session;
            if (session is null)
                return null;
            var (received, kernel, pipeline) = session.Counts();
            return new KdtTapStatistics(received, kernel, pipeline, session.Delivered);
        }
    }

    /// <summary>Packets delivered since <see cref="Open(DeviceConfiguration)"/> (all readers, all filters).</summary>
    public long PacketsDelivered => _deliveredBefore + (_session?.Delivered ?? 0);

    public event PacketArrivalEventHandler? OnPacketArrival;

    public event CaptureStoppedEventHandler? OnCaptureStopped;

    public bool Started => _background.Started;

    /// <summary>How long <see cref="StopCapture"/> waits for the capture thread. Default 1 s.</summary>
    public TimeSpan StopCaptureTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Resolves the tap and attaches its program (again, from scratch, if already open; the filter is
    /// reset). Root (CAP_BPF and CAP_PERFMON) is needed.
    /// </summary>
    /// <exception cref="PcapException">One line saying why the tap cannot be captured, and what to use instead.</exception>
    public void Open(DeviceConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration.Snaplen <= 0)
            throw SharpPcapErrors.Pcap($"{Name}: invalid snapshot length {configuration.Snaplen}");
        // Opened again: start afresh, keeping the handlers (SharpPcap programs add them before Open).
        Shutdown();
        try
        {
            _taps = TapResolver.ForKernel().Resolve(_spec);
        }
        catch (TapException e)
        {
            throw SharpPcapErrors.Pcap(e.Message);
        }
        _configuration = configuration;
        _resolution = configuration.TimestampResolution ?? SharpPcapResolution.Microsecond;
        _filterExpression = null;
        _lastError = "";
        _linkType = PacketDotNet.LinkLayers.Ethernet;
        _deliveredBefore = 0;
        _session = OpenSession(null);
    }

    private TapSession OpenSession(string? filter)
    {
        DeviceConfiguration configuration = _configuration!;
        TapSource source;
        try
        {
            source = TapSource.Open(_taps!, new TapSourceOptions
            {
                Filter = string.IsNullOrEmpty(filter) ? null : filter,
                SnapLength = configuration.Snaplen,
                Immediate = configuration.Immediate ?? false,
                BufferSizeKiB = configuration.BufferSize is int bytes and > 0 ? Math.Max(1, bytes / 1024) : null,
            });
        }
        catch (TapException e)
        {
            _lastError = e.Message;
            throw SharpPcapErrors.Pcap(e.Message);
        }
        return new TapSession(source);
    }

    /// <summary>Puts a fresh session in place; the old one is disposed now, or by its reader between packets.</summary>
    private void Replace(TapSession fresh)
    {
        TapSession? old = Interlocked.Exchange(ref _session, fresh);
        if (old is null)
            return;
        Interlocked.Add(ref _deliveredBefore, old.Delivered);
        if (Volatile.Read(ref _consumers) > 0)
            RetireLater(old);
        else
            old.Dispose();
    }

    /// <summary>A session replaced while a reader may be inside it: the reader disposes it when it
    /// notices, or the last reader to leave does (a reader that stops without reading on).</summary>
    private void RetireLater(TapSession session)
    {
        session.Retire();
        _retired.Enqueue(session);
        if (Volatile.Read(ref _consumers) == 0)
            DisposeRetired();
    }

    private void LeaveReader()
    {
        if (Interlocked.Decrement(ref _consumers) == 0)
            DisposeRetired();
    }

    private void DisposeRetired()
    {
        while (_retired.TryDequeue(out TapSession? session))
            session.Dispose();
    }

    /// <summary>Stops a background capture, removes the <see cref="OnPacketArrival"/> handlers (as
    /// SharpPcap does), detaches and unloads the tap programs. The device may be opened again.</summary>
    public void Close()
    {
        OnPacketArrival = null;
        Shutdown();
    }

    private void Shutdown()
    {
        if (Started)
        {
            try
            {
                StopCapture();
            }
            catch (Exception)
            {
                // Closing must not fail because stopping did.
            }
        }
        _syncCancellation?.Cancel();
        TapSession? session = Interlocked.Exchange(ref _session, null);
        if (session is null)
            return;
        _deliveredBefore += session.Delivered;
        if (Volatile.Read(ref _consumers) > 0)
            RetireLater(session);
        else
            session.Dispose();
    }

    public void Dispose() => Close();

    /// <summary>
    /// The next packet, waiting up to <see cref="DeviceConfiguration.ReadTimeout"/> ms
    /// (<see cref="GetPacketStatus.ReadTimeout"/> when none came). <paramref name="e"/>'s data is
    /// valid until the next read. <see cref="GetPacketStatus.Error"/> when the capture failed
    /// (<see cref="LastError"/> says why).
    /// </summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    /// <exception cref="InvalidOperationDuringBackgroundCaptureException">A background capture is running.</exception>
    public GetPacketStatus GetNextPacket(out PacketCapture e)
    {
        ThrowIfNotOpen("Device must be opened via Open() prior to use");
        if (Started)
            throw SharpPcapErrors.DuringBackgroundCapture("GetNextPacket() invalid during background capture");
        int timeout = _configuration!.ReadTimeout;
        Interlocked.Increment(ref _consumers);
        try
        {
            GetPacketStatus status = Read(timeout <= 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeout),
                CancellationToken.None, out _, out FrameBatch? batch, out int index);
            e = status == GetPacketStatus.PacketRead ? MakeCapture(batch![index]) : default;
            return status;
        }
        finally
        {
            LeaveReader();
        }
    }

    /// <summary>Captures on the calling thread, raising <see cref="OnPacketArrival"/> per packet, until
    /// <see cref="StopCapture"/> or <see cref="Close"/>; then <see cref="OnCaptureStopped"/>.</summary>
    public void Capture() => Capture(-1);

    /// <summary>As <see cref="Capture()"/>, returning after <paramref name="packetCount"/> packets (0 or less: no limit).</summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    /// <exception cref="InvalidOperationDuringBackgroundCaptureException">A background capture is running.</exception>
    public void Capture(int packetCount)
    {
        ThrowIfNotOpen("Capture called before PcapDevice.Open()");
        if (Started)
            throw SharpPcapErrors.DuringBackgroundCapture("Capture() invalid during background capture");
        using var cancellation = new CancellationTokenSource();
        _syncCancellation = cancellation;
        try
        {
            CaptureLoop(packetCount, cancellation.Token);
        }
        finally
        {
            _syncCancellation = null;
        }
    }

    /// <summary>Captures on a background thread, raising <see cref="OnPacketArrival"/> per packet, until
    /// <see cref="StopCapture"/>; then <see cref="OnCaptureStopped"/> once. Does nothing if already started.</summary>
    /// <exception cref="DeviceNotReadyException">The device is not open, or no <see cref="OnPacketArrival"/> handler is set.</exception>
    public void StartCapture() => _background.Start(() =>
    {
        ThrowIfNotOpen("Can't start capture, the pcap device is not opened.");
        if (OnPacketArrival is null)
            throw SharpPcapErrors.NotReady("No delegates assigned to OnPacketArrival, no where for captured packets to go.");
        return -1;
    }, (packetCount, token) => CaptureLoop(packetCount, token));

    /// <summary>Stops a background capture (waiting up to <see cref="StopCaptureTimeout"/> for its
    /// thread, unless called from a packet handler) or a <see cref="Capture()"/> on another thread.</summary>
    public void StopCapture()
    {
        _syncCancellation?.Cancel();
        _background.Stop(StopCaptureTimeout);
    }

    /// <summary>
    /// The packets as they arrive, until <paramref name="cancellationToken"/> is cancelled or the
    /// device closed (then the enumeration ends; a cancellation does not throw). Each
    /// <see cref="TapPacket"/> is read in place and is valid until the next one is asked for.
    /// </summary>
    /// <example>
    /// <code>
    /// using var device = new KdtTapDevice("tp_btf/net_dev_queue");
    /// device.Open();
    /// device.Filter = "udp port 53";
    /// await foreach (TapPacket p in device.CaptureAsync(ct))
    ///     Console.WriteLine($"{p.Timestamp} {p.Data.Length} bytes {p.LinkType}");
    /// </code>
    /// </example>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    public async IAsyncEnumerable<TapPacket> CaptureAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen("Can't capture, the device is not opened.");
        Interlocked.Increment(ref _consumers);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                TapSession? session = _session;
                if (session is null)
                    yield break;
                (bool got, FrameBatch? batch, int index) next;
                try
                {
                    next = await session.NextAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    yield break;
                }
                if (!next.got)
                {
                    if (!EndOfSession(session))
                        yield break;
                    continue;
                }
                _linkType = (PacketDotNet.LinkLayers)(int)next.batch![next.index].LinkType;
                yield return new TapPacket(session, next.batch, next.index);
            }
        }
        finally
        {
            LeaveReader();
        }
    }

    public override string ToString() => "kdt tap: " + Name;

    private void CaptureLoop(int packetCount, CancellationToken cancellation)
    {
        var status = CaptureStoppedEventStatus.CompletedWithoutError;
        Interlocked.Increment(ref _consumers);
        _background.Enter();
        try
        {
            int remaining = packetCount;
            while (!cancellation.IsCancellationRequested)
            {
                GetPacketStatus read;
                try
                {
                    // A bounded wait, so that a stop is seen even with no traffic.
                    read = Read(TimeSpan.FromMilliseconds(100), cancellation, out _, out FrameBatch? batch, out int index);
                    if (read == GetPacketStatus.PacketRead)
                    {
                        OnPacketArrival?.Invoke(this, MakeCapture(batch![index]));
                        if (remaining > 0 && --remaining == 0)
                            break;
                        continue;
                    }
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                    break;
                }
                if (read == GetPacketStatus.Error)
                {
                    status = CaptureStoppedEventStatus.ErrorWhileCapturing;
                    break;
                }
                if (read == GetPacketStatus.NoRemainingPackets)
                    break;
            }
        }
        finally
        {
            _background.Leave();
            LeaveReader();
        }
        OnCaptureStopped?.Invoke(this, status);
    }

    /// <summary>The next frame of the current session, following a filter change to the new session.</summary>
    private GetPacketStatus Read(TimeSpan timeout, CancellationToken cancellation, out TapSession? session, out FrameBatch? batch, out int index)
    {
        while (true)
        {
            session = _session;
            if (session is null)
            {
                batch = null;
                index = 0;
                return GetPacketStatus.NoRemainingPackets;
            }
            switch (session.TryNext(timeout, cancellation, out batch, out index))
            {
                case TapSessionRead.Frame:
                    _linkType = (PacketDotNet.LinkLayers)(int)batch![index].LinkType;
                    return GetPacketStatus.PacketRead;
                case TapSessionRead.Timeout:
                    return GetPacketStatus.ReadTimeout;
                default:
                    if (EndOfSession(session))
                        continue;
                    return session.Error is null ? GetPacketStatus.NoRemainingPackets : GetPacketStatus.Error;
            }
        }
    }

    /// <summary>A session ended: true when it was replaced (read on from the new one, after disposing
    /// the old one, which only its reader may do); false when the capture itself ended.</summary>
    private bool EndOfSession(TapSession session)
    {
        if (session.IsRetired && !ReferenceEquals(session, _session))
        {
            session.Dispose();
            return _session is not null;
        }
        if (session.Error is { } error)
            _lastError = error.Message;
        return false;
    }

    private PacketCapture MakeCapture(Frame frame) =>
        new(this, PcapHeaders.Make(frame.Timestamp, frame.OriginalLength, (uint)frame.Data.Length, _resolution), frame.Data);

    private void ThrowIfNotOpen(string notOpenMessage)
    {
        if (_session is null)
            throw SharpPcapErrors.NotReady(notOpenMessage);
    }
}

/// <summary>A tap's counts as SharpPcap's statistics (a snapshot taken when read).</summary>
public sealed class KdtTapStatistics : ICaptureStatistics
{
    internal KdtTapStatistics(long received, long droppedInKernel, long droppedInDevice, long delivered)
    {
        Received = received;
        DroppedInKernel = droppedInKernel;
        DroppedInDevice = droppedInDevice;
        Delivered = delivered;
        ReceivedPackets = Saturate(received);
        DroppedPackets = Saturate(droppedInKernel + droppedInDevice);
    }

    /// <summary>Packets the tap program's filter accepted (libpcap's ps_recv).</summary>
    public long Received { get; }

    /// <summary>Accepted packets the kernel could not hand over (the perf ring was full).</summary>
    public long DroppedInKernel { get; }

    /// <summary>Packets the device dropped because nobody read them fast enough.</summary>
    public long DroppedInDevice { get; }

    /// <summary>Packets handed to the program.</summary>
    public long Delivered { get; }

    /// <summary><see cref="Received"/>, saturated at uint.MaxValue. (SharpPcap's interface has setters;
    /// setting changes only this snapshot.)</summary>
    public uint ReceivedPackets { get; set; }

    /// <summary>Every accepted packet that was lost: in the kernel and in the device.</summary>
    public uint DroppedPackets { get; set; }

    /// <summary>0: a tap has no interface of its own to drop at.</summary>
    public uint InterfaceDroppedPackets { get; set; }

    public override string ToString() =>
        $"[KdtTapStatistics: ReceivedPackets={ReceivedPackets}, DroppedPackets={DroppedPackets} (kernel {DroppedInKernel}, device {DroppedInDevice}), Delivered={Delivered}]";

    private static uint Saturate(long value) => (uint)Math.Clamp(value, 0, uint.MaxValue);
}
