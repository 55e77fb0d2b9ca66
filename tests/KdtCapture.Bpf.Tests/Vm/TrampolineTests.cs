using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Links;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Programs;
using KdtCapture.Bpf.Tests.Kernel;
using static KdtCapture.Bpf.Asm.BpfOpCode;
using static KdtCapture.Bpf.Asm.BpfRegister;

namespace KdtCapture.Bpf.Tests.Vm;

using Asm = KdtCapture.Bpf.Asm.Asm;

/// <summary>
/// fentry, fexit and kprobe programs on ip_output count the UDP datagrams this process sends
/// over loopback, exactly. This machine's kernel refuses fentry and has no kprobes, so here they
/// skip; the guest suite (tests/vm/guest-suite, run by test.sh) runs them in the VM guest, where they must pass.
/// </summary>
[Trait(KdtCapture.Testing.VmHarness.KernelTrait, KdtCapture.Testing.VmHarness.GuestKernel)]
public sealed class TrampolineTests : KernelObjectTest
{
    private const int Datagrams = 100;

    // bpftool's BTF dump, the oracle for the id, takes seconds under emulation: once per process.
    private static readonly Lazy<uint> IpOutputId = new(() => ProgramTests.VmlinuxFunctionId("ip_output"));

    private static BpfMap NewCounter() =>
        BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "kdt_events" });

    private static ulong Count(BpfMap counts)
    {
        Assert.True(counts.TryLookup(0u, out ulong value));
        return value;
    }

    /// <summary>if (current tgid == ours && ctx[3] == 0) counts[0]++: ip_output's return value follows its three arguments.</summary>
    private static BpfInstruction[] CountOwnSuccessfulReturns(BpfMap counts) => new BpfAssembler()
        .Emit(Asm.Mov64(R6, R1))
        .Call(BpfHelper.GetCurrentPidTgid)
        .Emit(Asm.Rsh64(R0, 32))
        .JumpIf(Jne, R0, Environment.ProcessId, "out")
        .Emit(Asm.LoadMem(SizeDW, R7, R6, 3 * 8))
        .JumpIf(Jne, R7, 0, "out")
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

    private static BpfProgram LoadTracing(BpfAttachType attachType, string name, BpfInstruction[] instructions)
    {
        uint ipOutput = IpOutputId.Value;
        try
        {
            return BpfProgram.Load(new BpfProgramLoadOptions
            {
                Type = BpfProgramType.Tracing, ExpectedAttachType = attachType, AttachBtfId = ipOutput,
                Name = name, Instructions = instructions,
            });
        }
        catch (BpfNotSupportedException refused)
        {
            Assert.False(BpfFeatures.HasTrampolines(), $"the feature probe says trampolines work, yet: {refused.Message}");
            Assert.Skip($"this kernel refuses {refused.Feature} ({refused.ErrnoName}); it runs in the VM guest (tests/vm)");
            throw;
        }
    }

    /// <summary>Sends before, while and after the program is attached: only the attached sends count.</summary>
    private static void AssertCountsOnlyWhileAttached(BpfMap counts, Func<IDisposable> attach)
    {
        using var traffic = new LoopbackTraffic();
        traffic.Send(10);
        Assert.Equal(0ul, Count(counts));
        using (attach())
        {
            traffic.Send(Datagrams);
            Assert.Equal((ulong)Datagrams, Count(counts));
        }
        traffic.Send(10);
        Assert.Equal((ulong)Datagrams, Count(counts));
    }

    [Fact]
    public void Fentry_on_ip_output_counts_every_datagram_this_process_sends()
    {
        RequireRoot();
        using var counts = NewCounter();
        using var program = LoadTracing(BpfAttachType.TraceFentry, "kdt_fentry", TracingTests.CountOwnEvents(counts));
        Assert.Equal(BpfProgramType.Tracing, program.Type);
        AssertCountsOnlyWhileAttached(counts, () =>
        {
            var link = BpfLink.AttachRawTracepoint(program, null);
            Assert.Equal(BpfLinkType.Tracing, link.GetInfo().Type);
            return link;
        });
    }

    [Fact]
    public void Fexit_on_ip_output_sees_its_return_value()
    {
        RequireRoot();
        using var counts = NewCounter();
        using var program = LoadTracing(BpfAttachType.TraceFexit, "kdt_fexit", CountOwnSuccessfulReturns(counts));
        AssertCountsOnlyWhileAttached(counts, () => BpfLink.AttachRawTracepoint(program, null));
    }

    [Fact]
    public void Kprobe_on_ip_output_counts_the_same_datagrams_as_fentry()
    {
        RequireRoot();
        if (!BpfFeatures.HasKprobes)
            Assert.Skip("this kernel has no kprobes; it runs in the VM guest (tests/vm)");
        using var counts = NewCounter();
        using var program = BpfProgram.Load(new BpfProgramLoadOptions
        {
            Type = BpfProgramType.Kprobe, Name = "kdt_kprobe", Instructions = TracingTests.CountOwnEvents(counts),
        });
        AssertCountsOnlyWhileAttached(counts, () => BpfLink.AttachKprobe(program, "ip_output"));
    }
}
