using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using KdtCapture.Bpf.Symbols;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// offcputime: time off-CPU per task and kernel stack, as bcc's offcputime (kernel stacks, -K):
/// each stack innermost frame first, then "-  comm (pid)" and the total in µs, least first; or
/// with -f folded lines ("comm;outer;…;inner µs") for flame graphs. Frames are named from
/// /proc/kallsyms.
/// </summary>
public sealed class OffCpuTime : TraceTool
{
    private const int MaxStack = 127;

    public override string Name => "offcputime";

    public override string Summary => "off-CPU time per task and kernel stack, folded (-f) for flame graphs";

    public override IReadOnlyList<string> Tracepoints { get; } = ["sched_switch"];

    public override bool IsSummary => true;

    /// <summary>One task's time off-CPU from one stack (frames innermost first; empty when the kernel could not keep it).</summary>
    public readonly record struct Row(uint Pid, uint Tid, string Comm, IReadOnlyList<string> Frames, ulong Microseconds);

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Key
    {
        public readonly uint Pid;
        public readonly uint Tid;
        public readonly int KernelStack;
        public readonly uint Pad;
        public readonly ulong Comm0;
        public readonly ulong Comm1;
    }

    public override void Run(TraceToolOptions options, TextWriter output, TextWriter diagnostics, CancellationToken cancellationToken)
    {
        using var session = TraceSession.Open("offcputime", options, new Dictionary<string, byte[]>
        {
            ["min_block_us"] = BitConverter.GetBytes(options.MinBlockMicroseconds),
            ["max_block_us"] = BitConverter.GetBytes(options.MaxBlockMicroseconds),
        });
        if (!options.Json && !options.Folded)
            output.WriteLine("Tracing off-CPU time (us) of all threads by kernel stack... Hit Ctrl-C to end.");
        var symbols = KernelSymbols.Load();
        var json = new JsonLines();
        session.Run<object?>(options, null, null, null, output, cancellationToken);
        output.Write(Format(Collect(session, symbols), options, DateTime.Now, json));
        output.Flush();
    }

    private static List<Row> Collect(TraceSession session, KernelSymbols symbols)
    {
        var counts = session.Object.Map("counts");
        var stacks = session.Object.Map("stacks");
        var frames = new byte[MaxStack * 8];
        var value = new byte[counts.ValueBufferSize];
        var rows = new List<Row>();
        var names = new Dictionary<int, IReadOnlyList<string>>();
        var comm = new byte[16];
        foreach (var key in counts.Keys<Key>())
        {
            var k = key;
            if (!counts.TryLookupAndDelete(MemoryMarshal.AsBytes(new ReadOnlySpan<Key>(in k)), value))
                continue;
            if (!names.TryGetValue(key.KernelStack, out var stack))
            {
                var list = new List<string>();
                if (key.KernelStack >= 0 && stacks.TryLookup(BitConverter.GetBytes(key.KernelStack), frames))
                {
                    for (int i = 0; i < MaxStack; i++)
                    {
                        ulong ip = BinaryPrimitives.ReadUInt64LittleEndian(frames.AsSpan(i * 8));
                        if (ip == 0)
                            break;
                        string symbol = symbols.Describe(ip);
                        int plus = symbol.IndexOf('+', StringComparison.Ordinal);
                        string name = plus > 0 ? symbol[..plus] : symbol;
                        // The innermost frames are this tool's program and the tracepoint's call into it.
                        if (list.Count == 0 && IsTracingFrame(name))
                            continue;
                        list.Add(name);
                    }
                }
                names[key.KernelStack] = stack = list;
            }
            BinaryPrimitives.WriteUInt64LittleEndian(comm, key.Comm0);
            BinaryPrimitives.WriteUInt64LittleEndian(comm.AsSpan(8), key.Comm1);
            rows.Add(new Row(key.Pid, key.Tid, TraceText.CString(comm), stack, BinaryPrimitives.ReadUInt64LittleEndian(value)));
        }
        return rows;
    }

    /// <summary>Whether a frame is the BPF program or the tracepoint machinery that ran it.</summary>
    public static bool IsTracingFrame(string name) =>
        name.StartsWith("bpf_prog_", StringComparison.Ordinal) || name.StartsWith("bpf_trace_run", StringComparison.Ordinal)
        || name.StartsWith("__bpf_trace_", StringComparison.Ordinal) || name.StartsWith("__traceiter_", StringComparison.Ordinal);

    /// <summary>The rows as bcc's offcputime prints them (least time first), folded, or as one JSON object.</summary>
    internal static string Format(List<Row> rows, TraceToolOptions options, DateTime now, JsonLines? json = null)
    {
        rows.Sort((a, b) => a.Microseconds.CompareTo(b.Microseconds));
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        if (options.Json)
        {
            json ??= new JsonLines();
            var w = new StringWriter(inv);
            var j = json.Begin();
            j.WriteString("time", now.ToString("HH:mm:ss", inv));
            j.WriteStartArray("stacks");
            foreach (var r in rows)
            {
                j.WriteStartObject();
                j.WriteNumber("pid", r.Pid);
                j.WriteNumber("tid", r.Tid);
                j.WriteString("comm", r.Comm);
                j.WriteStartArray("kernel_stack");
                foreach (string f in r.Frames)
                    j.WriteStringValue(f);
                j.WriteEndArray();
                j.WriteNumber("total_us", r.Microseconds);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            json.End(w);
            return w.ToString();
        }
        if (options.Folded)
        {
            foreach (var r in rows)
            {
                text.Append(r.Comm.Replace(' ', '_').Replace(';', '_'));
                if (r.Frames.Count == 0)
                    text.Append(";[Missed Kernel Stack]");
                for (int i = r.Frames.Count - 1; i >= 0; i--)
                    text.Append(';').Append(r.Frames[i]);
                text.Append(inv, $" {r.Microseconds}\n");
            }
            return text.ToString();
        }
        if (options.Timestamps)
            text.Append('\n').Append(now.ToString("HH:mm:ss", inv)).Append('\n');
        foreach (var r in rows)
        {
            if (r.Frames.Count == 0)
                text.Append("    [Missed Kernel Stack]\n");
            foreach (string f in r.Frames)
                text.Append("    ").Append(f).Append('\n');
            text.Append(inv, $"    -                {r.Comm} ({r.Tid})\n");
            text.Append(inv, $"        {r.Microseconds}\n\n");
        }
        return text.ToString();
    }
}
