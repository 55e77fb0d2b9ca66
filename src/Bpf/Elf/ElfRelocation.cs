namespace KdtCapture.Bpf.Elf;

/// <summary>BPF relocation types (R_BPF_*, llvm's BPFELFObjectWriter).</summary>
public enum BpfRelocationType : uint
{
    None = 0,
    /// <summary>A 64-bit immediate (ld_imm64) refers to the symbol: maps, global data, functions.</summary>
    Imm64 = 1,
    Abs64 = 2,
    Abs32 = 3,
    Node64 = 4,
    /// <summary>A call or jump to a function (BPF-to-BPF call to a subprogram).</summary>
    Call32 = 10,
}

/// <summary>One REL entry: the byte offset in the target section and the symbol it refers to.</summary>
public readonly record struct ElfRelocation(ulong Offset, int SymbolIndex, BpfRelocationType Type);
