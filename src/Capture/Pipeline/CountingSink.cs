namespace KdtCapture.Capture.Pipeline;

/// <summary>Counts frames (tcpdump's <c>--count</c>).</summary>
public sealed class CountingSink : IFrameSink
{
    /// <summary>Frames consumed so far.</summary>
    public long Count { get; private set; }

    public void Consume(FrameBatch batch, FrameInterfaces interfaces)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Count += batch.Count;
    }

    public void Complete(FrameInterfaces interfaces) { }
}
