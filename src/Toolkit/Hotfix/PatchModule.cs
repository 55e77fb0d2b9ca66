using System.Text;

namespace KdtCapture.Toolkit.Hotfix;

/// <summary>A function a livepatch replaces: <c>klp_func.old_name</c> (with <c>old_sympos</c>) and the module's function that replaces it.</summary>
public sealed record PatchedFunction(string OldName, ulong SymbolPosition, string? NewFunction);

/// <summary>What a livepatch patches in one object: vmlinux (<see cref="Name"/> null) or a module.</summary>
public sealed record PatchedObject(string? Name, IReadOnlyList<PatchedFunction> Functions)
{
    /// <summary>The object's name as the kernel's sysfs shows it: vmlinux for the kernel itself.</summary>
    public string DisplayName => Name ?? "vmlinux";
}

/// <summary>
/// A kernel module file read without loading it: its .modinfo fields (vermagic, name, livepatch,
/// depends...) and, for a livepatch, the objects and functions it patches, decoded from the module's
/// own data: the <c>klp_patch</c> whose <c>mod</c> is THIS_MODULE, its <c>klp_object</c> array and
/// their <c>klp_func</c> arrays (pointers are relocations, so the strings are found through them);
/// kpatch-build's <c>.kpatch.funcs</c> table; and the <c>.klp.sym.OBJ.NAME,POS</c> symbols that
/// klp-convert and kpatch-build leave for the kernel to resolve.
/// </summary>
public sealed class PatchModule
{
    public string Path { get; }

    /// <summary>.modinfo's key=value fields, in the file's order (a key may repeat, e.g. alias).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    /// <summary>The module's name: .modinfo's name, else the one in .gnu.linkonce.this_module, else the file's (with '-' as '_').</summary>
    public string Name { get; }

    public string? VerMagic => Field("vermagic");

    /// <summary>Whether .modinfo says livepatch=Y (MODULE_INFO(livepatch, "Y")), which the kernel requires of a livepatch.</summary>
    public bool IsLivepatch => Field("livepatch") == "Y";

    public IReadOnlyList<string> Depends => Field("depends") is { Length: > 0 } d ? d.Split(',') : [];

    public IReadOnlyList<PatchedObject> Objects { get; }

    /// <summary>Where <see cref="Objects"/> came from: "klp_patch", "kpatch.funcs", or null when none was found.</summary>
    public string? PatchFormat { get; }

    /// <summary>Symbols the kernel resolves at load (.klp.sym.OBJ.NAME,POS): "OBJ NAME,POS".</summary>
    public IReadOnlyList<string> KlpSymbols { get; }

    private PatchModule(string path, IReadOnlyList<KeyValuePair<string, string>> fields, string name, IReadOnlyList<PatchedObject> objects, string? format, IReadOnlyList<string> klpSymbols)
    {
        Path = path;
        Fields = fields;
        Name = name;
        Objects = objects;
        PatchFormat = format;
        KlpSymbols = klpSymbols;
    }

    public string? Field(string key)
    {
        foreach (var f in Fields)
        {
            if (f.Key == key)
                return f.Value;
        }
        return null;
    }

    /// <exception cref="HotfixException">The file cannot be read or is not a kernel module.</exception>
    public static PatchModule Read(string path)
    {
        var elf = RelocatableElf.Read(path);
        if (elf.FindSection(".modinfo") is not { } modinfo)
            throw new HotfixException($"{path} has no .modinfo section: it is not a kernel module");
        if (elf.FindSection(".gnu.linkonce.this_module") is null)
            throw new HotfixException($"{path} has no .gnu.linkonce.this_module section: it is not a finished kernel module (an .o, not the .ko modpost makes?)");
        var fields = ParseModInfo(elf.Contents(modinfo));
        string name = NameOf(fields, elf, path);

        var klpSymbols = new List<string>();
        foreach (var s in elf.Symbols)
        {
            if (s.Name.StartsWith(".klp.sym.", StringComparison.Ordinal))
                klpSymbols.Add(KlpSymbol(s.Name));
        }

        IReadOnlyList<PatchedObject> objects = [];
        string? format = null;
        if (elf.Machine is RelocatableElf.MachineX86_64 or RelocatableElf.MachineAArch64)
        {
            objects = DecodeKlpPatch(elf);
            if (objects.Count > 0)
                format = "klp_patch";
            else if (DecodeKpatchFuncs(elf) is { Count: > 0 } kpatch)
            {
                objects = kpatch;
                format = "kpatch.funcs";
            }
        }
        return new PatchModule(path, fields, name, objects, format, klpSymbols);
    }

    /// <summary>.modinfo: NUL-separated "key=value" strings (with NUL padding between some).</summary>
    internal static List<KeyValuePair<string, string>> ParseModInfo(ReadOnlySpan<byte> data)
    {
        var fields = new List<KeyValuePair<string, string>>();
        while (!data.IsEmpty)
        {
            int end = data.IndexOf((byte)0);
            var entry = end < 0 ? data : data[..end];
            data = end < 0 ? [] : data[(end + 1)..];
            if (entry.IsEmpty)
                continue;
            string text = Encoding.UTF8.GetString(entry);
            int eq = text.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                fields.Add(new(text[..eq], text[(eq + 1)..]));
        }
        return fields;
    }

    /// <summary>".klp.sym.vmlinux.saved_command_line,0" → "vmlinux saved_command_line,0" (the object name has no dots).</summary>
    internal static string KlpSymbol(string symbol)
    {
        string rest = symbol[".klp.sym.".Length..];
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : $"{rest[..dot]} {rest[(dot + 1)..]}";
    }

    private static string NameOf(List<KeyValuePair<string, string>> fields, RelocatableElf elf, string path)
    {
        foreach (var f in fields)
        {
            if (f.Key == "name" && f.Value.Length > 0)
                return f.Value;
        }
        // Before modpost wrote name= (kernels before 5.x), struct module's name is the first
        // string in .gnu.linkonce.this_module, as kpatch reads it with readelf -p.
        var thisModule = elf.Contents(elf.FindSection(".gnu.linkonce.this_module")!.Value);
        for (int i = 0; i < thisModule.Length; i++)
        {
            if (thisModule[i] == 0)
                continue;
            int end = thisModule[i..].IndexOf((byte)0);
            if (end >= 2)
            {
                var candidate = thisModule.Slice(i, end);
                bool printable = true;
                foreach (byte b in candidate)
                    printable &= b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_' or (byte)'-';
                if (printable)
                    return Encoding.ASCII.GetString(candidate);
            }
            break;
        }
        return ModuleNameOfFile(path);
    }

    /// <summary>A module's name from its file name, as the kernel and kpatch derive it: no directory, no .ko, '-' as '_'.</summary>
    public static string ModuleNameOfFile(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        if (name.EndsWith(".ko", StringComparison.Ordinal))
            name = name[..^3];
        return name.Replace('-', '_');
    }

    /// <summary>
    /// struct klp_patch starts { struct module *mod; struct klp_object *objs; ... } and mod is
    /// THIS_MODULE: so a 64-bit relocation to __this_module in a writable section, followed by one
    /// to an array whose entries are { const char *name; struct klp_func *funcs; ... }, and each
    /// klp_func starts { const char *old_name; void *new_func; unsigned long old_sympos; }. Only
    /// those leading fields, which every kernel since 5.1 keeps, are relied on; the arrays' strides
    /// are not needed, since the pointers are found as relocations at the right distances.
    /// </summary>
    private static List<PatchedObject> DecodeKlpPatch(RelocatableElf elf)
    {
        int thisModule = -1;
        for (int i = 0; i < elf.Symbols.Count; i++)
        {
            if (elf.Symbols[i].Name == "__this_module")
            {
                thisModule = i;
                break;
            }
        }
        if (thisModule < 0)
            return [];
        uint abs64 = elf.Absolute64;
        foreach (var section in elf.Sections)
        {
            if ((section.Flags & RelocatableElf.ShfWrite) == 0 || section.Name == ".gnu.linkonce.this_module")
                continue;
            foreach (var r in elf.RelocationsOf(section.Index))
            {
                if (r.Type != abs64 || r.SymbolIndex != thisModule)
                    continue;
                if (elf.RelocationAt(section.Index, r.Offset + 8) is not { } objsPointer || objsPointer.Type != abs64 || elf.TargetOf(objsPointer) is not { } objs)
                    continue;
                var objects = DecodeObjects(elf, objs.Section, objs.Offset, abs64);
                if (objects.Count > 0)
                    return objects;
            }
        }
        return [];
    }

    private static List<PatchedObject> DecodeObjects(RelocatableElf elf, int section, ulong start, uint abs64)
    {
        var objects = new List<PatchedObject>();
        ulong end = elf.ExtentEnd(section, start);
        foreach (var r in elf.RelocationsOf(section))
        {
            // Each object's funcs pointer, 8 bytes into its entry; other pointers (callbacks)
            // do not lead to an array of klp_funcs, so they are passed over.
            if (r.Offset < start + 8 || r.Offset >= end || r.Type != abs64 || elf.TargetOf(r) is not { } funcs)
                continue;
            var functions = DecodeFunctions(elf, funcs.Section, funcs.Offset, abs64);
            if (functions.Count == 0)
                continue;
            string? name = null;
            if (elf.RelocationAt(section, r.Offset - 8) is { } namePointer && namePointer.Type == abs64 && elf.TargetOf(namePointer) is { } nameAt)
                name = elf.StringAt(nameAt.Section, nameAt.Offset);
            objects.Add(new PatchedObject(name, functions));
        }
        return objects;
    }

    private static List<PatchedFunction> DecodeFunctions(RelocatableElf elf, int section, ulong start, uint abs64)
    {
        var functions = new List<PatchedFunction>();
        if ((elf.Sections[section].Flags & RelocatableElf.ShfExecInstr) != 0)
            return functions;
        ulong end = elf.ExtentEnd(section, start);
        foreach (var r in elf.RelocationsOf(section))
        {
            if (r.Offset < start || r.Offset >= end || r.Type != abs64 || elf.TargetOf(r) is not { } oldName)
                continue;
            if ((elf.Sections[oldName.Section].Flags & (RelocatableElf.ShfExecInstr | RelocatableElf.ShfWrite)) != 0)
                continue;
            if (elf.RelocationAt(section, r.Offset + 8) is not { } newPointer || newPointer.Type != abs64 || elf.TargetOf(newPointer) is not { } newFunc)
                continue;
            if ((elf.Sections[newFunc.Section].Flags & RelocatableElf.ShfExecInstr) == 0)
                continue;
            if (elf.StringAt(oldName.Section, oldName.Offset) is not { Length: > 0 } old)
                continue;
            functions.Add(new PatchedFunction(old, elf.U64At(section, r.Offset + 16) ?? 0, elf.FunctionAt(newFunc.Section, newFunc.Offset)));
        }
        return functions;
    }

    /// <summary>
    /// kpatch-build's modules carry a .kpatch.funcs table of struct kpatch_patch_func
    /// { new_addr, new_size, old_addr, old_size, sympos, name, objname } (7 longs); the patch hook
    /// builds the klp_patch from it at load time.
    /// </summary>
    private static List<PatchedObject> DecodeKpatchFuncs(RelocatableElf elf)
    {
        if (elf.FindSection(".kpatch.funcs") is not { } table)
            return [];
        uint abs64 = elf.Absolute64;
        var byObject = new List<(string Object, List<PatchedFunction> Functions)>();
        for (ulong entry = 0; entry + 56 <= (ulong)table.Size; entry += 56)
        {
            string? name = StringThrough(elf, table.Index, entry + 40, abs64);
            string objectName = StringThrough(elf, table.Index, entry + 48, abs64) ?? "vmlinux";
            if (name is null)
                continue;
            string? newFunction = null;
            if (elf.RelocationAt(table.Index, entry) is { } n && n.Type == abs64 && elf.TargetOf(n) is { } target)
                newFunction = elf.FunctionAt(target.Section, target.Offset);
            var list = byObject.Find(o => o.Object == objectName).Functions;
            if (list is null)
            {
                list = [];
                byObject.Add((objectName, list));
            }
            list.Add(new PatchedFunction(name, elf.U64At(table.Index, entry + 32) ?? 0, newFunction));
        }
        return byObject.ConvertAll(o => new PatchedObject(o.Object == "vmlinux" ? null : o.Object, o.Functions));
    }

    private static string? StringThrough(RelocatableElf elf, int section, ulong offset, uint abs64)
        => elf.RelocationAt(section, offset) is { } r && r.Type == abs64 && elf.TargetOf(r) is { } at ? elf.StringAt(at.Section, at.Offset) : null;
}
