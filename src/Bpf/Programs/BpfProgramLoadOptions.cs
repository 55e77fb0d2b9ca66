using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.Programs;

/// <summary>What BPF_PROG_LOAD needs. Defaults: GPL license, verifier log only on failure.</summary>
public sealed class BpfProgramLoadOptions
{
    public required BpfProgramType Type { get; init; }

    public required ReadOnlyMemory<BpfInstruction> Instructions { get; init; }

    /// <summary>Shown in errors and given to the kernel (first 15 characters of [A-Za-z0-9_.]).</summary>
    public string Name { get; init; } = "";

    /// <summary>"GPL" unlocks the GPL-only helpers (bpf_probe_read_kernel, bpf_skb_output, ...).</summary>
    public string License { get; init; } = "GPL";

    public BpfAttachType? ExpectedAttachType { get; init; }

    /// <summary>BTF id of the attach target (kernel function for fentry, btf_trace_* typedef for tp_btf).</summary>
    public uint AttachBtfId { get; init; }

    /// <summary>Module BTF holding <see cref="AttachBtfId"/>; null for vmlinux.</summary>
    public BpfFileDescriptor? AttachBtfObject { get; init; }

    /// <summary>Target program of an extension or of fentry on a BPF program.</summary>
    public BpfFileDescriptor? AttachProgram { get; init; }

    public BpfProgramFlags Flags { get; init; }

    public uint KernelVersion { get; init; }

    /// <summary>The program's own BTF (loaded by BpfBtf.Load), needed for func/line info and BTF-typed globals.</summary>
    public BpfFileDescriptor? Btf { get; init; }

    /// <summary>struct bpf_func_info records, <see cref="FuncInfoRecordSize"/> bytes each.</summary>
    public ReadOnlyMemory<byte> FuncInfo { get; init; }

    public int FuncInfoRecordSize { get; init; } = 8;

    /// <summary>struct bpf_line_info records, <see cref="LineInfoRecordSize"/> bytes each.</summary>
    public ReadOnlyMemory<byte> LineInfo { get; init; }

    public int LineInfoRecordSize { get; init; } = 16;

    /// <summary>Descriptors that BPF_PSEUDO_MAP_IDX loads and kfunc calls refer to by index.</summary>
    public IReadOnlyList<BpfFileDescriptor>? FdArray { get; init; }

    /// <summary>0: log only when the load fails; 1 or 2: always keep the log (2 = every instruction's state).</summary>
    public int LogLevel { get; init; }

    /// <summary>Initial log buffer; it grows on ENOSPC up to <see cref="MaxLogSize"/>.</summary>
    public int LogSize { get; init; } = 64 * 1024;

    public int MaxLogSize { get; init; } = 64 * 1024 * 1024;
}
