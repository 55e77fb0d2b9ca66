using System.Net;
using System.Net.NetworkInformation;

namespace KdtCapture.PcapNg;

/// <summary>Block type codes of pcapng.</summary>
public static class PcapNgBlockType
{
    public const uint InterfaceDescription = 0x00000001;
    public const uint ObsoletePacket = 0x00000002;
    public const uint SimplePacket = 0x00000003;
    public const uint NameResolution = 0x00000004;
    public const uint InterfaceStatistics = 0x00000005;
    public const uint EnhancedPacket = 0x00000006;
    public const uint SystemdJournalExport = 0x00000009;
    public const uint DecryptionSecrets = 0x0000000A;
    public const uint CustomCopyable = 0x00000BAD;
    public const uint CustomNoCopy = 0x40000BAD;
    public const uint SectionHeader = 0x0A0D0D0A;
}

/// <summary>
/// One pcapng block as a value: what <see cref="PcapNgReader.ReadBlock"/> returns and
/// <see cref="PcapNgWriter.WriteBlock"/> writes. Every block may carry comments, custom options
/// and options this library does not interpret.
/// </summary>
public abstract record PcapNgBlock
{
    public abstract uint BlockType { get; }
    /// <summary><c>opt_comment</c> values, in file order.</summary>
    public IReadOnlyList<string> Comments { get; init; } = [];
    public IReadOnlyList<CustomOption> CustomOptions { get; init; } = [];
    /// <summary>Options with codes this library does not know for the block type.</summary>
    public IReadOnlyList<PcapNgOption> UnknownOptions { get; init; } = [];
}

/// <summary>Section Header Block: starts a section and fixes its byte order.</summary>
public sealed record SectionHeader : PcapNgBlock
{
    public override uint BlockType => PcapNgBlockType.SectionHeader;
    public ushort MajorVersion { get; init; } = 1;
    public ushort MinorVersion { get; init; }
    /// <summary>Bytes in the section after this block, or -1 when not given (what writers that
    /// stream write).</summary>
    public long SectionLength { get; init; } = -1;
    public bool IsBigEndian { get; init; }
    /// <summary><c>shb_hardware</c>.</summary>
    public string? Hardware { get; init; }
    /// <summary><c>shb_os</c>.</summary>
    public string? OperatingSystem { get; init; }
    /// <summary><c>shb_userappl</c>.</summary>
    public string? UserApplication { get; init; }
}

/// <summary>
/// Interface Description Block: one capture interface (or kernel tap), its link type, snap
/// length and options. Used by both the block model and the packet API.
/// </summary>
public sealed record InterfaceDescription : PcapNgBlock
{
    public override uint BlockType => PcapNgBlockType.InterfaceDescription;
    /// <summary>LINKTYPE_* value (see <see cref="LinkTypeValues"/>).</summary>
    public int LinkType { get; init; } = LinkTypeValues.Ethernet;
    /// <summary>Maximum bytes captured per packet; 0 means no limit.</summary>
    public uint SnapLength { get; init; }
    /// <summary><c>if_name</c>; for taps, the tap spec.</summary>
    public string? Name { get; init; }
    /// <summary><c>if_description</c>.</summary>
    public string? Description { get; init; }
    public IReadOnlyList<InterfaceIPv4Address> IPv4Addresses { get; init; } = [];
    public IReadOnlyList<InterfaceIPv6Address> IPv6Addresses { get; init; } = [];
    /// <summary><c>if_MACaddr</c> (6 octets).</summary>
    public PhysicalAddress? MacAddress { get; init; }
    /// <summary><c>if_EUIaddr</c> (8 octets).</summary>
    public PhysicalAddress? EuiAddress { get; init; }
    /// <summary><c>if_speed</c>, bits per second.</summary>
    public ulong? Speed { get; init; }
    /// <summary><c>if_tsresol</c>; microseconds when the option is absent. Writers omit the
    /// option for microseconds.</summary>
    public TimestampResolution TimestampResolution { get; init; } = TimestampResolution.Microseconds;
    /// <summary><c>if_tzone</c> (never well specified; kept as the raw number).</summary>
    public uint? TimeZone { get; init; }
    /// <summary><c>if_filter</c>.</summary>
    public InterfaceFilter? Filter { get; init; }
    /// <summary><c>if_os</c>.</summary>
    public string? OperatingSystem { get; init; }
    /// <summary><c>if_fcslen</c> as stored (the spec says bits). From a classic pcap file's FCS
    /// field this is its 16-bit word count times 16.</summary>
    public byte? FcsLength { get; init; }
    /// <summary><c>if_tsoffset</c>: seconds added to every timestamp of this interface.</summary>
    public long TimestampOffset { get; init; }
    /// <summary><c>if_hardware</c>.</summary>
    public string? Hardware { get; init; }
    /// <summary><c>if_txspeed</c>, bits per second.</summary>
    public ulong? TransmitSpeed { get; init; }
    /// <summary><c>if_rxspeed</c>, bits per second.</summary>
    public ulong? ReceiveSpeed { get; init; }
    /// <summary><c>if_iana_tzname</c>, e.g. "Europe/Berlin".</summary>
    public string? IanaTimeZone { get; init; }
}

/// <summary>Enhanced Packet Block with all its standard options.</summary>
public sealed record EnhancedPacketBlock : PcapNgBlock
{
    public override uint BlockType => PcapNgBlockType.EnhancedPacket;
    /// <summary>Interface id within the section.</summary>
    public uint InterfaceId { get; init; }
    /// <summary>Timestamp at the interface's resolution and offset.</summary>
    public PacketTimestamp Timestamp { get; init; }
    public uint OriginalLength { get; init; }
    public ReadOnlyMemory<byte> Data { get; init; }
    /// <summary><c>epb_flags</c> (see <see cref="PacketFlags"/>).</summary>
    public uint? Flags { get; init; }
    public IReadOnlyList<PacketHash> Hashes { get; init; } = [];
    /// <summary><c>epb_dropcount</c>.</summary>
    public ulong? DropCount { get; init; }
    /// <summary><c>epb_packetid</c>.</summary>
    public ulong? PacketId { get; init; }
    /// <summary><c>epb_queue</c>.</summary>
    public uint? Queue { get; init; }
    public IReadOnlyList<PacketVerdict> Verdicts { get; init; } = [];
    /// <summary><c>epb_processid_threadid</c>.</summary>
    public ProcessThreadId? ProcessThread { get; init; }
}

/// <summary>Simple Packet Block: data and original length, on the section's first interface.</summary>
public sealed record SimplePacketBlock : PcapNgBlock
{
    public override uint BlockType => PcapNgBlockType.SimplePacket;
    public uint OriginalLength { get; init; }
    public ReadOnlyMemory<byte> Data { get; init; }
}

/// <summary>The obsolete Packet Block (type 2). Read only: writers store it as an Enhanced
/// Packet Block, as the spec asks.</summary>
public sealed record ObsoletePacketBlock : PcapNgBlock
{
    public override uint BlockType => PcapNgBlockType.ObsoletePacket;
    public ushort InterfaceId { get; init; }
    /// <summary>Packets lost since the previous one; 0xFFFF when unknown.</summary>
    public ushort DropsCount { get; init; }
    public PacketTimestamp Timestamp { get; init; }
    public uint OriginalLength { get; init; }
    public ReadOnlyMemory<byte> Data { get; init; }
    /// <summary><c>pack_flags</c>.</summary>
    public uint? Flags { get; init; }
    public IReadOnlyList<PacketHash> Hashes { get; init; } = [];
}

/// <summary>One record of a Name Resolution Block. For IPv4/IPv6/EUI records
/// <see cref="Address"/> holds the address octets and <see cref="Names"/> the names; for record
/// types this library does not know, <see cref="Address"/> holds the whole value.</summary>
public sealed record NameResolutionRecord(ushort Type, ReadOnlyMemory<byte> Address, IReadOnlyList<string> Names)
{
    public const ushort TypeIPv4 = 1, TypeIPv6 = 2, TypeEui48 = 3, TypeEui64 = 4;

    public static NameResolutionRecord IPv4(IPAddress address, params string[] names) => new(TypeIPv4, address.GetAddressBytes(), names);
    public static NameResolutionRecord IPv6(IPAddress address, params string[] names) => new(TypeIPv6, address.GetAddressBytes(), names);

    /// <summary>Length of the address part for a known record type, else -1.</summary>
    internal static int AddressLength(ushort type) => type switch
    {
        TypeIPv4 => 4,
        TypeIPv6 => 16,
        TypeEui48 => 6,
        TypeEui64 => 8,
        _ => -1,
    };
}

/// <summary>Name Resolution Block: address-to-name records and the DNS server options.</summary>
public sealed record NameResolutionBlock : PcapNgBlock
{
    public override uint BlockType => PcapNgBlockType.NameResolution;
    public IReadOnlyList<NameResolutionRecord> Records { get; init; } = [];
    /// <summary><c>ns_dnsname</c>.</summary>
    public string? DnsName { get; init; }
    /// <summary><c>ns_dnsIP4addr</c>.</summary>
    public IPAddress? DnsIPv4Address { get; init; }
    /// <summary><c>ns_dnsIP6addr</c>.</summary>
    public IPAddress? DnsIPv6Address { get; init; }
}

/// <summary>
/// Interface Statistics Block. Counters KdtCapture writes at close (see src/PcapNg/README.md):
/// received → <c>isb_ifrecv</c>, dropped in the kernel (ring/perf buffer full) → <c>isb_osdrop</c>,
/// dropped by the interface → <c>isb_ifdrop</c>, accepted by the filter → <c>isb_filteraccept</c>,
/// delivered to the file → <c>isb_usrdeliv</c>; drops in our own pipeline are
/// <c>isb_filteraccept − isb_usrdeliv</c>.
/// </summary>
public sealed record InterfaceStatisticsBlock : PcapNgBlock
{
    public override uint BlockType => PcapNgBlockType.InterfaceStatistics;
    public uint InterfaceId { get; init; }
    public PacketTimestamp Timestamp { get; init; }
    /// <summary><c>isb_starttime</c>.</summary>
    public PacketTimestamp? StartTime { get; init; }
    /// <summary><c>isb_endtime</c>.</summary>
    public PacketTimestamp? EndTime { get; init; }
    /// <summary><c>isb_ifrecv</c>.</summary>
    public ulong? Received { get; init; }
    /// <summary><c>isb_ifdrop</c>.</summary>
    public ulong? InterfaceDropped { get; init; }
    /// <summary><c>isb_filteraccept</c>.</summary>
    public ulong? FilterAccepted { get; init; }
    /// <summary><c>isb_osdrop</c>.</summary>
    public ulong? OsDropped { get; init; }
    /// <summary><c>isb_usrdeliv</c>.</summary>
    public ulong? Delivered { get; init; }
}

/// <summary>Decryption Secrets Block: key material (TLS key log, WireGuard keys, ...).</summary>
public sealed record DecryptionSecretsBlock : PcapNgBlock
{
    public const uint TlsKeyLog = 0x544c534b, WireGuardKeyLog = 0x57474b4c, ZigBeeNwkKey = 0x5a4e574b,
        ZigBeeApsKey = 0x5a415053, SshKeyLog = 0x5353484b, OpcUaKeyLog = 0x55414b4c;

    public override uint BlockType => PcapNgBlockType.DecryptionSecrets;
    public uint SecretsType { get; init; }
    public ReadOnlyMemory<byte> Data { get; init; }
}

/// <summary>Custom Block (0x00000BAD, or 0x40000BAD "do not copy"): a Private Enterprise Number
/// and opaque data (which may include options only the PEN's owner can parse).</summary>
public sealed record CustomBlock : PcapNgBlock
{
    public override uint BlockType => IsCopyable ? PcapNgBlockType.CustomCopyable : PcapNgBlockType.CustomNoCopy;
    public uint PrivateEnterpriseNumber { get; init; }
    public ReadOnlyMemory<byte> Data { get; init; }
    public bool IsCopyable { get; init; } = true;
}

/// <summary>A block of a type this library does not interpret, kept as its raw body.</summary>
public sealed record UnknownBlock : PcapNgBlock
{
    public UnknownBlock(uint type) => Type = type;
    public uint Type { get; }
    public override uint BlockType => Type;
    /// <summary>The body between the length fields, as read.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }
    /// <summary>Byte order of the section it came from; writers copy it only into a section of
    /// the same byte order.</summary>
    public bool IsBigEndian { get; init; }
}
