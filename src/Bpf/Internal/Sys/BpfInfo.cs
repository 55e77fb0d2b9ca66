using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Internal.Sys;

// The info structs BPF_OBJ_GET_INFO_BY_FD fills, as in include/uapi/linux/bpf.h.

[StructLayout(LayoutKind.Explicit, Size = 232)]
internal struct ProgInfoRaw
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public ulong Tag;
    [FieldOffset(16)] public uint JitedProgLen;
    [FieldOffset(20)] public uint XlatedProgLen;
    [FieldOffset(24)] public ulong JitedProgInsns;
    [FieldOffset(32)] public ulong XlatedProgInsns;
    [FieldOffset(40)] public ulong LoadTime;
    [FieldOffset(48)] public uint CreatedByUid;
    [FieldOffset(52)] public uint NrMapIds;
    [FieldOffset(56)] public ulong MapIds;
    [FieldOffset(64)] public ObjectName Name;
    [FieldOffset(80)] public uint Ifindex;
    [FieldOffset(84)] public uint GplCompatible;
    [FieldOffset(88)] public ulong NetnsDev;
    [FieldOffset(96)] public ulong NetnsIno;
    [FieldOffset(104)] public uint NrJitedKsyms;
    [FieldOffset(108)] public uint NrJitedFuncLens;
    [FieldOffset(112)] public ulong JitedKsyms;
    [FieldOffset(120)] public ulong JitedFuncLens;
    [FieldOffset(128)] public uint BtfId;
    [FieldOffset(132)] public uint FuncInfoRecSize;
    [FieldOffset(136)] public ulong FuncInfo;
    [FieldOffset(144)] public uint NrFuncInfo;
    [FieldOffset(148)] public uint NrLineInfo;
    [FieldOffset(152)] public ulong LineInfo;
    [FieldOffset(160)] public ulong JitedLineInfo;
    [FieldOffset(168)] public uint NrJitedLineInfo;
    [FieldOffset(172)] public uint LineInfoRecSize;
    [FieldOffset(176)] public uint JitedLineInfoRecSize;
    [FieldOffset(180)] public uint NrProgTags;
    [FieldOffset(184)] public ulong ProgTags;
    [FieldOffset(192)] public ulong RunTimeNs;
    [FieldOffset(200)] public ulong RunCount;
    [FieldOffset(208)] public ulong RecursionMisses;
    [FieldOffset(216)] public uint VerifiedInsns;
    [FieldOffset(220)] public uint AttachBtfObjId;
    [FieldOffset(224)] public uint AttachBtfId;
}

[StructLayout(LayoutKind.Explicit, Size = 88)]
internal struct MapInfoRaw
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public uint KeySize;
    [FieldOffset(12)] public uint ValueSize;
    [FieldOffset(16)] public uint MaxEntries;
    [FieldOffset(20)] public uint MapFlags;
    [FieldOffset(24)] public ObjectName Name;
    [FieldOffset(40)] public uint Ifindex;
    [FieldOffset(44)] public uint BtfVmlinuxValueTypeId;
    [FieldOffset(48)] public ulong NetnsDev;
    [FieldOffset(56)] public ulong NetnsIno;
    [FieldOffset(64)] public uint BtfId;
    [FieldOffset(68)] public uint BtfKeyTypeId;
    [FieldOffset(72)] public uint BtfValueTypeId;
    [FieldOffset(76)] public uint BtfVmlinuxId;
    [FieldOffset(80)] public ulong MapExtra;
}

[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct BtfInfoRaw
{
    [FieldOffset(0)] public ulong Btf;
    [FieldOffset(8)] public uint BtfSize;
    [FieldOffset(12)] public uint Id;
    [FieldOffset(16)] public ulong Name;
    [FieldOffset(24)] public uint NameLength;
    [FieldOffset(28)] public uint KernelBtf;
}

/// <summary>struct bpf_link_info: a header and a union read per link type.</summary>
[StructLayout(LayoutKind.Explicit, Size = 96)]
internal struct LinkInfoRaw
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public uint ProgId;
    /// <summary>raw_tracepoint.tp_name / tracing.attach_type+target_obj_id / ...</summary>
    [FieldOffset(16)] public ulong Union0;
    [FieldOffset(24)] public ulong Union1;
    [FieldOffset(32)] public ulong Union2;
}
