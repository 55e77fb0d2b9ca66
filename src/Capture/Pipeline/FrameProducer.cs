using System.Threading.Channels;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Pipeline;

/// <summary>
/// A source's handle on the pipeline: announce interfaces, write frames (copied into the current
/// pooled batch), flush. Only the source thread may use it.
/// </summary>
public sealed class FrameProducer
{
    private readonly ChannelWriter<FrameBatch> _full;
    private readonly ChannelReader<FrameBatch> _free;
    private readonly bool _dropWhenFull;
    private readonly CancellationToken _cancellation;
    private readonly Action<FrameBatch>? _consume;
    private FrameBatch? _current;

    internal FrameProducer(FrameInterfaces interfaces, ChannelWriter<FrameBatch> full, ChannelReader<FrameBatch> free,
        bool dropWhenFull, CancellationToken cancellation)
    {
        Interfaces = interfaces;
        _full = full;
        _free = free;
        _dropWhenFull = dropWhenFull;
        _cancellation = cancellation;
    }

    /// <summary>A producer whose batches go straight to <paramref name="consume"/> on the source's
    /// thread (<see cref="FramePipelineOptions.SinksOnSourceThread"/>), then are reused.</summary>
    internal FrameProducer(FrameInterfaces interfaces, FrameBatch batch, Action<FrameBatch> consume)
    {
        Interfaces = interfaces;
        _full = null!;
        _free = null!;
        _current = batch;
        _consume = consume;
    }

    /// <summary>The interfaces announced so far.</summary>
    public FrameInterfaces Interfaces { get; }

    /// <summary>Frames written (not dropped) so far.</summary>
    public long FramesWritten { get; private set; }

    /// <summary>Announces an interface before the first frame that refers to it.</summary>
    public FrameInterface AddInterface(InterfaceDescription description) => Interfaces.Add(description);

    /// <summary>Counts frames a source saw on an interface (<paramref name="received"/>) and let
    /// through its filter (<paramref name="accepted"/>), for the statistics written at close.</summary>
    public static void Count(FrameInterface frameInterface, long received = 1, long accepted = 1)
    {
        ArgumentNullException.ThrowIfNull(frameInterface);
        frameInterface.ReceivedCount += received;
        frameInterface.AcceptedCount += accepted;
    }

    /// <summary>Records how many frames the kernel has dropped on an interface so far (a running total).</summary>
    public static void ReportKernelDrops(FrameInterface frameInterface, long total)
    {
        ArgumentNullException.ThrowIfNull(frameInterface);
        Volatile.Write(ref frameInterface.DroppedInKernelCount, Math.Max(0, total));
    }

    /// <summary>
    /// Copies a frame into the pipeline. With <see cref="FramePipelineOptions.DropWhenFull"/> a
    /// frame that finds no free batch is dropped and counted; otherwise this waits for one.
    /// </summary>
    /// <param name="header">Time stamp, interface, link type, wire length.</param>
    /// <param name="data">The captured bytes.</param>
    /// <param name="options">pcapng packet options (as an Enhanced Packet Block stores them), or empty.</param>
    /// <param name="optionsBigEndian">Byte order of <paramref name="options"/>.</param>
    /// <returns>False when the frame was dropped.</returns>
    public bool Write(in FrameHeader header, ReadOnlySpan<byte> data, ReadOnlySpan<byte> options = default, bool optionsBigEndian = false)
    {
        if (_current is null && !TryTakeBatch()) return Dropped(header.InterfaceIndex);
        if (!_current!.TryAppend(header, data, options, optionsBigEndian))
        {
            Publish();
            if (_current is null && !TryTakeBatch()) return Dropped(header.InterfaceIndex);
            _current!.TryAppend(header, data, options, optionsBigEndian);
        }
        FramesWritten++;
        return true;
    }

    /// <summary>Hands the frames written so far to the sinks now, without waiting for a full batch
    /// (before a source blocks, e.g. on a pipe or an idle interface).</summary>
    public void Flush()
    {
        if (_current is { IsEmpty: false }) Publish();
    }

    private bool Dropped(int interfaceIndex)
    {
        Interlocked.Increment(ref Interfaces[interfaceIndex].DroppedInPipelineCount);
        return false;
    }

    private void Publish()
    {
        FrameBatch batch = _current!;
        batch.InterfaceCount = Interfaces.Count;
        if (_consume is not null)
        {
            // Consumed before the source goes on: the batch is free again at once.
            _consume(batch);
            batch.Clear();
            return;
        }
        _current = null;
        // The channel holds as many batches as exist, so this never has to wait.
        if (!_full.TryWrite(batch)) throw new InvalidOperationException("the frame pipeline was closed while its source was running");
    }

    private bool TryTakeBatch()
    {
        if (_free.TryRead(out _current)) return true;
        if (_dropWhenFull) return false;
        // Back-pressure: a file source waits until the sinks give a batch back.
        while (!_free.TryRead(out _current))
        {
            if (!_free.WaitToReadAsync(_cancellation).AsTask().GetAwaiter().GetResult())
                throw new OperationCanceledException("the frame pipeline is shutting down");
        }
        return true;
    }
}
