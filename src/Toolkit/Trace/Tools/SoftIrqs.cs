using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>softirqs: time spent in each softirq vector, as bcc's softirqs: a table of totals
/// (µs, or counts with --count) or, with --dist, a log2 histogram per vector.</summary>
public sealed class SoftIrqs : HistogramTool
{
    /// <summary>The kernel's softirq vectors in order (include/linux/interrupt.h), named as bcc names them.</summary>
    public static readonly string[] VectorNames = ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"];

    private readonly SortedDictionary<uint, (ulong Count, ulong TotalNs)> _totals = [];

    public override string Name => "softirqs";

    public override string Summary => "time spent in each softirq vector: totals, counts or histograms";

    public override IReadOnlyList<string> Tracepoints { get; } = ["softirq_entry", "softirq_exit"];

    public override bool SupportsHeatmap => false;

    // Softirqs run for whoever was interrupted (or in ksoftirqd), not for one process.
    public override bool SelectsProcesses => false;

    private protected override string ObjectName => "softirqs";

    private protected override string What => "soft irq event time";

    private protected override string? SectionLabel(TraceToolOptions options) => "softirq";

    private protected override string SectionName(uint id) => VectorName(id);

    private protected override string Unit(TraceToolOptions options) => options.Nanoseconds ? "nsecs" : "usecs";

    private protected override bool PrintsHistograms(TraceToolOptions options) => options.Distribution;

    private protected override Dictionary<string, byte[]> Constants(TraceToolOptions options) => new()
    {
        ["nanoseconds"] = TraceSession.Flag(options.Nanoseconds),
    };

    public static string VectorName(uint vector) =>
        vector < VectorNames.Length ? VectorNames[vector] : vector.ToString(CultureInfo.InvariantCulture);

    private protected override void CollectExtra(TraceSession session, TraceToolOptions options)
    {
        MapDrain.Drain<uint, SortedDictionary<uint, (ulong, ulong)>>(session.Object.Map("totals"), _totals, static (totals, vector, value) =>
        {
            ulong count = BinaryPrimitives.ReadUInt64LittleEndian(value);
            ulong ns = BinaryPrimitives.ReadUInt64LittleEndian(value[8..]);
            totals[vector] = totals.TryGetValue(vector, out var t) ? (t.Item1 + count, t.Item2 + ns) : (count, ns);
        });
    }

    private protected override void FormatExtra(StringBuilder text, Utf8JsonWriter? json, TraceToolOptions options)
    {
        if (options.Distribution)
        {
            _totals.Clear();
            return;
        }
        string column = options.Count ? "TOTAL_count" : options.Nanoseconds ? "TOTAL_nsecs" : "TOTAL_usecs";
        if (json is not null)
        {
            json.WriteStartArray("softirqs");
            foreach (var (vector, (count, ns)) in _totals)
            {
                json.WriteStartObject();
                json.WriteString("softirq", VectorName(vector));
                json.WriteNumber("count", count);
                json.WriteNumber("total_ns", ns);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        else
        {
            var inv = CultureInfo.InvariantCulture;
            text.Append(inv, $"{"SOFTIRQ",-16} {column,11}\n");
            foreach (var (vector, (count, ns)) in _totals)
            {
                ulong value = options.Count ? count : options.Nanoseconds ? ns : ns / 1000;
                text.Append(inv, $"{VectorName(vector),-16} {value,11}\n");
            }
        }
        _totals.Clear();
    }
}
