using KdtCapture.Bpf.Btf;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Programs;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Toolkit.Trace;

/// <summary>Whether this kernel (and this process) can run a tool, and if not, why in one sentence.</summary>
public static class TraceSupport
{
    /// <summary>Null when <paramref name="tool"/> can run here; otherwise the reason.</summary>
    public static string? WhyNot(TraceTool tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        return WhyNot(tool.Name, tool.Tracepoints);
    }

    internal static string? WhyNot(string name, IReadOnlyList<string> tracepoints)
    {
        if (!File.Exists(BtfData.KernelPath))
            return $"{name} needs the kernel's BTF ({BtfData.KernelPath}), which this kernel was built without (CONFIG_DEBUG_INFO_BTF)";
        var btf = BtfData.Kernel;
        foreach (string tp in tracepoints)
        {
            if (!btf.TryFind(BtfTracepoint.TypedefPrefix + tp, BtfKind.Typedef, out _))
                return $"{name} needs the tracepoint {tp}, which this kernel does not have";
        }
        if (!BpfFeatures.CanLoadPrograms)
            return $"{name} needs to load BPF programs: run it as root (or with CAP_BPF and CAP_PERFMON)";
        if (!BpfFeatures.HasProgramType(BpfProgramType.Tracing))
            return $"{name} needs BTF-typed tracepoint programs (tp_btf), which this kernel refuses";
        return null;
    }
}
