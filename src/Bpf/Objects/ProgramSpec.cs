using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Elf;

namespace KdtCapture.Bpf.Objects;

/// <summary>An ld_imm64 at <paramref name="InstructionIndex"/> that must get a map's fd: a .maps map, or a data section at <paramref name="Offset"/>.</summary>
public readonly record struct MapReference(int InstructionIndex, string MapName, int Offset, bool IsGlobalData);

/// <summary>func_info for the kernel: the instruction where a (sub)program starts and its FUNC id in the object's BTF.</summary>
public readonly record struct ProgramFuncInfo(int InstructionIndex, int TypeId);

/// <summary>line_info for the kernel, at an instruction index of the linked program.</summary>
public readonly record struct ProgramLineInfo(int InstructionIndex, uint FileNameOffset, uint LineOffset, uint LineAndColumn);

/// <summary>A CO-RE relocation of the linked program (its instruction index, its record from .BTF.ext).</summary>
public readonly record struct ProgramCoReRelocation(int InstructionIndex, CoReRelocationRecord Record);

/// <summary>
/// One program of an object, linked: its own instructions followed by every .text subprogram
/// it calls (directly or not), with call offsets fixed, and the references, func/line info and
/// CO-RE relocations moved to instruction indices of that sequence. Parsed without syscalls.
/// </summary>
public sealed record ProgramSpec
{
    /// <summary>The function's name (the kernel keeps its first 15 characters).</summary>
    public required string Name { get; init; }

    /// <summary>The ELF section, e.g. "tp_btf/net_dev_queue".</summary>
    public required string SectionName { get; init; }

    public required ProgramSectionDefinition Section { get; init; }

    /// <summary>What the section names after its prefix: "net_dev_queue", "syscalls/sys_enter_getpid", "" for "socket".</summary>
    public required string AttachTarget { get; init; }

    public required BpfInstruction[] Instructions { get; init; }

    public required string License { get; init; }

    public uint KernelVersion { get; init; }

    public IReadOnlyList<MapReference> MapReferences { get; init; } = [];

    public IReadOnlyList<ProgramFuncInfo> FuncInfos { get; init; } = [];

    public IReadOnlyList<ProgramLineInfo> LineInfos { get; init; } = [];

    public IReadOnlyList<ProgramCoReRelocation> CoReRelocations { get; init; } = [];

    /// <summary>The subprograms appended after the program's own code, in order, with where each starts.</summary>
    public IReadOnlyList<(string Name, int Start)> Subprograms { get; init; } = [];

    public ProgramSectionKind Kind => Section.Kind;

    public override string ToString() => $"{Name} ({SectionName}, {Instructions.Length} instructions)";
}
