using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using KdtCapture.Bpf.Symbols;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// lockstat: kernel lock contention from lock:contention_begin/end: a log2 histogram of the
/// waits, then one row per lock and calling function (the first frame of the waiter's stack
/// outside the locking code) with how often, how long in all, the longest and the average
/// wait, as perf lock contention lays it out.
/// </summary>
public sealed class LockStat : HistogramTool
{
    private const int MaxStack = 16;

    /// <summary>One contended lock seen from one caller.</summary>
    public readonly record struct Row(ulong Lock, string Type, string Caller, ulong Count, ulong TotalNs, ulong MaxNs);

    private readonly Dictionary<(ulong Lock, string Caller, string Type), (ulong Count, ulong TotalNs, ulong MaxNs)> _rows = [];
    private KernelSymbols? _symbols;

    public override string Name => "lockstat";

    public override string Summary => "kernel lock contention: wait histogram, and per lock and caller";

    public override IReadOnlyList<string> Tracepoints { get; } = ["contention_begin", "contention_end"];

    private protected override string ObjectName => "lockstat";

    private protected override string What => "lock contention";

    private protected override string? SectionLabel(TraceToolOptions options) => null;

    private protected override Dictionary<string, byte[]> Constants(TraceToolOptions options) => new()
    {
        ["milliseconds"] = TraceSession.Flag(options.Milliseconds),
    };

    /// <summary>The lock's kind from contention_begin's flags (include/trace/events/lock.h LCB_F_*).</summary>
    public static string TypeOf(uint flags)
    {
        const uint Spin = 1, Read = 2, Write = 4, Rt = 8, PerCpu = 16, Mutex = 32;
        if ((flags & PerCpu) != 0)
            return (flags & Write) != 0 ? "pcpu-sem:W" : "pcpu-sem:R";
        if ((flags & Rt) != 0)
            return "rtmutex";
        if ((flags & Mutex) != 0)
            return "mutex";
        if ((flags & Read) != 0)
            return (flags & Spin) != 0 ? "rwlock:R" : "rwsem:R";
        if ((flags & Write) != 0)
            return (flags & Spin) != 0 ? "rwlock:W" : "rwsem:W";
        return (flags & Spin) != 0 ? "spinlock" : "semaphore";
    }

    /// <summary>Whether a kernel function is part of taking a lock (or of tracing it), so the caller is further up.</summary>
    public static bool IsLockingCode(string symbol)
    {
        ReadOnlySpan<string> prefixes =
        [
            "__mutex_lock", "mutex_lock", "__rt_mutex", "rt_mutex", "rwsem_", "__rwsem", "down_", "__down", "down",
            "_raw_spin", "_raw_read", "_raw_write", "queued_", "__pv_queued", "native_queued", "pv_queued",
            "percpu_down", "__percpu_down", "__lock", "lock_", "__bpf_trace", "bpf_trace", "__traceiter", "bpf_",
            "__mutex", "mutex_", "osq_", "__sched_text", "schedule", "preempt_schedule", "__schedule",
        ];
        foreach (string p in prefixes)
        {
            if (symbol.StartsWith(p, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    private protected override void CollectExtra(TraceSession session, TraceToolOptions options)
    {
        _symbols ??= KernelSymbols.Load();
        var stacks = session.Object.Map("stacks");
        var frames = new byte[MaxStack * 8];
        var value = new byte[24];
        var locks = session.Object.Map("locks");
        foreach (var key in locks.Keys<LockKey>())
        {
            var k = key;
            if (!locks.TryLookupAndDelete(MemoryMarshal.AsBytes(new ReadOnlySpan<LockKey>(in k)), value))
                continue;
            // A stack the kernel could not keep (its bucket held another) is named as such.
            string caller = "(no stack)";
            if (key.Stack >= 0 && stacks.TryLookup(BitConverter.GetBytes(key.Stack), frames))
            {
                for (int i = 0; i < MaxStack; i++)
                {
                    ulong ip = BinaryPrimitives.ReadUInt64LittleEndian(frames.AsSpan(i * 8));
                    if (ip == 0)
                        break;
                    string symbol = _symbols.Describe(ip);
                    if (!IsLockingCode(symbol))
                    {
                        int plus = symbol.IndexOf('+', StringComparison.Ordinal);
                        caller = plus > 0 ? symbol[..plus] : symbol;
                        break;
                    }
                }
            }
            var id = (key.Lock, caller, TypeOf(key.Flags));
            ulong count = BinaryPrimitives.ReadUInt64LittleEndian(value);
            ulong total = BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(8));
            ulong max = BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(16));
            _rows[id] = _rows.TryGetValue(id, out var r) ? (r.Count + count, r.TotalNs + total, Math.Max(r.MaxNs, max)) : (count, total, max);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct LockKey
    {
        public readonly ulong Lock;
        public readonly int Stack;
        public readonly uint Flags;
    }

    private static string Time(ulong ns) => ns >= 1_000_000_000
        ? string.Create(CultureInfo.InvariantCulture, $"{ns / 1e9:F2} s")
        : ns >= 1_000_000 ? string.Create(CultureInfo.InvariantCulture, $"{ns / 1e6:F2} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{ns / 1e3:F2} us");

    private protected override void FormatExtra(StringBuilder text, Utf8JsonWriter? json, TraceToolOptions options)
    {
        var rows = new List<Row>();
        foreach (var ((lockAddress, caller, type), (count, total, max)) in _rows)
            rows.Add(new Row(lockAddress, type, caller, count, total, max));
        _rows.Clear();
        rows.Sort((a, b) => b.TotalNs.CompareTo(a.TotalNs));
        if (rows.Count > options.Top)
            rows.RemoveRange(options.Top, rows.Count - options.Top);
        var inv = CultureInfo.InvariantCulture;
        if (json is not null)
        {
            json.WriteStartArray("locks");
            foreach (var r in rows)
            {
                json.WriteStartObject();
                json.WriteString("lock", r.Lock.ToString("x", inv));
                json.WriteString("type", r.Type);
                json.WriteString("caller", r.Caller);
                json.WriteNumber("contended", r.Count);
                json.WriteNumber("total_ns", r.TotalNs);
                json.WriteNumber("max_ns", r.MaxNs);
                json.WriteNumber("avg_ns", r.Count == 0 ? 0 : r.TotalNs / r.Count);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            return;
        }
        text.Append('\n').Append(inv, $"{"contended",10} {"total wait",12} {"max wait",12} {"avg wait",12} {"type",12}   {"lock",-18} caller\n");
        foreach (var r in rows)
        {
            string lockText = string.Create(inv, $"0x{r.Lock:x}");
            text.Append(inv, $"{r.Count,10} {Time(r.TotalNs),12} {Time(r.MaxNs),12} {Time(r.Count == 0 ? 0 : r.TotalNs / r.Count),12} {r.Type,12}   {lockText,-18} {r.Caller}\n");
        }
    }
}
