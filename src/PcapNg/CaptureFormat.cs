namespace KdtCapture.PcapNg;

/// <summary>The container format of a capture file.</summary>
public enum CaptureFileFormat
{
    /// <summary>pcapng (draft-ietf-opsawg-pcapng): sections, several interfaces and link types, options.</summary>
    PcapNg,
    /// <summary>Classic libpcap format: one link type, µs or ns timestamps.</summary>
    Pcap,
}

/// <summary>The compression wrapped around a capture file.</summary>
public enum CaptureCompression
{
    None,
    /// <summary>LZ4 frame format (what the <c>lz4</c> tool writes).</summary>
    Lz4,
    /// <summary>gzip (RFC 1952), as written by <c>gzip</c>; members may be concatenated.</summary>
    Gzip,
}

/// <summary>Variant of a classic pcap file, from its magic number.</summary>
public enum PcapVariant
{
    /// <summary>0xa1b2c3d4: microsecond timestamps.</summary>
    Microsecond,
    /// <summary>0xa1b23c4d: nanosecond timestamps.</summary>
    Nanosecond,
    /// <summary>0xa1b2cd34: Alexey Kuznetsov's patched Linux libpcap, 8 more bytes per record
    /// (ifindex, protocol, packet type); microsecond timestamps. Read only.</summary>
    LinuxModified,
}
