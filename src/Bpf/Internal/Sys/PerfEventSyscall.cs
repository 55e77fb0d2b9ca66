using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Internal.Sys;

/// <summary>struct perf_event_attr (include/uapi/linux/perf_event.h), PERF_ATTR_SIZE_VER5 fields.</summary>
[StructLayout(LayoutKind.Explicit, Size = SizeOf)]
internal struct PerfEventAttr
{
    public const int SizeOf = 112;

    public const uint TypeHardware = 0, TypeSoftware = 1, TypeTracepoint = 2;
    public const ulong SoftwareBpfOutput = 10;
    public const ulong SampleRaw = 1 << 10;

    // Flag bits in the 64-bit bitfield word at offset 40.
    public const ulong FlagDisabled = 1 << 0, FlagInherit = 1 << 1, FlagWatermark = 1 << 14;

    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Size;
    [FieldOffset(8)] public ulong Config;
    [FieldOffset(16)] public ulong SamplePeriodOrFreq;
    [FieldOffset(24)] public ulong SampleType;
    [FieldOffset(32)] public ulong ReadFormat;
    [FieldOffset(40)] public ulong Flags;
    [FieldOffset(48)] public uint WakeupEventsOrWatermark;
    [FieldOffset(52)] public uint BpType;
    [FieldOffset(56)] public ulong Config1;
    [FieldOffset(64)] public ulong Config2;
    [FieldOffset(72)] public ulong BranchSampleType;
    [FieldOffset(80)] public ulong SampleRegsUser;
    [FieldOffset(88)] public uint SampleStackUser;
    [FieldOffset(92)] public int ClockId;
    [FieldOffset(96)] public ulong SampleRegsIntr;
    [FieldOffset(104)] public uint AuxWatermark;
    [FieldOffset(108)] public ushort SampleMaxStack;
}

/// <summary>perf_event_open(2) and the perf ioctls BPF attachment uses.</summary>
internal static unsafe class PerfEventSyscall
{
    private static readonly long Number = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 298,
        Architecture.Arm64 or Architecture.LoongArch64 or Architecture.RiscV64 => 241,
        Architecture.X86 => 336,
        Architecture.Arm => 364,
        Architecture.Ppc64le => 319,
        Architecture.S390x => 331,
        _ => -1,
    };

    // _IO('$', 0), _IO('$', 1), _IOW('$', 8, __u32)
    public const ulong IocEnable = 0x2400, IocDisable = 0x2401, IocSetBpf = 0x40042408;

    private const long PerfFlagFdCloexec = 1 << 3;

    public static int TryOpen(ref PerfEventAttr attr, int pid, int cpu, out BpfFileDescriptor? fd)
    {
        fixed (PerfEventAttr* p = &attr)
        {
            long result = LibC.Syscall(Number, (long)p, pid, cpu, -1, PerfFlagFdCloexec);
            if (result < 0)
            {
                fd = null;
                return Marshal.GetLastPInvokeError();
            }
            fd = new BpfFileDescriptor((int)result);
            return 0;
        }
    }

    public static BpfFileDescriptor Open(ref PerfEventAttr attr, int pid, int cpu, string what)
    {
        int errno = TryOpen(ref attr, pid, cpu, out var fd);
        if (errno != 0)
            throw new BpfException(what, errno);
        return fd!;
    }

    public static int Ioctl(BpfFileDescriptor fd, ulong request, long argument)
    {
        bool added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            return LibC.Ioctl((int)fd.DangerousGetHandle(), request, argument) < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        finally
        {
            if (added)
                fd.DangerousRelease();
        }
    }
}
