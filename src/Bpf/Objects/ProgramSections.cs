using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Objects;

/// <summary>What a program's ELF section says about how it attaches.</summary>
public enum ProgramSectionKind
{
    SocketFilter,
    Kprobe,
    Kretprobe,
    Tracepoint,
    RawTracepoint,
    /// <summary>BTF-typed raw tracepoint (tp_btf/NAME).</summary>
    TracingRawTracepoint,
    Fentry,
    Fexit,
    ModifyReturn,
    Lsm,
    Iterator,
    Xdp,
    SchedClassifier,
    SchedAction,
    CgroupSkbIngress,
    CgroupSkbEgress,
    PerfEvent,
}

/// <summary>A row of the section table: the section's prefix and what it means for the kernel.</summary>
/// <param name="Prefix">"socket", "tp_btf/", ...: a prefix ending in '/' takes the attach target after it.</param>
/// <param name="ExpectedAttachType">Given at load time; null when the program type takes none.</param>
public sealed record ProgramSectionDefinition(string Prefix, ProgramSectionKind Kind, BpfProgramType ProgramType, BpfAttachType? ExpectedAttachType, bool TargetRequired)
{
    /// <summary>"btf_trace_" for tp_btf, "bpf_iter_" for iter: where the attach target's BTF id is found.</summary>
    public string? BtfTargetPrefix { get; init; }

    /// <summary>The load needs the kernel BTF id of the target (tp_btf, fentry, fexit, fmod_ret, lsm, iter).</summary>
    public bool NeedsBtfTarget => ProgramType is BpfProgramType.Tracing or BpfProgramType.Lsm;
}

/// <summary>
/// The table of section names clang-built objects use (as libbpf reads them) and what each
/// means: program type, expected attach type, and the attach target named after the prefix.
/// </summary>
public static class ProgramSections
{
    /// <summary>Searched in order; the first prefix that matches wins.</summary>
    public static IReadOnlyList<ProgramSectionDefinition> Table { get; } =
    [
        new("socket", ProgramSectionKind.SocketFilter, BpfProgramType.SocketFilter, null, false),
        new("kprobe/", ProgramSectionKind.Kprobe, BpfProgramType.Kprobe, null, true),
        new("kretprobe/", ProgramSectionKind.Kretprobe, BpfProgramType.Kprobe, null, true),
        new("tracepoint/", ProgramSectionKind.Tracepoint, BpfProgramType.Tracepoint, null, true),
        new("tp_btf/", ProgramSectionKind.TracingRawTracepoint, BpfProgramType.Tracing, BpfAttachType.TraceRawTp, true) { BtfTargetPrefix = "btf_trace_" },
        new("tp/", ProgramSectionKind.Tracepoint, BpfProgramType.Tracepoint, null, true),
        new("raw_tracepoint/", ProgramSectionKind.RawTracepoint, BpfProgramType.RawTracepoint, null, true),
        new("raw_tp/", ProgramSectionKind.RawTracepoint, BpfProgramType.RawTracepoint, null, true),
        new("fentry/", ProgramSectionKind.Fentry, BpfProgramType.Tracing, BpfAttachType.TraceFentry, true),
        new("fexit/", ProgramSectionKind.Fexit, BpfProgramType.Tracing, BpfAttachType.TraceFexit, true),
        new("fmod_ret/", ProgramSectionKind.ModifyReturn, BpfProgramType.Tracing, BpfAttachType.ModifyReturn, true),
        new("lsm/", ProgramSectionKind.Lsm, BpfProgramType.Lsm, BpfAttachType.LsmMac, true) { BtfTargetPrefix = "bpf_lsm_" },
        new("iter/", ProgramSectionKind.Iterator, BpfProgramType.Tracing, BpfAttachType.TraceIter, true) { BtfTargetPrefix = "bpf_iter_" },
        new("xdp", ProgramSectionKind.Xdp, BpfProgramType.Xdp, BpfAttachType.Xdp, false),
        new("tc", ProgramSectionKind.SchedClassifier, BpfProgramType.SchedCls, null, false),
        new("classifier", ProgramSectionKind.SchedClassifier, BpfProgramType.SchedCls, null, false),
        new("action", ProgramSectionKind.SchedAction, BpfProgramType.SchedAct, null, false),
        new("cgroup_skb/ingress", ProgramSectionKind.CgroupSkbIngress, BpfProgramType.CgroupSkb, BpfAttachType.CgroupInetIngress, false),
        new("cgroup_skb/egress", ProgramSectionKind.CgroupSkbEgress, BpfProgramType.CgroupSkb, BpfAttachType.CgroupInetEgress, false),
        new("perf_event", ProgramSectionKind.PerfEvent, BpfProgramType.PerfEvent, null, false),
    ];

    /// <summary>
    /// Finds the definition for a section name and the attach target after its prefix ("" if none).
    /// A prefix without '/' matches the whole name or the name followed by '/' ("socket", "socket/x", "xdp/foo").
    /// </summary>
    public static bool TryMatch(string sectionName, out ProgramSectionDefinition definition, out string target)
    {
        foreach (var d in Table)
        {
            if (d.Prefix.EndsWith('/'))
            {
                if (sectionName.StartsWith(d.Prefix, StringComparison.Ordinal) && sectionName.Length > d.Prefix.Length)
                {
                    definition = d;
                    target = sectionName[d.Prefix.Length..];
                    return true;
                }
            }
            else if (sectionName == d.Prefix
                || (sectionName.StartsWith(d.Prefix, StringComparison.Ordinal) && sectionName[d.Prefix.Length] == '/'))
            {
                definition = d;
                target = sectionName.Length > d.Prefix.Length ? sectionName[(d.Prefix.Length + 1)..] : "";
                return true;
            }
        }
        definition = null!;
        target = "";
        return false;
    }
}
