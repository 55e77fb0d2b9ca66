using KdtCapture.Filters;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Pipeline;

/// <summary>One interface (or kernel tap) frames come from, with its counters.</summary>
public sealed class FrameInterface
{
    internal FrameInterface(int index, InterfaceDescription description)
    {
        Index = index;
        Description = description;
        LinkType = (LinkType)LinkTypeValues.ToLinuxDlt(description.LinkType);
    }

    public int Index { get; }

    /// <summary>As a pcapng Interface Description Block holds it (name, link type, snap length, if_tsresol...).</summary>
    public InterfaceDescription Description { get; }

    /// <summary>The link type as a Linux DLT value (what filters are compiled for).</summary>
    public LinkType LinkType { get; }

    internal long ReceivedCount;
    internal long AcceptedCount;
    internal long DroppedInPipelineCount;
    internal long DroppedInKernelCount = -1;

    /// <summary>Frames the source saw on this interface, before filtering.</summary>
    public long Received => Volatile.Read(ref ReceivedCount);

    /// <summary>Frames the filter accepted (all frames when there is no filter).</summary>
    public long Accepted => Volatile.Read(ref AcceptedCount);

    /// <summary>Accepted frames the pipeline lost because its consumers fell behind (live sources only;
    /// file sources wait instead).</summary>
    public long DroppedInPipeline => Volatile.Read(ref DroppedInPipelineCount);

    /// <summary>Frames the kernel dropped before the source could read them, when the source knows; else null.</summary>
    public long? DroppedInKernel => Volatile.Read(ref DroppedInKernelCount) is var d && d >= 0 ? d : null;

    /// <summary>Accepted frames handed on to the sinks.</summary>
    public long Delivered => Accepted - DroppedInPipeline;

    /// <summary>The counters as an Interface Statistics Block (written when a capture file closes).</summary>
    public InterfaceStatistics ToStatistics()
    {
        long dropped = DroppedInPipeline;
        return new InterfaceStatistics
        {
            Received = (ulong)Received,
            FilterAccepted = (ulong)Accepted,
            OsDropped = DroppedInKernel is long k ? (ulong)k : null,
            Delivered = (ulong)Delivered,
            // pcapng has no counter for losses in user space; say it in words where there were any.
            Comments = dropped > 0 ? [$"{dropped} packets dropped in kdt's pipeline"] : [],
        };
    }
}

/// <summary>
/// The interfaces a pipeline's frames come from, in the order the source announced them. The
/// source appends; sinks read. An interface is announced before any frame refers to it.
/// </summary>
public sealed class FrameInterfaces
{
    private readonly Lock _lock = new();
    private FrameInterface[] _items = new FrameInterface[4];
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public FrameInterface this[int index]
    {
        get
        {
            FrameInterface[] items = Volatile.Read(ref _items);
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, "no such interface");
            return items[index];
        }
    }

    /// <summary>Announces an interface; returns it with its index.</summary>
    public FrameInterface Add(InterfaceDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        lock (_lock)
        {
            if (_count == _items.Length)
            {
                var grown = new FrameInterface[_items.Length * 2];
                Array.Copy(_items, grown, _count);
                Volatile.Write(ref _items, grown);
            }
            var item = new FrameInterface(_count, description);
            _items[_count] = item;
            Volatile.Write(ref _count, _count + 1);
            return item;
        }
    }

    /// <summary>Sum of a counter over all interfaces.</summary>
    public long Total(Func<FrameInterface, long> counter)
    {
        ArgumentNullException.ThrowIfNull(counter);
        long sum = 0;
        for (int i = 0; i < Count; i++) sum += counter(this[i]);
        return sum;
    }
}
