using KdtCapture.Cli.CommandLine;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// tcpdump 4.99's option set, so that every tcpdump command line parses (and fails) the same
/// way under <c>kdt capture</c>; which of them take effect is decided by <see cref="CaptureCommand"/>.
/// </summary>
internal static class CaptureOptionTable
{
    // Ids for long options that have no short form.
    public const int ImmediateMode = 1000;
    public const int TimeStampPrecision = 1001;
    public const int Micro = 1002;
    public const int Nano = 1003;
    public const int Count = 1004;
    public const int FpType = 1005;
    public const int Print = 1006;
    public const int Version = 1007;
    /// <summary>kdt's own: write classic pcap instead of pcapng.</summary>
    public const int Pcap = 1008;
    /// <summary>kdt's own: follow matched skbs to every tap until freed.</summary>
    public const int TrackSkb = 1020;
    /// <summary>kdt's own: keep (or leave out) these drop reasons at tp_btf/kfree_skb.</summary>
    public const int DropReason = 1021;
    /// <summary>kdt's own: select tap packets by process, cgroup, network namespace.</summary>
    public const int SelectPid = 1031, SelectComm = 1032, SelectCgroup = 1033, SelectNetns = 1034;

    /// <summary>tcpdump's short options; ':' marks those that take an argument.</summary>
    public const string ShortOptions = "aAbB:c:C:dDeE:fF:G:hHi:Ij:JKlLm:M:nNOpqQ:r:s:StT:uUvV:w:W:xXy:z:Z:#";

    /// <summary>tcpdump's long options, in its order (getopt_long lists ambiguous prefixes in this order).</summary>
    public static readonly IReadOnlyList<LongOption> LongOptions =
    [
        new("buffer-size", true, 'B'),
        new("list-interfaces", false, 'D'),
        new("help", false, 'h'),
        new("interface", true, 'i'),
        new("monitor-mode", false, 'I'),
        new("time-stamp-type", true, 'j'),
        new("list-time-stamp-types", false, 'J'),
        new("micro", false, Micro),
        new("nano", false, Nano),
        new("time-stamp-precision", true, TimeStampPrecision),
        new("dont-verify-checksums", false, 'K'),
        new("list-data-link-types", false, 'L'),
        new("no-optimize", false, 'O'),
        new("no-promiscuous-mode", false, 'p'),
        new("direction", true, 'Q'),
        new("snapshot-length", true, 's'),
        new("absolute-tcp-sequence-numbers", false, 'S'),
        new("packet-buffered", false, 'U'),
        new("linktype", true, 'y'),
        new("immediate-mode", false, ImmediateMode),
        new("relinquish-privileges", true, 'Z'),
        new("count", false, Count),
        new("fp-type", false, FpType),
        new("number", false, '#'),
        new("print", false, Print),
        new("version", false, Version),
        // Not tcpdump's: -w writes pcapng unless this (or a .pcap name) asks for pcap.
        new("pcap", false, Pcap),
        new("track-skb", false, TrackSkb),
        new("drop-reason", true, DropReason),
        new("pid", true, SelectPid),
        new("comm", true, SelectComm),
        new("cgroup", true, SelectCgroup),
        new("netns", true, SelectNetns),
    ];
}
