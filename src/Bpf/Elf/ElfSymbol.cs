namespace KdtCapture.Bpf.Elf;

/// <summary>Symbol binding (STB_*).</summary>
public enum ElfSymbolBinding : byte
{
    Local = 0,
    Global = 1,
    Weak = 2,
}

/// <summary>Symbol type (STT_*).</summary>
public enum ElfSymbolType : byte
{
    None = 0,
    Object = 1,
    Function = 2,
    Section = 3,
    File = 4,
}

/// <summary>One entry of the symbol table.</summary>
/// <param name="Index">Its index in .symtab, as relocations name it.</param>
/// <param name="SectionIndex">st_shndx: the section it is defined in, 0 when undefined (0xfff1 absolute, 0xfff2 common).</param>
/// <param name="Value">st_value: its offset in that section.</param>
public readonly record struct ElfSymbol(int Index, string Name, ElfSymbolBinding Binding, ElfSymbolType Type, byte Visibility,
    int SectionIndex, ulong Value, ulong Size)
{
    public const int UndefinedSection = 0;
    public const int AbsoluteSection = 0xfff1;
    public const int CommonSection = 0xfff2;
}
