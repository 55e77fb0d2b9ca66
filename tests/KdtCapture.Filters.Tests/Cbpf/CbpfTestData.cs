using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Tests.Cbpf;

/// <summary>Programs, packets and captures the cBPF tests share.</summary>
internal static class CbpfTestData
{
    public const string CorpusDirectory = "/work/shared/corpora/tcpdump-tests";

    public static void RequireLibPcap()
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap0.8 (the oracle) is not installed");
    }

    /// <summary>Every opcode libpcap's bpf_filter executes.</summary>
    public static readonly ushort[] ExecutableCodes = Enumerable.Range(0, 0x10000)
        .Where(c => CbpfValidator.IsExecutable((ushort)c)).Select(c => (ushort)c).ToArray();

    // ---- Arbitrary instructions, for the validator and the printers ----

    /// <summary>Constants near the edges the rules and formats care about.</summary>
    public static Gen<uint> Constant { get; } = Gen.Frequency(
        (4, Gen.Choose(0, 20).Select(v => (uint)v)),
        (2, Gen.Choose(14, 17).Select(v => (uint)v)),
        (2, Gen.Choose(0, 12).Select(v => uint.MaxValue - (uint)v)),
        (1, Gen.Choose(0, (int)CbpfAncillary.End + 8).Select(v => AncillaryBase + (uint)v)),
        (1, Gen.Elements(0x7fffffffu, 0x80000000u, 0xfffu, 0x1000u, 0xffffu, 0x10000u)),
        (3, Gen.Choose(int.MinValue, int.MaxValue).Select(v => unchecked((uint)v))));

    public static Gen<byte> Offset { get; } = Gen.Frequency(
        (4, Gen.Choose(0, 8).Select(v => (byte)v)),
        (1, Gen.Choose(0, 255).Select(v => (byte)v)));

    public static Gen<ushort> AnyCode { get; } = Gen.Frequency(
        (6, Gen.Elements(ExecutableCodes)),
        (3, Gen.Choose(0, 0xff).Select(v => (ushort)v)),
        (1, Gen.Choose(0, 0xffff).Select(v => (ushort)v)));

    public static Gen<CbpfInstruction> AnyInstruction { get; } =
        from code in AnyCode
        from k in Constant
        from jt in Offset
        from jf in Offset
        select new CbpfInstruction(code, jt, jf, k);

    /// <summary>Short programs of arbitrary instructions, half of them ending in a ret.</summary>
    public static Gen<CbpfInstruction[]> AnyProgram { get; } =
        from length in Gen.Frequency((1, Gen.Constant(0)), (12, Gen.Choose(1, 12)), (2, Gen.Choose(13, 40)))
        from body in Gen.ArrayOf(AnyInstruction, length)
        from endsInRet in Gen.Elements(true, false)
        from ret in Gen.Elements<ushort>(Ret | K, Ret | A, Ret | X, Ret | 0x18)
        select endsInRet && body.Length > 0 ? [.. body[..^1], new CbpfInstruction(ret, 0, 0, body[^1].K)] : body;

    /// <summary>Shrinks a program by dropping one instruction at a time.</summary>
    public static IEnumerable<CbpfInstruction[]> ShrinkProgram(CbpfInstruction[] program)
    {
        for (int i = 0; i < program.Length; i++)
            yield return [.. program[..i], .. program[(i + 1)..]];
    }

    // ---- Executable programs, for the interpreters ----

    /// <summary>
    /// Valid programs of executable opcodes that only jump forward (so they end), with scratch
    /// memory written first: libpcap's bpf_filter leaves it uninitialized.
    /// </summary>
    public static Gen<CbpfInstruction[]> ExecutableProgram { get; } =
        from bodyLength in Gen.Choose(1, 40)
        from memoryInit in Gen.ArrayOf(Constant, MemWords)
        from body in Gen.CollectToArray(Enumerable.Range(0, bodyLength), i => ExecutableInstruction(2 * MemWords + i, 2 * MemWords + bodyLength + 1))
        from last in Gen.Elements(CbpfInstruction.Stmt(Ret | A, 0), CbpfInstruction.Stmt(Ret | K, 0x40000))
        select BuildExecutable(memoryInit, body, last);

    private static CbpfInstruction[] BuildExecutable(uint[] memoryInit, CbpfInstruction[] body, CbpfInstruction last)
    {
        var program = new List<CbpfInstruction>();
        for (int m = 0; m < MemWords; m++)
        {
            program.Add(CbpfInstruction.Stmt(Ld | Imm, memoryInit[m]));
            program.Add(CbpfInstruction.Stmt(St, (uint)m));
        }
        program.AddRange(body);
        program.Add(last);
        return [.. program];
    }

    /// <summary>Packet offsets: mostly inside a short packet, sometimes at the edges of 32-bit arithmetic.</summary>
    private static Gen<uint> PacketOffset { get; } = Gen.Frequency(
        (8, Gen.Choose(0, 70).Select(v => (uint)v)),
        (1, Gen.Choose(0, 8).Select(v => uint.MaxValue - (uint)v)),
        (1, Gen.Choose(0, (int)CbpfAncillary.End).Select(v => AncillaryBase + (uint)v)),
        (1, Gen.Elements(0x7fffffffu, 0x80000000u, 0x10000u)));

    private static Gen<CbpfInstruction> ExecutableInstruction(int index, int length)
    {
        int room = Math.Min(255, length - 1 - (index + 1));
        Gen<byte> forward = Gen.Frequency(
            (3, Gen.Choose(0, Math.Min(room, 3))),
            (1, Gen.Choose(0, room))).Select(v => (byte)v);
        Gen<CbpfInstruction> Stmt(int code, Gen<uint> k) => k.Select(v => CbpfInstruction.Stmt(code, v));
        Gen<CbpfInstruction> Jump(int code, Gen<uint> k) =>
            from v in k
            from jt in forward
            from jf in forward
            select CbpfInstruction.Jump(code, v, jt, jf);

        Gen<uint> any = Constant;
        Gen<uint> small = Gen.Choose(0, 40).Select(v => (uint)v);
        Gen<uint> memory = Gen.Choose(0, MemWords - 1).Select(v => (uint)v);
        Gen<uint> nonZero = Constant.Where(v => v != 0);
        Gen<uint> shift = Gen.Frequency((3, Gen.Choose(0, 31)), (1, Gen.Choose(32, 70))).Select(v => (uint)v);
        Gen<uint> xValue = Gen.Frequency(
            (4, Gen.Choose(0, 60).Select(v => (uint)v)),
            (1, Gen.Choose(0, 8).Select(v => uint.MaxValue - (uint)v)),
            (1, Gen.Elements(0x7fffffffu, 0x80000000u, 32u, 31u, 0u)));

        return Gen.Frequency(
            (6, Gen.OneOf(
                Stmt(Ld | W | Abs, PacketOffset), Stmt(Ld | H | Abs, PacketOffset), Stmt(Ld | B | Abs, PacketOffset),
                Stmt(Ld | W | Ind, PacketOffset), Stmt(Ld | H | Ind, PacketOffset), Stmt(Ld | B | Ind, PacketOffset),
                Stmt(Ldx | Msh | B, PacketOffset))),
            (4, Gen.OneOf(
                Stmt(Ld | Imm, any), Stmt(Ldx | Imm, xValue), Stmt(Ld | W | Len, any), Stmt(Ldx | W | Len, any),
                Stmt(Ld | Mem, memory), Stmt(Ldx | Mem, memory), Stmt(St, memory), Stmt(Stx, memory),
                Stmt(Misc | Tax, any), Stmt(Misc | Txa, any))),
            (5, Gen.OneOf(
                Stmt(Alu | Add | K, any), Stmt(Alu | Sub | K, any), Stmt(Alu | Mul | K, any),
                Stmt(Alu | Div | K, nonZero), Stmt(Alu | Mod | K, nonZero),
                Stmt(Alu | And | K, any), Stmt(Alu | Or | K, any), Stmt(Alu | Xor | K, any),
                Stmt(Alu | Lsh | K, shift), Stmt(Alu | Rsh | K, shift), Stmt(Alu | Neg, any),
                Stmt(Alu | Add | X, any), Stmt(Alu | Sub | X, any), Stmt(Alu | Mul | X, any),
                Stmt(Alu | Div | X, any), Stmt(Alu | Mod | X, any),
                Stmt(Alu | And | X, any), Stmt(Alu | Or | X, any), Stmt(Alu | Xor | X, any),
                Stmt(Alu | Lsh | X, any), Stmt(Alu | Rsh | X, any))),
            (5, Gen.OneOf(
                Jump(Jmp | Jgt | K, small), Jump(Jmp | Jge | K, small), Jump(Jmp | Jeq | K, small), Jump(Jmp | Jset | K, any),
                Jump(Jmp | Jgt | X, any), Jump(Jmp | Jge | X, any), Jump(Jmp | Jeq | X, any), Jump(Jmp | Jset | X, any),
                forward.Select(v => CbpfInstruction.Stmt(Jmp | Ja, v)))),
            (1, Gen.OneOf(Stmt(Ret | K, any), Stmt(Ret | A, any))));
    }

    /// <summary>A packet: captured bytes and a wire length (usually the captured length, sometimes not).</summary>
    public sealed record Packet(byte[] Data, uint WireLength)
    {
        public override string ToString() => $"[{Convert.ToHexString(Data)}] wire {WireLength}";
    }

    public static Gen<Packet> RandomPacket { get; } =
        from length in Gen.Frequency((1, Gen.Choose(0, 4)), (6, Gen.Choose(5, 80)))
        from data in Gen.ArrayOf(Gen.Frequency(
            (3, Gen.Choose(0, 255)), (1, Gen.Elements(0, 0x0f, 0x45, 0xff))).Select(v => (byte)v), length)
        from wire in Gen.Frequency((4, Gen.Constant((uint)length)), (1, Constant))
        select new Packet(data, wire);

    /// <summary>A program and the packets to run it on.</summary>
    public sealed record ProgramCase(CbpfInstruction[] Program, Packet[] Packets)
    {
        public override string ToString() =>
            CbpfPrinter.Format(Program, CbpfDumpStyle.Readable) + string.Join("\n", Packets.Select(p => p.ToString()));
    }

    public static Arbitrary<ProgramCase> ExecutableCases { get; } = Arb.From(
        from program in ExecutableProgram
        from packets in Gen.ArrayOf(RandomPacket, 8)
        select new ProgramCase(program, packets),
        ShrinkToOnePacket);

    /// <summary>Narrows a failing case down to the packet that shows the difference.</summary>
    private static IEnumerable<ProgramCase> ShrinkToOnePacket(ProgramCase c)
    {
        if (c.Packets.Length > 1)
        {
            foreach (var packet in c.Packets)
                yield return c with { Packets = [packet] };
        }
    }

    public static Config Property(int tests) => Config.QuickThrowOnFailure.WithMaxTest(tests).WithQuietOnSuccess(true);

    // ---- Real captures ----

    public sealed record Capture(string Name, LinkType LinkType, LibPcapOracle.Packet[] Packets);

    private static readonly Lazy<Capture[]> LazyCorpus = new(LoadCorpus);

    /// <summary>The tcpdump test-suite captures libpcap can read, with their packets; empty when the corpus is absent.</summary>
    public static Capture[] Corpus => LazyCorpus.Value;

    private static Capture[] LoadCorpus()
    {
        if (!Directory.Exists(CorpusDirectory) || !LibPcapOracle.IsAvailable)
            return [];
        var captures = new List<Capture>();
        foreach (string path in Directory.EnumerateFiles(CorpusDirectory).Order(StringComparer.Ordinal))
        {
            if (!path.EndsWith(".pcap", StringComparison.Ordinal) && !path.EndsWith(".pcapng", StringComparison.Ordinal))
                continue;
            // Truncated captures still yield the packets read before the damage.
            if (LibPcapOracle.ReadFile(path, out _) is { } file && file.Packets.Count > 0)
                captures.Add(new Capture(Path.GetFileName(path), file.LinkType, [.. file.Packets]));
        }
        return [.. captures];
    }

    private static readonly ConcurrentDictionary<(string, LinkType, bool), CbpfInstruction[]?> Compiled = new();

    /// <summary>libpcap's program for an expression, or null when libpcap refuses it on that link type.</summary>
    public static CbpfInstruction[]? CompileWithLibPcap(string expression, LinkType linkType, bool optimize)
        => Compiled.GetOrAdd((expression, linkType, optimize),
            key => LibPcapOracle.Compile(key.Item1, key.Item2, key.Item3).Instructions);
}
