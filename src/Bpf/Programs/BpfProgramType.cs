namespace KdtCapture.Bpf.Programs;

/// <summary>enum bpf_prog_type, with .NET names.</summary>
public enum BpfProgramType : uint
{
    Unspecified = 0,
    SocketFilter = 1,
    Kprobe = 2,
    SchedCls = 3,
    SchedAct = 4,
    Tracepoint = 5,
    Xdp = 6,
    PerfEvent = 7,
    CgroupSkb = 8,
    CgroupSock = 9,
    LwtIn = 10,
    LwtOut = 11,
    LwtXmit = 12,
    SockOps = 13,
    SkSkb = 14,
    CgroupDevice = 15,
    SkMsg = 16,
    RawTracepoint = 17,
    CgroupSockAddr = 18,
    LwtSeg6Local = 19,
    LircMode2 = 20,
    SkReuseport = 21,
    FlowDissector = 22,
    CgroupSysctl = 23,
    RawTracepointWritable = 24,
    CgroupSockopt = 25,
    Tracing = 26,
    StructOps = 27,
    Extension = 28,
    Lsm = 29,
    SkLookup = 30,
    Syscall = 31,
    Netfilter = 32,
}

/// <summary>enum bpf_attach_type, with .NET names (the ones the runtime uses).</summary>
public enum BpfAttachType : uint
{
    CgroupInetIngress = 0,
    CgroupInetEgress = 1,
    CgroupInetSockCreate = 2,
    CgroupSockOps = 3,
    SkSkbStreamParser = 4,
    SkSkbStreamVerdict = 5,
    CgroupDevice = 6,
    SkMsgVerdict = 7,
    CgroupInet4Bind = 8,
    CgroupInet6Bind = 9,
    CgroupInet4Connect = 10,
    CgroupInet6Connect = 11,
    CgroupInet4PostBind = 12,
    CgroupInet6PostBind = 13,
    CgroupUdp4Sendmsg = 14,
    CgroupUdp6Sendmsg = 15,
    LircMode2 = 16,
    FlowDissector = 17,
    CgroupSysctl = 18,
    CgroupUdp4Recvmsg = 19,
    CgroupUdp6Recvmsg = 20,
    CgroupGetsockopt = 21,
    CgroupSetsockopt = 22,
    TraceRawTp = 23,
    TraceFentry = 24,
    TraceFexit = 25,
    ModifyReturn = 26,
    LsmMac = 27,
    TraceIter = 28,
    CgroupInet4Getpeername = 29,
    CgroupInet6Getpeername = 30,
    CgroupInet4Getsockname = 31,
    CgroupInet6Getsockname = 32,
    XdpDevmap = 33,
    CgroupInetSockRelease = 34,
    XdpCpumap = 35,
    SkLookup = 36,
    Xdp = 37,
    SkSkbVerdict = 38,
    SkReuseportSelect = 39,
    SkReuseportSelectOrMigrate = 40,
    PerfEvent = 41,
    TraceKprobeMulti = 42,
    LsmCgroup = 43,
    StructOps = 44,
    Netfilter = 45,
    TcxIngress = 46,
    TcxEgress = 47,
    TraceUprobeMulti = 48,
}

/// <summary>BPF_F_* program load flags.</summary>
[Flags]
public enum BpfProgramFlags : uint
{
    None = 0,
    StrictAlignment = 1 << 0,
    AnyAlignment = 1 << 1,
    TestRandomHi32 = 1 << 2,
    TestStateFreq = 1 << 3,
    Sleepable = 1 << 4,
    XdpHasFrags = 1 << 5,
}

public static class BpfProgramTypeExtensions
{
    /// <summary>The kernel's name, as bpftool prints it ("socket_filter", "tracing").</summary>
    public static string KernelName(this BpfProgramType type) => type switch
    {
        BpfProgramType.SocketFilter => "socket_filter",
        BpfProgramType.Kprobe => "kprobe",
        BpfProgramType.SchedCls => "sched_cls",
        BpfProgramType.SchedAct => "sched_act",
        BpfProgramType.Tracepoint => "tracepoint",
        BpfProgramType.Xdp => "xdp",
        BpfProgramType.PerfEvent => "perf_event",
        BpfProgramType.RawTracepoint => "raw_tracepoint",
        BpfProgramType.Tracing => "tracing",
        BpfProgramType.Lsm => "lsm",
        BpfProgramType.Extension => "ext",
        _ => type.ToString().ToLowerInvariant(),
    };
}
