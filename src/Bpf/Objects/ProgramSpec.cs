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

    /// <summary>
    /// For fentry/fexit: the loaded kernel module whose BTF holds <see cref="AttachTarget"/>
    /// ("mac80211"); null for a function of the kernel image (vmlinux).
    /// </summary>
    public string? AttachModule { get; init; }

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

    /// <summary>
    /// This program with the code of subprogram <paramref name="subprogram"/> (e.g. a stub that a
    /// generated filter replaces) swapped for <paramref name="code"/>, which must keep the stub's
    /// signature (its func_info stays). Jumps and calls across it, map references, func/line info
    /// and CO-RE relocations after it are moved; those inside the old code are dropped, except the
    /// line info at its first instruction (the kernel wants one where every function starts).
    /// </summary>
    public ProgramSpec WithSubprogramReplaced(string subprogram, ReadOnlySpan<BpfInstruction> code)
    {
        if (code.IsEmpty)
            throw new ArgumentException($"the replacement of '{subprogram}' has no instructions", nameof(code));
        int index = -1;
        for (int i = 0; i < Subprograms.Count; i++)
            if (Subprograms[i].Name == subprogram)
                index = i;
        if (index < 0)
            throw new KeyNotFoundException($"program '{Name}' calls no subprogram '{subprogram}' (it calls: {string.Join(", ", Subprograms.Select(s => s.Name))})");
        int start = Subprograms[index].Start;
        int end = Instructions.Length;
        foreach (var (_, s) in Subprograms)
            if (s > start && s < end)
                end = s;
        var spliced = BpfSplice.Replace(Instructions, start, end - start, code);
        bool Kept(int i) => i < start || i >= end;

        var references = new List<MapReference>();
        foreach (var r in MapReferences)
            if (Kept(r.InstructionIndex))
                references.Add(r with { InstructionIndex = spliced.MapIndex(r.InstructionIndex) });
        var funcs = new List<ProgramFuncInfo>();
        foreach (var f in FuncInfos)
            funcs.Add(f.InstructionIndex == start ? f : f with { InstructionIndex = spliced.MapIndex(f.InstructionIndex) });
        var lines = new List<ProgramLineInfo>();
        foreach (var l in LineInfos)
        {
            if (Kept(l.InstructionIndex))
                lines.Add(l with { InstructionIndex = spliced.MapIndex(l.InstructionIndex) });
            else if (l.InstructionIndex == start)
                lines.Add(l);
        }
        var relocations = new List<ProgramCoReRelocation>();
        foreach (var c in CoReRelocations)
            if (Kept(c.InstructionIndex))
                relocations.Add(c with { InstructionIndex = spliced.MapIndex(c.InstructionIndex) });
        var subprograms = new List<(string, int)>();
        foreach (var (n, s) in Subprograms)
            subprograms.Add((n, s == start ? s : spliced.MapIndex(s)));
        return this with
        {
            Instructions = spliced.Instructions,
            MapReferences = references,
            FuncInfos = funcs,
            LineInfos = lines,
            CoReRelocations = relocations,
            Subprograms = subprograms,
        };
    }

    public override string ToString() => $"{Name} ({SectionName}, {Instructions.Length} instructions)";
}
