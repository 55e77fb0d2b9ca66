namespace KdtCapture.PcapNg;

/// <summary>
/// Files store LINKTYPE_* values; Linux programs (libpcap, our filter compiler) use DLT_*
/// values. They agree except for a handful of old types, mapped here as libpcap maps them.
/// </summary>
public static class LinkTypeValues
{
    /// <summary>LINKTYPE_ETHERNET / DLT_EN10MB.</summary>
    public const int Ethernet = 1;
    /// <summary>LINKTYPE_RAW: raw IPv4 or IPv6 (DLT_RAW is 12 on Linux).</summary>
    public const int Raw = 101;
    /// <summary>LINKTYPE_LINUX_SLL.</summary>
    public const int LinuxSll = 113;
    /// <summary>LINKTYPE_LINUX_SLL2.</summary>
    public const int LinuxSll2 = 276;

    /// <summary>The Linux DLT_* value for a file's LINKTYPE_* value.</summary>
    public static int ToLinuxDlt(int linkType) => linkType switch
    {
        100 => 11,  // ATM_RFC1483
        101 => 12,  // RAW
        102 => 15,  // SLIP_BSDOS
        103 => 16,  // PPP_BSDOS
        106 => 19,  // ATM_CLIP
        _ => linkType,
    };

    /// <summary>The LINKTYPE_* value to store in a file for a Linux DLT_* value.</summary>
    public static int FromLinuxDlt(int dlt) => dlt switch
    {
        11 => 100,
        12 => 101,
        15 => 102,
        16 => 103,
        19 => 106,
        _ => dlt,
    };
}
