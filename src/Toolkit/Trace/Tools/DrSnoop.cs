using System.Buffers.Binary;
using System.Globalization;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// drsnoop: reclaim a task had to do itself before its allocation could go on, as bcc's drsnoop
/// prints it (COMM PID LAT(ms) PAGES): direct reclaim when the system runs low, and, since a
/// memory cgroup's limit is the common cause, memory cgroup reclaim too (KIND in the JSON).
/// </summary>
public sealed class DrSnoop : EventTool
{
    private const int RecordSize = 56;

    public override string Name => "drsnoop";

    public override string Summary => "trace direct and memory cgroup reclaim: latency and pages reclaimed";

    public override IReadOnlyList<string> Tracepoints { get; } =
        ["mm_vmscan_direct_reclaim_begin", "mm_vmscan_direct_reclaim_end", "mm_vmscan_memcg_reclaim_begin", "mm_vmscan_memcg_reclaim_end"];

    private protected override string? Header(TraceToolOptions options) =>
        (options.Timestamps ? "TIME     " : "") + "COMM             PID     TID      LAT(ms) PAGES  KIND";

    private protected override void OnEvent(EventLineState s, ReadOnlySpan<byte> r)
    {
        if (r.Length < RecordSize)
            return;
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(r);
        ulong deltaNs = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
        ulong pages = BinaryPrimitives.ReadUInt64LittleEndian(r[16..]);
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(r[24..]);
        uint tid = BinaryPrimitives.ReadUInt32LittleEndian(r[28..]);
        string kind = BinaryPrimitives.ReadUInt32LittleEndian(r[32..]) == 2 ? "memcg" : "direct";
        uint order = BinaryPrimitives.ReadUInt32LittleEndian(r[36..]);
        string comm = TraceText.CString(r.Slice(40, 16));
        if (s.Options.Json)
        {
            var j = s.Json.Begin();
            j.WriteNumber("time_ns", ts);
            j.WriteString("comm", comm);
            j.WriteNumber("pid", pid);
            j.WriteNumber("tid", tid);
            j.WriteNumber("lat_ms", Math.Round(deltaNs / 1e6, 3));
            j.WriteNumber("pages", pages);
            j.WriteString("kind", kind);
            j.WriteNumber("order", order);
            s.Json.End(s.Output);
            return;
        }
        if (s.Options.Timestamps)
            s.Output.Write(TraceText.TimeColumn(s.Clock.ToLocal(ts)));
        s.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{comm,-16} {pid,-7} {tid,-7} {deltaNs / 1e6,8:F2} {pages,-6} {kind}"));
    }
}
