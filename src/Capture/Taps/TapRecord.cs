using System.Buffers.Binary;

namespace KdtCapture.Capture.Taps;

/// <summary>
/// A view of one <c>struct kdt_tap_record</c> (native/bpf-progs/include/kdt_tap.h) at the start of a
/// perf sample, followed by the bytes appended from skb->data. Offsets are the C struct's (a test
/// compares them with its BTF).
/// </summary>
public readonly ref struct TapRecord
{
    public const int Size = 184;
    public const int PrefixMax = 64;

    internal const int OffsetTimestamp = 0, OffsetSkb = 8, OffsetPidTgid = 16, OffsetRetval = 24, OffsetLocation = 32;
    internal const int OffsetLen = 40, OffsetDataLen = 44, OffsetIfindex = 48, OffsetMark = 52, OffsetNetns = 56, OffsetCpu = 60;
    internal const int OffsetWireLen = 64, OffsetCapLen = 68, OffsetReason = 72, OffsetProtocol = 76, OffsetDevType = 78;
    internal const int OffsetMacHeader = 80, OffsetNetworkHeader = 82, OffsetDataOffset = 84, OffsetPktType = 86;
    internal const int OffsetLinkType = 87, OffsetPrefixLen = 88, OffsetFlags = 89, OffsetSkip = 90, OffsetDataBytes = 92;
    internal const int OffsetComm = 96, OffsetPrefix = 112, OffsetCgroupId = 176;

    /// <summary>Flags: the record carries a return value, a drop reason, a location; only linear bytes were copied;
    /// the kernel's filter read past the linear bytes and left the verdict to user space (the whole frame follows).</summary>
    public const byte HasReturnValue = 1, HasReason = 2, HasLocation = 4, LinearOnly = 8, FilterUndecided = 16;

    /// <summary>Flags: the direction the program decided (the tap's place, else pkt_type/skb_iif/skb->sk); neither when unknown.</summary>
    public const byte DirectionIn = 32, DirectionOut = 64;
    /// <summary>Flag: --track-skb follows this skb (it matched at an earlier tap). On a decided frame it was
    /// sent only because of that (the filter rejects it here); on a <see cref="FilterUndecided"/> one it stays
    /// whatever user space's filter says.</summary>
    public const byte Tracked = 0x80;

    /// <summary>Where the frame starts, as the program chose.</summary>
    public const byte LinkEthernet = 1, LinkRaw = 2, LinkData = 3;

    private readonly ReadOnlySpan<byte> _sample;

    /// <summary>False when the sample is too short to hold a record.</summary>
    public static bool TryRead(ReadOnlySpan<byte> sample, out TapRecord record)
    {
        record = sample.Length >= Size ? new TapRecord(sample) : default;
        return sample.Length >= Size;
    }

    private TapRecord(ReadOnlySpan<byte> sample) => _sample = sample;

    public ulong MonotonicNanoseconds => U64(OffsetTimestamp);
    public ulong SkbAddress => U64(OffsetSkb);
    public uint ProcessId => (uint)(U64(OffsetPidTgid) >> 32);
    public uint ThreadId => (uint)U64(OffsetPidTgid);
    public ulong ReturnValue => U64(OffsetRetval);
    public ulong Location => U64(OffsetLocation);
    public uint SkbLength => U32(OffsetLen);
    public uint SkbDataLength => U32(OffsetDataLen);
    public int InterfaceIndex => (int)U32(OffsetIfindex);
    public uint Mark => U32(OffsetMark);
    public uint NetnsInode => U32(OffsetNetns);
    public int Cpu => (int)U32(OffsetCpu);
    public uint WireLength => U32(OffsetWireLen);
    public uint CapturedLength => U32(OffsetCapLen);
    public uint Reason => U32(OffsetReason);
    public ushort Protocol => BinaryPrimitives.ReverseEndianness(U16(OffsetProtocol));
    public ushort DeviceType => U16(OffsetDevType);
    public byte PacketType => _sample[OffsetPktType];
    public byte Link => _sample[OffsetLinkType];
    public byte Flags => _sample[OffsetFlags];
    public int PrefixLength => Math.Min((int)_sample[OffsetPrefixLen], PrefixMax);
    public int Skip => U16(OffsetSkip);
    public int DataBytes => (int)U32(OffsetDataBytes);
    /// <summary>The cgroup (v2) id of the packet's owner (the socket's process when selecting by process, else the current task).</summary>
    public ulong CgroupId => U64(OffsetCgroupId);

    /// <summary>The task's comm, up to its NUL.</summary>
    public ReadOnlySpan<byte> Comm
    {
        get
        {
            ReadOnlySpan<byte> comm = _sample.Slice(OffsetComm, 16);
            int nul = comm.IndexOf((byte)0);
            return nul >= 0 ? comm[..nul] : comm;
        }
    }

    /// <summary>Frame bytes that were before skb->data (a pulled MAC header).</summary>
    public ReadOnlySpan<byte> Prefix => _sample.Slice(OffsetPrefix, PrefixLength);

    /// <summary>The frame's bytes that follow the prefix: the appended skb bytes after <see cref="Skip"/>.</summary>
    public ReadOnlySpan<byte> Tail
    {
        get
        {
            int available = _sample.Length - Size;
            int end = Math.Min(DataBytes, available);
            int skip = Math.Min(Skip, end);
            return _sample.Slice(Size + skip, end - skip);
        }
    }

    private ulong U64(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(_sample[offset..]);
    private uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_sample[offset..]);
    private ushort U16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(_sample[offset..]);
}
