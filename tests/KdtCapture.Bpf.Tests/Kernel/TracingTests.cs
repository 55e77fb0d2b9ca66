using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Links;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.PerfEvents;
using KdtCapture.Bpf.Programs;
using static KdtCapture.Bpf.Asm.BpfOpCode;
using static KdtCapture.Bpf.Asm.BpfRegister;

namespace KdtCapture.Bpf.Tests.Kernel;

using Asm = KdtCapture.Bpf.Asm.Asm;

/// <summary>
/// Hand-assembled programs on net_dev_queue (tp_btf, raw_tp and the perf tracepoint) count what this
/// process sends over loopback. Only events in this process (tgid) count, and the kernel-object
/// tests run alone, so every count is exact.
/// </summary>
public sealed class TracingTests : KernelObjectTest
{
    /// <summary>if (current tgid == ours) counts[0]++; return 0.</summary>
    internal static BpfInstruction[] CountOwnEvents(BpfMap counts) => new BpfAssembler()
        .Call(BpfHelper.GetCurrentPidTgid)
        .Emit(Asm.Rsh64(R0, 32))
        .JumpIf(Jne, R0, Environment.ProcessId, "out")
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

    private static BpfMap NewCounter() =>
        BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "kdt_events" });

    private static ulong Count(BpfMap counts)
    {
        Assert.True(counts.TryLookup(0u, out ulong value));
        return value;
    }

    [Fact]
    public void Tp_btf_program_counts_net_dev_queue_exactly()
    {
        RequireRoot();
        uint tracepointType = ProgramTests.VmlinuxTypeId("TYPEDEF", "btf_trace_net_dev_queue");
        using var counts = NewCounter();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions
        {
            Type = BpfProgramType.Tracing, ExpectedAttachType = BpfAttachType.TraceRawTp, AttachBtfId = tracepointType,
            Name = "kdt_tp_btf", Instructions = CountOwnEvents(counts),
        });
        using var traffic = new LoopbackTraffic();
        traffic.Send(10);
        Assert.Equal(0ul, Count(counts)); // not attached yet

        using (var link = BpfLink.AttachRawTracepoint(program, null))
        {
            // The kernel gives tp_btf programs a raw tracepoint link (bpftool link: raw_tracepoint).
            Assert.Equal(BpfLinkType.RawTracepoint, link.GetInfo().Type);
            Assert.Equal(program.Id, link.GetInfo().ProgramId);
            traffic.Send(100);
            Assert.Equal(100ul, Count(counts));
        }
        traffic.Send(10); // detached on Dispose
        Assert.Equal(100ul, Count(counts));
    }

    [Fact]
    public void Raw_tp_program_counts_net_dev_queue_exactly_and_detaches()
    {
        RequireRoot();
        using var counts = NewCounter();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_raw_tp", Instructions = CountOwnEvents(counts) });
        using var traffic = new LoopbackTraffic();
        using (var link = BpfLink.AttachRawTracepoint(program, "net_dev_queue"))
        {
            Assert.Equal(BpfLinkType.RawTracepoint, link.GetInfo().Type);
            traffic.Send(37);
            Assert.Equal(37ul, Count(counts));
            link.Detach();
            traffic.Send(5);
            Assert.Equal(37ul, Count(counts));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Tracepoint_program_attaches_through_a_perf_event(bool usePerfLink)
    {
        RequireRoot();
        EnsureTracefs();
        using var counts = NewCounter();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.Tracepoint, Name = "kdt_tp", Instructions = CountOwnEvents(counts) });
        using var traffic = new LoopbackTraffic();
        using (var link = BpfLink.AttachTracepoint(program, "net", "net_dev_queue", usePerfLink))
        {
            // With a perf link the kernel lists a link; with the ioctl the perf event carries the program.
            Assert.Equal(usePerfLink, link.PerfEvent is not null);
            if (usePerfLink)
                Assert.Equal(BpfLinkType.PerfEvent, link.GetInfo().Type);
            traffic.Send(25);
            Assert.Equal(25ul, Count(counts));
        }
        traffic.Send(5);
        Assert.Equal(25ul, Count(counts));
    }

    [Fact]
    public void Unknown_tracepoint_is_a_one_line_error()
    {
        RequireRoot();
        EnsureTracefs();
        using var counts = NewCounter();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.Tracepoint, Name = "kdt_tp", Instructions = CountOwnEvents(counts) });
        var error = Assert.Throws<BpfException>(() => BpfLink.AttachTracepoint(program, "net", "no_such_event"));
        Assert.Contains("tracepoint net:no_such_event: no such event", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Kprobe_attach_says_what_is_missing()
    {
        RequireRoot();
        if (File.Exists(PerfEventAttach.KprobeTypePath))
            Assert.Skip("this kernel has kprobes; kprobe attachment runs in the VM harness (tests/vm)");
        var error = Assert.Throws<Features.BpfNotSupportedException>(() => PerfEventAttach.OpenKprobe("ip_output"));
        Assert.StartsWith("not supported: kprobe/ip_output needs kprobes", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    /// <summary>Mounts tracefs at its usual place when it is not mounted (tracepoint ids live there).</summary>
    internal static void EnsureTracefs()
    {
        if (PerfEventAttach.TracefsRoot is not null)
            return;
        if (!Directory.Exists("/sys/kernel/tracing"))
            Assert.Skip("this kernel has no tracefs mount point (/sys/kernel/tracing)");
        Run("mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing");
        Assert.NotNull(PerfEventAttach.TracefsRoot);
    }
}
