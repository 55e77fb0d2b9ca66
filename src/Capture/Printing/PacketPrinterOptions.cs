namespace KdtCapture.Capture.Printing;

/// <summary>How the time stamp at the start of each packet line is printed (tcpdump's -t family).</summary>
public enum TimestampFormat
{
    /// <summary>Local wall-clock time of day, <c>HH:MM:SS.ffffff</c> (tcpdump's default).</summary>
    TimeOfDay,
    /// <summary>No time stamp (<c>-t</c>).</summary>
    None,
    /// <summary>Seconds since the epoch, <c>1700000000.123456</c> (<c>-tt</c>).</summary>
    Unix,
    /// <summary>Time since the previous packet, <c> 00:00:00.000123</c> (<c>-ttt</c>).</summary>
    DeltaSincePrevious,
    /// <summary>Local date and time of day, <c>2024-01-31 12:00:00.123456</c> (<c>-tttt</c>).</summary>
    DateAndTime,
    /// <summary>Time since the first packet (<c>-ttttt</c>).</summary>
    DeltaSinceFirst,
}

/// <summary>The fraction printed after the seconds (tcpdump's <c>--time-stamp-precision</c>).</summary>
public enum TimestampPrecision
{
    /// <summary>Six digits; nanosecond time stamps are truncated to microseconds, as libpcap does.</summary>
    Microseconds,
    /// <summary>Nine digits.</summary>
    Nanoseconds,
}

/// <summary>Raw packet bytes printed after the decoded text (tcpdump's -x, -xx, -X, -XX, -A, -AA).</summary>
public enum HexDumpMode
{
    None,
    /// <summary><c>-x</c>: hex, without the link-layer header.</summary>
    Hex,
    /// <summary><c>-xx</c>: hex, with the link-layer header.</summary>
    HexWithLinkHeader,
    /// <summary><c>-X</c>: hex and ASCII, without the link-layer header.</summary>
    HexAndAscii,
    /// <summary><c>-XX</c>: hex and ASCII, with the link-layer header.</summary>
    HexAndAsciiWithLinkHeader,
    /// <summary><c>-A</c>: ASCII, without the link-layer header.</summary>
    Ascii,
    /// <summary><c>-AA</c>: ASCII, with the link-layer header.</summary>
    AsciiWithLinkHeader,
}

/// <summary>
/// tcpdump's <c>-T</c>: how UDP (and for some, TCP or IP protocol 112) payloads are decoded regardless of their ports.
/// </summary>
public enum ForcedPacketType
{
    None,
    Vat,
    Wb,
    Rpc,
    Rtp,
    Rtcp,
    Snmp,
    Cnfp,
    Tftp,
    Aodv,
    Carp,
    Radius,
    Zmtp1,
    Vxlan,
    Pgm,
    PgmZmtp1,
    Lmp,
    Resp,
    Ptp,
    SomeIp,
    Domain,
}

/// <summary>
/// What <see cref="PacketPrinter"/> prints, mirroring tcpdump's printing options. The defaults are tcpdump's
/// defaults (names resolved, time of day, one line per packet).
/// </summary>
public sealed record PacketPrinterOptions
{
    /// <summary><c>-t</c> … <c>-ttttt</c>.</summary>
    public TimestampFormat Timestamps { get; init; } = TimestampFormat.TimeOfDay;

    /// <summary><c>--time-stamp-precision</c>.</summary>
    public TimestampPrecision Precision { get; init; } = TimestampPrecision.Microseconds;

    /// <summary>
    /// The zone for <see cref="TimestampFormat.TimeOfDay"/> and <see cref="TimestampFormat.DateAndTime"/>;
    /// null means the local zone (tcpdump's localtime, which honours TZ).
    /// </summary>
    public TimeZoneInfo? TimeZone { get; init; }

    /// <summary>
    /// <c>-n</c>: print addresses, ports and protocol numbers as numbers. Without it, ports are named from
    /// /etc/services, IP protocols from tcpdump's built-in table, MAC addresses from /etc/ethers and the OUI
    /// table, and host addresses through /etc/hosts and reverse DNS (see <see cref="ResolveHostsWithDns"/>).
    /// </summary>
    public bool Numeric { get; init; }

    /// <summary>
    /// Without <see cref="Numeric"/>: also ask DNS for names of addresses /etc/hosts does not know, as tcpdump's
    /// gethostbyaddr does. Each new address may then block on the resolver, once (results are cached).
    /// </summary>
    public bool ResolveHostsWithDns { get; init; } = true;

    /// <summary><c>-N</c>: print host names without their domain ("nic", not "nic.ddn.mil").</summary>
    public bool HostNamesWithoutDomain { get; init; }

    /// <summary>
    /// <c>-f</c>: name only the IPv4 addresses of this network (both in host order, e.g. 0x0a000000 and
    /// 0xff000000 for 10.0.0.0/8) and print "foreign" ones as numbers. Null: name every address.
    /// </summary>
    public (uint Network, uint Netmask)? LocalNetwork { get; init; }

    /// <summary><c>-M</c>: the shared secret for checking TCP MD5 signature options (RFC 2385).</summary>
    public string? TcpSignatureSecret { get; init; }

    /// <summary>
    /// <c>-E</c>: ESP security associations to decrypt with ("spi@address algo:secret,...", "algo:secret" for
    /// any, or "file NAME"); see <see cref="PacketPrinter.CheckEspSecrets"/>.
    /// </summary>
    public string? EspSecrets { get; init; }

    /// <summary><c>-T</c>: decode payloads as this protocol whatever their ports.</summary>
    public ForcedPacketType PacketType { get; init; }

    /// <summary><c>-e</c>: print the link-layer header.</summary>
    public bool LinkHeader { get; init; }

    /// <summary><c>-q</c>: less protocol information.</summary>
    public bool Quiet { get; init; }

    /// <summary><c>-v</c> = 1, <c>-vv</c> = 2, <c>-vvv</c> = 3.</summary>
    public int Verbosity { get; init; }

    /// <summary><c>-x</c>, <c>-X</c>, <c>-A</c> and their doubled forms.</summary>
    public HexDumpMode HexDump { get; init; } = HexDumpMode.None;

    /// <summary><c>-S</c>: absolute, not relative, TCP sequence numbers.</summary>
    public bool AbsoluteTcpSequenceNumbers { get; init; }

    /// <summary>
    /// <c>-K</c>: do not verify IP, TCP and UDP checksums (they are verified with -v). As in tcpdump, ICMP and
    /// ICMPv6 checksums are still verified.
    /// </summary>
    public bool DontVerifyChecksums { get; init; }

    /// <summary><c>-#</c> (<c>--number</c>): start each packet with its number.</summary>
    public bool PacketNumbers { get; init; }

    /// <summary>
    /// Print the capture interface's name (a pcapng if_name, e.g. a tap spec) before the packet, as tcpdump
    /// does for <c>-i any</c> captures. tcpdump has no such option for files; off by default.
    /// </summary>
    public bool InterfaceNames { get; init; }
}
