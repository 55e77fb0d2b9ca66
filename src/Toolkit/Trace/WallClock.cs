using System.Diagnostics;

namespace KdtCapture.Toolkit.Trace;

/// <summary>
/// Turns the kernel's CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns, task start times) into
/// local wall-clock time, with one offset taken when the tool starts.
/// </summary>
internal sealed class WallClock
{
    private readonly long _offsetTicks;

    public WallClock()
    {
        // On Linux the Stopwatch reads CLOCK_MONOTONIC, the clock bpf_ktime_get_ns reads.
        long mono = MonotonicNanoseconds();
        _offsetTicks = DateTime.Now.Ticks - mono / 100;
    }

    public static long MonotonicNanoseconds()
    {
        long ts = Stopwatch.GetTimestamp();
        return Stopwatch.Frequency == 1_000_000_000 ? ts : (long)(ts * (1e9 / Stopwatch.Frequency));
    }

    public DateTime ToLocal(ulong monotonicNs) => new(_offsetTicks + (long)(monotonicNs / 100), DateTimeKind.Local);
}
