using System.Collections.Concurrent;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Internal.Sys;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Features;

/// <summary>
/// What the running kernel supports, found by loading tiny probe programs and creating tiny maps
/// (as libbpf's features.c and cilium's features package do). Answers are cached per process;
/// <c>Require*</c> methods turn a "no" into a <see cref="BpfNotSupportedException"/> naming what is missing.
/// </summary>
public static class BpfFeatures
{
    private static readonly ConcurrentDictionary<BpfProgramType, bool> ProgramTypes = new();
    private static readonly ConcurrentDictionary<BpfMapType, bool> MapTypes = new();
    private static readonly ConcurrentDictionary<(BpfProgramType, int, BpfAttachType?, uint), bool> Helpers = new();
    private static readonly ConcurrentDictionary<(BpfProgramType, BpfAttachType), TrampolineVerdict> Trampolines = new();

    /// <summary>
    /// Whether the calling thread may load BPF programs at all (a one-instruction socket filter
    /// loads). Not cached: capabilities are per thread and can be dropped.
    /// </summary>
    public static bool CanLoadPrograms =>
        RawLoad(BpfProgramType.SocketFilter, null, 0, [Asm.Asm.Mov64(BpfRegister.R0, 0), Asm.Asm.Exit()], out string _) == 0;

    /// <summary>Whether a probe for <paramref name="type"/> already ran; null if not.</summary>
    internal static bool? TryCachedProgramType(BpfProgramType type) => ProgramTypes.TryGetValue(type, out bool known) ? known : null;

    /// <summary>Whether the kernel knows the program type (probed by loading "r0 = 0; exit").</summary>
    public static bool HasProgramType(BpfProgramType type) => ProgramTypes.GetOrAdd(type, ProbeProgramType);

    /// <summary>Whether the kernel can create maps of <paramref name="type"/>.</summary>
    public static bool HasMapType(BpfMapType type) => MapTypes.GetOrAdd(type, ProbeMapType);

    /// <summary>
    /// Whether programs of <paramref name="type"/> may call helper <paramref name="helperId"/>. Tracing
    /// programs need their attach point (<paramref name="attachType"/>, <paramref name="attachBtfId"/>).
    /// </summary>
    public static bool HasHelper(BpfProgramType type, int helperId, BpfAttachType? attachType = null, uint attachBtfId = 0) =>
        Helpers.GetOrAdd((type, helperId, attachType, attachBtfId), key => ProbeHelper(key.Item1, key.Item2, key.Item3, key.Item4));

    /// <summary>
    /// Whether fentry/fexit/fmod_ret/lsm programs (BPF trampolines) may be loaded. The kernel checks
    /// this before verification, so any function's BTF id answers it; pass one (e.g. of a kernel
    /// function) — 0 still distinguishes EPERM from "accepted up to the missing target".
    /// </summary>
    public static bool HasTrampolines(BpfAttachType kind = BpfAttachType.TraceFentry, uint functionBtfId = 0) =>
        ProbeTrampoline(kind == BpfAttachType.LsmMac ? BpfProgramType.Lsm : BpfProgramType.Tracing, kind, functionBtfId) == TrampolineVerdict.Allowed;

    public static void RequireProgramType(BpfProgramType type)
    {
        if (!HasProgramType(type))
            throw BpfNotSupportedException.Needs(type.KernelName(), $"program type {type.KernelName()}", "a kernel with BPF_PROG_TYPE_" + type.KernelName().ToUpperInvariant());
    }

    public static void RequireMapType(BpfMapType type)
    {
        if (HasMapType(type))
            return;
        string requirement = type switch
        {
            BpfMapType.RingBuf => "Linux 5.8 or later (BPF_MAP_TYPE_RINGBUF)",
            BpfMapType.LruHash or BpfMapType.LruPerCpuHash => "Linux 4.10 or later",
            BpfMapType.PerCpuArray or BpfMapType.PerCpuHash => "Linux 4.6 or later",
            _ => "a kernel with BPF_MAP_TYPE_" + type.KernelName().ToUpperInvariant(),
        };
        throw BpfNotSupportedException.Needs(type.KernelName(), $"{type.KernelName()} maps", requirement);
    }

    public static void RequireHelper(BpfProgramType type, int helperId, BpfAttachType? attachType = null, uint attachBtfId = 0)
    {
        if (!HasHelper(type, helperId, attachType, attachBtfId))
        {
            string helper = BpfHelper.Name(helperId) ?? "helper #" + helperId;
            throw BpfNotSupportedException.Needs(helper, $"{helper} in {type.KernelName()} programs", "a kernel that offers this helper to this program type");
        }
    }

    /// <summary>Throws the one-line refusal when trampolines (fentry & co.) are not allowed.</summary>
    public static void RequireTrampolines(BpfAttachType kind = BpfAttachType.TraceFentry, uint functionBtfId = 0)
    {
        var type = kind == BpfAttachType.LsmMac ? BpfProgramType.Lsm : BpfProgramType.Tracing;
        switch (ProbeTrampoline(type, kind, functionBtfId))
        {
            case TrampolineVerdict.Allowed:
                return;
            case TrampolineVerdict.Refused:
                string name = TrampolineKindName(type, kind);
                throw new BpfNotSupportedException(name,
                    $"{name} programs are refused by this kernel (EPERM before verification: BPF trampolines are not permitted here); use tp_btf/... or kprobe/... instead",
                    Errno.EPERM);
            default:
                throw BpfNotSupportedException.Needs(TrampolineKindName(type, kind), $"{TrampolineKindName(type, kind)} programs",
                    "Linux 5.5 or later with BTF (CONFIG_DEBUG_INFO_BTF) and BPF trampolines (x86-64 or arm64)");
        }
    }

    private static readonly ConcurrentDictionary<BpfAttachKind, bool> AttachKinds = new();

    /// <summary>Whether programs can attach this way on the running kernel (probed once, then cached).</summary>
    public static bool HasAttachKind(BpfAttachKind kind) => AttachKinds.GetOrAdd(kind, ProbeAttachKind);

    /// <summary>Throws a one-line <see cref="BpfNotSupportedException"/> saying what <paramref name="kind"/> needs.</summary>
    public static void RequireAttachKind(BpfAttachKind kind)
    {
        if (HasAttachKind(kind))
            return;
        switch (kind)
        {
            case BpfAttachKind.Fentry:
                RequireTrampolines(BpfAttachType.TraceFentry, AnyKernelFunctionId() ?? 0);
                break;
            case BpfAttachKind.Fexit:
                RequireTrampolines(BpfAttachType.TraceFexit, AnyKernelFunctionId() ?? 0);
                break;
            case BpfAttachKind.FmodRet:
                RequireTrampolines(BpfAttachType.ModifyReturn, AnyKernelFunctionId() ?? 0);
                break;
            case BpfAttachKind.Lsm:
                RequireTrampolines(BpfAttachType.LsmMac, AnyKernelFunctionId() ?? 0);
                break;
        }
        throw kind switch
        {
            BpfAttachKind.TpBtf => BpfNotSupportedException.Needs("tp_btf", "tp_btf/... programs", "Linux 5.5 or later with kernel BTF (/sys/kernel/btf/vmlinux)"),
            BpfAttachKind.RawTracepoint => BpfNotSupportedException.Needs("raw_tp", "raw_tp/... programs", "Linux 4.17 or later"),
            BpfAttachKind.Tracepoint => BpfNotSupportedException.Needs("tracepoint", "tracepoint/... programs", "tracefs mounted at /sys/kernel/tracing and tracepoint programs (Linux 4.7)"),
            BpfAttachKind.Kprobe => BpfNotSupportedException.Needs("kprobe", "kprobe/... programs",
                $"kprobes (CONFIG_KPROBE_EVENTS; {PerfEvents.PerfEventAttach.KprobeTypePath} is absent on this kernel) — use tp_btf/... or fentry/... instead"),
            _ => BpfNotSupportedException.Needs(kind.ToString(), kind + " programs", "BPF trampolines"),
        };
    }

    /// <summary>bpf_skb_output from a tp_btf program (what the packet taps use).</summary>
    public static bool HasSkbOutput =>
        TracepointTypeId() is uint id && HasHelper(BpfProgramType.Tracing, BpfHelper.SkbOutput, BpfAttachType.TraceRawTp, id);

    private static bool ProbeAttachKind(BpfAttachKind kind)
    {
        switch (kind)
        {
            case BpfAttachKind.TpBtf:
                if (TracepointTypeId() is not uint tracepoint)
                    return false;
                return RawLoad(BpfProgramType.Tracing, BpfAttachType.TraceRawTp, tracepoint, [Asm.Asm.Mov64(BpfRegister.R0, 0), Asm.Asm.Exit()], out string _) == 0;
            case BpfAttachKind.RawTracepoint:
                return RawLoad(BpfProgramType.RawTracepoint, null, 0, [Asm.Asm.Mov64(BpfRegister.R0, 0), Asm.Asm.Exit()], out string _) == 0;
            case BpfAttachKind.Tracepoint:
                return PerfEvents.PerfEventAttach.TracefsRoot is not null &&
                       RawLoad(BpfProgramType.Tracepoint, null, 0, [Asm.Asm.Mov64(BpfRegister.R0, 0), Asm.Asm.Exit()], out string _) == 0;
            case BpfAttachKind.Kprobe:
                return HasKprobes && RawLoad(BpfProgramType.Kprobe, null, 0, [Asm.Asm.Mov64(BpfRegister.R0, 0), Asm.Asm.Exit()], out string _) == 0;
            default:
                var attach = kind switch
                {
                    BpfAttachKind.Fexit => BpfAttachType.TraceFexit,
                    BpfAttachKind.FmodRet => BpfAttachType.ModifyReturn,
                    BpfAttachKind.Lsm => BpfAttachType.LsmMac,
                    _ => BpfAttachType.TraceFentry,
                };
                return AnyKernelFunctionId() is uint function && HasTrampolines(attach, function);
        }
    }

    /// <summary>The BTF id of a raw tracepoint's typedef (btf_trace_net_dev_queue, else any btf_trace_*); null without kernel BTF.</summary>
    private static uint? TracepointTypeId()
    {
        var btf = KernelBtf();
        if (btf is null)
            return null;
        if (btf.TryFind("btf_trace_net_dev_queue", Btf.BtfKind.Typedef, out var type) || btf.TryFind("btf_trace_sched_switch", Btf.BtfKind.Typedef, out type))
            return (uint)type.Id;
        return null;
    }

    /// <summary>The BTF id of a kernel function every kernel has, for trampoline probes; null without kernel BTF.</summary>
    private static uint? AnyKernelFunctionId()
    {
        var btf = KernelBtf();
        if (btf is null)
            return null;
        foreach (string name in (string[])["ksys_read", "vfs_read", "do_sys_openat2", "schedule"])
        {
            if (btf.TryFind(name, Btf.BtfKind.Function, out var function))
                return (uint)function.Id;
        }
        return null;
    }

    private static Btf.Btf? KernelBtf()
    {
        if (!File.Exists(Btf.Btf.KernelPath))
            return null;
        try
        {
            return Btf.Btf.Kernel;
        }
        catch (Btf.BtfFormatException)
        {
            return null;
        }
    }

    /// <summary>Probes kprobe attachment: the kprobe PMU must exist in sysfs.</summary>
    public static bool HasKprobes => File.Exists(PerfEvents.PerfEventAttach.KprobeTypePath);

    internal static bool IsTrampolineKind(BpfProgramType type, BpfAttachType? attach) =>
        type == BpfProgramType.Lsm ||
        (type == BpfProgramType.Tracing && attach is BpfAttachType.TraceFentry or BpfAttachType.TraceFexit or BpfAttachType.ModifyReturn);

    internal static string TrampolineKindName(BpfProgramType type, BpfAttachType? attach) =>
        type == BpfProgramType.Lsm ? "lsm" : attach switch
        {
            BpfAttachType.TraceFexit => "fexit",
            BpfAttachType.ModifyReturn => "fmod_ret",
            _ => "fentry",
        };

    private enum TrampolineVerdict { Allowed, Refused, Unsupported }

    private static TrampolineVerdict ProbeTrampoline(BpfProgramType type, BpfAttachType kind, uint btfId) =>
        Trampolines.GetOrAdd((type, kind), _ =>
        {
            int errno = RawLoad(type, kind, btfId, [Asm.Asm.Mov64(BpfRegister.R0, 0), Asm.Asm.Exit()], out string _);
            return errno switch
            {
                0 => TrampolineVerdict.Allowed,
                Errno.EPERM when CanLoadPrograms => TrampolineVerdict.Refused,
                // Without a valid target the verifier stops at the attach point: the kind itself passed.
                Errno.EINVAL or Errno.ESRCH or Errno.ENOENT when btfId == 0 => TrampolineVerdict.Allowed,
                _ => TrampolineVerdict.Unsupported,
            };
        });

    private static bool ProbeProgramType(BpfProgramType type)
    {
        BpfAttachType? attach = type switch
        {
            BpfProgramType.CgroupSockAddr => BpfAttachType.CgroupInet4Connect,
            BpfProgramType.CgroupSockopt => BpfAttachType.CgroupGetsockopt,
            BpfProgramType.SkLookup => BpfAttachType.SkLookup,
            BpfProgramType.Tracing => BpfAttachType.TraceRawTp,
            _ => null,
        };
        int errno = RawLoad(type, attach, 0, [Asm.Asm.Mov64(BpfRegister.R0, 0), Asm.Asm.Exit()], out string log);
        if (errno == 0 || (errno != Errno.EINVAL && errno != Errno.E2BIG))
            return true;
        // An unknown type is refused with EINVAL before the verifier starts; a known type that needs
        // more than this probe gives (an attach target, BTF) reaches the verifier, which logs why.
        return log.Length > 0;
    }

    private static bool ProbeMapType(BpfMapType type)
    {
        int page = Environment.SystemPageSize;
        var options = type switch
        {
            BpfMapType.RingBuf => new BpfMapCreateOptions { Type = type, MaxEntries = page },
            BpfMapType.PerfEventArray => new BpfMapCreateOptions { Type = type, KeySize = 4, ValueSize = 4, MaxEntries = 1 },
            BpfMapType.Queue or BpfMapType.Stack or BpfMapType.BloomFilter => new BpfMapCreateOptions { Type = type, ValueSize = 4, MaxEntries = 1 },
            BpfMapType.LpmTrie => new BpfMapCreateOptions { Type = type, KeySize = 8, ValueSize = 4, MaxEntries = 1, Flags = BpfMapFlags.NoPreallocation },
            _ => new BpfMapCreateOptions { Type = type, KeySize = 4, ValueSize = 4, MaxEntries = 1 },
        };
        try
        {
            using var map = BpfMap.Create(options);
            return true;
        }
        catch (BpfException e) when (e.Errno is Errno.EINVAL or Errno.E2BIG or Errno.EOPNOTSUPP or Errno.ENOTSUPP)
        {
            return false;
        }
    }

    private static bool ProbeHelper(BpfProgramType type, int helperId, BpfAttachType? attach, uint btfId)
    {
        int errno = RawLoad(type, attach, btfId, [Asm.Asm.Call(helperId), Asm.Asm.Mov64(BpfRegister.R0, 0), Asm.Asm.Exit()], out string log);
        if (errno == 0)
            return true;
        // The verifier names an unavailable helper; any other complaint (argument types) means it exists.
        return !(log.Contains("invalid func ", StringComparison.Ordinal) || log.Contains("unknown func ", StringComparison.Ordinal) ||
                 log.Contains("program of this type cannot use helper", StringComparison.Ordinal) || (errno == Errno.EINVAL && log.Length == 0));
    }

    private static unsafe int RawLoad(BpfProgramType type, BpfAttachType? attach, uint btfId, BpfInstruction[] instructions, out string log)
    {
        byte[] logBuffer = new byte[16 * 1024];
        ReadOnlySpan<byte> license = "GPL\0"u8;
        fixed (BpfInstruction* insns = instructions)
        fixed (byte* lic = license)
        fixed (byte* logPtr = logBuffer)
        {
            var attr = new ProgLoadAttr
            {
                ProgType = (uint)type,
                InsnCount = (uint)instructions.Length,
                Insns = (ulong)insns,
                License = (ulong)lic,
                LogLevel = 1,
                LogSize = (uint)logBuffer.Length,
                LogBuf = (ulong)logPtr,
                ExpectedAttachType = attach is { } a ? (uint)a : 0,
                AttachBtfId = btfId,
                ProgName = ObjectName.From("kdt_probe"),
            };
            int errno = BpfSyscall.CallForFd(BpfCommand.ProgLoad, ref attr, out var fd);
            fd?.Dispose();
            int end = Array.IndexOf(logBuffer, (byte)0);
            log = System.Text.Encoding.UTF8.GetString(logBuffer, 0, end < 0 ? logBuffer.Length : end);
            return errno;
        }
    }
}
