namespace KdtCapture.Bpf.Features;

/// <summary>The ways a tracing program reaches a kernel hook, as named in section names and tap specs.</summary>
public enum BpfAttachKind
{
    /// <summary>tp_btf/NAME: a BTF-typed raw tracepoint (Linux 5.5).</summary>
    TpBtf,
    /// <summary>raw_tp/NAME (Linux 4.17).</summary>
    RawTracepoint,
    /// <summary>tracepoint/CATEGORY/NAME through a perf event.</summary>
    Tracepoint,
    /// <summary>fentry/FUNC: a BPF trampoline at function entry.</summary>
    Fentry,
    /// <summary>fexit/FUNC: a BPF trampoline at function return.</summary>
    Fexit,
    /// <summary>fmod_ret/FUNC.</summary>
    FmodRet,
    /// <summary>lsm/HOOK.</summary>
    Lsm,
    /// <summary>kprobe/FUNC and kretprobe/FUNC through the kprobe PMU.</summary>
    Kprobe,
}
