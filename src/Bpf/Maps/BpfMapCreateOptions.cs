using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.Maps;

/// <summary>What BPF_MAP_CREATE needs. Defaults: no flags, no BTF, any NUMA node.</summary>
public sealed class BpfMapCreateOptions
{
    public required BpfMapType Type { get; init; }

    /// <summary>Key size in bytes (4 for arrays; 0 for ring buffers).</summary>
    public int KeySize { get; init; }

    /// <summary>Value size in bytes (for perf event arrays 4; 0 for ring buffers).</summary>
    public int ValueSize { get; init; }

    /// <summary>Entries; for ring buffers the data size in bytes (a power of two, multiple of the page size).</summary>
    public required int MaxEntries { get; init; }

    public BpfMapFlags Flags { get; init; }

    /// <summary>Up to 15 characters of [A-Za-z0-9_.]; others become '_'.</summary>
    public string? Name { get; init; }

    /// <summary>BTF describing key and value (optional; required by spin locks, timers, kptrs).</summary>
    public BpfFileDescriptor? Btf { get; init; }

    public uint BtfKeyTypeId { get; init; }

    public uint BtfValueTypeId { get; init; }

    /// <summary>Template inner map for array/hash of maps.</summary>
    public BpfFileDescriptor? InnerMap { get; init; }

    public uint NumaNode { get; init; }

    /// <summary>map_extra: bloom filter hash count, arena address.</summary>
    public ulong Extra { get; init; }
}
