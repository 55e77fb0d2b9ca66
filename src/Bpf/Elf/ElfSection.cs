namespace KdtCapture.Bpf.Elf;

/// <summary>Section header types we act on (ELF's SHT_*).</summary>
public enum ElfSectionType : uint
{
    Null = 0,
    ProgramBits = 1,
    SymbolTable = 2,
    StringTable = 3,
    RelocationsWithAddend = 4,
    NoBits = 8,
    Relocations = 9,
}

/// <summary>Section header flags (SHF_*).</summary>
[Flags]
public enum ElfSectionFlags : ulong
{
    None = 0,
    Write = 0x1,
    Alloc = 0x2,
    Executable = 0x4,
}

/// <summary>One section of an object: its header and, unless NOBITS, its bytes.</summary>
public sealed class ElfSection
{
    internal ElfSection(int index, string name, ElfSectionType type, ElfSectionFlags flags, ulong offset, ulong size,
        int link, int info, ulong alignment, ulong entrySize, ReadOnlyMemory<byte> data)
    {
        Index = index;
        Name = name;
        Type = type;
        Flags = flags;
        Offset = offset;
        Size = size;
        Link = link;
        Info = info;
        Alignment = alignment;
        EntrySize = entrySize;
        Data = data;
    }

    public int Index { get; }

    public string Name { get; }

    public ElfSectionType Type { get; }

    public ElfSectionFlags Flags { get; }

    /// <summary>Where the section's bytes start in the file.</summary>
    public ulong Offset { get; }

    /// <summary>Its size in memory (for NOBITS, the zeroed size it stands for).</summary>
    public ulong Size { get; }

    /// <summary>sh_link: for a relocation or symbol section, its symbol or string table.</summary>
    public int Link { get; }

    /// <summary>sh_info: for a relocation section, the section it applies to.</summary>
    public int Info { get; }

    public ulong Alignment { get; }

    public ulong EntrySize { get; }

    /// <summary>The file bytes; empty for NOBITS (.bss), whose <see cref="Size"/> still counts.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    public bool IsExecutable => (Flags & ElfSectionFlags.Executable) != 0;

    public override string ToString() => $"[{Index}] {Name}";
}
