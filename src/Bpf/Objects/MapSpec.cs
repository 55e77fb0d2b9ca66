using KdtCapture.Bpf.Maps;

namespace KdtCapture.Bpf.Objects;

/// <summary>
/// A map as an object declares it: from a BTF-defined entry of <c>.maps</c>, or a global data
/// section (.rodata, .data, .bss and their .NAME variants) which becomes a one-entry array
/// whose value is the section. Parsed without syscalls.
/// </summary>
public sealed record MapSpec
{
    /// <summary>The variable name in .maps, or the section name (".rodata") for global data.</summary>
    public required string Name { get; init; }

    public required BpfMapType Type { get; init; }

    public int KeySize { get; init; }

    public int ValueSize { get; init; }

    public int MaxEntries { get; init; }

    public BpfMapFlags Flags { get; init; }

    /// <summary>BTF ids of key and value in the object's BTF (0 when not described).</summary>
    public int KeyTypeId { get; init; }

    public int ValueTypeId { get; init; }

    /// <summary>For a global data section: its bytes (zeros for .bss), rewritable before load.</summary>
    public byte[]? Contents { get; init; }

    /// <summary>The ELF section the map comes from (".maps" or the data section).</summary>
    public required string SectionName { get; init; }

    /// <summary>A global data section (.rodata/.data/.bss...), not a .maps entry.</summary>
    public bool IsGlobalData => Contents is not null;

    /// <summary>.rodata and .rodata.*: read-only for programs and frozen after its contents are written.</summary>
    public bool IsReadOnlyData => IsGlobalData && SectionName.StartsWith(".rodata", StringComparison.Ordinal);

    public override string ToString() =>
        $"{Name}: {Type.KernelName()} key {KeySize} value {ValueSize} max_entries {MaxEntries} flags 0x{(uint)Flags:x}";
}
