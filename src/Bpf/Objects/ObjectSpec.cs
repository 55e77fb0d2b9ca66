using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Btf;
using BtfData = KdtCapture.Bpf.Btf.Btf;
using KdtCapture.Bpf.Elf;
using KdtCapture.Bpf.Maps;

namespace KdtCapture.Bpf.Objects;

/// <summary>
/// A clang-built BPF object parsed without syscalls: its programs (by section, linked with the
/// .text subprograms they call), its maps (.maps and global data), license, kernel version,
/// BTF and .BTF.ext. Load it with <see cref="BpfObject.Load"/>. Global data contents can be
/// rewritten before load (<see cref="RewriteConstant{T}"/>); everything else is read-only.
/// </summary>
public sealed class ObjectSpec
{
    private readonly List<ProgramSpec> _programs;
    private readonly List<MapSpec> _maps;

    private ObjectSpec(string name, List<ProgramSpec> programs, List<MapSpec> maps, string license, uint kernelVersion,
        BtfData? btf, BtfExtInfo ext)
    {
        Name = name;
        _programs = programs;
        _maps = maps;
        License = license;
        KernelVersion = kernelVersion;
        Btf = btf;
        BtfExt = ext;
    }

    /// <summary>A name for messages: the object's file or resource name.</summary>
    public string Name { get; }

    public IReadOnlyList<ProgramSpec> Programs => _programs;

    public IReadOnlyList<MapSpec> Maps => _maps;

    /// <summary>The "license" section ("GPL", "Dual BSD/GPL"...); GPL-only helpers need a GPL-compatible one.</summary>
    public string License { get; }

    /// <summary>The "version" section, 0 when absent (only kprobes on old kernels look at it).</summary>
    public uint KernelVersion { get; }

    /// <summary>The object's .BTF with DATASEC sizes and offsets filled in, as loaded into the kernel; null without -g.</summary>
    public BtfData? Btf { get; }

    public BtfExtInfo BtfExt { get; }

    public ProgramSpec Program(string name)
    {
        foreach (var p in _programs)
            if (p.Name == name)
                return p;
        throw new KeyNotFoundException($"object '{Name}' has no program '{name}' (it has: {string.Join(", ", _programs.Select(p => p.Name))})");
    }

    public MapSpec Map(string name)
    {
        foreach (var m in _maps)
            if (m.Name == name)
                return m;
        throw new KeyNotFoundException($"object '{Name}' has no map '{name}' (it has: {string.Join(", ", _maps.Select(m => m.Name))})");
    }

    /// <summary>Replaces a program (e.g. one whose instructions were spliced); matched by name.</summary>
    public void ReplaceProgram(ProgramSpec program)
    {
        for (int i = 0; i < _programs.Count; i++)
        {
            if (_programs[i].Name == program.Name)
            {
                _programs[i] = program;
                return;
            }
        }
        throw new KeyNotFoundException($"object '{Name}' has no program '{program.Name}'");
    }

    /// <summary>Replaces a map's spec (e.g. with another <see cref="MapSpec.MaxEntries"/>) before load; matched by name.</summary>
    public void ReplaceMap(MapSpec map)
    {
        ArgumentNullException.ThrowIfNull(map);
        for (int i = 0; i < _maps.Count; i++)
        {
            if (_maps[i].Name == map.Name)
            {
                _maps[i] = map;
                return;
            }
        }
        throw new KeyNotFoundException($"object '{Name}' has no map '{map.Name}'");
    }

    /// <summary>
    /// Sets a global variable (a <c>volatile const</c> in .rodata, or any .data/.bss variable)
    /// before load, by its name in the object's DATASEC, checking that the sizes agree.
    /// </summary>
    public void RewriteConstant<T>(string variable, T value) where T : unmanaged =>
        RewriteVariable(variable, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>Sets several variables at once (name → little-endian bytes of the variable's exact size).</summary>
    public void RewriteConstants(IReadOnlyDictionary<string, byte[]> values)
    {
        foreach (var (name, bytes) in values)
            RewriteVariable(name, bytes);
    }

    /// <summary>The current bytes of a global variable (its initial value, or what was rewritten).</summary>
    public ReadOnlySpan<byte> VariableBytes(string variable)
    {
        var (map, offset, size) = FindVariable(variable);
        return map.Contents.AsSpan(offset, size);
    }

    /// <summary>Where a global variable lives: its data map, offset and size.</summary>
    public (MapSpec Map, int Offset, int Size) FindVariable(string variable)
    {
        if (Btf is null)
            throw new InvalidOperationException($"object '{Name}' has no BTF: its variables cannot be found by name");
        foreach (var map in _maps)
        {
            if (!map.IsGlobalData || !Btf.TryFind(map.SectionName, BtfKind.DataSection, out var datasec))
                continue;
            foreach (var v in datasec.SectionVariables)
                if (v.Type.Name == variable)
                    return (map, (int)v.Offset, (int)v.Size);
        }
        throw new KeyNotFoundException($"object '{Name}' has no global variable '{variable}'");
    }

    private void RewriteVariable(string variable, ReadOnlySpan<byte> bytes)
    {
        var (map, offset, size) = FindVariable(variable);
        if (bytes.Length != size)
            throw new ArgumentException($"variable '{variable}' of '{Name}' is {size} bytes, the new value {bytes.Length}");
        if (map.SectionName == ".bss" || map.SectionName.StartsWith(".bss.", StringComparison.Ordinal))
        {
            // .bss has no file bytes; its contents are ours, so a value can be given all the same.
        }
        bytes.CopyTo(map.Contents.AsSpan(offset, size));
    }

    /// <summary>Reads and parses an object file.</summary>
    public static ObjectSpec Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElfFormatException($"cannot read {path}: {e.Message}");
        }
        return Parse(bytes, Path.GetFileName(path));
    }

    /// <summary>Parses a clang-built BPF object (ELF64 little-endian, -target bpf).</summary>
    public static ObjectSpec Parse(ReadOnlyMemory<byte> image, string name = "object")
    {
        string? problem;
        try
        {
            return new Parser(ElfFile.Parse(image), name).Run();
        }
        catch (ElfFormatException e)
        {
            problem = e.Message;
        }
        catch (BtfFormatException e)
        {
            problem = ".BTF: " + e.Message;
        }
        catch (OverflowException)
        {
            problem = "a size, offset or index in the object is out of range";
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or KeyNotFoundException)
        {
            // The object's BTF or .BTF.ext refers to types of the wrong kind or that do not exist.
            problem = "inconsistent BTF: " + e.Message;
        }
        // Names quoted from a damaged file may hold anything: keep the message on one line.
        var line = new System.Text.StringBuilder(name.Length + problem.Length + 2).Append(name).Append(": ");
        foreach (char c in problem)
            line.Append(char.IsControl(c) ? '?' : c);
        throw new ElfFormatException(line.ToString());
    }

    /// <summary>A function of an executable section: where it starts and its own code.</summary>
    private sealed class Function
    {
        public required string Name;
        public required ElfSection Section;
        public required int Start;
        public required BpfInstruction[] Code;
    }

    private sealed class Parser(ElfFile elf, string name)
    {
        private readonly List<Function> _functions = [];
        private BtfData? _btf;
        private BtfExtInfo _ext = BtfExtInfo.Empty;

        public ObjectSpec Run()
        {
            string license = ReadLicense();
            uint version = 0;
            if (elf.FindSection("version") is { } v)
            {
                if (v.Data.Length != 4)
                    throw new ElfFormatException($"section 'version' is {v.Data.Length} bytes, not 4");
                version = BinaryPrimitives.ReadUInt32LittleEndian(v.Data.Span);
            }
            if (elf.FindSection(".BTF") is { } btfSection)
                _btf = BtfData.Parse(ObjectBtfFixup.Apply(btfSection.Data.Span, elf));
            if (elf.FindSection(".BTF.ext") is { } extSection)
            {
                if (_btf is null)
                    throw new ElfFormatException(".BTF.ext without .BTF");
                _ext = BtfExtInfo.Parse(extSection.Data.Span, _btf);
            }
            if (elf.FindSection("maps") is not null)
                throw new ElfFormatException("legacy 'maps' section: declare maps in SEC(\".maps\") with __uint/__type (BTF-defined maps)");

            var maps = new List<MapSpec>();
            ReadBtfMaps(maps);
            ReadDataSections(maps);
            CollectFunctions();

            var programs = new List<ProgramSpec>();
            foreach (var f in _functions)
            {
                if (f.Section.Name == ".text")
                    continue;
                if (!ProgramSections.TryMatch(f.Section.Name, out var definition, out string target))
                    throw new ElfFormatException(
                        $"section '{f.Section.Name}' (program '{f.Name}') is not a program section this loader knows; known prefixes: "
                        + string.Join(", ", ProgramSections.Table.Select(d => d.Prefix)));
                programs.Add(Link(f, definition, target, license, version, maps));
            }
            return new ObjectSpec(name, programs, maps, license, version, _btf, _ext);
        }

        private string ReadLicense()
        {
            if (elf.FindSection("license") is not { } s)
                return "";
            var bytes = s.Data.Span;
            int nul = bytes.IndexOf((byte)0);
            return Encoding.UTF8.GetString(nul < 0 ? bytes : bytes[..nul]);
        }

        // ---- maps --------------------------------------------------------------------------

        private void ReadBtfMaps(List<MapSpec> maps)
        {
            if (elf.FindSection(".maps") is not { } section)
                return;
            if (_btf is null || !_btf.TryFind(".maps", BtfKind.DataSection, out var datasec))
                throw new ElfFormatException("section '.maps' needs BTF (compile with -g) to describe its maps");
            foreach (var v in datasec.SectionVariables)
            {
                var variable = v.Type;
                if (variable.Kind != BtfKind.Variable)
                    throw new ElfFormatException($".maps: entry {variable} is not a variable");
                maps.Add(ReadMapDefinition(variable.Name, variable.Target.ResolveTypedefs()));
            }
            _ = section;
        }

        private MapSpec ReadMapDefinition(string mapName, BtfType definition)
        {
            if (definition.Kind != BtfKind.Struct)
                throw new ElfFormatException($"map '{mapName}': its definition is a {definition.Kind.ToKernelName()}, not a struct");
            BpfMapType? type = null;
            int keySize = 0, valueSize = 0, maxEntries = 0, keyTypeId = 0, valueTypeId = 0;
            uint flags = 0;
            foreach (var m in definition.Members)
            {
                string member = m.Name;
                switch (member)
                {
                    case "type":
                        type = (BpfMapType)UIntMember(mapName, m);
                        break;
                    case "max_entries":
                        maxEntries = checked((int)UIntMember(mapName, m));
                        break;
                    case "map_flags":
                        flags = UIntMember(mapName, m);
                        break;
                    case "key_size":
                        keySize = checked((int)UIntMember(mapName, m));
                        break;
                    case "value_size":
                        valueSize = checked((int)UIntMember(mapName, m));
                        break;
                    case "key":
                        (keyTypeId, keySize) = TypeMember(mapName, m, keySize);
                        break;
                    case "value":
                        (valueTypeId, valueSize) = TypeMember(mapName, m, valueSize);
                        break;
                    case "pinning":
                    case "numa_node":
                    case "map_extra":
                        break; // pinning is ignored on purpose: nothing is pinned unless asked
                    default:
                        throw new ElfFormatException($"map '{mapName}': unsupported attribute '{member}'");
                }
            }
            if (type is null)
                throw new ElfFormatException($"map '{mapName}': no type given (__uint(type, ...))");
            var t = type.Value;
            if (t == BpfMapType.PerfEventArray)
            {
                // The kernel wants 4-byte keys and values (CPU index → perf event fd).
                keySize = keySize == 0 ? 4 : keySize;
                valueSize = valueSize == 0 ? 4 : valueSize;
                maxEntries = maxEntries == 0 ? Environment.ProcessorCount : maxEntries;
            }
            return new MapSpec
            {
                Name = mapName,
                Type = t,
                KeySize = keySize,
                ValueSize = valueSize,
                MaxEntries = maxEntries,
                Flags = (BpfMapFlags)flags,
                KeyTypeId = keyTypeId,
                ValueTypeId = valueTypeId,
                SectionName = ".maps",
            };
        }

        /// <summary>__uint(name, N) is "int (*name)[N]": the number is the array's length.</summary>
        private static uint UIntMember(string mapName, BtfMember m)
        {
            var pointer = m.Type.ResolveTypedefs();
            if (pointer.Kind != BtfKind.Pointer)
                throw new ElfFormatException($"map '{mapName}': attribute '{m.Name}' is not declared with __uint");
            var array = pointer.Target.ResolveTypedefs();
            if (array.Kind != BtfKind.Array)
                throw new ElfFormatException($"map '{mapName}': attribute '{m.Name}' is not declared with __uint");
            return array.Array.Count;
        }

        /// <summary>__type(name, T) is "T *name": the pointee is the key or value type.</summary>
        private static (int TypeId, int Size) TypeMember(string mapName, BtfMember m, int declaredSize)
        {
            var pointer = m.Type.ResolveTypedefs();
            if (pointer.Kind != BtfKind.Pointer)
                throw new ElfFormatException($"map '{mapName}': attribute '{m.Name}' is not declared with __type");
            int size = checked((int)pointer.Target.SizeOf());
            if (declaredSize != 0 && declaredSize != size)
                throw new ElfFormatException($"map '{mapName}': {m.Name}_size {declaredSize} disagrees with the {m.Name} type's size {size}");
            return (pointer.TypeId, size);
        }

        private void ReadDataSections(List<MapSpec> maps)
        {
            foreach (var s in elf.Sections)
            {
                if (!IsDataSection(s))
                    continue;
                int valueTypeId = 0;
                if (_btf is not null && _btf.TryFind(s.Name, BtfKind.DataSection, out var datasec))
                    valueTypeId = datasec.Id;
                var contents = new byte[checked((int)s.Size)];
                if (s.Type != ElfSectionType.NoBits)
                    s.Data.Span.CopyTo(contents);
                bool readOnly = s.Name.StartsWith(".rodata", StringComparison.Ordinal);
                maps.Add(new MapSpec
                {
                    Name = s.Name,
                    Type = BpfMapType.Array,
                    KeySize = 4,
                    ValueSize = contents.Length,
                    MaxEntries = 1,
                    Flags = BpfMapFlags.Mmapable | (readOnly ? BpfMapFlags.ReadOnlyProgram : 0),
                    KeyTypeId = 0,
                    ValueTypeId = valueTypeId,
                    Contents = contents,
                    SectionName = s.Name,
                });
            }
        }

        internal static bool IsDataSection(ElfSection s) =>
            s.Size > 0 && (s.Flags & ElfSectionFlags.Alloc) != 0 && !s.IsExecutable
            && (s.Name is ".data" or ".rodata" or ".bss"
                || s.Name.StartsWith(".data.", StringComparison.Ordinal)
                || s.Name.StartsWith(".rodata.", StringComparison.Ordinal)
                || s.Name.StartsWith(".bss.", StringComparison.Ordinal));

        // ---- functions and linking ---------------------------------------------------------

        private void CollectFunctions()
        {
            foreach (var s in elf.Sections)
            {
                if (!s.IsExecutable || s.Type != ElfSectionType.ProgramBits || s.Size == 0)
                    continue;
                if (s.Data.Length % BpfInstruction.Size != 0)
                    throw new ElfFormatException($"section '{s.Name}' is {s.Data.Length} bytes, not whole instructions");
                var code = BpfInstruction.Decode(s.Data.Span);
                var starts = new List<(int Start, ElfSymbol Symbol)>();
                foreach (var sym in elf.Symbols)
                    if (sym.SectionIndex == s.Index && sym.Type == ElfSymbolType.Function)
                        starts.Add(((int)(sym.Value / BpfInstruction.Size), sym));
                starts.Sort((a, b) => a.Start.CompareTo(b.Start));
                if (starts.Count == 0)
                    throw new ElfFormatException($"section '{s.Name}' has code but no function symbol");
                for (int i = 0; i < starts.Count; i++)
                {
                    int start = starts[i].Start;
                    int end = i + 1 < starts.Count ? starts[i + 1].Start : code.Length;
                    if (starts[i].Symbol.Size != 0)
                        end = Math.Min(end, start + (int)(starts[i].Symbol.Size / BpfInstruction.Size));
                    if (start >= end || end > code.Length)
                        throw new ElfFormatException($"function '{starts[i].Symbol.Name}' in '{s.Name}' has no instructions inside the section");
                    _functions.Add(new Function { Name = starts[i].Symbol.Name, Section = s, Start = start, Code = code[start..end] });
                }
            }
        }

        private Function FunctionAt(ElfSection section, int instruction, string from)
        {
            foreach (var f in _functions)
                if (f.Section == section && f.Start == instruction)
                    return f;
            throw new ElfFormatException($"{from}: calls instruction {instruction} of '{section.Name}', which starts no function");
        }

        private Function FunctionContaining(ElfSection section, int instruction)
        {
            foreach (var f in _functions)
                if (f.Section == section && instruction >= f.Start && instruction < f.Start + f.Code.Length)
                    return f;
            throw new ElfFormatException($"'{section.Name}' instruction {instruction} is in no function");
        }

        private ProgramSpec Link(Function main, ProgramSectionDefinition definition, string target, string license, uint version,
            List<MapSpec> maps)
        {
            var code = new List<BpfInstruction>(main.Code);
            var placed = new List<(Function Function, int Base)> { (main, 0) };
            var references = new List<MapReference>();
            var funcInfos = new List<ProgramFuncInfo>();
            var lineInfos = new List<ProgramLineInfo>();
            var relocations = new List<ProgramCoReRelocation>();

            // Placing a function may call for more: walk the list as it grows.
            for (int p = 0; p < placed.Count; p++)
            {
                var (f, @base) = placed[p];
                var relocs = RelocationsOf(f);
                for (int i = 0; i < f.Code.Length; i++)
                {
                    var insn = f.Code[i];
                    relocs.TryGetValue(i, out var reloc);
                    bool hasReloc = reloc.Type != BpfRelocationType.None;
                    string where = $"program '{main.Name}' ('{f.Name}' instruction {i})";
                    if (insn.IsSubprogramCall || insn.IsFunctionReference)
                    {
                        // The target, counted in instructions from the start of its section.
                        ElfSection targetSection = f.Section;
                        int targetInSection;
                        if (hasReloc)
                        {
                            var sym = elf.Symbols[reloc.SymbolIndex];
                            targetSection = elf.Sections[sym.SectionIndex];
                            targetInSection = insn.IsSubprogramCall
                                ? (int)(sym.Value / BpfInstruction.Size) + insn.Immediate + 1
                                : (int)((sym.Value + (ulong)(long)insn.Immediate) / BpfInstruction.Size);
                        }
                        else
                        {
                            targetInSection = f.Start + i + insn.Immediate + 1;
                        }
                        var callee = FunctionAt(targetSection, targetInSection, where);
                        int calleeBase = -1;
                        foreach (var (pf, pb) in placed)
                            if (pf == callee)
                                calleeBase = pb;
                        if (calleeBase < 0)
                        {
                            calleeBase = code.Count;
                            placed.Add((callee, calleeBase));
                            code.AddRange(callee.Code);
                        }
                        code[@base + i] = insn with { Immediate = calleeBase - (@base + i) - 1 };
                        continue;
                    }
                    if (!hasReloc)
                        continue;
                    if (!insn.IsLoadImm64)
                        throw new ElfFormatException($"{where}: relocation {reloc.Type} on an instruction that is not ld_imm64 or a call");
                    var symbol = elf.Symbols[reloc.SymbolIndex];
                    if (symbol.SectionIndex == ElfSymbol.UndefinedSection)
                        throw new ElfFormatException($"{where}: refers to '{symbol.Name}', which is not defined (extern symbols are not supported)");
                    var targetSec = elf.Sections[symbol.SectionIndex];
                    if (targetSec.Name == ".maps")
                    {
                        var map = maps.FirstOrDefault(m => m.SectionName == ".maps" && m.Name == symbol.Name)
                            ?? throw new ElfFormatException($"{where}: refers to '{symbol.Name}' in .maps, which is not a map");
                        references.Add(new MapReference(@base + i, map.Name, 0, false));
                    }
                    else if (IsDataSection(targetSec))
                    {
                        // A global symbol carries its offset; a section symbol (static variable) leaves it in imm.
                        int offset = checked(insn.Immediate + (int)symbol.Value);
                        references.Add(new MapReference(@base + i, targetSec.Name, offset, true));
                    }
                    else
                    {
                        throw new ElfFormatException($"{where}: refers to '{symbol.Name}' in section '{targetSec.Name}', which is neither a map nor global data");
                    }
                }

                int startByte = f.Start * BpfInstruction.Size, endByte = (f.Start + f.Code.Length) * BpfInstruction.Size;
                foreach (var r in BtfExtInfo.For(_ext.FuncInfos, f.Section.Name))
                    if (r.InstructionOffset >= startByte && r.InstructionOffset < endByte)
                        funcInfos.Add(new ProgramFuncInfo(@base + (int)(r.InstructionOffset / BpfInstruction.Size) - f.Start, r.TypeId));
                foreach (var r in BtfExtInfo.For(_ext.LineInfos, f.Section.Name))
                    if (r.InstructionOffset >= startByte && r.InstructionOffset < endByte)
                        lineInfos.Add(new ProgramLineInfo(@base + (int)(r.InstructionOffset / BpfInstruction.Size) - f.Start,
                            r.FileNameOffset, r.LineOffset, r.LineAndColumn));
                foreach (var r in BtfExtInfo.For(_ext.CoReRelocations, f.Section.Name))
                    if (r.InstructionOffset >= startByte && r.InstructionOffset < endByte)
                        relocations.Add(new ProgramCoReRelocation(@base + (int)(r.InstructionOffset / BpfInstruction.Size) - f.Start, r));
            }

            var subprograms = new List<(string, int)>();
            for (int p = 1; p < placed.Count; p++)
                subprograms.Add((placed[p].Function.Name, placed[p].Base));
            return new ProgramSpec
            {
                Name = main.Name,
                SectionName = main.Section.Name,
                Section = definition,
                AttachTarget = target,
                Instructions = [.. code],
                License = license,
                KernelVersion = version,
                MapReferences = references,
                FuncInfos = funcInfos,
                LineInfos = lineInfos,
                CoReRelocations = relocations,
                Subprograms = subprograms,
            };
        }

        /// <summary>A function's relocations by its own instruction index.</summary>
        private Dictionary<int, ElfRelocation> RelocationsOf(Function f)
        {
            var result = new Dictionary<int, ElfRelocation>();
            foreach (var r in elf.RelocationsFor(f.Section.Index))
            {
                int index = (int)(r.Offset / BpfInstruction.Size) - f.Start;
                if (index >= 0 && index < f.Code.Length)
                    result[index] = r;
            }
            return result;
        }
    }
}
