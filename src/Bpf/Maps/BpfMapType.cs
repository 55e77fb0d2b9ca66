namespace KdtCapture.Bpf.Maps;

/// <summary>enum bpf_map_type, with .NET names.</summary>
public enum BpfMapType : uint
{
    Unspecified = 0,
    Hash = 1,
    Array = 2,
    ProgramArray = 3,
    PerfEventArray = 4,
    PerCpuHash = 5,
    PerCpuArray = 6,
    StackTrace = 7,
    CgroupArray = 8,
    LruHash = 9,
    LruPerCpuHash = 10,
    LpmTrie = 11,
    ArrayOfMaps = 12,
    HashOfMaps = 13,
    DevMap = 14,
    SockMap = 15,
    CpuMap = 16,
    XskMap = 17,
    SockHash = 18,
    CgroupStorage = 19,
    ReusePortSockArray = 20,
    PerCpuCgroupStorage = 21,
    Queue = 22,
    Stack = 23,
    SkStorage = 24,
    DevMapHash = 25,
    StructOps = 26,
    RingBuf = 27,
    InodeStorage = 28,
    TaskStorage = 29,
    BloomFilter = 30,
    UserRingBuf = 31,
    CgroupStorageNew = 32,
    Arena = 33,
}

/// <summary>Map creation flags (BPF_F_*).</summary>
[Flags]
public enum BpfMapFlags : uint
{
    None = 0,
    NoPreallocation = 1 << 0,
    NoCommonLru = 1 << 1,
    NumaNode = 1 << 2,
    ReadOnly = 1 << 3,
    WriteOnly = 1 << 4,
    StackBuildId = 1 << 5,
    ZeroSeed = 1 << 6,
    ReadOnlyProgram = 1 << 7,
    WriteOnlyProgram = 1 << 8,
    Clone = 1 << 9,
    Mmapable = 1 << 10,
    PreserveElements = 1 << 11,
    InnerMap = 1 << 12,
}

/// <summary>How an update treats an existing key (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).</summary>
public enum BpfMapUpdate : ulong
{
    Any = 0,
    NoExist = 1,
    Exist = 2,
    Lock = 4,
}

public static class BpfMapTypeExtensions
{
    /// <summary>Per-CPU maps hold one value per possible CPU, each rounded up to 8 bytes.</summary>
    public static bool IsPerCpu(this BpfMapType type) =>
        type is BpfMapType.PerCpuHash or BpfMapType.PerCpuArray or BpfMapType.LruPerCpuHash or BpfMapType.PerCpuCgroupStorage;

    /// <summary>The kernel's name for the type, as bpftool prints it.</summary>
    public static string KernelName(this BpfMapType type) => type switch
    {
        BpfMapType.Hash => "hash",
        BpfMapType.Array => "array",
        BpfMapType.ProgramArray => "prog_array",
        BpfMapType.PerfEventArray => "perf_event_array",
        BpfMapType.PerCpuHash => "percpu_hash",
        BpfMapType.PerCpuArray => "percpu_array",
        BpfMapType.StackTrace => "stack_trace",
        BpfMapType.LruHash => "lru_hash",
        BpfMapType.LruPerCpuHash => "lru_percpu_hash",
        BpfMapType.LpmTrie => "lpm_trie",
        BpfMapType.RingBuf => "ringbuf",
        _ => type.ToString().ToLowerInvariant(),
    };
}
