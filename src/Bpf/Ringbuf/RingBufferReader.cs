using KdtCapture.Bpf.Internal.Sys;
using KdtCapture.Bpf.Maps;

namespace KdtCapture.Bpf.Ringbuf;

/// <summary>Receives one ring buffer record; the span is valid only during the call.</summary>
public delegate void RingBufferRecordHandler<TState>(TState state, ReadOnlySpan<byte> record);

/// <summary>
/// Consumer of a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF). The kernel maps the consumer position
/// page writable, and the producer position page plus the data area (mapped twice back to back, so
/// a record that wraps is still contiguous) read-only. Records are handed out as spans straight
/// from the shared memory: no copy, no allocation per record.
/// </summary>
/// <remarks>
/// Memory ordering follows the kernel's contract: the producer position is read with acquire
/// semantics before the headers it covers, a header's busy bit is read with acquire semantics
/// before the record body, and the consumer position is published with release semantics after
/// the record has been handled. A reader is for one thread at a time.
/// </remarks>
public sealed unsafe class RingBufferReader : IDisposable
{
    private const uint BusyBit = 1u << 31;
    private const uint DiscardBit = 1u << 30;
    private const int HeaderSize = 8;

    private readonly MemoryMapping _consumerPage;
    private readonly MemoryMapping _producerPages;
    private readonly Epoll _epoll;
    private readonly long* _consumerPosition;
    private readonly long* _producerPosition;
    private readonly byte* _data;
    private readonly long _mask;
    private readonly string _name;

    public RingBufferReader(BpfMap ringBuffer)
    {
        ArgumentNullException.ThrowIfNull(ringBuffer);
        if (ringBuffer.Type != BpfMapType.RingBuf)
            throw new ArgumentException($"{ringBuffer} is not a ring buffer map", nameof(ringBuffer));
        _name = ringBuffer.Name;
        int page = Environment.SystemPageSize;
        long size = ringBuffer.MaxEntries;
        Size = size;
        _mask = size - 1;
        _consumerPage = new MemoryMapping(ringBuffer.Fd, 0, page, writable: true, $"ring buffer '{_name}' consumer page");
        try
        {
            _producerPages = new MemoryMapping(ringBuffer.Fd, page, page + 2 * size, writable: false, $"ring buffer '{_name}' data");
            _epoll = new Epoll(1);
            _epoll.Add(ringBuffer.Fd, 0);
        }
        catch
        {
            _consumerPage.Dispose();
            _producerPages?.Dispose();
            throw;
        }
        _consumerPosition = (long*)_consumerPage.Pointer;
        _producerPosition = (long*)_producerPages.Pointer;
        _data = _producerPages.Pointer + page;
    }

    /// <summary>Data area size in bytes.</summary>
    public long Size { get; }

    /// <summary>Bytes written by the producer and not yet consumed (including headers).</summary>
    public long AvailableBytes => Volatile.Read(ref *_producerPosition) - Volatile.Read(ref *_consumerPosition);

    /// <summary>Records consumed so far (discarded ones not counted).</summary>
    public long RecordsRead { get; private set; }

    /// <summary>Records the producer discarded (bpf_ringbuf_discard), skipped by the reader.</summary>
    public long RecordsDiscarded { get; private set; }

    /// <summary>Hands every committed record to <paramref name="handler"/> without waiting; returns how many.</summary>
    public int Poll<TState>(TState state, RingBufferRecordHandler<TState> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        int records = 0;
        long consumer = Volatile.Read(ref *_consumerPosition);
        while (true)
        {
            long producer = Volatile.Read(ref *_producerPosition);
            if (consumer >= producer)
                break;
            while (consumer < producer)
            {
                byte* header = _data + (consumer & _mask);
                uint length = Volatile.Read(ref *(uint*)header);
                // A reserved but not yet committed record stops the reader: records commit in order.
                if ((length & BusyBit) != 0)
                    goto done;
                uint bodyLength = length & ~(BusyBit | DiscardBit);
                if ((length & DiscardBit) == 0)
                {
                    handler(state, new ReadOnlySpan<byte>(header + HeaderSize, (int)bodyLength));
                    records++;
                    RecordsRead++;
                }
                else
                {
                    RecordsDiscarded++;
                }
                consumer += (HeaderSize + bodyLength + 7) & ~7L;
                // Release: the record's space goes back to the producer only after the handler is done.
                Volatile.Write(ref *_consumerPosition, consumer);
            }
        }
    done:
        return records;
    }

    /// <summary>
    /// Waits for records (or <paramref name="timeout"/>, or cancellation) and hands them to
    /// <paramref name="handler"/>; returns how many were read (0 on timeout).
    /// </summary>
    public int Read<TState>(TState state, RingBufferRecordHandler<TState> handler, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        int records = Poll(state, handler);
        if (records > 0)
            return records;
        Span<ulong> ready = stackalloc ulong[1];
        _epoll.Wait(ready, timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Min(int.MaxValue, (long)timeout.TotalMilliseconds), cancellationToken);
        return Poll(state, handler);
    }

    /// <summary>Reads until cancelled, on the calling thread (run it on a dedicated thread or Task.Factory.StartNew LongRunning).</summary>
    public void Run<TState>(TState state, RingBufferRecordHandler<TState> handler, CancellationToken cancellationToken)
    {
        while (true)
            Read(state, handler, Timeout.InfiniteTimeSpan, cancellationToken);
    }

    /// <summary>Runs the read loop on a dedicated thread; completes (canceled) when the token is cancelled.</summary>
    public Task RunAsync<TState>(TState state, RingBufferRecordHandler<TState> handler, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(state, handler, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public void Dispose()
    {
        _epoll.Dispose();
        _producerPages.Dispose();
        _consumerPage.Dispose();
    }
}
