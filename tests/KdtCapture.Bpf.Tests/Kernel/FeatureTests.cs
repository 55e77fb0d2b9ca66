using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Tests.Kernel;

/// <summary>
/// Feature probes must not claim that this kernel (Linux 6.18, see DESIGN.md's measured facts)
/// lacks what it has, and must say no where it is known to say no.
/// </summary>
public sealed class FeatureTests : KernelObjectTest
{
    [Theory]
    [InlineData(BpfProgramType.SocketFilter)]
    [InlineData(BpfProgramType.Tracepoint)]
    [InlineData(BpfProgramType.RawTracepoint)]
    [InlineData(BpfProgramType.Tracing)]
    [InlineData(BpfProgramType.SchedCls)]
    [InlineData(BpfProgramType.Xdp)]
    [InlineData(BpfProgramType.Kprobe)]
    public void Program_types_of_this_kernel_are_found(BpfProgramType type)
    {
        RequireRoot();
        Assert.True(BpfFeatures.HasProgramType(type), $"probe says the kernel lacks {type.KernelName()}");
        BpfFeatures.RequireProgramType(type);
    }

    [Fact]
    public void Unknown_program_type_is_reported_missing()
    {
        RequireRoot();
        var unknown = (BpfProgramType)4000;
        Assert.False(BpfFeatures.HasProgramType(unknown));
        var error = Assert.Throws<BpfNotSupportedException>(() => BpfFeatures.RequireProgramType(unknown));
        Assert.StartsWith("not supported: program type 4000 needs", error.Message);
    }

    [Theory]
    [InlineData(BpfMapType.Array)]
    [InlineData(BpfMapType.Hash)]
    [InlineData(BpfMapType.PerCpuArray)]
    [InlineData(BpfMapType.LruHash)]
    [InlineData(BpfMapType.PerfEventArray)]
    [InlineData(BpfMapType.RingBuf)]
    public void Map_types_of_this_kernel_are_found(BpfMapType type)
    {
        RequireRoot();
        Assert.True(BpfFeatures.HasMapType(type), $"probe says the kernel lacks {type.KernelName()} maps");
        BpfFeatures.RequireMapType(type);
    }

    [Fact]
    public void Helper_probes_tell_available_from_unavailable()
    {
        RequireRoot();
        Assert.True(BpfFeatures.HasHelper(BpfProgramType.SocketFilter, BpfHelper.KtimeGetNs));
        Assert.True(BpfFeatures.HasHelper(BpfProgramType.RawTracepoint, BpfHelper.RingbufOutput));
        // The verifier answers "program of this type cannot use helper" for these, "invalid func" for unknown ids.
        int probeWriteUser = BpfHelper.IdOf("probe_write_user");
        Assert.False(BpfFeatures.HasHelper(BpfProgramType.SocketFilter, probeWriteUser));
        Assert.False(BpfFeatures.HasHelper(BpfProgramType.SocketFilter, 9999));
        var error = Assert.Throws<BpfNotSupportedException>(() => BpfFeatures.RequireHelper(BpfProgramType.SocketFilter, probeWriteUser));
        Assert.Equal("not supported: bpf_probe_write_user in socket_filter programs needs a kernel that offers this helper to this program type", error.Message);
    }

    [Fact]
    public void Skb_output_is_available_to_tp_btf_net_dev_queue()
    {
        RequireRoot();
        uint tracepoint = ProgramTests.VmlinuxTypeId("TYPEDEF", "btf_trace_net_dev_queue");
        Assert.True(BpfFeatures.HasHelper(BpfProgramType.Tracing, BpfHelper.SkbOutput, BpfAttachType.TraceRawTp, tracepoint));
        Assert.False(BpfFeatures.HasHelper(BpfProgramType.RawTracepoint, BpfHelper.SkbOutput));
    }

    [Theory]
    [InlineData(BpfAttachKind.TpBtf)]
    [InlineData(BpfAttachKind.RawTracepoint)]
    [InlineData(BpfAttachKind.Tracepoint)]
    public void Attach_kinds_of_this_kernel_are_found(BpfAttachKind kind)
    {
        RequireRoot();
        if (kind == BpfAttachKind.Tracepoint)
            TracingTests.EnsureTracefs();
        Assert.True(BpfFeatures.HasAttachKind(kind), $"probe says the kernel lacks {kind}");
        BpfFeatures.RequireAttachKind(kind);
        Assert.True(BpfFeatures.HasSkbOutput);
    }

    [Fact]
    public void Fentry_and_kprobe_refusals_are_one_precise_line()
    {
        RequireRoot();
        if (BpfFeatures.HasAttachKind(BpfAttachKind.Fentry))
            Assert.Skip("this kernel allows fentry; the refusal is tested where it is refused");
        var fentry = Assert.Throws<BpfNotSupportedException>(() => BpfFeatures.RequireAttachKind(BpfAttachKind.Fentry));
        Assert.Equal("fentry programs are refused by this kernel (EPERM before verification: BPF trampolines are not permitted here); use tp_btf/... or kprobe/... instead", fentry.Message);
        var fexit = Assert.Throws<BpfNotSupportedException>(() => BpfFeatures.RequireAttachKind(BpfAttachKind.Fexit));
        Assert.StartsWith("fexit programs are refused by this kernel (EPERM", fexit.Message);

        if (BpfFeatures.HasKprobes)
            Assert.Skip("this kernel has kprobes");
        Assert.False(BpfFeatures.HasAttachKind(BpfAttachKind.Kprobe));
        var kprobe = Assert.Throws<BpfNotSupportedException>(() => BpfFeatures.RequireAttachKind(BpfAttachKind.Kprobe));
        Assert.StartsWith("not supported: kprobe/... programs needs kprobes (CONFIG_KPROBE_EVENTS;", kprobe.Message);
        Assert.DoesNotContain('\n', kprobe.Message);
    }

    [Fact]
    public void Kprobe_feature_follows_sysfs()
    {
        Assert.Equal(File.Exists("/sys/bus/event_source/devices/kprobe/type"), BpfFeatures.HasKprobes);
    }
}
