using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Internal.Sys;

// The members of union bpf_attr, one struct per command group, laid out as in
// include/uapi/linux/bpf.h. Pointers are __aligned_u64; sizes are what the kernel needs to see
// (it accepts a shorter attr from an older ABI and a longer one whose tail is zero).

[StructLayout(LayoutKind.Explicit, Size = 72)]
internal unsafe struct MapCreateAttr
{
    [FieldOffset(0)] public uint MapType;
    [FieldOffset(4)] public uint KeySize;
    [FieldOffset(8)] public uint ValueSize;
    [FieldOffset(12)] public uint MaxEntries;
    [FieldOffset(16)] public uint MapFlags;
    [FieldOffset(20)] public uint InnerMapFd;
    [FieldOffset(24)] public uint NumaNode;
    [FieldOffset(28)] public ObjectName MapName;
    [FieldOffset(44)] public uint MapIfindex;
    [FieldOffset(48)] public uint BtfFd;
    [FieldOffset(52)] public uint BtfKeyTypeId;
    [FieldOffset(56)] public uint BtfValueTypeId;
    [FieldOffset(60)] public uint BtfVmlinuxValueTypeId;
    [FieldOffset(64)] public ulong MapExtra;
}

[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct MapElemAttr
{
    [FieldOffset(0)] public uint MapFd;
    [FieldOffset(8)] public ulong Key;
    [FieldOffset(16)] public ulong ValueOrNextKey;
    [FieldOffset(24)] public ulong Flags;
}

[StructLayout(LayoutKind.Explicit, Size = 152)]
internal struct ProgLoadAttr
{
    [FieldOffset(0)] public uint ProgType;
    [FieldOffset(4)] public uint InsnCount;
    [FieldOffset(8)] public ulong Insns;
    [FieldOffset(16)] public ulong License;
    [FieldOffset(24)] public uint LogLevel;
    [FieldOffset(28)] public uint LogSize;
    [FieldOffset(32)] public ulong LogBuf;
    [FieldOffset(40)] public uint KernVersion;
    [FieldOffset(44)] public uint ProgFlags;
    [FieldOffset(48)] public ObjectName ProgName;
    [FieldOffset(64)] public uint ProgIfindex;
    [FieldOffset(68)] public uint ExpectedAttachType;
    [FieldOffset(72)] public uint ProgBtfFd;
    [FieldOffset(76)] public uint FuncInfoRecSize;
    [FieldOffset(80)] public ulong FuncInfo;
    [FieldOffset(88)] public uint FuncInfoCount;
    [FieldOffset(92)] public uint LineInfoRecSize;
    [FieldOffset(96)] public ulong LineInfo;
    [FieldOffset(104)] public uint LineInfoCount;
    [FieldOffset(108)] public uint AttachBtfId;
    [FieldOffset(112)] public uint AttachProgOrBtfObjFd;
    [FieldOffset(116)] public uint CoreReloCount;
    [FieldOffset(120)] public ulong FdArray;
    [FieldOffset(128)] public ulong CoreRelos;
    [FieldOffset(136)] public uint CoreReloRecSize;
    [FieldOffset(140)] public uint LogTrueSize;
    [FieldOffset(144)] public int ProgTokenFd;
    [FieldOffset(148)] public uint FdArrayCount;
}

[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ObjPinAttr
{
    [FieldOffset(0)] public ulong PathName;
    [FieldOffset(8)] public uint BpfFd;
    [FieldOffset(12)] public uint FileFlags;
}

[StructLayout(LayoutKind.Explicit, Size = 80)]
internal struct ProgTestRunAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint Retval;
    [FieldOffset(8)] public uint DataSizeIn;
    [FieldOffset(12)] public uint DataSizeOut;
    [FieldOffset(16)] public ulong DataIn;
    [FieldOffset(24)] public ulong DataOut;
    [FieldOffset(32)] public uint Repeat;
    [FieldOffset(36)] public uint Duration;
    [FieldOffset(40)] public uint CtxSizeIn;
    [FieldOffset(44)] public uint CtxSizeOut;
    [FieldOffset(48)] public ulong CtxIn;
    [FieldOffset(56)] public ulong CtxOut;
    [FieldOffset(64)] public uint Flags;
    [FieldOffset(68)] public uint Cpu;
    [FieldOffset(72)] public uint BatchSize;
}

/// <summary>The GET_NEXT_ID and GET_FD_BY_ID commands share this shape.</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
internal struct GetIdAttr
{
    [FieldOffset(0)] public uint StartOrObjectId;
    [FieldOffset(4)] public uint NextId;
    [FieldOffset(8)] public uint OpenFlags;
}

[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct ObjGetInfoAttr
{
    [FieldOffset(0)] public uint BpfFd;
    [FieldOffset(4)] public uint InfoLength;
    [FieldOffset(8)] public ulong Info;
}

[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct RawTracepointOpenAttr
{
    [FieldOffset(0)] public ulong Name;
    [FieldOffset(8)] public uint ProgFd;
}

[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct BtfLoadAttr
{
    [FieldOffset(0)] public ulong Btf;
    [FieldOffset(8)] public ulong LogBuf;
    [FieldOffset(16)] public uint BtfSize;
    [FieldOffset(20)] public uint LogSize;
    [FieldOffset(24)] public uint LogLevel;
    [FieldOffset(28)] public uint LogTrueSize;
}

/// <summary>BPF_LINK_CREATE; the union after the flags is read per attach kind.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct LinkCreateAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint TargetFdOrIfindex;
    [FieldOffset(8)] public uint AttachType;
    [FieldOffset(12)] public uint Flags;
    /// <summary>target_btf_id for tracing links, iter_info for iterators.</summary>
    [FieldOffset(16)] public ulong TargetBtfIdOrIterInfo;
    /// <summary>iter_info_len; for perf_event links the bpf_cookie is at 16 instead.</summary>
    [FieldOffset(24)] public ulong Word24;
}

[StructLayout(LayoutKind.Explicit, Size = 4)]
internal struct FdAttr
{
    [FieldOffset(0)] public uint Fd;
}

/// <summary>char[BPF_OBJ_NAME_LEN]: up to 15 bytes and a NUL.</summary>
[InlineArray(16)]
internal struct ObjectName
{
    private byte _first;

    public const int MaxLength = 15;

    public static ObjectName From(string? name)
    {
        var result = default(ObjectName);
        if (!string.IsNullOrEmpty(name))
        {
            Span<byte> bytes = result;
            int length = Math.Min(name.Length, MaxLength);
            // The kernel accepts only [A-Za-z0-9_.] in object names; anything else would be EINVAL.
            for (int i = 0; i < length; i++)
                bytes[i] = char.IsAsciiLetterOrDigit(name[i]) || name[i] is '_' or '.' ? (byte)name[i] : (byte)'_';
        }
        return result;
    }

    public override readonly string ToString()
    {
        ReadOnlySpan<byte> bytes = this;
        int end = bytes.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
