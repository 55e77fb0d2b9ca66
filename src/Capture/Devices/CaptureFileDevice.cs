using System.Net.NetworkInformation;
using KdtCapture.Filters;
using KdtCapture.PcapNg;
using SharpPcap;
using SharpPcap.LibPcap;
using SharpPcapResolution = SharpPcap.TimestampResolution;

namespace KdtCapture.Capture.Devices;

/// <summary>
/// A capture file as a SharpPcap <see cref="ICaptureDevice"/>: a drop-in for SharpPcap's
/// <see cref="CaptureFileReaderDevice"/> that reads, without libpcap, everything
/// <see cref="CaptureReader"/> reads: pcap (µs, ns, Linux modified, both byte orders) and pcapng
/// (several sections, both byte orders, interfaces of different link types and snap lengths),
/// plain, gzip- or LZ4-compressed. Filters are compiled by our libpcap-compatible compiler.
/// </summary>
/// <remarks>
/// <para>Every member behaves as SharpPcap 6.3's file device does: the same exceptions and
/// messages, <see cref="GetPacketStatus"/> codes, event order, <see cref="Statistics"/> null,
/// <see cref="MacAddress"/> null, <see cref="Started"/> staying true after the file ends until
/// <see cref="StopCapture"/>, <see cref="Close"/> removing the <see cref="OnPacketArrival"/>
/// handlers, and a <see cref="Filter"/> assigned before <see cref="Open"/> (which throws) remembered
/// but not applied.</para>
/// <para>A pcapng file may mix link types, which libpcap refuses. <see cref="LinkType"/> is the
/// link type of the packet last delivered (the first interface's before any), so
/// <see cref="PacketCapture.GetPacket"/> gives every <see cref="RawCapture"/> its own interface's
/// link layer, and the filter is compiled for each interface's link type.</para>
/// <para>Where SharpPcap misbehaves this device is deterministic instead: <see cref="LastError"/>
/// before <see cref="Open"/> is null (SharpPcap dereferences a null pcap_t), every
/// <see cref="StartCapture"/> ends in exactly one <see cref="OnCaptureStopped"/>, and a
/// synchronous <see cref="Capture()"/> during a background capture is refused.</para>
/// <para>Packet data is handed out without copying; each packet costs a <see cref="PcapHeader"/>
/// and its <see cref="PosixTimeval"/>, objects SharpPcap's API lets a callback keep.</para>
/// </remarks>
public sealed class CaptureFileDevice : ICaptureDevice
{
    private const int InfinitePacketCount = -1;

    private readonly string _name;
    private readonly BackgroundCapture _background = new();

    private volatile OpenCaptureFile? _file;
    private volatile CaptureFileFilter? _filter;
    private string? _filterExpression;
    private string _lastError = "";
    private SharpPcapResolution _resolution;
    private PacketDotNet.LinkLayers _linkType;
    private int _interfaceIndex;

    /// <summary>A device for the capture file at <paramref name="captureFilename"/>; "-" reads
    /// standard input, as libpcap's pcap_open_offline does. Nothing is opened until <see cref="Open"/>.</summary>
    public CaptureFileDevice(string captureFilename)
    {
        ArgumentNullException.ThrowIfNull(captureFilename);
        _name = captureFilename;
    }

    /// <summary>The file name as given.</summary>
    public string Name => _name;

    public string Description => "Capture file reader device";

    /// <summary>The file's size in bytes (compressed size for compressed files).</summary>
    public long FileSize => new FileInfo(_name).Length;

    /// <summary>The file name without its directory.</summary>
    public string FileName => Path.GetFileName(_name);

    public bool Opened => _file is { IsClosed: false };

    /// <summary>libpcap's error text for the last failure (a read error or a filter that did not
    /// compile); "" after <see cref="Open"/>; null while closed.</summary>
    public string? LastError => Opened ? _lastError : null;

    /// <summary>
    /// The filter expression last assigned (kept even when it failed to compile, as SharpPcap
    /// keeps it). Assigning compiles it for every link type in the file and applies it to the
    /// packets read from then on; null or "" removes the filter.
    /// </summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    /// <exception cref="PcapException">The expression does not compile; the message is libpcap's.</exception>
    public string? Filter
    {
        get => _filterExpression;
        set
        {
            string expression = value ?? string.Empty;
            _filterExpression = expression;
            OpenCaptureFile file = _file is { IsClosed: false } f ? f : throw SharpPcapErrors.NotReady("device is not open");
            if (expression.Length == 0)
            {
                _filter = null;
                return;
            }
            try
            {
                _filter = CaptureFileFilter.Create(expression, file.GetLinkLayers());
            }
            catch (FilterCompileException e)
            {
                _lastError = e.Message;
                throw SharpPcapErrors.Pcap(e.Message);
            }
        }
    }

    /// <summary>Null: a file has no hardware address (SharpPcap's file device returns null too).
    /// A pcapng interface's <c>if_MACaddr</c> is in <see cref="Interfaces"/>.</summary>
    public PhysicalAddress? MacAddress => null;

    /// <summary>The link type of the packet last delivered; before any, the first interface's.
    /// Linux DLT_* values, as libpcap's pcap_datalink reports them.</summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    public PacketDotNet.LinkLayers LinkType
    {
        get
        {
            ThrowIfNotOpen("Cannot get datalink, the pcap device is not opened");
            return _linkType;
        }
    }

    /// <summary>The resolution timestamps are delivered in (<see cref="DeviceConfiguration.TimestampResolution"/>
    /// at open, microseconds by default); finer file timestamps are truncated, as libpcap does.</summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    public SharpPcapResolution TimestampResolution
    {
        get
        {
            ThrowIfNotOpen("device is not open");
            return _resolution;
        }
    }

    /// <summary>Null, as for SharpPcap's file device: a file has no capture statistics. The
    /// statistics a pcapng file recorded are in <see cref="RecordedStatistics"/>.</summary>
    public ICaptureStatistics? Statistics => null;

    /// <summary>The file's interfaces seen so far (one for pcap; pcapng files may add more as
    /// they are read). Read it between packets or from the capture thread.</summary>
    public IReadOnlyList<InterfaceDescription> Interfaces => OpenFile("device is not open").Reader.Interfaces;

    /// <summary>Index in <see cref="Interfaces"/> of the packet last delivered.</summary>
    public int InterfaceIndex => _interfaceIndex;

    /// <summary>The pcapng Interface Statistics Blocks read so far (none for pcap).</summary>
    public IReadOnlyList<InterfaceStatisticsBlock> RecordedStatistics =>
        OpenFile("device is not open").Reader is PcapNgReader ng ? ng.Statistics : [];

    public event PacketArrivalEventHandler? OnPacketArrival;

    public event CaptureStoppedEventHandler? OnCaptureStopped;

    /// <summary>True from <see cref="StartCapture"/> until <see cref="StopCapture"/> (also after
    /// the file has ended, as with SharpPcap).</summary>
    public bool Started => _background.Started;

    /// <summary>How long <see cref="StopCapture"/> waits for the capture thread. Default 1 s.</summary>
    public TimeSpan StopCaptureTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Opens the file (again from its start if already open). Only
    /// <see cref="DeviceConfiguration.TimestampResolution"/> applies to a file; the other settings
    /// are for live devices and are ignored, as libpcap's pcap_open_offline ignores them. The
    /// filter is reset.
    /// </summary>
    /// <exception cref="PcapException">"Unable to open offline adapter: …" with the reason.</exception>
    public void Open(DeviceConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        OpenCaptureFile file;
        try
        {
            file = OpenCaptureFile.Open(_name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SharpPcapErrors.Pcap("Unable to open offline adapter: " + DescribeOpenError(e));
        }

        if (Started)
            StopCapture();
        _resolution = configuration.TimestampResolution ?? SharpPcapResolution.Microsecond;
        _filter = null;
        _lastError = "";
        _linkType = file.FirstLinkLayer;
        _interfaceIndex = 0;
        _file?.Dispose();
        _file = file;
    }

    /// <summary>libpcap's wording where it has one (strerror after the file name).</summary>
    private string DescribeOpenError(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => $"{_name}: No such file or directory",
        UnauthorizedAccessException => $"{_name}: Permission denied",
        CaptureFileException => e.Message,
        _ => $"{_name}: {e.Message}",
    };

    /// <summary>Stops a background capture, removes the <see cref="OnPacketArrival"/> handlers
    /// (as SharpPcap does) and closes the file. The device may be opened again.</summary>
    public void Close()
    {
        OnPacketArrival = null;
        if (Started)
        {
            try
            {
                StopCapture();
            }
            catch (Exception)
            {
                // Closing must not fail because stopping did; SharpPcap swallows this too.
            }
        }
        _file?.Dispose();
        _file = null;
    }

    public void Dispose() => Close();

    /// <summary>
    /// Reads the next packet that passes the filter. <paramref name="e"/>'s data is valid until
    /// the next read. <see cref="GetPacketStatus.NoRemainingPackets"/> at the end of the file;
    /// <see cref="GetPacketStatus.Error"/> once for a file that is cut short or malformed (with
    /// <see cref="LastError"/> saying where), then <see cref="GetPacketStatus.NoRemainingPackets"/>.
    /// </summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    /// <exception cref="InvalidOperationDuringBackgroundCaptureException">A background capture is running.</exception>
    public GetPacketStatus GetNextPacket(out PacketCapture e)
    {
        OpenCaptureFile file = OpenFile("Device must be opened via Open() prior to use");
        if (Started)
            throw SharpPcapErrors.DuringBackgroundCapture("GetNextPacket() invalid during background capture");

        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            GetPacketStatus status = ReadNext(file, out PcapHeader? header, out ReadOnlySpan<byte> data);
            e = status == GetPacketStatus.PacketRead ? new PacketCapture(this, header!, data) : default;
            return status;
        }
        finally
        {
            if (added)
                file.DangerousRelease();
        }
    }

    /// <summary>Reads the whole file on the calling thread, raising <see cref="OnPacketArrival"/>
    /// per packet and <see cref="OnCaptureStopped"/> at the end.</summary>
    public void Capture() => Capture(InfinitePacketCount);

    /// <summary>As <see cref="Capture()"/>, stopping after <paramref name="packetCount"/> packets
    /// pass the filter (0 or less: no limit).</summary>
    /// <exception cref="DeviceNotReadyException">The device is not open.</exception>
    /// <exception cref="InvalidOperationDuringBackgroundCaptureException">A background capture is running.</exception>
    public void Capture(int packetCount)
    {
        OpenCaptureFile file = OpenFile("Capture called before PcapDevice.Open()");
        if (Started)
            throw SharpPcapErrors.DuringBackgroundCapture("Capture() invalid during background capture");
        CaptureLoop(file, packetCount, CancellationToken.None);
    }

    /// <summary>Reads the file on a background thread, raising <see cref="OnPacketArrival"/> per
    /// packet and <see cref="OnCaptureStopped"/> once when the file ends, fails or
    /// <see cref="StopCapture"/> is called. Does nothing if already started.</summary>
    /// <exception cref="DeviceNotReadyException">The device is not open, or no <see cref="OnPacketArrival"/> handler is set.</exception>
    public void StartCapture() => _background.Start(() =>
    {
        OpenCaptureFile file = OpenFile("Can't start capture, the pcap device is not opened.");
        if (OnPacketArrival is null)
            throw SharpPcapErrors.NotReady("No delegates assigned to OnPacketArrival, no where for captured packets to go.");
        return file;
    }, (file, token) => CaptureLoop(file, InfinitePacketCount, token));

    /// <summary>Stops a background capture and waits up to <see cref="StopCaptureTimeout"/> for
    /// its thread (not at all when called from a packet handler on that thread).</summary>
    public void StopCapture() => _background.Stop(StopCaptureTimeout);

    public override string ToString() => "capture file: " + _name;

    private void CaptureLoop(OpenCaptureFile file, int packetCount, CancellationToken cancellation)
    {
        var status = CaptureStoppedEventStatus.CompletedWithoutError;
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            _background.Enter();
            int remaining = packetCount;
            // IsClosed: a handler that closes the device ends the loop (the reference held here
            // keeps the reader alive until then).
            while (!cancellation.IsCancellationRequested && !file.IsClosed)
            {
                GetPacketStatus read = ReadNext(file, out PcapHeader? header, out ReadOnlySpan<byte> data);
                if (read != GetPacketStatus.PacketRead)
                {
                    if (read == GetPacketStatus.Error)
                        status = CaptureStoppedEventStatus.ErrorWhileCapturing;
                    break;
                }
                OnPacketArrival?.Invoke(this, new PacketCapture(this, header!, data));
                if (remaining > 0 && --remaining == 0)
                    break;
            }
        }
        catch (ObjectDisposedException) when (!added)
        {
            // Closed before the loop began: nothing was read.
        }
        finally
        {
            _background.Leave();
            if (added)
                file.DangerousRelease();
        }
        OnCaptureStopped?.Invoke(this, status);
    }

    private GetPacketStatus ReadNext(OpenCaptureFile file, out PcapHeader? header, out ReadOnlySpan<byte> data)
    {
        GetPacketStatus status = file.Read(_filter, out CapturePacket packet, out PacketDotNet.LinkLayers linkType, out string? error);
        if (status != GetPacketStatus.PacketRead)
        {
            if (error is not null)
                _lastError = error;
            header = null;
            data = default;
            return status;
        }
        _linkType = linkType;
        _interfaceIndex = packet.InterfaceIndex;
        header = PcapHeaders.Make(packet.Timestamp, packet.OriginalLength, (uint)packet.CapturedLength, _resolution);
        data = packet.Data.Span;
        return status;
    }

    private OpenCaptureFile OpenFile(string notOpenMessage) =>
        _file is { IsClosed: false } file ? file : throw SharpPcapErrors.NotReady(notOpenMessage);

    private void ThrowIfNotOpen(string notOpenMessage) => _ = OpenFile(notOpenMessage);
}
