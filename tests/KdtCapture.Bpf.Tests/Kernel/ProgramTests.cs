using System.Text.RegularExpressions;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Programs;
using static KdtCapture.Bpf.Asm.BpfOpCode;
using static KdtCapture.Bpf.Asm.BpfRegister;

namespace KdtCapture.Bpf.Tests.Kernel;

using Asm = KdtCapture.Bpf.Asm.Asm;

public sealed partial class ProgramTests : KernelObjectTest
{
    /// <summary>An Ethernet frame carrying IPv4/UDP from 10.0.0.1:1000 to 10.0.0.2:53.</summary>
    internal static byte[] Ipv4UdpFrame()
    {
        byte[] frame =
        [
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, // Ethernet, IPv4
            0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4, UDP, 32 bytes
            0x03, 0xe8, 0, 53, 0, 12, 0, 0, 1, 2, 3, 4, // UDP 1000 → 53, 4 bytes of payload
        ];
        return frame;
    }

    /// <summary>
    /// Accepts (whole packet) IPv4 UDP to port 53, else drops. Socket filters see the packet from
    /// the network header, so IPv4 fields are at their IP-header offsets.
    /// </summary>
    private static BpfInstruction[] Dns4Filter() => new BpfAssembler()
        .Emit(Asm.Mov64(R6, R1)) // ctx for the legacy packet loads
        .Emit(Asm.LoadAbsolute(SizeB, 0))
        .Emit(Asm.Rsh64(R0, 4))
        .JumpIf(Jne, R0, 4, "drop")
        .Emit(Asm.LoadAbsolute(SizeB, 9))
        .JumpIf(Jne, R0, 17, "drop")
        .Emit(Asm.LoadAbsolute(SizeH, 22)) // UDP destination port (host order after the load)
        .JumpIf(Jne, R0, 53, "drop")
        .Emit(Asm.Mov64(R0, -1))
        .Exit()
        .Label("drop")
        .Emit(Asm.Mov64(R0, 0))
        .Exit()
        .Assemble();

    [Fact]
    public void Socket_filter_runs_on_a_packet_with_test_run()
    {
        RequireRoot();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.SocketFilter, Name = "kdt_dns4", Instructions = Dns4Filter() });

        byte[] dns = Ipv4UdpFrame();
        Assert.Equal(uint.MaxValue, program.TestRun(dns).ReturnValue);

        byte[] otherPort = Ipv4UdpFrame();
        otherPort[14 + 20 + 3] = 54;
        Assert.Equal(0u, program.TestRun(otherPort).ReturnValue);

        byte[] tcp = Ipv4UdpFrame();
        tcp[14 + 9] = 6;
        Assert.Equal(0u, program.TestRun(tcp).ReturnValue);

        var info = program.GetInfo();
        Assert.Equal(BpfProgramType.SocketFilter, info.Type);
        Assert.Equal("kdt_dns4", info.Name);
        Assert.True(info.XlatedInstructions.Length > 0);
    }

    [Fact]
    public void Socket_filter_counts_into_a_map()
    {
        RequireRoot();
        using var counts = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "kdt_counts" });
        var code = new BpfAssembler()
            .Emit(Asm.StoreImm(SizeW, R10, -4, 0))
            .Emit(Asm.LoadMapFd(R1, counts.Fd.Value))
            .Emit(Asm.Mov64(R2, R10))
            .Emit(Asm.Add64(R2, -4))
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(Jeq, R0, 0, "out")
            .Emit(Asm.Mov64(R1, 1))
            .Emit(Asm.AtomicAdd64(R0, 0, R1))
            .Label("out")
            .Emit(Asm.Mov64(R0, 0))
            .Exit()
            .Assemble();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.SocketFilter, Name = "kdt_count", Instructions = code });
        program.TestRun(Ipv4UdpFrame(), repeat: 7);
        program.TestRun(Ipv4UdpFrame(), repeat: 5);
        Assert.True(counts.TryLookup(0u, out ulong seen));
        Assert.Equal(12ul, seen);
    }

    [Fact]
    public void Spliced_filter_replaces_a_stub_subprogram_and_runs()
    {
        RequireRoot();
        // A tap-like program: the filter is a stub subprogram that accepts nothing.
        var tap = new BpfAssembler()
            .Emit(Asm.Mov64(R6, R1))
            .CallSubprogram("filter")
            .JumpIf(Jeq, R0, 0, "drop")
            .Emit(Asm.Mov64(R0, -1))
            .Exit()
            .Label("drop")
            .Emit(Asm.Mov64(R0, 0))
            .Exit()
            .Label("filter")
            .Emit(Asm.Mov64(R0, 0))
            .Exit();
        BpfInstruction[] stubbed = tap.Assemble();
        using (var stub = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.SocketFilter, Name = "kdt_stub", Instructions = stubbed }))
            Assert.Equal(0u, stub.TestRun(Ipv4UdpFrame()).ReturnValue);

        // The replacement gets the context in r1 like any BPF function; legacy packet loads are not
        // allowed in subprograms, so it reads the IPv4 protocol byte with bpf_skb_load_bytes.
        var filter = new BpfAssembler()
            .Emit(Asm.Mov64(R2, 9))
            .Emit(Asm.Mov64(R3, R10))
            .Emit(Asm.Add64(R3, -8))
            .Emit(Asm.Mov64(R4, 1))
            .Call(BpfHelper.SkbLoadBytes)
            .JumpIf(Jne, R0, 0, "no")
            .Emit(Asm.LoadMem(SizeB, R0, R10, -8))
            .JumpIf(Jne, R0, 17, "no")
            .Emit(Asm.Mov64(R0, 1))
            .Exit()
            .Label("no")
            .Emit(Asm.Mov64(R0, 0))
            .Exit()
            .Assemble();
        var spliced = BpfSplice.ReplaceSubprogram(stubbed, tap.Labels["filter"], filter);
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.SocketFilter, Name = "kdt_spliced", Instructions = spliced.Instructions });
        Assert.Equal(uint.MaxValue, program.TestRun(Ipv4UdpFrame()).ReturnValue);
        byte[] tcp = Ipv4UdpFrame();
        tcp[14 + 9] = 6;
        Assert.Equal(0u, program.TestRun(tcp).ReturnValue);
    }

    [Fact]
    public void Socket_filter_attached_to_a_socket_drops_what_it_rejects()
    {
        RequireRoot();
        using var dropAll = BpfProgram.Load(new BpfProgramLoadOptions
        {
            Type = BpfProgramType.SocketFilter, Name = "kdt_drop_all", Instructions = new BpfInstruction[] { Asm.Mov64(R0, 0), Asm.Exit() },
        });
        using var receiver = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        receiver.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        using var sender = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        sender.Connect(receiver.LocalEndPoint!);

        Links.BpfSocketFilter.Attach(receiver, dropAll);
        sender.Send(new byte[] { 1 });
        Assert.Equal(0, receiver.Available);

        Links.BpfSocketFilter.Detach(receiver);
        sender.Send(new byte[] { 2 });
        var buffer = new byte[8];
        receiver.ReceiveTimeout = 30_000;
        Assert.Equal(1, receiver.Receive(buffer));
        Assert.Equal(2, buffer[0]);
    }

    [Fact]
    public void Verifier_rejection_carries_the_program_name_and_the_log()
    {
        RequireRoot();
        // Reads r2, which nothing initialised.
        BpfInstruction[] code = [Asm.Mov64(R0, R2), Asm.Exit()];
        var error = Assert.Throws<BpfVerifierException>(() =>
            BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.SocketFilter, Name = "kdt_bad_read", Instructions = code }));
        Assert.Equal("kdt_bad_read", error.ProgramName);
        Assert.Equal("EACCES", error.ErrnoName);
        Assert.Contains("R2 !read_ok", error.Log);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("load program 'kdt_bad_read' (socket_filter): EACCES", error.Message);
        Assert.Contains("R2 !read_ok", error.Message);
    }

    [Fact]
    public void Verifier_log_grows_until_it_fits()
    {
        RequireRoot();
        // A log at level 2 for a few hundred instructions is far more than 256 bytes.
        var code = new BpfAssembler();
        for (int i = 0; i < 300; i++)
            code.Emit(Asm.Mov64(R0, i));
        code.Exit();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions
        {
            Type = BpfProgramType.SocketFilter, Name = "kdt_long_log", Instructions = code.Assemble(), LogLevel = 2, LogSize = 256,
        });
        Assert.NotNull(program.VerifierLog);
        Assert.True(program.VerifierLog!.Length > 256);
        Assert.Contains("processed 301 insns", program.VerifierLog);
    }

    [Fact]
    public void Fentry_load_is_refused_with_the_advice()
    {
        RequireRoot();
        uint functionId = VmlinuxFunctionId("ip_output");
        try
        {
            using var program = BpfProgram.Load(new BpfProgramLoadOptions
            {
                Type = BpfProgramType.Tracing, ExpectedAttachType = BpfAttachType.TraceFentry, AttachBtfId = functionId,
                Name = "kdt_fentry", Instructions = new BpfInstruction[] { Asm.Mov64(R0, 0), Asm.Exit() },
            });
            Assert.True(BpfFeatures.HasTrampolines(), "fentry loaded although the feature probe says trampolines are refused");
            Assert.Skip("this kernel accepts fentry programs; the refusal message is tested where it refuses them");
        }
        catch (BpfNotSupportedException refused)
        {
            Assert.Equal("EPERM", refused.ErrnoName);
            Assert.Equal("fentry", refused.Feature);
            Assert.DoesNotContain('\n', refused.Message);
            Assert.Contains("'kdt_fentry'", refused.Message);
            Assert.Contains("fentry programs are refused by this kernel (EPERM", refused.Message);
            Assert.Contains("use tp_btf/... or kprobe/...", refused.Message);
            Assert.False(BpfFeatures.HasTrampolines());
            var required = Assert.Throws<BpfNotSupportedException>(() => BpfFeatures.RequireTrampolines());
            Assert.Contains("fentry programs are refused by this kernel (EPERM", required.Message);
        }
    }

    [Fact]
    public void Disassembly_matches_bpftool_dump_xlated()
    {
        RequireRoot();
        string bpftool = FindTool("bpftool") ?? "";
        if (bpftool.Length == 0)
            Assert.Skip("bpftool is not installed (apt-get install bpftool); it is the oracle for the disassembler");
        using var map = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, Name = "kdt_dis" });
        var code = new BpfAssembler()
            .Emit(Asm.Mov64(R6, R1))
            .Emit(Asm.LoadAbsolute(SizeH, 2))
            .Emit(Asm.LoadIndirect(SizeB, R0, 1))
            .Emit(Asm.Mov32(R7, 7))
            .Emit(Asm.Alu32(Add, R7, 3))
            .Emit(Asm.Alu64(Mul, R7, R7))
            .Emit(Asm.And64(R7, 0xff))
            .Emit(Asm.Lsh64(R7, 3))
            .Emit(Asm.Arsh64(R7, 1))
            .Emit(Asm.Neg64(R7))
            .Emit(Asm.ToBigEndian(R7, 16))
            .Emit(Asm.ToLittleEndian(R7, 32))
            .Emit(Asm.LoadImm64(R8, 0x1122334455667788))
            .Emit(Asm.StoreImm(SizeW, R10, -4, 3))
            .Emit(Asm.StoreMem(SizeDW, R10, -16, R8))
            .Emit(Asm.LoadMem(SizeH, R9, R10, -16))
            .Emit(Asm.LoadMapFd(R1, map.Fd.Value))
            .Emit(Asm.Mov64(R2, R10))
            .Emit(Asm.Add64(R2, -4))
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(Jeq, R0, 0, "out")
            .Emit(Asm.Mov64(R1, 1))
            .Emit(Asm.AtomicAdd64(R0, 0, R1))
            .Emit(Asm.Atomic(SizeDW, AtomicAdd | AtomicFetch, R0, 0, R1))
            .Emit(Asm.Atomic(SizeW, AtomicXchg, R0, 4, R1))
            .JumpIf32(Jgt, R1, 5, "out")
            .JumpIf(Jsle, R1, R9, "out")
            .Emit(Asm.Ja(0))
            .Label("out")
            .Emit(Asm.Mov64(R0, 0))
            .Exit()
            .Assemble();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.SocketFilter, Name = "kdt_dis", Instructions = code });
        var info = program.GetInfo();

        string ours = BpfDisassembler.Disassemble(info.XlatedInstructions, BpfMapReferenceStyle.Id);
        string theirs = Run(bpftool, "prog", "dump", "xlated", "id", info.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // bpftool resolves rewritten helper calls through kallsyms; compare calls up to the name.
        string Normalize(string text) => string.Join('\n', text.Split('\n')
            .Where(line => line.Length > 0 && char.IsWhiteSpace(line[0]) | char.IsDigit(line[0]))
            .Select(line => CallTarget().Replace(line.TrimEnd(), "call")));
        Assert.Equal(Normalize(theirs), Normalize(ours));
        Assert.Contains("lock *(u64 *)(r0 +0) += r1", ours);
    }

    [GeneratedRegex(@"call [^ ]+$")]
    private static partial Regex CallTarget();

    /// <summary>A function's BTF id, from bpftool's raw dump of vmlinux BTF (the oracle, not our parser).</summary>
    internal static uint VmlinuxFunctionId(string name)
    {
        string bpftool = FindTool("bpftool") ?? "";
        if (bpftool.Length == 0)
            Assert.Skip("bpftool is not installed (apt-get install bpftool); it finds the BTF id of the attach target");
        string dump = Run(bpftool, "btf", "dump", "file", KernelFacts.VmlinuxBtfPath, "format", "raw");
        var match = Regex.Match(dump, $@"^\[(\d+)\] FUNC '{Regex.Escape(name)}' ", RegexOptions.Multiline);
        Assert.True(match.Success, $"vmlinux BTF has no FUNC '{name}'");
        return uint.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The BTF id of a typedef or struct in vmlinux (e.g. btf_trace_net_dev_queue).</summary>
    internal static uint VmlinuxTypeId(string kind, string name)
    {
        string bpftool = FindTool("bpftool") ?? "";
        if (bpftool.Length == 0)
            Assert.Skip("bpftool is not installed (apt-get install bpftool); it finds the BTF id of the attach target");
        string dump = Run(bpftool, "btf", "dump", "file", KernelFacts.VmlinuxBtfPath, "format", "raw");
        var match = Regex.Match(dump, $@"^\[(\d+)\] {kind} '{Regex.Escape(name)}' ", RegexOptions.Multiline);
        Assert.True(match.Success, $"vmlinux BTF has no {kind} '{name}'");
        return uint.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
