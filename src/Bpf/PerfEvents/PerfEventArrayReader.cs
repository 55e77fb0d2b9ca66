using System.Buffers.Binary;
using KdtCapture.Bpf.Internal.Sys;
using KdtCapture.Bpf.Maps;

namespace KdtCapture.Bpf.PerfEvents;

/// <summary>Receives one perf sample (the bytes a program passed to bpf_perf_event_output, padded to 8-byte alignment of size + 4).</summary>
public delegate void PerfSampleHandler<TState>(TState state, int cpu, ReadOnlySpan<byte> sample);

/// <summary>Options for <see cref="PerfEventArrayReader"/>.</summary>
public sealed class PerfEventArrayReaderOptions
{
    /// <summary>Ring size per CPU in bytes, rounded up to a power-of-two number of pages. Default 64 KiB.</summary>
    public int PerCpuBufferSize { get; init; } = 64 * 1024;

    /// <summary>Wake the reader after this many bytes (0: after every sample). Default 0.</summary>
    public int WakeupBytes { get; init; }
}

/// <summary>
/// Consumer of a BPF perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY): one perf event per online
/// CPU (software, bpf-output), each with its own mmap ring, stored into the map at the CPU's index.
/// Samples are handed out as spans into the ring; a sample that wraps the ring's end is copied
/// into one reusable buffer. PERF_RECORD_LOST records are counted per CPU.
/// </summary>
public sealed unsafe class PerfEventArrayReader : IDisposable
{
    private const int RecordLost = 2, RecordSample = 9;
    // struct perf_event_mmap_page: data_head/data_tail/data_offset/data_size.
    private const int DataHeadOffset = 1024, DataTailOffset = 1032, DataOffsetOffset = 1040, DataSizeOffset = 1048;

    private readonly BpfMap _map;
    private readonly int[] _cpus;
    private readonly BpfFileDescriptor[] _events;
    private readonly MemoryMapping[] _rings;
    private readonly long[] _lost;
    private readonly Epoll _epoll;
    private readonly ulong[] _ready;
    private byte[] _wrapBuffer = new byte[256];

    public PerfEventArrayReader(BpfMap perfEventArray, PerfEventArrayReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(perfEventArray);
        if (perfEventArray.Type != BpfMapType.PerfEventArray)
            throw new ArgumentException($"{perfEventArray} is not a perf event array", nameof(perfEventArray));
        options ??= new PerfEventArrayReaderOptions();
        _map = perfEventArray;
        int page = Environment.SystemPageSize;
        int pages = 1;
        while (pages * page < options.PerCpuBufferSize)
            pages *= 2;
        BufferSize = pages * page;

        _cpus = Cpus.Online;
        _events = new BpfFileDescriptor[_cpus.Length];
        _rings = new MemoryMapping[_cpus.Length];
        _lost = new long[_cpus.Length];
        _ready = new ulong[_cpus.Length];
        _epoll = new Epoll(_cpus.Length);
        try
        {
            for (int i = 0; i < _cpus.Length; i++)
            {
                int cpu = _cpus[i];
                if (cpu >= perfEventArray.MaxEntries)
                    throw new ArgumentException($"{perfEventArray} has {perfEventArray.MaxEntries} entries, CPU {cpu} is online");
                var attr = new PerfEventAttr
                {
                    Type = PerfEventAttr.TypeSoftware,
                    Size = (uint)PerfEventAttr.SizeOf,
                    Config = PerfEventAttr.SoftwareBpfOutput,
                    SampleType = PerfEventAttr.SampleRaw,
                    SamplePeriodOrFreq = 1,
                    Flags = options.WakeupBytes > 0 ? PerfEventAttr.FlagWatermark : 0,
                    WakeupEventsOrWatermark = options.WakeupBytes > 0 ? (uint)options.WakeupBytes : 1,
                };
                _events[i] = PerfEventSyscall.Open(ref attr, pid: -1, cpu, $"open bpf-output perf event on CPU {cpu}");
                _rings[i] = new MemoryMapping(_events[i], 0, page + (long)BufferSize, writable: true, $"perf ring of CPU {cpu}");
                perfEventArray.Update((uint)cpu, (uint)_events[i].Value);
                _epoll.Add(_events[i], (ulong)i);
                int errno = PerfEventSyscall.Ioctl(_events[i], PerfEventSyscall.IocEnable, 0);
                if (errno != 0)
                    throw new BpfException($"enable perf event on CPU {cpu}", errno);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Ring data size per CPU in bytes.</summary>
    public int BufferSize { get; }

    /// <summary>Samples lost because a ring was full, over all CPUs, as the kernel reported them.</summary>
    public long LostSamples
    {
        get
        {
            long total = 0;
            foreach (long lost in _lost)
                total += lost;
            return total;
        }
    }

    /// <summary>Samples handed to handlers so far.</summary>
    public long SamplesRead { get; private set; }

    /// <summary>Samples lost on one CPU.</summary>
    public long LostSamplesOnCpu(int cpu)
    {
        int i = Array.IndexOf(_cpus, cpu);
        return i < 0 ? 0 : _lost[i];
    }

    /// <summary>Reads every CPU's ring without waiting; returns the number of samples handled.</summary>
    public int Poll<TState>(TState state, PerfSampleHandler<TState> handler)
    {
        int samples = 0;
        for (int i = 0; i < _rings.Length; i++)
            samples += Drain(i, state, handler);
        return samples;
    }

    /// <summary>Waits for samples (or timeout, or cancellation) and handles them; returns how many (0 on timeout).</summary>
    public int Read<TState>(TState state, PerfSampleHandler<TState> handler, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        int samples = Poll(state, handler);
        if (samples > 0)
            return samples;
        int ready = _epoll.Wait(_ready, timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Min(int.MaxValue, (long)timeout.TotalMilliseconds), cancellationToken);
        for (int r = 0; r < ready; r++)
            samples += Drain((int)_ready[r], state, handler);
        return samples;
    }

    /// <summary>
    /// Waits until the kernel wakes the reader (a ring reached <see cref="PerfEventArrayReaderOptions.WakeupBytes"/>,
    /// or got a sample when that is 0), the timeout passes or the token is cancelled; reads nothing.
    /// With a wakeup threshold, <c>Wait</c> then <see cref="Poll"/> reads a busy ring in large batches,
    /// where <see cref="Read"/> (which looks at the rings first) would come back for every few samples
    /// and keep a CPU busy while a flood lasts. Returns true when woken before the timeout.
    /// </summary>
    public bool Wait(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _epoll.Wait(_ready, timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Min(int.MaxValue, (long)timeout.TotalMilliseconds), cancellationToken) > 0;

    /// <summary>Reads until cancelled, on the calling thread.</summary>
    public void Run<TState>(TState state, PerfSampleHandler<TState> handler, CancellationToken cancellationToken)
    {
        while (true)
            Read(state, handler, Timeout.InfiniteTimeSpan, cancellationToken);
    }

    /// <summary>Runs the read loop on a dedicated thread; completes (canceled) when the token is cancelled.</summary>
    public Task RunAsync<TState>(TState state, PerfSampleHandler<TState> handler, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(state, handler, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private int Drain<TState>(int index, TState state, PerfSampleHandler<TState> handler)
    {
        byte* meta = _rings[index].Pointer;
        long dataOffset = *(long*)(meta + DataOffsetOffset);
        long dataSize = *(long*)(meta + DataSizeOffset);
        if (dataOffset == 0)
        {
            // Kernels before 4.1 do not fill data_offset/data_size: data follows the first page.
            dataOffset = Environment.SystemPageSize;
            dataSize = BufferSize;
        }
        byte* data = meta + dataOffset;
        long mask = dataSize - 1;
        // Acquire: the records up to head are complete once head is visible.
        long head = Volatile.Read(ref *(long*)(meta + DataHeadOffset));
        long tail = *(long*)(meta + DataTailOffset);
        int samples = 0;
        while (tail < head)
        {
            ReadOnlySpan<byte> record = Record(data, dataSize, tail & mask);
            int type = BinaryPrimitives.ReadInt32LittleEndian(record);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(record[6..]);
            if (size < 8)
                break; // a corrupt header; stop rather than spin
            if (type == RecordSample)
            {
                int rawSize = BinaryPrimitives.ReadInt32LittleEndian(record[8..]);
                handler(state, _cpus[index], record.Slice(12, Math.Min(rawSize, size - 12)));
                samples++;
                SamplesRead++;
            }
            else if (type == RecordLost)
            {
                _lost[index] += BinaryPrimitives.ReadInt64LittleEndian(record[16..]);
            }
            tail += size;
            // Release: the space is the kernel's again only after the handler is done with it.
            Volatile.Write(ref *(long*)(meta + DataTailOffset), tail);
        }
        return samples;
    }

    /// <summary>The record at <paramref name="offset"/>; copied into the wrap buffer when it wraps the ring's end.</summary>
    private ReadOnlySpan<byte> Record(byte* data, long dataSize, long offset)
    {
        // The 8-byte header never wraps (records are 8-byte aligned), the body may.
        int size = *(ushort*)(data + offset + 6);
        if (offset + size <= dataSize)
            return new ReadOnlySpan<byte>(data + offset, size);
        if (_wrapBuffer.Length < size)
            _wrapBuffer = new byte[Math.Max(size, _wrapBuffer.Length * 2)];
        int first = (int)(dataSize - offset);
        new ReadOnlySpan<byte>(data + offset, first).CopyTo(_wrapBuffer);
        new ReadOnlySpan<byte>(data, size - first).CopyTo(_wrapBuffer.AsSpan(first));
        return _wrapBuffer.AsSpan(0, size);
    }

    public void Dispose()
    {
        _epoll.Dispose();
        for (int i = 0; i < _events.Length; i++)
        {
            if (_events[i] is { IsClosed: false } fd)
            {
                if (!_map.Fd.IsClosed)
                    _map.Delete((uint)_cpus[i]);
                fd.Dispose();
            }
            _rings[i]?.Dispose();
        }
    }
}
