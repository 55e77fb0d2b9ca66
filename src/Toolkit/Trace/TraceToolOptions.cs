namespace KdtCapture.Toolkit.Trace;

/// <summary>What a trace tool selects and how it reports. The common flags of every tool
/// (bcc's -p/-t/-c/-T/-d/-i/-j) and the tool-specific switches some tools read.</summary>
public sealed record TraceToolOptions
{
    /// <summary>Only this process (thread group id); 0 for all. Applied in the kernel.</summary>
    public int Pid { get; init; }

    /// <summary>Only this thread id; 0 for all. Applied in the kernel.</summary>
    public int Tid { get; init; }

    /// <summary>Only tasks whose comm is exactly this (at most 15 bytes); null for all.</summary>
    public string? Comm { get; init; }

    /// <summary>Print a wall clock time (HH:MM:SS) column on event lines and interval headers.</summary>
    public bool Timestamps { get; init; }

    /// <summary>Stop after this long; null runs until cancelled (Ctrl-C).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Print (and reset) the summary every interval; null prints it once at the end.</summary>
    public TimeSpan? Interval { get; init; }

    /// <summary>One JSON object per line instead of text.</summary>
    public bool Json { get; init; }

    /// <summary>Latency tools: also write an SVG heatmap (time x latency bucket) here.</summary>
    public string? HeatmapPath { get; init; }

    /// <summary>Latency tools: milliseconds instead of microseconds.</summary>
    public bool Milliseconds { get; init; }

    /// <summary>Histogram tools: one histogram per process (runqlat -P), syscount: count per process.</summary>
    public bool PerProcess { get; init; }

    /// <summary>Histogram tools: one histogram per thread (runqlat -L); exitsnoop: every thread's exit.</summary>
    public bool PerThread { get; init; }

    /// <summary>opensnoop/syscount: failed calls only (-x).</summary>
    public bool FailedOnly { get; init; }

    /// <summary>execsnoop: also show execs that failed (-x; bcc shows successful ones only by default).</summary>
    public bool IncludeFailed { get; init; }

    /// <summary>syscount: only calls that failed with this errno (-e); 0 for any.</summary>
    public int Errno { get; init; }

    /// <summary>syscount: add the total latency column (-L).</summary>
    public bool Latency { get; init; }

    /// <summary>syscount: how many rows to print (--top); bcc's default is 10.</summary>
    public int Top { get; init; } = 10;

    /// <summary>cpudist: off-CPU time instead of on-CPU time (-O).</summary>
    public bool OffCpu { get; init; }

    /// <summary>softirqs: a histogram per vector instead of the totals (--dist, bcc's -d).</summary>
    public bool Distribution { get; init; }

    /// <summary>softirqs, hardirqs: counts instead of times (--count, bcc's -C); tcpretrans: counts per connection (bcc's -c).</summary>
    public bool Count { get; init; }

    /// <summary>softirqs: nanoseconds instead of microseconds (-N).</summary>
    public bool Nanoseconds { get; init; }

    /// <summary>tcpretrans: also report tail loss probes (-l).</summary>
    public bool LossProbes { get; init; }

    /// <summary>biolatency: one histogram per disk (-D).</summary>
    public bool PerDisk { get; init; }

    /// <summary>biolatency: one histogram per request flags (-F).</summary>
    public bool PerFlags { get; init; }

    /// <summary>biolatency: measure from insertion into the queue instead of issue to the device (-Q).</summary>
    public bool Queued { get; init; }

    /// <summary>offcputime: folded stacks for flame graphs (-f).</summary>
    public bool Folded { get; init; }

    /// <summary>offcputime: count only off-CPU stretches at least this long (µs; bcc's -m, default 1).</summary>
    public ulong MinBlockMicroseconds { get; init; } = 1;

    /// <summary>offcputime: count only off-CPU stretches at most this long (µs; bcc's -M).</summary>
    public ulong MaxBlockMicroseconds { get; init; } = ulong.MaxValue;

    /// <summary>Called once every program is attached, before the first event is read.</summary>
    public Action? Ready { get; init; }
}
