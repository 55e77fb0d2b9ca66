using FsCheck;
using FsCheck.Fluent;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Ebpf;
using KdtCapture.Filters.Tests.Cbpf;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Tests.Ebpf;

/// <summary>
/// The cBPF→eBPF translation run by <see cref="EbpfTestMachine"/> agrees with the reference interpreter
/// (<see cref="CbpfInterpreter"/>) on the edges of cBPF's semantics and on random programs, and every
/// run stays inside what the verifier allows without one faulting probe read.
/// </summary>
public sealed class EbpfTranslatorTests
{
    private static readonly EbpfTranslationOptions NoPrefix = new() { PrefixBytes = 0 };
    private static readonly EbpfTranslationOptions WidePrefix = new() { PrefixBytes = EbpfTranslationOptions.MaxPrefixBytes };

    internal static readonly EbpfTranslationOptions[] Variants = [EbpfTranslationOptions.Default, NoPrefix, WidePrefix];

    /// <summary>Null when the translation returns what the reference returns on the first <paramref name="available"/> bytes.</summary>
    internal static string? Disagreement(EbpfTestMachine machine, CbpfInstruction[] program, EbpfFilterProgram translated,
        byte[] packet, int available, uint wireLength)
    {
        uint expected = CbpfInterpreter.Run(program, packet.AsSpan(0, available), wireLength);
        long faultsBefore = machine.FaultedReads;
        uint actual;
        try
        {
            actual = machine.Run(translated.Instructions, packet, available, wireLength);
        }
        catch (EbpfMachineFault fault)
        {
            return $"{fault.Message} on {available} of [{Convert.ToHexString(packet)}] wire {wireLength}";
        }
        if (machine.FaultedReads != faultsBefore)
            return $"a probe read went past the {available} available bytes of [{Convert.ToHexString(packet)}]";
        return actual == expected ? null : $"eBPF returns {actual}, cBPF {expected} on {available} of [{Convert.ToHexString(packet)}] wire {wireLength}";
    }

    private static CbpfInstruction S(int code, uint k = 0) => CbpfInstruction.Stmt(code, k);

    private static CbpfInstruction J(int code, uint k, byte jt, byte jf) => CbpfInstruction.Jump(code, k, jt, jf);

    /// <summary>Programs at the edges: bounds, arithmetic, memory, branches.</summary>
    public static TheoryData<string, CbpfInstruction[]> EdgePrograms => new()
    {
        { "word at the last possible offset", [S(Ld | W | Abs, 60), S(Ret | A)] },
        { "half and byte loads, A returned", [S(Ld | H | Abs, 12), S(Misc | Tax), S(Ld | B | Abs, 23), S(Alu | Add | X), S(Ret | A)] },
        { "load past the prefix", [S(Ld | W | Abs, 70), S(Ret | A)] },
        { "offset that never fits", [S(Ld | B | Abs, 0x7fffffff), S(Ret | K, 1)] },
        { "offset 2^32-1", [S(Ld | H | Abs, 0xffffffff), S(Ret | K, 1)] },
        { "indirect with X + k past 2^32", [S(Ldx | Imm, 0xfffffffe), S(Ld | B | Ind, 3), S(Ret | A)] },
        { "indirect from the IP header length", [S(Ldx | Msh | B, 14), S(Ld | H | Ind, 14), S(Ret | A)] },
        { "indirect word, X from the packet", [S(Ld | B | Abs, 0), S(Misc | Tax), S(Ld | W | Ind, 2), S(Ret | A)] },
        { "msh past the end", [S(Ldx | Msh | B, 200), S(Misc | Txa), S(Ret | A)] },
        { "division by X zero", [S(Ld | Imm, 7), S(Ld | B | Abs, 1), S(Misc | Tax), S(Ld | Imm, 100), S(Alu | Div | X), S(Ret | A)] },
        { "modulo by X zero", [S(Ld | B | Abs, 1), S(Misc | Tax), S(Ld | Imm, 100), S(Alu | Mod | X), S(Alu | Add | K, 1), S(Ret | A)] },
        { "division and modulo by constants", [S(Ld | W | Abs, 0), S(Alu | Div | K, 0x80000001), S(Alu | Add | K, 0xfffffff0), S(Alu | Mod | K, 7), S(Ret | A)] },
        { "shifts by X of 31, 32 and more", [S(Ld | B | Abs, 2), S(Misc | Tax), S(Ld | Imm, 0xdeadbeef), S(Alu | Lsh | X), S(St, 0), S(Ld | Imm, 0x80000000), S(Alu | Rsh | X), S(Ldx | Mem, 0), S(Alu | Xor | X), S(Ret | A)] },
        { "shifts by constants of 32 and more", [S(Ld | W | Abs, 0), S(Alu | Lsh | K, 33), S(Alu | Rsh | K, 63), S(Ret | A)] },
        { "negation and multiplication wrap", [S(Ld | W | Abs, 4), S(Alu | Neg), S(Alu | Mul | K, 0x9e3779b9), S(Alu | Sub | K, 5), S(Ret | A)] },
        { "scratch memory starts zeroed", [S(Ld | Mem, 3), S(Ldx | Mem, 15), S(Alu | Add | X), S(Alu | Add | K, 1), S(Ret | A)] },
        { "scratch memory round trip", [S(Ld | W | Abs, 0), S(St, 15), S(Ldx | Imm, 9), S(Stx, 0), S(Ld | Imm, 0), S(Ld | Mem, 15), S(Ldx | Mem, 0), S(Alu | Or | X), S(Ret | A)] },
        { "len and wire length in X", [S(Ld | W | Len), S(Ldx | W | Len), S(Alu | Add | X), S(Ret | A)] },
        { "compares with k above 2^31", [S(Ld | W | Abs, 0), J(Jmp | Jgt | K, 0x80000000, 0, 1), S(Ret | K, 1), J(Jmp | Jge | K, 0xffffffff, 0, 1), S(Ret | K, 2), S(Ret | K, 3)] },
        { "jset both ways", [S(Ld | B | Abs, 0), J(Jmp | Jset | K, 0x81, 0, 2), J(Jmp | Jset | K, 0x02, 2, 0), S(Ret | K, 1), S(Ret | K, 2), S(Ret | K, 3)] },
        { "jumps on X", [S(Ld | B | Abs, 0), S(Misc | Tax), S(Ld | B | Abs, 1), J(Jmp | Jgt | X, 0, 1, 0), J(Jmp | Jeq | X, 0, 1, 2), J(Jmp | Jset | X, 0, 0, 1), S(Ret | K, 4), J(Jmp | Jge | X, 0, 0, 1), S(Ret | K, 5), S(Ret | K, 6)] },
        { "jt equal to jf and ja", [S(Ld | B | Abs, 0), J(Jmp | Jeq | K, 1, 1, 1), S(Ret | K, 9), S(Jmp | Ja, 1), S(Ret | K, 8), S(Ret | A)] },
        { "unreachable code is left out", [S(Ld | B | Abs, 0), S(Jmp | Ja, 2), S(Ld | W | Abs, 0x10000), S(Ret | K, 5), S(Ret | A)] },
        { "code after an always-failing load", [S(Ld | B | Abs, 0), J(Jmp | Jeq | K, 0, 0, 2), S(Ld | W | Abs, 0xfffffff0), S(Ret | K, 1), S(Ret | K, 2)] },
        { "ret k and nothing else", [S(Ret | K, 262144)] },
        { "ret 0", [S(Ret | K, 0)] },
    };

    /// <summary>Frames of every length from 0 to 72, plus some with a different wire length.</summary>
    private static IEnumerable<(byte[] Packet, int Available, uint Wire)> EdgeFrames()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 4; trial++)
        {
            var packet = new byte[72];
            random.NextBytes(packet);
            packet[14] = (byte)(0x40 | (trial * 5)); // IP header lengths 0, 20, 40, 60
            packet[1] = (byte)(trial == 0 ? 0 : trial * 13);
            packet[2] = trial switch { 0 => 0, 1 => 31, 2 => 32, _ => 200 }; // shift counts at the edge
            for (int available = 0; available <= packet.Length; available++)
                yield return (packet, available, trial == 3 ? 0xfffffff0u : (uint)available + (uint)trial);
        }
    }

    [Theory]
    [MemberData(nameof(EdgePrograms))]
    public void Edge_programs_agree_with_the_reference_on_every_truncation(string what, CbpfInstruction[] program)
    {
        var machine = new EbpfTestMachine();
        var problems = new List<string>();
        foreach (var options in Variants)
        {
            var translated = EbpfTranslator.Translate(program, options);
            foreach (var (packet, available, wire) in EdgeFrames())
            {
                if (Disagreement(machine, program, translated, packet, available, wire) is { } problem && problems.Count < 5)
                    problems.Add($"prefix {options.PrefixBytes}: {problem}");
            }
        }
        Assert.True(problems.Count == 0, $"{what}:\n{string.Join("\n", problems)}\n{CbpfPrinter.Format(program, CbpfDumpStyle.Readable)}");
    }

    private static readonly EbpfTranslationOptions[] UndecidedVariants =
        [new() { UndecidedBeyondAvailable = true }, new() { UndecidedBeyondAvailable = true, PrefixBytes = 0 }];

    /// <summary>
    /// Null when a translation with undecided loads, run on the first <paramref name="available"/> bytes and
    /// settled on the whole frame when undecided (what a tap does with paged bytes), gives the reference's
    /// verdict on the whole frame (the packet's bytes up to the wire length).
    /// </summary>
    internal static string? UndecidedDisagreement(EbpfTestMachine machine, CbpfInstruction[] program, EbpfFilterProgram translated,
        byte[] packet, int available, uint wireLength, ref int undecided)
    {
        int whole = (int)Math.Min((uint)packet.Length, wireLength);
        uint expected = CbpfInterpreter.Run(program, packet.AsSpan(0, whole), wireLength);
        long faultsBefore = machine.FaultedReads;
        ulong actual;
        try
        {
            actual = machine.RunAllowingUndecided(translated.Instructions, packet, available, wireLength);
        }
        catch (EbpfMachineFault fault)
        {
            return $"{fault.Message} on {available} of [{Convert.ToHexString(packet)}] wire {wireLength}";
        }
        if (machine.FaultedReads != faultsBefore)
            return $"a probe read went past the {available} available bytes of [{Convert.ToHexString(packet)}]";
        if (actual == EbpfFilterProgram.UndecidedVerdict)
        {
            undecided++;
            // Undecided only when bytes of the packet were out of reach.
            return available < wireLength ? null : $"undecided with all {available} bytes of wire {wireLength} available";
        }
        return actual == expected ? null : $"eBPF returns {actual}, cBPF on the whole frame {expected} on {available} of [{Convert.ToHexString(packet)}] wire {wireLength}";
    }

    [Theory]
    [MemberData(nameof(EdgePrograms))]
    public void Undecided_loads_settle_to_the_reference_verdict_on_the_whole_frame(string what, CbpfInstruction[] program)
    {
        var machine = new EbpfTestMachine();
        var problems = new List<string>();
        int undecided = 0, runs = 0;
        foreach (var options in UndecidedVariants)
        {
            var translated = EbpfTranslator.Translate(program, options);
            foreach (var (packet, available, _) in EdgeFrames())
            {
                // The whole packet is there (wire = its length, or longer than what was kept); only `available` is readable.
                foreach (uint wire in new[] { (uint)packet.Length, (uint)packet.Length + 9 })
                {
                    runs++;
                    if (UndecidedDisagreement(machine, program, translated, packet, available, wire, ref undecided) is { } problem && problems.Count < 5)
                        problems.Add($"prefix {options.PrefixBytes}: {problem}");
                }
            }
        }
        Assert.True(problems.Count == 0, $"{what}:\n{string.Join("\n", problems)}\n{CbpfPrinter.Format(program, CbpfDumpStyle.Readable)}");
        // A program that loads no packet byte is always decided (the random programs below count how often it is not).
        bool loads = program.Any(i => Class(i.Code) is Ld or Ldx && Mode(i.Code) is Abs or Ind or Msh);
        Assert.True(loads || undecided == 0, $"{what}: {undecided} of {runs} runs undecided");
    }

    [Fact]
    public void Random_programs_with_undecided_loads_settle_to_the_reference_verdict()
    {
        var machine = new EbpfTestMachine();
        int translated = 0, undecided = 0;
        Check.One(CbpfTestData.Property(1500), Prop.ForAll(CbpfTestData.ExecutableCases, c =>
        {
            foreach (var options in UndecidedVariants)
            {
                if (!EbpfTranslator.TryTranslate(c.Program, options, out var program, out var failure))
                {
                    if (failure.Failure != EbpfTranslationFailure.KernelMetadata)
                        return false.Label($"refused: {failure.Message}");
                    return true.ToProperty();
                }
                translated++;
                foreach (var packet in c.Packets)
                {
                    // The linear part: a cut of the packet; the rest "paged".
                    int whole = (int)Math.Min((uint)packet.Data.Length, packet.WireLength);
                    for (int available = 0; available <= whole; available += Math.Max(1, whole / 5))
                    {
                        if (UndecidedDisagreement(machine, c.Program, program, packet.Data, available, packet.WireLength, ref undecided) is { } problem)
                            return false.Label($"prefix {options.PrefixBytes}: {problem}");
                    }
                }
            }
            return true.ToProperty();
        }));
        TestContext.Current.TestOutputHelper?.WriteLine($"{translated} translations run, {undecided} runs undecided");
        Assert.True(translated > 2000 && undecided > 100, $"{translated} translations, {undecided} undecided");
    }

    [Fact]
    public void Random_programs_agree_with_the_reference()
    {
        var machine = new EbpfTestMachine();
        int translated = 0, kernelMetadata = 0;
        Check.One(CbpfTestData.Property(3000), Prop.ForAll(CbpfTestData.ExecutableCases, c =>
        {
            foreach (var options in Variants)
            {
                if (!EbpfTranslator.TryTranslate(c.Program, options, out var program, out var failure))
                {
                    // The generator's loads include SKF_AD offsets; nothing else may be refused.
                    if (failure.Failure != EbpfTranslationFailure.KernelMetadata)
                        return false.Label($"refused: {failure.Message}");
                    kernelMetadata++;
                    return true.ToProperty();
                }
                translated++;
                foreach (var packet in c.Packets)
                {
                    if (Disagreement(machine, c.Program, program, packet.Data, packet.Data.Length, packet.WireLength) is { } problem)
                        return false.Label($"prefix {options.PrefixBytes}: {problem}");
                }
            }
            return true.ToProperty();
        }));
        TestContext.Current.TestOutputHelper?.WriteLine($"{translated} translations run, {kernelMetadata} programs refused for SKF_AD loads, {machine.Executed} eBPF instructions executed");
        Assert.True(translated > 6000, $"only {translated} translations ran");
    }

    [Fact]
    public void Socket_metadata_loads_are_refused_with_the_field_named()
    {
        CbpfInstruction[] program = [S(Ld | B | Abs, AncillaryBase + CbpfAncillary.VlanTagPresent), J(Jmp | Jeq | K, 1, 0, 1), S(Ret | K, 1), S(Ret | K, 0)];
        var e = Assert.Throws<EbpfTranslationException>(() => EbpfTranslator.Translate(program));
        Assert.Equal(EbpfTranslationFailure.KernelMetadata, e.Failure);
        Assert.Equal(0, e.InstructionIndex);
        Assert.Contains("'vlanp'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Socket_metadata_loads_nothing_reaches_are_no_obstacle()
    {
        CbpfInstruction[] program = [S(Ret | K, 1), S(Ld | W | Abs, AncillaryBase + CbpfAncillary.Mark), S(Ret | A)];
        var translated = EbpfTranslator.Translate(program);
        Assert.Equal(1u, new EbpfTestMachine().Run(translated.Instructions, [1, 2, 3], 3));
        Assert.False(translated.ReadsFrame);
    }

    [Fact]
    public void Protochain_loops_are_refused_as_backward_jumps()
    {
        var program = FilterCompiler.Compile("ip6 protochain 6", LinkType.EN10MB);
        int back = -1;
        for (int i = 0; i < program.Length && back < 0; i++)
        {
            if (program[i].Code == (Jmp | Ja) && (int)program[i].K < 0)
                back = i;
        }
        Assert.True(back >= 0, "libpcap's protochain code has a backward ja");
        var e = Assert.Throws<EbpfTranslationException>(() => EbpfTranslator.Translate(program));
        Assert.Equal(EbpfTranslationFailure.BackwardJump, e.Failure);
        Assert.Equal(back, e.InstructionIndex);
    }

    [Fact]
    public void Programs_over_the_size_limit_are_refused_as_too_large()
    {
        var program = FilterCompiler.Compile("host 10.0.0.1 or host 10.0.0.2 or host 10.0.0.3 or tcp port 80", LinkType.EN10MB);
        var full = EbpfTranslator.Translate(program);
        var exact = EbpfTranslator.Translate(program, new EbpfTranslationOptions { MaxInstructions = full.Length });
        Assert.Equal(full.Length, exact.Length);
        var e = Assert.Throws<EbpfTranslationException>(() => EbpfTranslator.Translate(program, new EbpfTranslationOptions { MaxInstructions = full.Length - 1 }));
        Assert.Equal(EbpfTranslationFailure.TooLarge, e.Failure);
        Assert.Contains("too large for the kernel's verifier", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_programs_are_refused_with_the_validators_reason()
    {
        var e = Assert.Throws<EbpfTranslationException>(() => EbpfTranslator.Translate([S(Ld | Mem, 16), S(Ret | A)]));
        Assert.Equal(EbpfTranslationFailure.InvalidProgram, e.Failure);
        Assert.Equal(0, e.InstructionIndex);
        Assert.Contains("scratch memory index 16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stack_use_and_inputs_follow_what_the_program_needs()
    {
        var plain = EbpfTranslator.Translate([S(Ld | W | Len), S(Ret | A)]);
        Assert.False(plain.ReadsFrame);
        Assert.True(plain.ReadsWireLength);
        Assert.Equal(8, plain.StackBytes);
        Assert.Equal(0, plain.HelperCallSites);

        var headers = EbpfTranslator.Translate(FilterCompiler.Compile("ip6 and dst host ::1", LinkType.EN10MB));
        Assert.True(headers.ReadsFrame);
        Assert.False(headers.ReadsWireLength);
        Assert.Equal(56, headers.PrefixBytes); // the IPv6 destination ends at byte 54
        Assert.Equal(56, headers.StackBytes);
        Assert.Equal(1, headers.HelperCallSites);

        var perLoad = EbpfTranslator.Translate(FilterCompiler.Compile("ip6 and dst host ::1", LinkType.EN10MB), NoPrefix);
        Assert.Equal(0, perLoad.PrefixBytes);
        Assert.Equal(8, perLoad.StackBytes);
        Assert.True(perLoad.HelperCallSites > 1);
        Assert.True(perLoad.StackBytes + headers.StackBytes < KdtCapture.Filters.Ebpf.Ebpf.MaxStackBytes);
    }

    [Fact]
    public void Instructions_encode_as_struct_bpf_insn()
    {
        // mov64 r1, r10 / add64 r1, -8 / exit / ldxh r8, [r10-2] / jlt r7, 0x12345678 (hand-assembled from linux/bpf.h).
        Assert.Equal(0x0000_0000_0000_a1bfUL, new EbpfInstruction(0xbf, 1, 10, 0, 0).Encode());
        Assert.Equal(0xffff_fff8_0000_0107UL, new EbpfInstruction(0x07, 1, 0, 0, -8).Encode());
        Assert.Equal(0x95UL, new EbpfInstruction(0x95, 0, 0, 0, 0).Encode());
        var ldxh = new EbpfInstruction(0x69, 8, 10, -2, 0);
        Span<byte> bytes = stackalloc byte[8];
        ldxh.WriteTo(bytes);
        Assert.Equal("69A8FEFF00000000", Convert.ToHexString(bytes));
        var jlt = new EbpfInstruction(0xa5, 7, 0, 3, 0x12345678);
        Assert.Equal(jlt, EbpfInstruction.Decode(jlt.Encode()));
        Assert.Equal(ldxh, EbpfInstruction.Decode(ldxh.Encode()));
    }

    [Fact]
    public void The_machine_catches_what_the_verifier_would_refuse()
    {
        var machine = new EbpfTestMachine();
        // Reads R6 before anything wrote it.
        Assert.Throws<EbpfMachineFault>(() => machine.Run([new EbpfInstruction(0xbc, 0, 6, 0, 0), new EbpfInstruction(0x95, 0, 0, 0, 0)], [1], 1));
        // Dereferences the frame directly.
        Assert.Throws<EbpfMachineFault>(() => machine.Run([new EbpfInstruction(0x71, 0, 1, 0, 0), new EbpfInstruction(0x95, 0, 0, 0, 0)], [1], 1));
        // Reads a stack slot nothing wrote.
        Assert.Throws<EbpfMachineFault>(() => machine.Run([new EbpfInstruction(0x61, 0, 10, -4, 0), new EbpfInstruction(0x95, 0, 0, 0, 0)], [1], 1));
        // Stores a word at an offset 4 does not divide.
        Assert.Throws<EbpfMachineFault>(() => machine.Run([new EbpfInstruction(0x62, 10, 0, -6, 0), new EbpfInstruction(0xb4, 0, 0, 0, 0), new EbpfInstruction(0x95, 0, 0, 0, 0)], [1], 1));
        // Uses R1 after a call clobbered it.
        EbpfInstruction[] clobber =
        [
            new(0xbf, 6, 1, 0, 0), new(0xbf, 1, 10, 0, 0), new(0x07, 1, 0, 0, -8), new(0xb7, 2, 0, 0, 1), new(0xbf, 3, 6, 0, 0),
            new(0x85, 0, 0, 0, 113), new(0xbf, 0, 1, 0, 0), new(0x95, 0, 0, 0, 0),
        ];
        Assert.Throws<EbpfMachineFault>(() => machine.Run(clobber, [1], 1));
        // A probe read past the frame is counted.
        EbpfInstruction[] overRead =
        [
            new(0xbf, 6, 1, 0, 0), new(0xbf, 1, 10, 0, 0), new(0x07, 1, 0, 0, -8), new(0xb7, 2, 0, 0, 2), new(0xbf, 3, 6, 0, 0),
            new(0x85, 0, 0, 0, 113), new(0xb4, 0, 0, 0, 0), new(0x95, 0, 0, 0, 0),
        ];
        long before = machine.FaultedReads;
        machine.Run(overRead, [1], 1);
        Assert.Equal(before + 1, machine.FaultedReads);
    }
}
