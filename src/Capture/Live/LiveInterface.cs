using System.Runtime.InteropServices;
using KdtCapture.Capture.Live.Internal;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;
using KdtCapture.PcapNg;
using SharpPcap;
using SharpPcap.LibPcap;

namespace KdtCapture.Capture.Live;

/// <summary>Kernel counters of a live interface, as libpcap's pcap_stats reports them.</summary>
/// <param name="Received">Packets the kernel filter accepted ("packets received by filter").</param>
/// <param name="Dropped">Accepted packets the kernel dropped because the buffer was full ("dropped by kernel").</param>
/// <param name="InterfaceDropped">Packets the interface (driver) dropped ("dropped by interface").</param>
public readonly record struct LiveInterfaceStatistics(uint Received, uint Dropped, uint InterfaceDropped);

/// <summary>
/// A network interface opened for capture through SharpPcap's <see cref="LibPcapLiveDevice"/>
/// (libpcap underneath, as tcpdump uses it): configured before activation like tcpdump (snap
/// length, promiscuous mode, buffer, immediate mode, time stamp precision), then direction and
/// link type, then a filter compiled by our compiler installed in the kernel socket.
/// </summary>
public sealed class LiveInterface : IDisposable
{
    private readonly LibPcapLiveDevice _device;
    private bool _disposed;

    private LiveInterface(LibPcapLiveDevice device, string name, bool nanoseconds, IReadOnlyList<string> warnings)
    {
        _device = device;
        Name = name;
        Resolution = nanoseconds ? PcapNg.TimestampResolution.Nanoseconds : PcapNg.TimestampResolution.Microseconds;
        Warnings = warnings;
        LinkType = (LinkType)LibPcap.Datalink(Pcap);
        SnapLength = LibPcap.Snapshot(Pcap);
    }

    /// <summary>The interface's name ("lo", "eth0", "any").</summary>
    public string Name { get; }

    /// <summary>What libpcap says the interface is (null when it says nothing).</summary>
    public string? Description => string.IsNullOrEmpty(_device.Description) ? null : _device.Description;

    /// <summary>The link type frames arrive with (after <see cref="LiveInterfaceOptions.LinkType"/>).</summary>
    public LinkType LinkType { get; private set; }

    /// <summary>The snapshot length libpcap applies (it may differ from the one asked for).</summary>
    public int SnapLength { get; private set; }

    /// <summary>Time stamp resolution of the frames.</summary>
    public PcapNg.TimestampResolution Resolution { get; }

    /// <summary>What libpcap warned about while activating (tcpdump prints them as warnings).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The SharpPcap device, for programs that want SharpPcap's API.</summary>
    public LibPcapLiveDevice Device => _device;

    internal nint Pcap => _device.Handle.DangerousGetHandle();

    /// <summary>The interfaces libpcap can capture on, in pcap_findalldevs order (tcpdump -D's list).</summary>
    public static IReadOnlyList<LibPcapLiveDevice> List() => LibPcapLiveDeviceList.New();

    /// <summary>
    /// Opens <paramref name="name"/>, or the <paramref name="name"/>-th interface of <see cref="List"/>
    /// when no interface has that name and it is a number (tcpdump's <c>-i 2</c>).
    /// </summary>
    /// <exception cref="LiveInterfaceException">libpcap refused; the message is tcpdump's.</exception>
    public static LiveInterface Open(string name, LiveInterfaceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        options ??= new LiveInterfaceOptions();
        IReadOnlyList<LibPcapLiveDevice> devices = List();
        LibPcapLiveDevice? device = null;
        foreach (LibPcapLiveDevice d in devices)
        {
            if (d.Name == name) { device = d; break; }
        }
        if (device is null)
        {
            // libpcap names the failure; tcpdump then tries the name as a 1-based index.
            string error = ProbeOpenError(name);
            if (!TryParseIndex(name, out int index)) throw new LiveInterfaceException(name, error);
            if (index < 1 || index > devices.Count) throw new LiveInterfaceException(name, "Invalid adapter index");
            device = devices[index - 1];
        }
        return Open(device, options);
    }

    private static LiveInterface Open(LibPcapLiveDevice device, LiveInterfaceOptions options)
    {
        string name = device.Name;
        var warnings = new List<string>();
        SharpPcap.TimestampType? timestampType = null;
        if (options.TimestampType is { } typeName)
        {
            int value = LibPcap.TimestampTypeValue(typeName);
            if (value < 0)
                throw new LiveInterfaceException(name, $"invalid time stamp type {typeName}");
            // libpcap sets a type the device lists (or "host" where it lists none) and warns otherwise.
            IReadOnlyList<(string Name, string Description)> types = TimestampTypes(name);
            bool settable = types.Count == 0 ? value == 0 : types.Any(t => LibPcap.TimestampTypeValue(t.Name) == value);
            if (settable)
                timestampType = (SharpPcap.TimestampType)value;
            else
                warnings.Add($"When trying to set timestamp type '{Marshal.PtrToStringUTF8(LibPcap.TimestampTypeName(value))}' on {name}: That type of time stamp is not supported by that device");
        }
        var configuration = new DeviceConfiguration
        {
            Monitor = options.MonitorMode ? MonitorMode.Active : null,
            TimestampType = timestampType,
            Mode = options.Promiscuous ? DeviceModes.Promiscuous : DeviceModes.None,
            Snaplen = options.SnapLength,
            ReadTimeout = options.TimeoutMilliseconds,
            BufferSize = options.BufferBytes,
            Immediate = options.Immediate ? true : null,
            TimestampResolution = options.NanosecondTimestamps ? SharpPcap.TimestampResolution.Nanosecond : SharpPcap.TimestampResolution.Microsecond,
        };
        try
        {
            device.Open(configuration);
        }
        catch (PcapException e)
        {
            string libpcapText = device.Handle.IsInvalid ? "" : device.LastError;
            device.Close();
            throw new LiveInterfaceException(name, ActivationError(name, (int)e.Error, libpcapText, e.Message), (int)e.Error);
        }

        var live = new LiveInterface(device, name, options.NanosecondTimestamps, warnings);
        try
        {
            live.Configure(options);
        }
        catch
        {
            live.Dispose();
            throw;
        }
        return live;
    }

    private void Configure(LiveInterfaceOptions options)
    {
        if (options.Direction is { } direction && LibPcap.SetDirection(Pcap, (int)direction) != 0)
            throw new LiveInterfaceException(Name, $"{Name}: pcap_setdirection() failed: {LibPcap.ErrorText(Pcap)}");

        // tcpdump 4.99 asks for the newer cooked header on "any" unless -y says otherwise.
        LinkType? wanted = options.LinkType ?? (Name == "any" ? Filters.LinkType.LINUX_SLL2 : null);
        if (wanted is { } linkType && linkType != LinkType)
        {
            if (!SupportedLinkTypes().Contains(linkType))
            {
                if (options.LinkType is null) return; // an old libpcap without SLL2: keep its default
                throw new LiveInterfaceException(Name, $"{LinkTypes.GetName(linkType) ?? ((int)linkType).ToString(System.Globalization.CultureInfo.InvariantCulture)} is not one of the DLTs supported by this device");
            }
            if (LibPcap.SetDatalink(Pcap, (int)linkType) < 0)
                throw new LiveInterfaceException(Name, LibPcap.ErrorText(Pcap));
            LinkType = (LinkType)LibPcap.Datalink(Pcap);
            SnapLength = LibPcap.Snapshot(Pcap);
        }
        // One thread waits on every interface with poll(2); reads must then never block.
        _device.NonBlockingMode = true;
    }

    /// <summary>
    /// The IPv4 network and netmask of a device, in host order, as pcap_lookupnet finds them (tcpdump's -f);
    /// false with libpcap's reason when the device has none.
    /// </summary>
    public static unsafe bool TryLookupNetwork(string device, out uint network, out uint netmask, out string error)
    {
        ArgumentNullException.ThrowIfNull(device);
        uint net = 0, mask = 0;
        byte* errorBuffer = stackalloc byte[256];
        errorBuffer[0] = 0;
        bool ok = LibPcap.LookupNetwork(device, &net, &mask, errorBuffer) == 0;
        // libpcap stores them as they are on the wire.
        network = BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(net) : net;
        netmask = BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(mask) : mask;
        error = ok ? "" : Marshal.PtrToStringUTF8((nint)errorBuffer) ?? "pcap_lookupnet failed";
        return ok;
    }

    /// <summary>
    /// The time stamp types libpcap can set on a device (pcap_list_tstamp_types on a created,
    /// not activated handle: what tcpdump -J lists), as (name, description); empty when the
    /// type cannot be set.
    /// </summary>
    public static unsafe IReadOnlyList<(string Name, string Description)> TimestampTypes(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        byte* error = stackalloc byte[256];
        nint pcap = LibPcap.Create(device, error);
        if (pcap == 0)
            throw new LiveInterfaceException(device, Marshal.PtrToStringUTF8((nint)error) ?? "pcap_create failed");
        try
        {
            int* types = null;
            int n = LibPcap.ListTimestampTypes(pcap, &types);
            if (n < 0)
                throw new LiveInterfaceException(device, LibPcap.ErrorText(pcap));
            var result = new (string, string)[n];
            for (int i = 0; i < n; i++)
                result[i] = (Marshal.PtrToStringUTF8(LibPcap.TimestampTypeName(types[i])) ?? types[i].ToString(System.Globalization.CultureInfo.InvariantCulture),
                             Marshal.PtrToStringUTF8(LibPcap.TimestampTypeDescription(types[i])) ?? "");
            if (types != null)
                LibPcap.FreeTimestampTypes(types);
            return result;
        }
        finally
        {
            LibPcap.Close(pcap);
        }
    }

    /// <summary>The link types the interface offers (pcap_list_datalinks: what tcpdump -L lists).</summary>
    public unsafe IReadOnlyList<LinkType> SupportedLinkTypes()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int* dlts = null;
        int n = LibPcap.ListDatalinks(Pcap, &dlts);
        if (n < 0) throw new LiveInterfaceException(Name, LibPcap.ErrorText(Pcap));
        var result = new LinkType[n];
        for (int i = 0; i < n; i++) result[i] = (LinkType)dlts[i];
        LibPcap.FreeDatalinks(dlts);
        return result;
    }

    /// <summary>
    /// Installs a compiled filter. libpcap puts it in the kernel socket (first draining what
    /// arrived unfiltered), adjusting cooked-mode link header loads as it does for its own programs.
    /// </summary>
    public unsafe void SetFilter(CbpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ReadOnlySpan<CbpfInstruction> source = program.Instructions;
        // struct bpf_insn is { u16 code; u8 jt; u8 jf; u32 k; }.
        ulong[] raw = new ulong[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            CbpfInstruction x = source[i];
            raw[i] = x.Code | ((ulong)x.Jt << 16) | ((ulong)x.Jf << 24) | ((ulong)x.K << 32);
        }
        fixed (ulong* instructions = raw)
        {
            var bpf = new LibPcap.BpfProgram { Length = (uint)raw.Length, Instructions = instructions };
            // libpcap copies the program, so the buffer may go once this returns.
            if (LibPcap.SetFilter(Pcap, &bpf) < 0)
                throw new LiveInterfaceException(Name, LibPcap.ErrorText(Pcap));
        }
    }

    /// <summary>The kernel's counters since the interface was opened.</summary>
    public unsafe LiveInterfaceStatistics Statistics()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        LibPcap.Stat stat = default;
        if (LibPcap.Stats(Pcap, &stat) < 0) throw new LiveInterfaceException(Name, $"pcap_stats: {LibPcap.ErrorText(Pcap)}");
        return new LiveInterfaceStatistics(stat.Received, stat.Dropped, stat.InterfaceDropped);
    }

    /// <summary>The interface as a pcapng Interface Description Block.</summary>
    public InterfaceDescription ToDescription(string? filterExpression = null) => new()
    {
        LinkType = LinkTypeValues.FromLinuxDlt((int)LinkType),
        SnapLength = (uint)SnapLength,
        Name = Name,
        Description = Description,
        TimestampResolution = Resolution,
        Filter = string.IsNullOrWhiteSpace(filterExpression) ? null : InterfaceFilter.FromExpression(filterExpression),
        OperatingSystem = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
    };

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _device.Close();
    }

    /// <summary>tcpdump's wording for a failed pcap_activate.</summary>
    private static string ActivationError(string name, int status, string libpcapText, string fallback)
    {
        if (status == 0) return $"{name}: {fallback}";
        string statusText = LibPcap.StatusText(status);
        return status switch
        {
            LibPcap.Error => libpcapText.Length > 0 ? libpcapText : $"{name}: {statusText}",
            LibPcap.ErrorNoSuchDevice => $"{name}: {statusText}\n({libpcapText})",
            // One line that says what to do, where tcpdump leaves the reader to guess.
            LibPcap.ErrorPermissionDenied => $"{name}: {statusText}{(libpcapText.Length > 0 ? $" ({libpcapText})" : "")}; capturing needs root, or CAP_NET_RAW and CAP_NET_ADMIN (sudo setcap cap_net_raw,cap_net_admin=eip $(command -v kdt))",
            _ => $"{name}: {statusText}",
        };
    }

    /// <summary>Opens a name libpcap does not list just to learn why it fails, in libpcap's words.</summary>
    private static unsafe string ProbeOpenError(string name)
    {
        byte* errorBuffer = stackalloc byte[256];
        errorBuffer[0] = 0;
        nint pcap = LibPcap.Create(name, errorBuffer);
        if (pcap == 0)
            return System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)errorBuffer) ?? $"{name}: No such device exists";
        try
        {
            int status = LibPcap.Activate(pcap);
            if (status >= 0) return $"{name}: No such device exists";
            return ActivationError(name, status, LibPcap.ErrorText(pcap), "");
        }
        finally
        {
            LibPcap.Close(pcap);
        }
    }

    /// <summary>tcpdump's parse_interface_number: a whole positive decimal number.</summary>
    private static bool TryParseIndex(string name, out int index)
        => int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index) && index > 0;
}

/// <summary>A live interface cannot be opened or configured; the message is what tcpdump would print after "tcpdump: ".</summary>
public sealed class LiveInterfaceException : Exception
{
    public LiveInterfaceException(string interfaceName, string message, int status = 0) : base(message)
    {
        InterfaceName = interfaceName;
        Status = status;
    }

    public string InterfaceName { get; }

    /// <summary>libpcap's status code when activation failed (e.g. -8 permission denied), else 0.</summary>
    public int Status { get; }

    /// <summary>libpcap refused for lack of privileges.</summary>
    public bool IsPermissionDenied => Status == -8;
}
