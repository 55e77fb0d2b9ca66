using System.Buffers.Binary;
using System.Runtime.InteropServices;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Links;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.PerfEvents;
using KdtCapture.Bpf.Programs;
using KdtCapture.Bpf.Ringbuf;
using static KdtCapture.Bpf.Asm.BpfOpCode;
using static KdtCapture.Bpf.Asm.BpfRegister;

namespace KdtCapture.Bpf.Tests.Kernel;

using Asm = KdtCapture.Bpf.Asm.Asm;

/// <summary>
/// Ring buffer and perf buffer programs (hand-assembled, on raw_tp/net_dev_queue, this process
/// only) numbering each event, read back with exact counts, discards and losses accounted for.
/// </summary>
public sealed partial class BufferTests : KernelObjectTest
{
    private const long Marker = 0x6b6474; // "kdt"

    /// <summary>Emits: r7 = counters[0]++ (the event's sequence number); jumps to "out" for other processes.</summary>
    private static void NumberOwnEvents(BpfAssembler code, BpfMap counters)
    {
        code.Emit(Asm.Mov64(R6, R1))
            .Call(BpfHelper.GetCurrentPidTgid)
            .Emit(Asm.Rsh64(R0, 32))
            .JumpIf(Jne, R0, Environment.ProcessId, "out")
            .Emit(Asm.StoreImm(SizeW, R10, -4, 0))
            .Emit(Asm.LoadMapFd(R1, counters.Fd.Value))
            .Emit(Asm.Mov64(R2, R10))
            .Emit(Asm.Add64(R2, -4))
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(Jeq, R0, 0, "out")
            .Emit(Asm.Mov64(R7, 1))
            .Emit(Asm.Atomic(SizeDW, AtomicAdd | AtomicFetch, R0, 0, R7));
    }

    /// <summary>counters[1]++ (a drop the program saw), then "out".</summary>
    private static void CountDrop(BpfAssembler code, BpfMap counters)
    {
        code.Label("dropped")
            .Emit(Asm.StoreImm(SizeW, R10, -4, 1))
            .Emit(Asm.LoadMapFd(R1, counters.Fd.Value))
            .Emit(Asm.Mov64(R2, R10))
            .Emit(Asm.Add64(R2, -4))
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(Jeq, R0, 0, "out")
            .Emit(Asm.Mov64(R1, 1))
            .Emit(Asm.AtomicAdd64(R0, 0, R1))
            .Label("out")
            .Emit(Asm.Mov64(R0, 0))
            .Exit();
    }

    /// <summary>Reserves 16 bytes {sequence, marker}; submits even sequence numbers, discards odd ones.</summary>
    private static BpfInstruction[] RingBufferProgram(BpfMap counters, BpfMap ring)
    {
        var code = new BpfAssembler();
        NumberOwnEvents(code, counters);
        code.Emit(Asm.LoadMapFd(R1, ring.Fd.Value))
            .Emit(Asm.Mov64(R2, 16))
            .Emit(Asm.Mov64(R3, 0))
            .Call(BpfHelper.RingbufReserve)
            .JumpIf(Jeq, R0, 0, "dropped")
            .Emit(Asm.StoreMem(SizeDW, R0, 0, R7))
            .Emit(Asm.StoreImm(SizeDW, R0, 8, (int)Marker))
            .Emit(Asm.Mov64(R1, R0))
            .Emit(Asm.Mov64(R2, 0))
            .Emit(Asm.And64(R7, 1))
            .JumpIf(Jne, R7, 0, "discard")
            .Call(BpfHelper.RingbufSubmit)
            .Ja("out")
            .Label("discard")
            .Call(BpfHelper.RingbufDiscard)
            .Ja("out");
        CountDrop(code, counters);
        return code.Assemble();
    }

    /// <summary>bpf_perf_event_output(ctx, perf, BPF_F_CURRENT_CPU, {sequence, marker, [marker]}, 16 or 24); a failure counts as a drop.</summary>
    private static BpfInstruction[] PerfBufferProgram(BpfMap counters, BpfMap perf, int size = 16)
    {
        var code = new BpfAssembler();
        NumberOwnEvents(code, counters);
        code.Emit(Asm.StoreMem(SizeDW, R10, -24, R7))
            .Emit(Asm.StoreImm(SizeDW, R10, -16, (int)Marker))
            .Emit(Asm.StoreImm(SizeDW, R10, -8, (int)Marker))
            .Emit(Asm.Mov64(R1, R6))
            .Emit(Asm.LoadMapFd(R2, perf.Fd.Value))
            .Emit(Asm.Mov32(R3, -1)) // BPF_F_CURRENT_CPU (0xffffffff, zero-extended)
            .Emit(Asm.Mov64(R4, R10))
            .Emit(Asm.Add64(R4, -24))
            .Emit(Asm.Mov64(R5, size))
            .Call(BpfHelper.PerfEventOutput)
            .JumpIf(Jne, R0, 0, "dropped")
            .Ja("out");
        CountDrop(code, counters);
        return code.Assemble();
    }

    private static BpfMap Counters() =>
        BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 2, Name = "kdt_counters" });

    private static ulong Read(BpfMap counters, uint index)
    {
        Assert.True(counters.TryLookup(index, out ulong value));
        return value;
    }

    [Fact]
    public void Ring_buffer_delivers_submitted_records_in_order_and_skips_discarded_ones()
    {
        RequireRoot();
        using var counters = Counters();
        using var ring = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.RingBuf, MaxEntries = 256 * 1024, Name = "kdt_ring" });
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_ringbuf", Instructions = RingBufferProgram(counters, ring) });
        using var reader = new RingBufferReader(ring);
        using var traffic = new LoopbackTraffic();
        var sequences = new List<long>();
        using (BpfLink.AttachRawTracepoint(program, "net_dev_queue"))
            traffic.Send(200);

        int records = reader.Poll(sequences, static (list, record) =>
        {
            Assert.Equal(16, record.Length);
            Assert.Equal(Marker, BinaryPrimitives.ReadInt64LittleEndian(record[8..]));
            list.Add(BinaryPrimitives.ReadInt64LittleEndian(record));
        });
        Assert.Equal(100, records);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 2L * i), sequences);
        Assert.Equal(100, reader.RecordsDiscarded);
        Assert.Equal(0, reader.AvailableBytes);
        Assert.Equal(200ul, Read(counters, 0));
        Assert.Equal(0ul, Read(counters, 1));
    }

    [Fact]
    public void Ring_buffer_overflow_is_accounted_exactly()
    {
        RequireRoot();
        using var counters = Counters();
        // One page holds 4096 / 24 = 170 records of 16 bytes.
        using var ring = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.RingBuf, MaxEntries = Environment.SystemPageSize, Name = "kdt_ring_small" });
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_ringbuf", Instructions = RingBufferProgram(counters, ring) });
        using var reader = new RingBufferReader(ring);
        using var traffic = new LoopbackTraffic();
        using (BpfLink.AttachRawTracepoint(program, "net_dev_queue"))
            traffic.Send(1000);

        int submitted = reader.Poll(0, static (_, _) => { });
        ulong dropped = Read(counters, 1);
        Assert.True(dropped > 0, "a one-page ring buffer should have overflowed");
        Assert.Equal(1000L, submitted + reader.RecordsDiscarded + (long)dropped);
        Assert.Equal(1000ul, Read(counters, 0));
    }

    [Fact]
    public void Ring_buffer_reader_wakes_on_records_and_stops_on_cancellation()
    {
        RequireRoot();
        using var counters = Counters();
        using var ring = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.RingBuf, MaxEntries = 64 * 1024, Name = "kdt_ring_wait" });
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_ringbuf", Instructions = RingBufferProgram(counters, ring) });
        using var reader = new RingBufferReader(ring);
        using var traffic = new LoopbackTraffic();
        using var link = BpfLink.AttachRawTracepoint(program, "net_dev_queue");
        using var cancellation = new CancellationTokenSource();
        var received = new int[1];
        Task loop = reader.RunAsync(received, static (count, _) => Interlocked.Increment(ref count[0]), cancellation.Token);

        traffic.Send(20);
        SpinWait.SpinUntil(() => Volatile.Read(ref received[0]) == 10, TimeSpan.FromSeconds(30));
        Assert.Equal(10, Volatile.Read(ref received[0]));

        cancellation.Cancel();
        var stopped = Assert.ThrowsAny<OperationCanceledException>(() => loop.GetAwaiter().GetResult());
        Assert.True(loop.IsCanceled || loop.IsFaulted, stopped.Message);
    }

    [Fact]
    public void Perf_buffer_delivers_every_sample()
    {
        RequireRoot();
        using var counters = Counters();
        using var perf = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = BpfMap.PossibleCpuCount, Name = "kdt_perf" });
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_perfbuf", Instructions = PerfBufferProgram(counters, perf) });
        using var reader = new PerfEventArrayReader(perf, new PerfEventArrayReaderOptions { PerCpuBufferSize = 256 * 1024 });
        using var traffic = new LoopbackTraffic();
        using (BpfLink.AttachRawTracepoint(program, "net_dev_queue"))
            traffic.Send(300);

        var sequences = new List<long>();
        int samples = reader.Poll(sequences, static (list, cpu, sample) =>
        {
            // The kernel pads raw samples so that size + 4 is a multiple of 8.
            Assert.Equal(20, sample.Length);
            Assert.Equal(Marker, BinaryPrimitives.ReadInt64LittleEndian(sample[8..]));
            list.Add(BinaryPrimitives.ReadInt64LittleEndian(sample));
        });
        Assert.Equal(300, samples);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), sequences.Order());
        Assert.Equal(0, reader.LostSamples);
        Assert.Equal(0ul, Read(counters, 1));
    }

    [Fact]
    public void Perf_buffer_counts_lost_samples_exactly()
    {
        RequireRoot();
        using var counters = Counters();
        using var perf = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = BpfMap.PossibleCpuCount, Name = "kdt_perf_small" });
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_perfbuf", Instructions = PerfBufferProgram(counters, perf) });
        // One page per CPU: 4096 / 32-byte records = 128 samples before the ring is full.
        using var reader = new PerfEventArrayReader(perf, new PerfEventArrayReaderOptions { PerCpuBufferSize = Environment.SystemPageSize });
        using var traffic = new LoopbackTraffic();
        long received = 0;
        // Stay on one CPU: the kernel reports a ring's losses with the next sample written to that ring.
        using (new PinnedToCpu(0))
        using (BpfLink.AttachRawTracepoint(program, "net_dev_queue"))
        {
            traffic.Send(1000);
            received += reader.Poll(0, static (_, _, _) => { });
            traffic.Send(1); // writes the PERF_RECORD_LOST ahead of its sample
            received += reader.Poll(0, static (_, _, _) => { });
        }
        Assert.True(reader.LostSamples > 0, "a one-page perf ring should have overflowed");
        Assert.Equal(reader.LostSamples, reader.LostSamplesOnCpu(0));
        Assert.Equal(1001L, received + reader.LostSamples);
        // The helper itself reports every loss as a failed output.
        Assert.Equal((ulong)reader.LostSamples, Read(counters, 1));
    }

    [Fact]
    public void Perf_buffer_samples_that_wrap_the_ring_end_arrive_whole()
    {
        RequireRoot();
        using var counters = Counters();
        using var perf = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = BpfMap.PossibleCpuCount, Name = "kdt_perf_wrap" });
        // 24-byte samples make 40-byte records, which do not divide the one-page ring: some wrap its end.
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_perfbuf", Instructions = PerfBufferProgram(counters, perf, 24) });
        using var reader = new PerfEventArrayReader(perf, new PerfEventArrayReaderOptions { PerCpuBufferSize = Environment.SystemPageSize });
        using var traffic = new LoopbackTraffic();
        var sequences = new List<long>();
        using (BpfLink.AttachRawTracepoint(program, "net_dev_queue"))
        {
            for (int round = 0; round < 25; round++)
            {
                traffic.Send(40);
                reader.Poll(sequences, static (list, cpu, sample) =>
                {
                    Assert.Equal(28, sample.Length);
                    Assert.Equal(Marker, BinaryPrimitives.ReadInt64LittleEndian(sample[8..]));
                    Assert.Equal(Marker, BinaryPrimitives.ReadInt64LittleEndian(sample[16..]));
                    list.Add(BinaryPrimitives.ReadInt64LittleEndian(sample));
                });
            }
        }
        Assert.Equal(0, reader.LostSamples);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), sequences.Order());
    }

    [Fact]
    public void Ring_buffer_positions_run_past_the_ring_size()
    {
        RequireRoot();
        using var counters = Counters();
        using var ring = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.RingBuf, MaxEntries = Environment.SystemPageSize, Name = "kdt_ring_laps" });
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_ringbuf", Instructions = RingBufferProgram(counters, ring) });
        using var reader = new RingBufferReader(ring);
        using var traffic = new LoopbackTraffic();
        var sequences = new List<long>();
        using (BpfLink.AttachRawTracepoint(program, "net_dev_queue"))
        {
            // 2000 records of 24 bytes go round a one-page ring about twelve times.
            for (int round = 0; round < 40; round++)
            {
                traffic.Send(50);
                reader.Poll(sequences, static (list, record) => list.Add(BinaryPrimitives.ReadInt64LittleEndian(record)));
            }
        }
        Assert.Equal(0ul, Read(counters, 1));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => 2L * i), sequences);
    }

    [Fact]
    public void Readers_allocate_nothing_per_record()
    {
        RequireRoot();
        using var counters = Counters();
        using var perfCounters = Counters();
        using var ring = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.RingBuf, MaxEntries = 256 * 1024, Name = "kdt_ring_alloc" });
        using var perf = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = BpfMap.PossibleCpuCount, Name = "kdt_perf_alloc" });
        using var ringProgram = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_ringbuf", Instructions = RingBufferProgram(counters, ring) });
        using var perfProgram = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_perfbuf", Instructions = PerfBufferProgram(perfCounters, perf) });
        using var ringReader = new RingBufferReader(ring);
        using var perfReader = new PerfEventArrayReader(perf, new PerfEventArrayReaderOptions { PerCpuBufferSize = 256 * 1024 });
        using var traffic = new LoopbackTraffic();
        var bytes = new long[1];
        // One delegate per handler, created before measuring (each lambda site caches its own).
        RingBufferRecordHandler<long[]> onRecord = static (total, record) => total[0] += record.Length;
        PerfSampleHandler<long[]> onSample = static (total, cpu, sample) => total[0] += sample.Length;
        using (BpfLink.AttachRawTracepoint(ringProgram, "net_dev_queue"))
        using (BpfLink.AttachRawTracepoint(perfProgram, "net_dev_queue"))
        {
            traffic.Send(10);
            ringReader.Poll(bytes, onRecord);
            perfReader.Poll(bytes, onSample);

            traffic.Send(1000);
            long before = GC.GetAllocatedBytesForCurrentThread();
            int records = ringReader.Poll(bytes, onRecord);
            int samples = perfReader.Poll(bytes, onSample);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(500, records); // odd-numbered ring records are discarded
            Assert.Equal(1000, samples);
            Assert.Equal(0, allocated);
        }
    }

    /// <summary>Pins the calling thread to one CPU for its lifetime.</summary>
    private sealed partial class PinnedToCpu : IDisposable
    {
        private readonly ulong _previous;

        public PinnedToCpu(int cpu)
        {
            ulong mask = 0;
            Assert.Equal(0, SchedGetAffinity(0, sizeof(ulong), ref mask));
            _previous = mask;
            ulong one = 1ul << cpu;
            Assert.Equal(0, SchedSetAffinity(0, sizeof(ulong), ref one));
        }

        public void Dispose()
        {
            ulong previous = _previous;
            SchedSetAffinity(0, sizeof(ulong), ref previous);
        }

        [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
        private static partial int SchedSetAffinity(int pid, nuint size, ref ulong mask);

        [LibraryImport("libc", EntryPoint = "sched_getaffinity")]
        private static partial int SchedGetAffinity(int pid, nuint size, ref ulong mask);
    }
}
