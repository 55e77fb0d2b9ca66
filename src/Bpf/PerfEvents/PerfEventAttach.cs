using System.Globalization;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.PerfEvents;

/// <summary>
/// Opens the perf events that tracepoint and kprobe programs attach to: a tracepoint's event id
/// comes from tracefs, a kprobe's PMU type from sysfs.
/// </summary>
public static class PerfEventAttach
{
    public const string KprobeTypePath = "/sys/bus/event_source/devices/kprobe/type";

    private static readonly string[] TracefsRoots = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

    /// <summary>The tracefs directory with an "events" folder, or null when tracefs is not mounted.</summary>
    public static string? TracefsRoot
    {
        get
        {
            foreach (string root in TracefsRoots)
            {
                if (Directory.Exists(Path.Combine(root, "events")))
                    return root;
            }
            return null;
        }
    }

    /// <summary>The id of tracepoint <paramref name="category"/>:<paramref name="name"/> (events/CAT/NAME/id).</summary>
    public static int TracepointId(string category, string name)
    {
        if (category.Contains('/') || name.Contains('/') || category.Contains("..") || name.Contains(".."))
            throw new ArgumentException($"tracepoint '{category}:{name}' is not a valid name");
        string root = TracefsRoot ?? throw BpfNotSupportedException.Needs("tracefs",
            $"tracepoint {category}:{name}", "tracefs mounted at /sys/kernel/tracing (mount -t tracefs nodev /sys/kernel/tracing)");
        string path = Path.Combine(root, "events", category, name, "id");
        try
        {
            return int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
        }
        catch (FileNotFoundException)
        {
            throw new BpfException($"tracepoint {category}:{name}: no such event ({path} is missing)");
        }
        catch (DirectoryNotFoundException)
        {
            throw new BpfException($"tracepoint {category}:{name}: no such event ({path} is missing)");
        }
    }

    /// <summary>Opens the tracepoint's perf event on CPU 0 for all processes (what BPF attachment needs).</summary>
    public static BpfFileDescriptor OpenTracepoint(string category, string name)
    {
        int id = TracepointId(category, name);
        var attr = new PerfEventAttr
        {
            Type = PerfEventAttr.TypeTracepoint,
            Size = (uint)PerfEventAttr.SizeOf,
            Config = (ulong)id,
            SamplePeriodOrFreq = 1,
            WakeupEventsOrWatermark = 1,
        };
        return PerfEventSyscall.Open(ref attr, pid: -1, cpu: 0, $"open tracepoint {category}:{name}");
    }

    /// <summary>Opens a kprobe (or kretprobe) on <paramref name="symbol"/> through the kprobe PMU.</summary>
    public static unsafe BpfFileDescriptor OpenKprobe(string symbol, bool isReturn = false, ulong offset = 0)
    {
        string kind = isReturn ? "kretprobe" : "kprobe";
        if (!File.Exists(KprobeTypePath))
            throw BpfNotSupportedException.Needs(kind, $"{kind}/{symbol}", $"kprobes (CONFIG_KPROBE_EVENTS; {KprobeTypePath} is absent on this kernel) — use tp_btf/... or fentry/... instead");
        uint pmu = uint.Parse(File.ReadAllText(KprobeTypePath).Trim(), CultureInfo.InvariantCulture);
        int retBit = isReturn ? ReadRetprobeBit() : 0;
        Span<byte> name = stackalloc byte[BpfSyscall.Utf8ZLength(symbol)];
        BpfSyscall.Utf8Z(symbol, name);
        fixed (byte* p = name)
        {
            var attr = new PerfEventAttr
            {
                Type = pmu,
                Size = (uint)PerfEventAttr.SizeOf,
                Config = isReturn ? 1ul << retBit : 0,
                Config1 = (ulong)p,
                Config2 = offset,
                SamplePeriodOrFreq = 1,
                WakeupEventsOrWatermark = 1,
            };
            return PerfEventSyscall.Open(ref attr, pid: -1, cpu: 0, $"open {kind} {symbol}");
        }
    }

    private static int ReadRetprobeBit()
    {
        // "config:0" names the config bit that selects a return probe.
        const string path = "/sys/bus/event_source/devices/kprobe/format/retprobe";
        string text = File.Exists(path) ? File.ReadAllText(path).Trim() : "config:0";
        int colon = text.IndexOf(':');
        return int.Parse(text.AsSpan(colon + 1), CultureInfo.InvariantCulture);
    }
}
