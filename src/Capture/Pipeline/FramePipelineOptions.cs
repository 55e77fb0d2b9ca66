namespace KdtCapture.Capture.Pipeline;

/// <summary>How a <see cref="FramePipeline"/> buffers frames. The defaults suit files and busy interfaces.</summary>
public sealed class FramePipelineOptions
{
    /// <summary>Bytes of frame data (and pcapng options) per batch. Default 1 MiB.</summary>
    public int BatchBytes { get; init; } = 1 << 20;

    /// <summary>Most frames per batch. Default 4096.</summary>
    public int BatchFrames { get; init; } = 4096;

    /// <summary>Batches in flight between source and sinks: with <see cref="BatchBytes"/>, bounds the
    /// pipeline's memory. Default 8.</summary>
    public int Batches { get; init; } = 8;

    /// <summary>
    /// What a source does when the sinks fall behind and no batch is free: false (default, for
    /// files) waits, so nothing is lost; true (for live captures, which cannot pause the kernel)
    /// drops the frame and counts it in <see cref="FrameInterface.DroppedInPipeline"/>.
    /// </summary>
    public bool DropWhenFull { get; init; }

    /// <summary>After a stop was requested, how long the sinks wait for the source to hand over
    /// what it holds before they finish without it (a source may be blocked reading a pipe).
    /// Default 250 ms.</summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Runs the source on the calling thread and hands each batch to the sinks there, as soon as
    /// the source publishes it: no second thread, no channel, one batch reused, so nothing can
    /// be dropped in the pipeline (a source that cannot keep up loses in its own buffer and must
    /// count that, as a kernel tap's ring does). For a live source that stops promptly when
    /// cancelled and feeds sinks that do not block for long (a file): on a 2-CPU machine the
    /// hand-over between threads (wakeups, spin-waits) cost as much as writing the file.
    /// Default false.
    /// </summary>
    public bool SinksOnSourceThread { get; init; }

    internal static readonly FramePipelineOptions Default = new();
}
