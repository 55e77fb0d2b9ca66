namespace KdtCapture.Capture.Pipeline;

/// <summary>
/// Produces frames into a pipeline: a capture file, an interface, a kernel tap. Runs on the
/// pipeline's own source thread.
/// </summary>
public interface IFrameSource
{
    /// <summary>
    /// Announces interfaces and writes frames through <paramref name="producer"/> until the
    /// source is exhausted, a limit is reached, or <paramref name="cancellationToken"/> asks to stop
    /// (then it returns, or throws <see cref="OperationCanceledException"/>, promptly).
    /// </summary>
    void Run(FrameProducer producer, CancellationToken cancellationToken);
}

/// <summary>
/// Consumes frames at the end of a pipeline: a capture file writer, a printer, a counter. All
/// calls come from one thread, in order.
/// </summary>
public interface IFrameSink
{
    /// <summary>Handles every frame of a batch. The batch and its frames are only valid during the call.</summary>
    void Consume(FrameBatch batch, FrameInterfaces interfaces);

    /// <summary>Called once at the end (also after a cancellation or a source failure), when
    /// every frame has been consumed: finish files, write statistics, flush.</summary>
    void Complete(FrameInterfaces interfaces);
}
