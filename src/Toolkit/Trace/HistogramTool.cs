using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace KdtCapture.Toolkit.Trace;

/// <summary>
/// A latency tool whose program counts into a `hist` map keyed by {u32 id, u32 log2 slot}
/// (id 0, or a pid/tid/other key per histogram). Drains the map every interval (and every
/// second for a heatmap), prints bcc-style histograms at each interval or at the end, and
/// writes the heatmap when asked.
/// </summary>
public abstract class HistogramTool : TraceTool
{
    private protected HistogramTool()
    {
    }

    public override bool IsSummary => true;

    public override bool SupportsHeatmap => true;

    private protected abstract string ObjectName { get; }

    /// <summary>What is measured, for the "Tracing ..." line and the heatmap title.</summary>
    private protected abstract string What { get; }

    /// <summary>What is measured with these options (cpudist -O measures off-CPU time).</summary>
    private protected virtual string WhatFor(TraceToolOptions options) => What;

    /// <summary>The label of one histogram per key ("pid", "tid", "disk"), or null for one histogram.</summary>
    private protected virtual string? SectionLabel(TraceToolOptions options) =>
        options.PerThread ? "tid" : options.PerProcess ? "pid" : null;

    private protected virtual string Unit(TraceToolOptions options) => options.Milliseconds ? "msecs" : "usecs";

    private protected abstract Dictionary<string, byte[]> Constants(TraceToolOptions options);

    /// <summary>Whether the histograms are printed (softirqs prints totals unless asked for them).</summary>
    private protected virtual bool PrintsHistograms(TraceToolOptions options) => true;

    /// <summary>Reads the tool's other maps at each collection (the lock table, the totals).</summary>
    private protected virtual void CollectExtra(TraceSession session, TraceToolOptions options)
    {
    }

    /// <summary>Appends the tool's other summary after the histograms, and forgets it.</summary>
    private protected virtual void FormatExtra(StringBuilder text, System.Text.Json.Utf8JsonWriter? json, TraceToolOptions options)
    {
    }

    /// <summary>How a section's key is named (e.g. the comm of a pid); the number by default.</summary>
    private protected virtual string SectionName(uint id) => id.ToString(CultureInfo.InvariantCulture);

    public override void Run(TraceToolOptions options, TextWriter output, TextWriter diagnostics, CancellationToken cancellationToken)
    {
        using var session = TraceSession.Open(ObjectName, options, Constants(options));
        var map = session.Object.Map("hist");
        var total = new SortedDictionary<uint, Log2Histogram>();
        var heatmap = options.HeatmapPath is null ? null : new LatencyHeatmap();
        var column = new Log2Histogram();
        var json = new JsonLines();
        string unit = Unit(options);
        if (!options.Json)
            output.WriteLine($"Tracing {WhatFor(options)}... Hit Ctrl-C to end.");
        bool histograms = PrintsHistograms(options);

        void Collect()
        {
            column.Clear();
            MapDrain.Drain<ulong, SortedDictionary<uint, Log2Histogram>>(map, total, (hists, key, value) =>
            {
                uint id = (uint)key;
                int slot = (int)(key >> 32);
                ulong count = BinaryPrimitives.ReadUInt64LittleEndian(value);
                if (!hists.TryGetValue(id, out var h))
                    hists[id] = h = new Log2Histogram();
                h.Add(slot, count);
                column.Add(slot, count);
            });
            heatmap?.AddColumn(DateTime.Now, column.Counts);
            CollectExtra(session, options);
        }

        void Print()
        {
            output.Write(Format(total, options, SectionLabel(options), unit, DateTime.Now, json, histograms));
            total.Clear();
        }

        // A heatmap needs columns even when the summary is printed only once.
        var runOptions = options;
        if (heatmap is not null && options.Interval is null)
            runOptions = options with { Interval = TimeSpan.FromSeconds(1) };
        session.Run<object?>(runOptions, null, null, () =>
        {
            Collect();
            if (options.Interval is not null)
                Print();
        }, output, cancellationToken);
        Collect();
        if (options.Interval is null || total.Count > 0)
            Print();
        if (heatmap is not null && options.HeatmapPath is not null)
            heatmap.Write(options.HeatmapPath, $"kdt trace {Name}: {WhatFor(options)}", unit);
        output.Flush();
    }

    private string Format(SortedDictionary<uint, Log2Histogram> hists, TraceToolOptions options, string? label, string unit, DateTime now, JsonLines json, bool histograms)
    {
        var inv = CultureInfo.InvariantCulture;
        if (options.Json)
        {
            var w = new StringWriter(inv);
            var j = json.Begin();
            j.WriteString("time", now.ToString("HH:mm:ss", inv));
            j.WriteString("unit", unit);
            j.WriteStartArray("histograms");
            foreach (var (id, h) in histograms ? hists : Enumerable.Empty<KeyValuePair<uint, Log2Histogram>>())
            {
                j.WriteStartObject();
                if (label is not null)
                {
                    j.WriteNumber(label, id);
                    j.WriteString("name", SectionName(id));
                }
                j.WriteStartArray("buckets");
                var counts = h.Counts;
                for (int i = 0; i < counts.Length; i++)
                {
                    if (counts[i] == 0)
                        continue;
                    ulong low = i == 0 ? 0 : (1UL << i) >> 1, high = i == 0 ? 0 : i == 64 ? ulong.MaxValue : (1UL << i) - 1;
                    j.WriteStartObject();
                    j.WriteNumber("low", low);
                    j.WriteNumber("high", high);
                    j.WriteNumber("count", counts[i]);
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                j.WriteNumber("total", h.Total);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            FormatExtra(new StringBuilder(), j, options);
            json.End(w);
            return w.ToString();
        }
        var text = new StringBuilder();
        text.Append('\n');
        if (options.Timestamps)
            text.Append(now.ToString("HH:mm:ss", inv)).Append('\n');
        foreach (var (id, h) in histograms ? hists : Enumerable.Empty<KeyValuePair<uint, Log2Histogram>>())
        {
            if (label is not null)
                text.Append(inv, $"\n{label} = {SectionName(id)}\n");
            h.Render(text, unit);
        }
        FormatExtra(text, null, options);
        return text.ToString();
    }
}
