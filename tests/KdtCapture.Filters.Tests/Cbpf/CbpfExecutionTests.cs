using FsCheck;
using FsCheck.Fluent;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Tests.Cbpf;

/// <summary>
/// The reference interpreter against libpcap's bpf_filter, and the fast interpreter and the IL
/// compiler against the reference, packet by packet.
/// </summary>
public class CbpfExecutionTests
{
    private static readonly CbpfInstruction Accept = CbpfInstruction.Stmt(Ret | K, 0x40000);

    /// <summary>Every runner of one program.</summary>
    private sealed class Runners(CbpfInstruction[] program)
    {
        public CbpfInstruction[] Program { get; } = program;
        public CbpfFastInterpreter Fast { get; } = new(program);
        public CbpfCompiledFilter Il { get; } = CbpfIlCompiler.Compile(program);

        /// <summary>Null when all agree with the reference (and with libpcap when asked), else what differs.</summary>
        public string? Disagreement(byte[] packet, uint wireLength, bool withLibPcap)
        {
            uint reference = CbpfInterpreter.Run(Program, packet, wireLength);
            uint fast = Fast.Run(packet, wireLength);
            uint il = packet.Length == 0
                ? Il(ref System.Runtime.CompilerServices.Unsafe.NullRef<byte>(), 0, wireLength)
                : Il(ref packet[0], (uint)packet.Length, wireLength);
            uint? libpcap = withLibPcap ? LibPcapOracle.Filter(Program, packet, wireLength) : null;
            if (reference == fast && reference == il && (libpcap is null || libpcap == reference))
                return null;
            return $"reference {reference}, fast {fast}, il {il}, libpcap {libpcap?.ToString() ?? "-"} " +
                $"on [{Convert.ToHexString(packet)}] wire {wireLength}\n{CbpfPrinter.Format(Program, CbpfDumpStyle.Readable)}";
        }
    }

    [Fact]
    public void RandomProgramsAgreeWithBpfFilter()
    {
        CbpfTestData.RequireLibPcap();
        Check.One(CbpfTestData.Property(4000), Prop.ForAll(CbpfTestData.ExecutableCases, c =>
        {
            Assert.True(CbpfValidator.ValidateForExecution(c.Program).IsValid);
            var runners = new Runners(c.Program);
            foreach (var packet in c.Packets)
            {
                if (runners.Disagreement(packet.Data, packet.WireLength, withLibPcap: true) is { } difference)
                    return false.Label(difference);
            }
            return true.ToProperty();
        }));
    }

    public static TheoryData<string> CorpusExpressions => new()
    {
        "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6", "sctp", "igmp",
        "tcp port 80", "udp port 53 or port 123", "portrange 1024-2048", "host 192.168.1.1", "net 10.0.0.0/8",
        "src net 172.16.0.0/12 and dst portrange 1024-65535", "ip6 net fe80::/10",
        "ip[0] & 0xf != 5", "ip[6:2] & 0x1fff != 0", "ip multicast", "ether broadcast", "ether multicast",
        "ip[2:2] / (ip[1] & 0xf) > 3", "ip[2:2] % (ip[9] - 6) = 1", "ip[1] * ip[2] > 1000", "-ip[8] > 5",
        "ip[0] << (ip[1] & 0x3f) > 100", "ip[4:2] >> (ip[5] & 0x3f) = 0", "ip[0] ^ 0x45 = 0",
        "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
        "icmp[icmptype] = icmp-echo or icmp[icmptype] = icmp-echoreply",
        "ip6 protochain 6", "ip protochain 17", "len > 200", "greater 1000 or less 60",
        "vlan", "vlan and ip", "mpls", "pppoes and ip", "geneve", "wlan type data", "ip and not tcp and not udp",
    };

    /// <summary>libpcap's own programs (optimized and not) on every packet of the tcpdump test captures.</summary>
    [Theory]
    [MemberData(nameof(CorpusExpressions))]
    public void LibPcapProgramsAgreeOnCorpus(string expression)
    {
        CbpfTestData.RequireLibPcap();
        if (CbpfTestData.Corpus.Length == 0)
            Assert.Skip($"the capture corpus {CbpfTestData.CorpusDirectory} is absent");

        var runners = new Dictionary<(LinkType, bool), Runners?>();
        int packets = 0, matched = 0;
        foreach (var capture in CbpfTestData.Corpus)
        {
            foreach (bool optimize in new[] { true, false })
            {
                if (!runners.TryGetValue((capture.LinkType, optimize), out Runners? run))
                {
                    CbpfInstruction[]? program = CbpfTestData.CompileWithLibPcap(expression, capture.LinkType, optimize);
                    run = program is null ? null : new Runners(program);
                    runners[(capture.LinkType, optimize)] = run;
                }
                if (run is null)
                    continue;
                foreach (var packet in capture.Packets)
                {
                    string? difference = run.Disagreement(packet.Data, packet.WireLength, withLibPcap: true);
                    Assert.True(difference is null, $"{capture.Name}: {difference}");
                    packets++;
                    if (CbpfInterpreter.Run(run.Program, packet.Data, packet.WireLength) != 0)
                        matched++;
                }
            }
        }
        Assert.True(packets > 0, "libpcap compiled the expression for no capture's link type");
        TestContext.Current.SendDiagnosticMessage($"{expression}: {matched} of {packets} packet runs matched");
    }

    [Fact]
    public void OutOfBoundsLoadsReturnZero()
    {
        byte[] packet = [1, 2, 3, 4, 5, 6, 7, 8];
        AssertAll([CbpfInstruction.Stmt(Ld | W | Abs, 4), CbpfInstruction.Stmt(Ret | A, 0)], packet, 0x05060708);
        AssertAll([CbpfInstruction.Stmt(Ld | W | Abs, 5), CbpfInstruction.Stmt(Ret | K, 9)], packet, 0);
        AssertAll([CbpfInstruction.Stmt(Ld | H | Abs, 6), CbpfInstruction.Stmt(Ret | A, 0)], packet, 0x0708);
        AssertAll([CbpfInstruction.Stmt(Ld | H | Abs, 7), CbpfInstruction.Stmt(Ret | K, 9)], packet, 0);
        AssertAll([CbpfInstruction.Stmt(Ld | B | Abs, 8), CbpfInstruction.Stmt(Ret | K, 9)], packet, 0);
        AssertAll([CbpfInstruction.Stmt(Ld | W | Abs, 0xfffffffe), CbpfInstruction.Stmt(Ret | K, 9)], packet, 0);
        AssertAll([CbpfInstruction.Stmt(Ldx | Msh | B, 8), CbpfInstruction.Stmt(Ret | K, 9)], packet, 0);
        AssertAll([CbpfInstruction.Stmt(Ldx | Msh | B, 0), CbpfInstruction.Stmt(Misc | Txa, 0), CbpfInstruction.Stmt(Ret | A, 0)], packet, 4);
        // X + k wrapping past 2^32 must not come back into the packet.
        AssertAll([CbpfInstruction.Stmt(Ldx | Imm, 0xffffffff), CbpfInstruction.Stmt(Ld | B | Ind, 2), CbpfInstruction.Stmt(Ret | K, 9)], packet, 0);
        AssertAll([CbpfInstruction.Stmt(Ldx | Imm, 0xfffffffc), CbpfInstruction.Stmt(Ld | W | Ind, 4), CbpfInstruction.Stmt(Ret | K, 9)], packet, 0);
        AssertAll([CbpfInstruction.Stmt(Ldx | Imm, 2), CbpfInstruction.Stmt(Ld | H | Ind, 0xffffffff), CbpfInstruction.Stmt(Ret | K, 9)], packet, 0);
        AssertAll([CbpfInstruction.Stmt(Ldx | Imm, 3), CbpfInstruction.Stmt(Ld | W | Ind, 1), CbpfInstruction.Stmt(Ret | A, 0)], packet, 0x05060708);
        AssertAll([CbpfInstruction.Stmt(Ld | B | Abs, 0), CbpfInstruction.Stmt(Ret | K, 9)], [], 0);
    }

    [Fact]
    public void AncillaryLoadsReturnZeroAsInUserlandBpfFilter()
    {
        byte[] packet = new byte[64];
        foreach (int code in new[] { Ld | W | Abs, Ld | H | Abs, Ld | B | Abs })
        {
            for (uint offset = 0; offset < CbpfAncillary.End; offset += 4)
                AssertAll([CbpfInstruction.Stmt(code, AncillaryBase + offset), CbpfInstruction.Stmt(Ret | K, 1)], packet, 0);
        }
    }

    [Fact]
    public void DivisionByZeroXReturnsZero()
    {
        byte[] packet = [0, 0, 0, 0];
        foreach (int code in new[] { Alu | Div | X, Alu | Mod | X })
        {
            AssertAll([CbpfInstruction.Stmt(Ld | Imm, 10), CbpfInstruction.Stmt(code, 0), CbpfInstruction.Stmt(Ret | K, 7)], packet, 0);
            AssertAll([CbpfInstruction.Stmt(Ld | Imm, 10), CbpfInstruction.Stmt(Ldx | Imm, 3), CbpfInstruction.Stmt(code, 0), CbpfInstruction.Stmt(Ret | A, 0)],
                packet, code == (Alu | Div | X) ? 3u : 1u);
        }
    }

    [Fact]
    public void ShiftsMatchLibPcap()
    {
        foreach (uint count in new uint[] { 0, 1, 31, 32, 33, 40, 63, 64, 0xffffffff })
        {
            AssertAll([CbpfInstruction.Stmt(Ld | Imm, 0x12345678), CbpfInstruction.Stmt(Alu | Lsh | K, count), CbpfInstruction.Stmt(Ret | A, 0)],
                [], 0x12345678u << (int)(count & 31));
            AssertAll([CbpfInstruction.Stmt(Ld | Imm, 0x12345678), CbpfInstruction.Stmt(Alu | Rsh | K, count), CbpfInstruction.Stmt(Ret | A, 0)],
                [], 0x12345678u >> (int)(count & 31));
            uint byX = count < 32 ? 0x12345678u << (int)count : 0;
            AssertAll([CbpfInstruction.Stmt(Ld | Imm, 0x12345678), CbpfInstruction.Stmt(Ldx | Imm, count), CbpfInstruction.Stmt(Alu | Lsh | X, 0), CbpfInstruction.Stmt(Ret | A, 0)],
                [], byX);
        }
    }

    [Fact]
    public void ScratchMemoryAndRegisters()
    {
        CbpfInstruction[] program =
        [
            CbpfInstruction.Stmt(Ld | W | Len, 0),      // A = wire length
            CbpfInstruction.Stmt(St, 15),
            CbpfInstruction.Stmt(Ldx | W | Len, 0),     // X = wire length
            CbpfInstruction.Stmt(Alu | Add | X, 0),     // A = 2 * len
            CbpfInstruction.Stmt(Stx, 0),
            CbpfInstruction.Stmt(Ldx | Mem, 15),
            CbpfInstruction.Stmt(Alu | Sub | X, 0),     // A = len
            CbpfInstruction.Stmt(Alu | Neg, 0),         // A = -len
            CbpfInstruction.Stmt(Misc | Tax, 0),
            CbpfInstruction.Stmt(Ld | Mem, 0),
            CbpfInstruction.Stmt(Alu | Add | X, 0),     // A = 0
            CbpfInstruction.Jump(Jmp | Jeq | K, 0, 0, 1),
            CbpfInstruction.Stmt(Ret | K, 77),
            CbpfInstruction.Stmt(Ret | K, 0),
        ];
        AssertAll(program, new byte[3], 77, wireLength: 1500);

        // Memory starts zeroed in our runners (libpcap leaves it uninitialized, so no oracle here).
        CbpfInstruction[] unset = [CbpfInstruction.Stmt(Ld | Mem, 7), CbpfInstruction.Stmt(Ldx | Mem, 3), CbpfInstruction.Stmt(Alu | Add | X, 0), CbpfInstruction.Stmt(Ret | A, 0)];
        AssertAll(unset, [], 0, withLibPcap: false);
    }

    [Fact]
    public void BackwardJumpsLoop()
    {
        // Scan for the first 0xff byte; return its index + 1, or 0 when the scan runs off the packet.
        CbpfInstruction[] program =
        [
            CbpfInstruction.Stmt(Ldx | Imm, 0),
            CbpfInstruction.Stmt(Ld | B | Ind, 0),
            CbpfInstruction.Jump(Jmp | Jeq | K, 0xff, 4, 0),
            CbpfInstruction.Stmt(Misc | Txa, 0),
            CbpfInstruction.Stmt(Alu | Add | K, 1),
            CbpfInstruction.Stmt(Misc | Tax, 0),
            CbpfInstruction.Stmt(Jmp | Ja, unchecked((uint)-6)),
            CbpfInstruction.Stmt(Misc | Txa, 0),
            CbpfInstruction.Stmt(Alu | Add | K, 1),
            CbpfInstruction.Stmt(Ret | A, 0),
        ];
        Assert.True(CbpfValidator.ValidateForExecution(program).IsValid);
        AssertAll(program, [1, 2, 0xff, 4], 3);
        AssertAll(program, [0xff], 1);
        AssertAll(program, [1, 2, 3], 0);
        Assert.Equal("(006) ja       1", CbpfPrinter.Image(program[6], 6));
    }

    [Fact]
    public void UnknownOpcodesThrowWhenReached()
    {
        // bpf_validate lets these through; bpf_filter aborts when it reaches one. Ours throw.
        foreach (ushort code in new ushort[] { Ret | X, Ld | Msh | B, Misc | 0x40, Alu | Neg | X, Jmp | Ja | X, Ld | 0x18 | Abs, 0x106 })
        {
            CbpfInstruction[] program = [CbpfInstruction.Stmt(Ld | Imm, 1), new CbpfInstruction(code, 0, 0, 0), Accept];
            Assert.True(CbpfValidator.IsValid(program), $"0x{code:x}");
            Assert.False(CbpfValidator.IsExecutable(code));
            var runners = new Runners(program);
            byte[] packet = new byte[20];
            Assert.Equal(1, Assert.Throws<CbpfUnknownOpcodeException>(() => CbpfInterpreter.Run(program, packet, 20)).InstructionIndex);
            Assert.Equal(code, Assert.Throws<CbpfUnknownOpcodeException>(() => runners.Fast.Run(packet, 20)).Code);
            Assert.Equal(1, Assert.Throws<CbpfUnknownOpcodeException>(() => runners.Il(ref packet[0], 20, 20)).InstructionIndex);
            Assert.Throws<CbpfProgramException>(() => CbpfFilter.Create(program));

            // Unreached, it is harmless to the runners.
            CbpfInstruction[] skipped = [CbpfInstruction.Stmt(Jmp | Ja, 1), new CbpfInstruction(code, 0, 0, 0), Accept];
            AssertAll(skipped, packet, 0x40000, withLibPcap: false);
        }
    }

    [Fact]
    public void RunnersRefuseInvalidPrograms()
    {
        CbpfInstruction[] invalid = [CbpfInstruction.Stmt(Alu | Div | K, 0), Accept];
        Assert.Equal("invalid cBPF program: instruction 0: division by constant zero",
            Assert.Throws<CbpfProgramException>(() => new CbpfFastInterpreter(invalid)).Message);
        Assert.Throws<CbpfProgramException>(() => CbpfIlCompiler.Compile(invalid));
        Assert.Throws<CbpfProgramException>(() => CbpfFilter.Create(invalid));
        Assert.Throws<CbpfProgramException>(() => CbpfFilter.Create(new CbpfProgram([])));
        Assert.False(CbpfFilter.TryCreate(invalid, CbpfEngine.Automatic, out var filter, out var validation));
        Assert.Null(filter);
        Assert.Equal(0, validation.InstructionIndex);
    }

    [Fact]
    public void FilterPicksTheIlCompilerWhereDynamicCodeIsCompiled()
    {
        CbpfInstruction[] ipv4 = [CbpfInstruction.Stmt(Ld | H | Abs, 12), CbpfInstruction.Jump(Jmp | Jeq | K, 0x800, 0, 1), Accept, CbpfInstruction.Stmt(Ret | K, 0)];
        var automatic = CbpfFilter.Create(ipv4);
        Assert.Equal(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled ? CbpfEngine.IlCompiler : CbpfEngine.FastInterpreter, automatic.Engine);
        var interpreted = CbpfFilter.Create(new CbpfProgram(ipv4), CbpfEngine.FastInterpreter);
        Assert.Equal(CbpfEngine.FastInterpreter, interpreted.Engine);
        Assert.Equal(4, interpreted.Program.Length);

        byte[] frame = new byte[60];
        frame[12] = 0x08;
        foreach (var filter in new[] { automatic, interpreted })
        {
            Assert.True(filter.Matches(frame));
            Assert.Equal(0x40000u, filter.Run(frame, 1514));
            Assert.False(filter.Matches(frame.AsSpan(0, 13), 60));
            Assert.False(filter.Matches([]));
        }
    }

    [Fact]
    public void FilteringAllocatesNothing()
    {
        CbpfTestData.RequireLibPcap();
        CbpfInstruction[] program = LibPcapOracle.Compile("tcp port 80 or ip6 protochain 17 or ip[2:2] / (ip[1] & 0xf) > 3", LinkType.EN10MB).Instructions!;
        byte[] frame = new byte[128];
        frame[12] = 0x08;
        frame[14] = 0x45;
        frame[23] = 6;
        foreach (var engine in new[] { CbpfEngine.Automatic, CbpfEngine.FastInterpreter })
        {
            var filter = CbpfFilter.Create(program, engine);
            uint sum = 0;
            for (int i = 0; i < 100; i++)
                sum += filter.Run(frame, 128);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++)
            {
                frame[37] = (byte)i;
                sum += filter.Run(frame, 128);
            }
            Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
            GC.KeepAlive(sum);
        }
    }

    private static void AssertAll(CbpfInstruction[] program, byte[] packet, uint expected, uint? wireLength = null, bool withLibPcap = true)
    {
        uint wire = wireLength ?? (uint)packet.Length;
        var runners = new Runners(program);
        Assert.Null(runners.Disagreement(packet, wire, withLibPcap && LibPcapOracle.IsAvailable));
        Assert.Equal(expected, CbpfInterpreter.Run(program, packet, wire));
        if (CbpfValidator.ValidateForExecution(program).IsValid)
        {
            Assert.Equal(expected, CbpfFilter.Create(program).Run(packet, wire));
            Assert.Equal(expected, CbpfFilter.Create(program, CbpfEngine.FastInterpreter).Run(packet, wire));
        }
    }
}
