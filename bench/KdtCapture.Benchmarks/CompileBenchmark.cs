using System.Runtime.InteropServices;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;

namespace KdtCapture.Benchmarks;

/// <summary>
/// Compile throughput: <see cref="FilterCompiler.Compile"/> (optimized, Ethernet) against libpcap's
/// pcap_compile (optimized, netmask unknown: the same options) on one pcap_open_dead handle,
/// with pcap_freecode after each program, over the whole expression set per pass.
/// </summary>
internal static unsafe class CompileBenchmark
{
    public sealed record Result(Contender Ours, Contender Libpcap, int Expressions, int SameProgram, IReadOnlyList<string> Notes);

    /// <summary>The JIT needs seconds to bring a whole compiler to its optimized tier.</summary>
    public static readonly TimeSpan Warmup = TimeSpan.FromSeconds(4);

    public static Result Run(IReadOnlyList<string> candidates, int rounds, TimeSpan turn)
    {
        nint handle = LibPcap.OpenDeadEthernet();
        var notes = new List<string>();
        var expressions = new List<string>();
        int same = 0;
        foreach (string e in candidates)
        {
            CbpfInstruction[] ours;
            try
            {
                ours = FilterCompiler.Compile(e, LinkType.EN10MB).ToArray();
            }
            catch (FilterCompileException ex)
            {
                notes.Add($"left out \"{e}\": our compiler says {ex.Message}");
                continue;
            }
            CbpfInstruction[]? theirs = LibPcap.CompileToArray(handle, e, out string? error);
            if (theirs is null)
            {
                notes.Add($"left out \"{e}\": libpcap says {error}");
                continue;
            }
            if (ours.AsSpan().SequenceEqual(theirs))
                same++;
            else
                notes.Add($"\"{e}\": our program differs from libpcap's");
            expressions.Add(e);
        }

        // libpcap gets its strings ready-made in native memory: no marshalling on its clock.
        var texts = new nint[expressions.Count];
        for (int i = 0; i < texts.Length; i++)
        {
            byte[] utf8 = LibPcap.NullTerminatedUtf8(expressions[i]);
            texts[i] = (nint)NativeMemory.Alloc((nuint)utf8.Length);
            utf8.CopyTo(new Span<byte>((void*)texts[i], utf8.Length));
        }
        string[] ourTexts = [.. expressions];
        try
        {
            var oursContender = new Contender("ours: FilterCompiler.Compile", ourTexts.Length, () => new PassResult(CompileAllOurs(ourTexts)));
            var libpcapContender = new Contender("libpcap: pcap_compile", texts.Length, () => new PassResult(CompileAllLibpcap(handle, texts)));
            Harness.Run([oursContender, libpcapContender], rounds, turn, Warmup);
            if (oursContender.Checksum != libpcapContender.Checksum)
                notes.Add($"total instructions differ: ours {oursContender.Checksum}, libpcap {libpcapContender.Checksum}");
            return new Result(oursContender, libpcapContender, expressions.Count, same, notes);
        }
        finally
        {
            foreach (nint t in texts)
                NativeMemory.Free((void*)t);
            LibPcap.CloseHandle(handle);
        }
    }

    private static long CompileAllOurs(string[] expressions)
    {
        long instructions = 0;
        foreach (string e in expressions)
            instructions += FilterCompiler.Compile(e, LinkType.EN10MB).Length;
        return instructions;
    }

    private static long CompileAllLibpcap(nint handle, nint[] texts)
    {
        var compile = LibPcap.Compile;
        var free = LibPcap.FreeCode;
        long instructions = 0;
        LibPcap.BpfProgram program;
        foreach (nint text in texts)
        {
            program = default;
            if (compile(handle, &program, (byte*)text, 1, LibPcap.NetmaskUnknown) != 0)
                throw new InvalidOperationException($"pcap_compile failed: {LibPcap.LastError(handle)}");
            instructions += program.Length;
            free(&program);
        }
        return instructions;
    }
}
