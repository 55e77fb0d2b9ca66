using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;

namespace KdtCapture.Benchmarks;

/// <summary>Which of our engines run against bpf_filter.</summary>
[Flags]
internal enum OurEngines
{
    None = 0,
    IlCompiler = 1,
    FastInterpreter = 2,
}

/// <summary>One runner's two measurements of one filter.</summary>
internal sealed record RunnerResult(Contender Warm, Contender Cold);

/// <summary>
/// Filter execution: every packet of the synthetic capture through one program, by libpcap's
/// bpf_filter and by our engines. The program is libpcap's pcap_compile output, the same
/// instructions for every runner (our compiler's output is only compared with it).
/// <para>
/// Each runner is measured two ways, interleaved with all the others. <b>Warm</b>, the figure the
/// targets are judged on: packets are filtered in batches of <see cref="Batch"/>, and before a
/// batch's clock starts the first 128 bytes of its packets are read, as a capture loop has just
/// copied or received them (libpcap reads each packet into its buffer before bpf_filter runs);
/// only the filter calls are timed. <b>Cold</b>: one timed sweep over the whole capture, which is
/// far larger than the caches, so each packet's headers come from DRAM and memory latency, the
/// same for every runner, is most of the time.
/// </para>
/// </summary>
internal static unsafe class FilterBenchmark
{
    /// <summary>Packets per warm batch: their headers (about 3 cache lines each) fit in L1/L2.</summary>
    public const int Batch = 256;

    public sealed record Result(string Expression, int Instructions, bool OursCompilesSame, long Matches,
        RunnerResult Libpcap, RunnerResult? Il, RunnerResult? Interpreter);

    private static int s_sink;

    public static List<Result> Run(SyntheticCapture capture, IReadOnlyList<string> expressions, OurEngines engines,
        int rounds, TimeSpan turn, Action<Result>? progress = null)
    {
        var results = new List<Result>();
        nint handle = LibPcap.OpenDeadEthernet();
        try
        {
            foreach (string expression in expressions)
            {
                CbpfInstruction[] program = LibPcap.CompileToArray(handle, expression, out string? error)
                    ?? throw new InvalidOperationException($"libpcap cannot compile \"{expression}\": {error}");
                bool same;
                try
                {
                    same = FilterCompiler.Compile(expression, LinkType.EN10MB).Instructions.SequenceEqual(program);
                }
                catch (FilterCompileException)
                {
                    same = false;
                }
                Result result = RunOne(capture, expression, program, same, engines, rounds, turn);
                progress?.Invoke(result);
                results.Add(result);
            }
        }
        finally
        {
            LibPcap.CloseHandle(handle);
        }
        return results;
    }

    private static Result RunOne(SyntheticCapture capture, string expression, CbpfInstruction[] program, bool same,
        OurEngines engines, int rounds, TimeSpan turn)
    {
        var cbpf = new CbpfProgram(program);
        var native = (CbpfInstruction*)NativeMemory.Alloc((nuint)program.Length, (nuint)sizeof(CbpfInstruction));
        program.CopyTo(new Span<CbpfInstruction>(native, program.Length));
        var pin = GCHandle.Alloc(capture.Data, GCHandleType.Pinned);
        try
        {
            var packets = (byte*)pin.AddrOfPinnedObject();
            byte[] data = capture.Data;
            int[] offsets = capture.Offsets, lengths = capture.Lengths;
            int count = capture.Count;
            var contenders = new List<Contender>();
            RunnerResult Runner(string name, Func<int, int, long> filterRange)
            {
                var r = new RunnerResult(
                    new Contender(name + ", warm", count, () => WarmPass(data, offsets, lengths, filterRange)),
                    new Contender(name + ", cold", count, () => new PassResult(filterRange(0, count))));
                contenders.Add(r.Warm);
                contenders.Add(r.Cold);
                return r;
            }

            RunnerResult libpcap = Runner("libpcap bpf_filter", (from, to) => RangeLibpcap(native, packets, offsets, lengths, from, to));
            RunnerResult? il = null, interpreter = null;
            if (engines.HasFlag(OurEngines.IlCompiler))
            {
                CbpfFilter filter = CbpfFilter.Create(cbpf, CbpfEngine.IlCompiler);
                il = Runner("ours: IL", (from, to) => RangeOurs(filter, data, offsets, lengths, from, to));
            }
            if (engines.HasFlag(OurEngines.FastInterpreter))
            {
                CbpfFilter filter = CbpfFilter.Create(cbpf, CbpfEngine.FastInterpreter);
                if (filter.Engine != CbpfEngine.FastInterpreter)
                    throw new InvalidOperationException("the fast interpreter was not chosen");
                interpreter = Runner("ours: fast interpreter", (from, to) => RangeOurs(filter, data, offsets, lengths, from, to));
            }
            Harness.Run(contenders, rounds, turn);
            foreach (Contender c in contenders)
            {
                if (c.Checksum != libpcap.Cold.Checksum)
                    throw new InvalidOperationException(
                        $"\"{expression}\": {c.Name} matched {c.Checksum} packets, libpcap's bpf_filter {libpcap.Cold.Checksum}");
            }
            return new Result(expression, program.Length, same, libpcap.Cold.Checksum, libpcap, il, interpreter);
        }
        finally
        {
            pin.Free();
            NativeMemory.Free(native);
        }
    }

    /// <summary>Batches: touch the headers (untimed), then filter the batch (timed).</summary>
    private static PassResult WarmPass(byte[] data, int[] offsets, int[] lengths, Func<int, int, long> filterRange)
    {
        long matches = 0, ticks = 0;
        int sink = 0;
        for (int from = 0; from < offsets.Length; from += Batch)
        {
            int to = Math.Min(from + Batch, offsets.Length);
            for (int i = from; i < to; i++)
            {
                int o = offsets[i], last = lengths[i] - 1;
                sink += data[o] + data[o + Math.Min(63, last)] + data[o + Math.Min(127, last)];
            }
            long start = Stopwatch.GetTimestamp();
            matches += filterRange(from, to);
            ticks += Stopwatch.GetTimestamp() - start;
        }
        Volatile.Write(ref s_sink, sink);
        return new PassResult(matches, ticks);
    }

    /// <summary>
    /// Ticks per batch spent on the clock itself (two Stopwatch reads) and the delegate call: in
    /// every runner's warm figure alike.
    /// </summary>
    public static double WarmBatchOverheadNanoseconds()
    {
        Func<int, int, long> empty = (from, to) => to - from;
        const int batches = 1_000_000;
        long ticks = 0;
        for (int b = 0; b < batches; b++)
        {
            long start = Stopwatch.GetTimestamp();
            empty(b, b + 1);
            ticks += Stopwatch.GetTimestamp() - start;
        }
        return (double)ticks / Stopwatch.Frequency * 1e9 / batches;
    }

    // The two loops are alike on purpose: the same packets in the same order, one call per packet.
    // Matches are counted without a branch ((r | -r) >> 31 is 1 for any non-zero r): a branch on
    // the verdict would add the same misprediction cost to every runner and hide their difference.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long RangeOurs(CbpfFilter filter, byte[] data, int[] offsets, int[] lengths, int from, int to)
    {
        long matches = 0;
        for (int i = from; i < to; i++)
        {
            int length = lengths[i];
            uint r = filter.Run(new ReadOnlySpan<byte>(data, offsets[i], length), (uint)length);
            matches += (r | (0u - r)) >> 31;
        }
        return matches;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long RangeLibpcap(CbpfInstruction* program, byte* data, int[] offsets, int[] lengths, int from, int to)
    {
        var bpfFilter = LibPcap.Filter;
        long matches = 0;
        for (int i = from; i < to; i++)
        {
            uint length = (uint)lengths[i];
            uint r = bpfFilter(program, data + offsets[i], length, length);
            matches += (r | (0u - r)) >> 31;
        }
        return matches;
    }
}
