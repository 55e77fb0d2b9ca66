using KdtCapture.Filters.Cbpf;
using KdtCapture.PcapNg;
using Microsoft.Win32.SafeHandles;
using SharpPcap;

namespace KdtCapture.Capture.Devices;

/// <summary>
/// The reader behind an opened <see cref="CaptureFileDevice"/>, with what the device needs per
/// interface (link layer, compiled filter). A SafeHandle for its reference count, the way
/// SharpPcap holds its pcap_t: a thread reading or running a packet callback holds a reference,
/// so Close on another thread never pulls the reader from under it; the reader is disposed
/// when the last reference goes.
/// </summary>
internal sealed class OpenCaptureFile : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly CaptureReader _reader;
    private readonly bool _hostBigEndian = !BitConverter.IsLittleEndian;

    private bool _hasPending;
    private CapturePacket _pending;
    private string? _pendingError;
    private bool _ended;

    // Per interface, indexed like CaptureReader.Interfaces; grown by the reading thread.
    private readonly Lock _interfacesGate = new();
    private CaptureLinkLayer[] _linkLayers = new CaptureLinkLayer[4];
    private int _interfaceCount;

    // Filters per interface for the filter they were looked up for; reset when it changes.
    private CaptureFileFilter? _filterCachedFor;
    private CbpfFilter?[] _interfaceFilters = new CbpfFilter?[4];

    private OpenCaptureFile(CaptureReader reader) : base(ownsHandle: true)
    {
        _reader = reader;
        SetHandle(1); // no native handle: the reference count is what this class is for
    }

    /// <summary>
    /// Opens <paramref name="path"/> ("-" is standard input, as for pcap_open_offline) and reads
    /// ahead to the first packet, so the link type is known at open, as libpcap knows it from
    /// the first Interface Description Block.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened or is not a capture file with an interface.</exception>
    public static OpenCaptureFile Open(string path)
    {
        CaptureReader reader = path == "-"
            ? CaptureReader.Open(Console.OpenStandardInput())
            : CaptureReader.Open(path);
        var file = new OpenCaptureFile(reader);
        try
        {
            file.ReadAhead();
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private void ReadAhead()
    {
        try
        {
            _hasPending = _reader.TryReadPacket(out _pending);
        }
        catch (CaptureFileException e) when (_reader.Interfaces.Count > 0)
        {
            // Broken after the first interface: libpcap opens such a file and fails at the read.
            _pendingError = e.Message;
        }
        if (_reader.Interfaces.Count == 0)
        {
            throw new CaptureFormatException(_reader.Truncation ?? "the capture file has no Interface Description Blocks");
        }
        NoteNewInterfaces();
    }

    public CaptureReader Reader => _reader;

    /// <summary>The first interface's link layer: what libpcap's pcap_datalink reports.</summary>
    public PacketDotNet.LinkLayers FirstLinkLayer => (PacketDotNet.LinkLayers)_linkLayers[0].Dlt;

    /// <summary>The link layers of the interfaces seen so far (a copy; safe on any thread).</summary>
    public CaptureLinkLayer[] GetLinkLayers()
    {
        lock (_interfacesGate)
        {
            return _linkLayers.AsSpan(0, _interfaceCount).ToArray();
        }
    }

    /// <summary>
    /// The next packet that passes <paramref name="filter"/>. Its data stays valid until the next
    /// call. On <see cref="GetPacketStatus.Error"/>, <paramref name="error"/> says why; reads after
    /// an error or the end return <see cref="GetPacketStatus.NoRemainingPackets"/>, as libpcap's do.
    /// </summary>
    public GetPacketStatus Read(CaptureFileFilter? filter, out CapturePacket packet, out PacketDotNet.LinkLayers linkLayer, out string? error)
    {
        error = null;
        linkLayer = default;
        while (true)
        {
            if (!Next(out packet, out error))
                return error is null ? GetPacketStatus.NoRemainingPackets : GetPacketStatus.Error;

            int index = packet.InterfaceIndex;
            CaptureLinkLayer link = _linkLayers[index];
            linkLayer = (PacketDotNet.LinkLayers)link.Dlt;
            if (packet.CapturedLength > link.Snaplen)
            {
                // libpcap hands out at most the snapshot length, whatever the record holds.
                packet = new CapturePacket(index, packet.Timestamp, packet.Data[..link.Snaplen], packet.OriginalLength, packet.Options, packet.Kind);
            }
            if (filter is null)
                return GetPacketStatus.PacketRead;

            if (!ReferenceEquals(filter, _filterCachedFor))
            {
                Array.Clear(_interfaceFilters);
                _filterCachedFor = filter;
            }
            CbpfFilter? program = _interfaceFilters[index];
            if (program is null)
            {
                if (!filter.TryGet(link, out program, out string? compileError))
                {
                    _ended = true;
                    error = $"can't filter interface {index} (link type {link.Dlt}): {compileError}";
                    return GetPacketStatus.Error;
                }
                _interfaceFilters[index] = program;
            }
            if (program!.Matches(packet.Data.Span, packet.OriginalLength))
                return GetPacketStatus.PacketRead;
        }
    }

    private bool Next(out CapturePacket packet, out string? error)
    {
        error = null;
        if (_hasPending)
        {
            _hasPending = false;
            packet = _pending;
            _pending = default;
            return true;
        }
        packet = default;
        if (_ended)
            return false;
        if (_pendingError is not null)
        {
            error = _pendingError;
            _ended = true;
            return false;
        }
        try
        {
            if (_reader.TryReadPacket(out packet))
            {
                if (_reader.Interfaces.Count > _interfaceCount)
                    NoteNewInterfaces();
                return true;
            }
            // A file cut inside a record: libpcap reports it as a read error ("truncated dump file; ...").
            error = _reader.Truncation;
        }
        catch (IOException e)
        {
            error = e.Message;
        }
        catch (InvalidDataException e)
        {
            error = e.Message;
        }
        _ended = true;
        return false;
    }

    private void NoteNewInterfaces()
    {
        IReadOnlyList<InterfaceDescription> interfaces = _reader.Interfaces;
        // New interfaces belong to the section being read: the one whose byte order packets
        // referring to them were written in.
        bool bigEndian = _reader switch
        {
            PcapNgReader ng => ng.Section.IsBigEndian,
            PcapReader pcap => pcap.Header.IsBigEndian,
            _ => _hostBigEndian,
        };
        lock (_interfacesGate)
        {
            int count = interfaces.Count;
            if (count > _linkLayers.Length)
            {
                int size = Math.Max(count, _linkLayers.Length * 2);
                Array.Resize(ref _linkLayers, size);
                Array.Resize(ref _interfaceFilters, size);
            }
            for (int i = _interfaceCount; i < count; i++)
            {
                InterfaceDescription d = interfaces[i];
                int dlt = LinkTypeValues.ToLinuxDlt(d.LinkType);
                _linkLayers[i] = new CaptureLinkLayer(dlt, bigEndian != _hostBigEndian, Snapshot(dlt, d.SnapLength));
            }
            _interfaceCount = count;
        }
    }

    /// <summary>libpcap's pcap_adjust_snapshot: a snap length of 0 or beyond the link type's
    /// maximum (max_snaplen_for_dlt) means that maximum.</summary>
    private static int Snapshot(int dlt, uint snapLength)
    {
        int max = dlt switch
        {
            231 => 128 * 1024 * 1024, // DBUS
            279 => 8 * 1024 * 1024,   // EBHSCR
            249 => 1024 * 1024,       // USBPCAP
            _ => 262144,
        };
        return snapLength == 0 || snapLength > max ? max : (int)snapLength;
    }

    protected override bool ReleaseHandle()
    {
        _reader.Dispose();
        return true;
    }
}
