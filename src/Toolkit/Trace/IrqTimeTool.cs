using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace KdtCapture.Toolkit.Trace;

/// <summary>
/// softirqs and hardirqs: time spent per interrupt kind from a `totals` map ({u32 id} →
/// {u64 count, u64 ns}), printed as bcc prints it: a table of totals (µs, -N ns, or counts
/// with --count) or, with --dist, a log2 histogram per kind.
/// </summary>
public abstract class IrqTimeTool : HistogramTool
{
    private readonly SortedDictionary<uint, (ulong Count, ulong TotalNs)> _totals = [];

    private protected IrqTimeTool()
    {
    }

    public override bool SupportsHeatmap => false;

    // Interrupt work runs for whoever was interrupted, not for one process.
    public override bool SelectsProcesses => false;

    /// <summary>The first column's title and the JSON key of a row's name ("softirq", "hardirq").</summary>
    private protected abstract string Kind { get; }

    /// <summary>The width of the name column, as bcc pads it.</summary>
    private protected abstract int NameWidth { get; }

    private protected override string? SectionLabel(TraceToolOptions options) => Kind;

    private protected override string Unit(TraceToolOptions options) => options.Nanoseconds ? "nsecs" : "usecs";

    private protected override bool PrintsHistograms(TraceToolOptions options) => options.Distribution;

    private protected override Dictionary<string, byte[]> Constants(TraceToolOptions options) => new()
    {
        ["nanoseconds"] = TraceSession.Flag(options.Nanoseconds),
    };

    private protected override void CollectExtra(TraceSession session, TraceToolOptions options)
    {
        MapDrain.Drain<uint, SortedDictionary<uint, (ulong, ulong)>>(session.Object.Map("totals"), _totals, static (totals, id, value) =>
        {
            ulong count = BinaryPrimitives.ReadUInt64LittleEndian(value);
            ulong ns = BinaryPrimitives.ReadUInt64LittleEndian(value[8..]);
            totals[id] = totals.TryGetValue(id, out var t) ? (t.Item1 + count, t.Item2 + ns) : (count, ns);
        });
    }

    private protected override void FormatExtra(StringBuilder text, Utf8JsonWriter? json, TraceToolOptions options)
    {
        if (options.Distribution)
        {
            _totals.Clear();
            return;
        }
        if (json is not null)
        {
            json.WriteStartArray(Kind + "s");
            foreach (var (id, (count, ns)) in _totals)
            {
                json.WriteStartObject();
                json.WriteString(Kind, SectionName(id));
                json.WriteNumber("count", count);
                json.WriteNumber("total_ns", ns);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        else
        {
            var inv = CultureInfo.InvariantCulture;
            string column = options.Count ? "TOTAL_count" : options.Nanoseconds ? "TOTAL_nsecs" : "TOTAL_usecs";
            text.Append(Kind.ToUpperInvariant().PadRight(NameWidth)).Append(inv, $" {column,11}\n");
            foreach (var (id, (count, ns)) in _totals)
            {
                ulong value = options.Count ? count : options.Nanoseconds ? ns : ns / 1000;
                text.Append(SectionName(id).PadRight(NameWidth)).Append(inv, $" {value,11}\n");
            }
        }
        _totals.Clear();
    }
}
