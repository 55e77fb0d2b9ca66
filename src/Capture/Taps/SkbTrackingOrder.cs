using System.Buffers;
using KdtCapture.Capture.Pipeline;

namespace KdtCapture.Capture.Taps;

/// <summary>
/// Puts the frames of several taps back into the kernel's time order before they go on, so that
/// <c>--track-skb</c> shows a packet's path hop by hop: every tap (and every CPU) has its own perf
/// ring, read in turns, so a later hop can be read before an earlier one. Frames wait here until
/// they are older than <see cref="Window"/> (monotonic clock), then leave oldest first. Best effort:
/// a frame that reaches its ring's reader later than that (a starved reader, a busy machine) goes on
/// late; the time stamps stay right, so sorting a file by time always gives the kernel's order. Frames are
/// copied into one pooled arena reused from round to round: nothing is allocated per frame.
/// </summary>
internal sealed class SkbTrackingOrder : IDisposable
{
    /// <summary>How long a frame waits for earlier ones still in another ring.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    private readonly record struct Pending(ulong Monotonic, long Sequence, FrameHeader Header, int DataAt, int DataLength, int OptionsAt, int OptionsLength);

    private static readonly Comparison<Pending> ByTime = static (a, b) =>
        a.Monotonic != b.Monotonic ? a.Monotonic.CompareTo(b.Monotonic) : a.Sequence.CompareTo(b.Sequence);

    private Pending[] _pending = new Pending[256];
    private int _count;
    private byte[] _arena = ArrayPool<byte>.Shared.Rent(1 << 20);
    private byte[] _spare = [];
    private int _used;
    private long _sequence;

    public int Count => _count;

    /// <summary>Keeps a copy of the frame until <see cref="Release"/>.</summary>
    public void Add(ulong monotonicNs, in FrameHeader header, ReadOnlySpan<byte> data, ReadOnlySpan<byte> options)
    {
        if (_count == _pending.Length)
            Array.Resize(ref _pending, _pending.Length * 2);
        int need = _used + data.Length + options.Length;
        if (need > _arena.Length)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(need, _arena.Length * 2));
            _arena.AsSpan(0, _used).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_arena);
            _arena = bigger;
        }
        int dataAt = _used;
        data.CopyTo(_arena.AsSpan(_used));
        _used += data.Length;
        int optionsAt = _used;
        options.CopyTo(_arena.AsSpan(_used));
        _used += options.Length;
        _pending[_count++] = new Pending(monotonicNs, _sequence++, header, dataAt, data.Length, optionsAt, options.Length);
    }

    /// <summary>Writes, oldest first, the frames taken before <paramref name="beforeMonotonicNs"/> (all with ulong.MaxValue); keeps the rest.</summary>
    public void Release(FrameProducer producer, ulong beforeMonotonicNs)
    {
        if (_count == 0)
            return;
        Span<Pending> pending = _pending.AsSpan(0, _count);
        pending.Sort(ByTime);
        int released = 0;
        while (released < _count && pending[released].Monotonic < beforeMonotonicNs)
        {
            ref readonly Pending p = ref pending[released++];
            producer.Write(p.Header, _arena.AsSpan(p.DataAt, p.DataLength), _arena.AsSpan(p.OptionsAt, p.OptionsLength));
        }
        if (released == _count)
        {
            _count = 0;
            _used = 0;
            return;
        }
        if (released == 0)
            return;
        // The frames still waiting (the last window's) move to the front of the spare arena, which
        // becomes the arena: their places in this one are in arrival order, not time order.
        if (_spare.Length < _arena.Length)
        {
            if (_spare.Length > 0)
                ArrayPool<byte>.Shared.Return(_spare);
            _spare = ArrayPool<byte>.Shared.Rent(_arena.Length);
        }
        int at = 0;
        for (int i = released; i < _count; i++)
        {
            Pending p = pending[i];
            _arena.AsSpan(p.DataAt, p.DataLength).CopyTo(_spare.AsSpan(at));
            int dataAt = at;
            at += p.DataLength;
            _arena.AsSpan(p.OptionsAt, p.OptionsLength).CopyTo(_spare.AsSpan(at));
            int optionsAt = at;
            at += p.OptionsLength;
            _pending[i - released] = p with { DataAt = dataAt, OptionsAt = optionsAt };
        }
        (_arena, _spare) = (_spare, _arena);
        _count -= released;
        _used = at;
    }

    public void Dispose()
    {
        if (_arena.Length > 0)
            ArrayPool<byte>.Shared.Return(_arena);
        if (_spare.Length > 0)
            ArrayPool<byte>.Shared.Return(_spare);
        _arena = [];
        _spare = [];
    }
}
