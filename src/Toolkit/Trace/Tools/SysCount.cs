using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>syscount: system calls counted by syscall or by process, optionally with their
/// total latency, as bcc's syscount (top N, every interval or at the end).</summary>
public sealed class SysCount : TraceTool
{
    public override string Name => "syscount";

    public override string Summary => "count system calls by syscall or process, with total latency (-L)";

    public override IReadOnlyList<string> Tracepoints { get; } = ["sys_enter", "sys_exit"];

    public override bool IsSummary => true;

    /// <summary>One row of the table: what was counted (syscall number or pid), how often, how long.</summary>
    public readonly record struct Row(uint Key, string Name, ulong Count, ulong TotalNs);

    public override void Run(TraceToolOptions options, TextWriter output, TextWriter diagnostics, CancellationToken cancellationToken)
    {
        if (options.Errno < 0)
            throw new TraceException("-e needs a positive errno number or name (e.g. -e ENOENT or -e 2)");
        using var session = TraceSession.Open("syscount", options, new Dictionary<string, byte[]>
        {
            ["by_process"] = TraceSession.Flag(options.PerProcess),
            ["latency"] = TraceSession.Flag(options.Latency),
            ["failed_only"] = TraceSession.Flag(options.FailedOnly),
            ["only_errno"] = BitConverter.GetBytes(options.Errno),
        });
        var stats = session.Object.Map("stats");
        if (!options.Json)
            output.WriteLine($"Tracing {(options.FailedOnly ? "failed " : "")}syscalls, printing top {options.Top}... Ctrl+C to quit.");
        var json = new JsonLines();
        void Print()
        {
            var rows = new List<Row>();
            MapDrain.Drain<uint, List<Row>>(stats, rows, (list, key, value) =>
            {
                ulong count = BinaryPrimitives.ReadUInt64LittleEndian(value);
                ulong ns = BinaryPrimitives.ReadUInt64LittleEndian(value[8..]);
                string name = options.PerProcess ? TraceText.CString(value.Slice(16, 16)) : SyscallNames.Of(key);
                list.Add(new Row(key, name, count, ns));
            });
            output.Write(Format(rows, options, DateTime.Now, json));
        }
        session.Run<object?>(options, null, null, Print, output, cancellationToken);
        if (options.Interval is null)
            Print();
        output.Flush();
    }

    /// <summary>The table as bcc's syscount prints it: sorted by latency (with -L) or count, top N.</summary>
    internal static string Format(List<Row> rows, TraceToolOptions options, DateTime now, JsonLines? json = null)
    {
        rows.Sort((a, b) => options.Latency ? b.TotalNs.CompareTo(a.TotalNs) : b.Count.CompareTo(a.Count));
        if (rows.Count > options.Top)
            rows.RemoveRange(options.Top, rows.Count - options.Top);
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        if (options.Json)
        {
            json ??= new JsonLines();
            var w = new StringWriter(inv);
            var j = json.Begin();
            j.WriteString("time", now.ToString("HH:mm:ss", inv));
            j.WriteStartArray(options.PerProcess ? "processes" : "syscalls");
            foreach (var r in rows)
            {
                j.WriteStartObject();
                if (options.PerProcess)
                {
                    j.WriteNumber("pid", r.Key);
                    j.WriteString("comm", r.Name);
                }
                else
                {
                    j.WriteNumber("nr", r.Key);
                    j.WriteString("syscall", r.Name);
                }
                j.WriteNumber("count", r.Count);
                if (options.Latency)
                    j.WriteNumber(options.Milliseconds ? "total_ms" : "total_us", r.TotalNs / (options.Milliseconds ? 1e6 : 1e3));
                j.WriteEndObject();
            }
            j.WriteEndArray();
            json.End(w);
            return w.ToString();
        }
        text.Append('[').Append(now.ToString("HH:mm:ss", inv)).Append("]\n");
        string label = options.PerProcess ? "PID    COMM" : "SYSCALL";
        if (options.Latency)
            text.Append(inv, $"{label,-22} {"COUNT",8} {(options.Milliseconds ? "TIME (ms)" : "TIME (us)"),16}\n");
        else
            text.Append(inv, $"{label,-22} {"COUNT",8}\n");
        foreach (var r in rows)
        {
            string name = options.PerProcess ? string.Create(inv, $"{r.Key,-6} {r.Name,-15}") : r.Name;
            if (options.Latency)
                text.Append(inv, $"{name,-22} {r.Count,8} {r.TotalNs / (options.Milliseconds ? 1e6 : 1e3),16:F3}\n");
            else
                text.Append(inv, $"{name,-22} {r.Count,8}\n");
        }
        text.Append('\n');
        return text.ToString();
    }
}
