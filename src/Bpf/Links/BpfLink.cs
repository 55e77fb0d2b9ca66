using KdtCapture.Bpf.Internal.Sys;
using KdtCapture.Bpf.PerfEvents;
using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Links;

/// <summary>enum bpf_link_type.</summary>
public enum BpfLinkType : uint
{
    Unspecified = 0,
    RawTracepoint = 1,
    Tracing = 2,
    Cgroup = 3,
    Iterator = 4,
    Netns = 5,
    Xdp = 6,
    PerfEvent = 7,
    KprobeMulti = 8,
    StructOps = 9,
    Netfilter = 10,
    Tcx = 11,
    UprobeMulti = 12,
    Netkit = 13,
    SockMap = 14,
}

/// <summary>
/// An attachment of a program to a kernel hook. Links are descriptor-based: closing the descriptor
/// (on Dispose, or when the process dies) detaches the program; nothing is pinned unless
/// <see cref="Pin"/> is called. Tracepoint and kprobe links also own their perf event.
/// </summary>
public sealed unsafe class BpfLink : IDisposable
{
    private BpfLink(BpfFileDescriptor fd, BpfLinkType type, string description, BpfFileDescriptor? perfEvent)
    {
        Fd = fd;
        Type = type;
        Description = description;
        PerfEvent = perfEvent;
    }

    /// <summary>The link descriptor; for perf events attached by ioctl (kernels without perf links) the perf event itself.</summary>
    public BpfFileDescriptor Fd { get; }

    public BpfLinkType Type { get; }

    /// <summary>What is attached where, for messages: "raw_tp/net_dev_queue".</summary>
    public string Description { get; }

    /// <summary>The perf event a tracepoint/kprobe link hangs on, closed with the link.</summary>
    public BpfFileDescriptor? PerfEvent { get; }

    /// <summary>
    /// Attaches a raw tracepoint program (raw_tp/NAME) — or, with a null name, a tracing program loaded
    /// for its attach point (tp_btf/..., fentry/..., fexit/...).
    /// </summary>
    public static BpfLink AttachRawTracepoint(BpfProgram program, string? tracepoint)
    {
        ArgumentNullException.ThrowIfNull(program);
        string description = tracepoint is null ? $"program '{program.Name}' ({program.Type.KernelName()})" : $"raw_tp/{tracepoint}";
        int length = tracepoint is null ? 1 : BpfSyscall.Utf8ZLength(tracepoint);
        Span<byte> name = stackalloc byte[length];
        if (tracepoint is not null)
            BpfSyscall.Utf8Z(tracepoint, name);
        fixed (byte* n = name)
        {
            var attr = new RawTracepointOpenAttr { Name = tracepoint is null ? 0 : (ulong)n, ProgFd = BpfSyscall.FdOf(program.Fd) };
            int errno = BpfSyscall.CallForFd(BpfCommand.RawTracepointOpen, ref attr, out var fd);
            GC.KeepAlive(program);
            if (errno != 0)
                throw new BpfException($"attach {description}", errno);
            // tp_btf programs get a raw tracepoint link, fentry & co. a tracing link: ask the kernel.
            return new BpfLink(fd!, (BpfLinkType)ReadInfo(fd!, description).Type, description, null);
        }
    }

    /// <summary>
    /// BPF_LINK_CREATE: the general attach (XDP and tcx by ifindex, cgroups by fd, tracing by attach
    /// type with an optional BTF id of the target).
    /// </summary>
    public static BpfLink Create(BpfProgram program, BpfAttachType attachType, int targetFdOrIfindex = 0, uint targetBtfId = 0, uint flags = 0, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        description ??= $"program '{program.Name}' ({attachType})";
        var attr = new LinkCreateAttr
        {
            ProgFd = BpfSyscall.FdOf(program.Fd),
            TargetFdOrIfindex = (uint)targetFdOrIfindex,
            AttachType = (uint)attachType,
            Flags = flags,
            TargetBtfIdOrIterInfo = targetBtfId,
        };
        int errno = BpfSyscall.CallForFd(BpfCommand.LinkCreate, ref attr, out var fd);
        GC.KeepAlive(program);
        if (errno != 0)
            throw new BpfException($"attach {description}", errno);
        return new BpfLink(fd!, LinkTypeOf(attachType), description, null);
    }

    /// <summary>Attaches an XDP program to interface <paramref name="ifindex"/>.</summary>
    public static BpfLink AttachXdp(BpfProgram program, int ifindex, uint xdpFlags = 0) =>
        Create(program, BpfAttachType.Xdp, ifindex, 0, xdpFlags, $"xdp on ifindex {ifindex}");

    /// <summary>
    /// Attaches a tracepoint program (tracepoint/CATEGORY/NAME) through its perf event.
    /// <paramref name="usePerfLink"/> false forces the ioctl attachment older kernels need.
    /// </summary>
    public static BpfLink AttachTracepoint(BpfProgram program, string category, string name, bool usePerfLink = true)
    {
        var perf = PerfEventAttach.OpenTracepoint(category, name);
        return AttachPerfEvent(program, perf, $"tracepoint/{category}/{name}", usePerfLink);
    }

    /// <summary>Attaches a kprobe program (kprobe/SYMBOL or kretprobe/SYMBOL).</summary>
    public static BpfLink AttachKprobe(BpfProgram program, string symbol, bool isReturn = false)
    {
        var perf = PerfEventAttach.OpenKprobe(symbol, isReturn);
        return AttachPerfEvent(program, perf, $"{(isReturn ? "kretprobe" : "kprobe")}/{symbol}");
    }

    /// <summary>
    /// Attaches a program to a perf event it takes ownership of: with a perf link where the kernel has
    /// them (5.15+), else with PERF_EVENT_IOC_SET_BPF and ENABLE on the event itself.
    /// </summary>
    public static BpfLink AttachPerfEvent(BpfProgram program, BpfFileDescriptor perfEvent, string description, bool usePerfLink = true)
    {
        ArgumentNullException.ThrowIfNull(program);
        try
        {
            BpfLink? link = null;
            int errno = usePerfLink ? TryPerfLink(program, perfEvent, description, out link) : Errno.EOPNOTSUPP;
            if (link is not null)
                return link;
            if (errno != Errno.EINVAL && errno != Errno.EOPNOTSUPP)
                throw new BpfException($"attach {description}", errno);

            // Older kernels: the perf event itself carries the program, and closing it detaches.
            errno = PerfEventSyscall.Ioctl(perfEvent, PerfEventSyscall.IocSetBpf, BpfSyscall.FdOf(program.Fd));
            GC.KeepAlive(program);
            if (errno != 0)
                throw new BpfException($"attach {description}", errno);
            errno = PerfEventSyscall.Ioctl(perfEvent, PerfEventSyscall.IocEnable, 0);
            if (errno != 0)
                throw new BpfException($"enable {description}", errno);
            return new BpfLink(perfEvent, BpfLinkType.PerfEvent, description, null);
        }
        catch
        {
            perfEvent.Dispose();
            throw;
        }
    }

    /// <summary>BPF_LINK_CREATE on a perf event (5.15+); returns the errno, the link on success.</summary>
    private static int TryPerfLink(BpfProgram program, BpfFileDescriptor perfEvent, string description, out BpfLink? link)
    {
        link = null;
        var attr = new LinkCreateAttr
        {
            ProgFd = BpfSyscall.FdOf(program.Fd),
            TargetFdOrIfindex = BpfSyscall.FdOf(perfEvent),
            AttachType = (uint)BpfAttachType.PerfEvent,
        };
        int errno = BpfSyscall.CallForFd(BpfCommand.LinkCreate, ref attr, out var fd);
        GC.KeepAlive(program);
        GC.KeepAlive(perfEvent);
        if (errno != 0)
            return errno;
        errno = PerfEventSyscall.Ioctl(perfEvent, PerfEventSyscall.IocEnable, 0);
        if (errno != 0)
        {
            fd!.Dispose();
            throw new BpfException($"enable {description}", errno);
        }
        link = new BpfLink(fd!, BpfLinkType.PerfEvent, description, perfEvent);
        return 0;
    }

    /// <summary>Opens a link by kernel id (it stays attached while any descriptor is open).</summary>
    public static BpfLink FromId(uint id)
    {
        int errno = BpfSyscall.FdById(BpfCommand.LinkGetFdById, id, out var fd);
        if (errno != 0)
            throw new BpfException($"open link id {id}", errno);
        var info = ReadInfo(fd!, $"link id {id}");
        return new BpfLink(fd!, (BpfLinkType)info.Type, $"link id {id}", null);
    }

    /// <summary>The kernel's view of the link.</summary>
    public BpfLinkInfo GetInfo()
    {
        var raw = ReadInfo(Fd, Description);
        return new BpfLinkInfo((BpfLinkType)raw.Type, raw.Id, raw.ProgId);
    }

    /// <summary>
    /// Detaches now. Link types that support BPF_LINK_DETACH (XDP, tcx, cgroup, netns, ...) stay
    /// open as "defunct" links; the others are detached by closing the descriptor, as Dispose does.
    /// </summary>
    public void Detach()
    {
        if (Fd.IsClosed)
            return;
        var attr = new FdAttr { Fd = BpfSyscall.FdOf(Fd) };
        int errno = BpfSyscall.Errno0(BpfSyscall.Call(BpfCommand.LinkDetach, ref attr));
        GC.KeepAlive(Fd);
        if (errno == Errno.EOPNOTSUPP || errno == Errno.EINVAL || errno == Errno.ENOTSUPP || (PerfEvent is null && Type == BpfLinkType.PerfEvent))
        {
            Dispose();
            return;
        }
        if (errno != 0)
            throw new BpfException($"detach {Description}", errno);
    }

    /// <summary>Pins the link in bpffs so that it stays attached after this process exits (only when asked).</summary>
    public void Pin(string path) => Maps.BpfPins.Pin(Fd, path, Description);

    public void Dispose()
    {
        Fd.Dispose();
        PerfEvent?.Dispose();
    }

    public override string ToString() => Description;

    private static LinkInfoRaw ReadInfo(BpfFileDescriptor fd, string what)
    {
        var info = default(LinkInfoRaw);
        int errno = BpfSyscall.GetInfo(fd, ref info, out _);
        if (errno != 0)
            throw new BpfException($"get info of {what}", errno);
        return info;
    }

    private static BpfLinkType LinkTypeOf(BpfAttachType attachType) => attachType switch
    {
        BpfAttachType.TraceRawTp or BpfAttachType.TraceFentry or BpfAttachType.TraceFexit or BpfAttachType.ModifyReturn or BpfAttachType.LsmMac => BpfLinkType.Tracing,
        BpfAttachType.TraceIter => BpfLinkType.Iterator,
        BpfAttachType.Xdp => BpfLinkType.Xdp,
        BpfAttachType.PerfEvent => BpfLinkType.PerfEvent,
        BpfAttachType.TcxIngress or BpfAttachType.TcxEgress => BpfLinkType.Tcx,
        BpfAttachType.FlowDissector or BpfAttachType.SkLookup => BpfLinkType.Netns,
        BpfAttachType.TraceKprobeMulti => BpfLinkType.KprobeMulti,
        BpfAttachType.Netfilter => BpfLinkType.Netfilter,
        _ => BpfLinkType.Cgroup,
    };
}

/// <summary>What the kernel reports about a link.</summary>
public sealed record BpfLinkInfo(BpfLinkType Type, uint Id, uint ProgramId);
