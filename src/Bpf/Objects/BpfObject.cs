using System.Buffers.Binary;
using System.Net.Sockets;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Btf;
using KdtCapture.Bpf.CoRe;
using KdtCapture.Bpf.Links;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Programs;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Bpf.Objects;

/// <summary>
/// A loaded object: its maps created (global data written, .rodata frozen), its BTF loaded, its
/// programs relocated (CO-RE against the kernel's BTF, map descriptors) and verified. Owns every
/// descriptor, and the links made through <see cref="Attach"/>; disposing detaches and closes
/// them all (so does the process's death: nothing is pinned).
/// </summary>
public sealed class BpfObject : IDisposable
{
    private readonly Dictionary<string, BpfMap> _maps = [];
    private readonly Dictionary<string, BpfProgram> _programs = [];
    private readonly Dictionary<string, ProgramSpec> _programSpecs = [];
    private readonly Dictionary<string, IReadOnlyList<CoReResult>> _coRe = [];
    private readonly List<BpfLink> _links = [];
    private readonly HashSet<string> _borrowedMaps = [];
    private BtfHandle? _btf;
    private bool _disposed;

    private BpfObject(ObjectSpec spec) => Spec = spec;

    public ObjectSpec Spec { get; }

    public IReadOnlyDictionary<string, BpfMap> Maps => _maps;

    public IReadOnlyDictionary<string, BpfProgram> Programs => _programs;

    /// <summary>The object's BTF as loaded into the kernel (null when the object has none).</summary>
    public BtfHandle? Btf => _btf;

    public BpfMap Map(string name) => _maps.TryGetValue(name, out var m)
        ? m
        : throw new KeyNotFoundException($"object '{Spec.Name}' has no map '{name}' (it has: {string.Join(", ", _maps.Keys)})");

    public BpfProgram Program(string name) => _programs.TryGetValue(name, out var p)
        ? p
        : throw new KeyNotFoundException($"object '{Spec.Name}' has no loaded program '{name}' (loaded: {string.Join(", ", _programs.Keys)})");

    /// <summary>What each CO-RE relocation of a program resolved to (or why it was poisoned).</summary>
    public IReadOnlyList<CoReResult> CoReResults(string program) => _coRe.TryGetValue(program, out var r) ? r : [];

    /// <summary>
    /// Loads <paramref name="spec"/>. On failure everything created so far is closed and the
    /// exception names the object and the program or map: a rejected program raises
    /// <see cref="BpfVerifierException"/> (name, errno, the log's last lines; the whole log in <c>Log</c>).
    /// </summary>
    public static BpfObject Load(ObjectSpec spec, BpfObjectOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new BpfObjectOptions();
        var obj = new BpfObject(spec);
        try
        {
            obj.LoadAll(options);
            return obj;
        }
        catch
        {
            obj.Dispose();
            throw;
        }
    }

    private void LoadAll(BpfObjectOptions options)
    {
        if (Spec.Btf is { } btf)
            _btf = BtfHandle.Load(btf.RawBytes.Span, $"BTF of object '{Spec.Name}'");

        foreach (var m in Spec.Maps)
        {
            if (options.MapReplacements is { } replacements && replacements.TryGetValue(m.Name, out BpfMap? shared))
            {
                if (shared.Type != m.Type || shared.KeySize != m.KeySize || shared.ValueSize != m.ValueSize)
                    throw new BpfException($"object '{Spec.Name}': map '{m.Name}' is {m.Type.KernelName()} with key {m.KeySize} and value {m.ValueSize}; the replacement given is {shared}");
                _maps[m.Name] = shared;
                _borrowedMaps.Add(m.Name);
                continue;
            }
            _maps[m.Name] = CreateMap(m);
        }

        var wanted = options.Programs;
        if (wanted is not null)
            foreach (var name in wanted)
                _ = Spec.Program(name); // a name that is not there is an error, not an empty load
        BtfData? kernel = null;
        foreach (var p in Spec.Programs)
        {
            if (wanted is not null && !wanted.Contains(p.Name))
                continue;
            if (kernel is null && (p.CoReRelocations.Count > 0 || p.Section.NeedsBtfTarget))
                kernel = options.KernelBtf ?? BtfData.Kernel;
            _programs[p.Name] = LoadProgram(p, kernel, options.LogLevel);
            _programSpecs[p.Name] = p;
        }
    }

    private BpfMap CreateMap(MapSpec m)
    {
        bool typed = _btf is not null && m.ValueTypeId != 0 && m.Type is not (BpfMapType.RingBuf or BpfMapType.PerfEventArray);
        var map = BpfMap.Create(new BpfMapCreateOptions
        {
            Type = m.Type,
            KeySize = m.KeySize,
            ValueSize = m.ValueSize,
            MaxEntries = m.MaxEntries,
            Flags = m.Flags,
            Name = KernelMapName(m.Name),
            Btf = typed ? _btf!.Fd : null,
            BtfKeyTypeId = typed ? (uint)m.KeyTypeId : 0,
            BtfValueTypeId = typed ? (uint)m.ValueTypeId : 0,
        });
        try
        {
            if (m.Contents is { } contents)
            {
                map.Update(stackalloc byte[4], contents);
                if (m.IsReadOnlyData)
                    map.Freeze();
            }
        }
        catch
        {
            map.Dispose();
            throw;
        }
        return map;
    }

    /// <summary>".rodata" stays as it is; other names keep their first 15 characters (the kernel's limit).</summary>
    private static string KernelMapName(string name) => name.Length <= 15 ? name : name[..15];

    private BpfProgram LoadProgram(ProgramSpec p, BtfData? kernel, int logLevel)
    {
        var code = (BpfInstruction[])p.Instructions.Clone();
        if (p.CoReRelocations.Count > 0)
        {
            if (Spec.Btf is null)
                throw new BpfException($"program '{p.Name}' of '{Spec.Name}' has CO-RE relocations but the object has no BTF");
            var relocator = new CoReRelocator(Spec.Btf, kernel!);
            _coRe[p.Name] = relocator.Apply(code, p.CoReRelocations);
        }
        foreach (var r in p.MapReferences)
        {
            var map = _maps[r.MapName];
            int fd = (int)map.Fd.DangerousGetHandle();
            var first = code[r.InstructionIndex];
            if (r.IsGlobalData)
            {
                // imm: the map, second imm: the variable's offset in its value.
                code[r.InstructionIndex] = first.WithSourceBits((byte)BpfPseudoSource.MapValue) with { Immediate = fd };
                code[r.InstructionIndex + 1] = code[r.InstructionIndex + 1] with { Immediate = r.Offset };
            }
            else
            {
                code[r.InstructionIndex] = first.WithSourceBits((byte)BpfPseudoSource.MapFd) with { Immediate = fd };
            }
        }

        uint attachBtfId = 0;
        BtfHandle? module = null;
        if (p.Section.NeedsBtfTarget && p.AttachModule is { } moduleName)
            (attachBtfId, module) = ModuleAttachTarget(p, moduleName, kernel!);
        else if (p.Section.NeedsBtfTarget)
            attachBtfId = AttachBtfId(p, kernel!);
        using var moduleHandle = module; // the loaded program holds its own reference to the module's BTF
        bool withBtf = _btf is not null && p.FuncInfos.Count > 0;
        var loadOptions = new BpfProgramLoadOptions
        {
            Type = p.Section.ProgramType,
            Instructions = code,
            Name = p.Name,
            License = p.License,
            ExpectedAttachType = p.Section.ExpectedAttachType,
            AttachBtfId = attachBtfId,
            AttachBtfObject = module?.Fd,
            KernelVersion = p.KernelVersion,
            Btf = withBtf ? _btf!.Fd : null,
            FuncInfo = withBtf ? FuncInfoBytes(p) : default,
            LineInfo = withBtf ? LineInfoBytes(p) : default,
            LogLevel = logLevel,
        };
        BpfProgram program;
        try
        {
            program = BpfProgram.Load(loadOptions);
        }
        catch (BpfVerifierException e) when (FirstPoisoned(p.Name) is { } poisoned)
        {
            // The verifier only sees a call to an unknown helper: say which relocation it was.
            throw new BpfVerifierException(p.Name, e.ProgramType, e.Errno,
                e.Log.TrimEnd() + $"\ninstruction {poisoned.InstructionIndex}: unsatisfied CO-RE relocation: {poisoned.Reason}",
                e.LogTruncated);
        }
        // The map descriptors were borrowed as numbers: keep the maps alive until the kernel took its references.
        GC.KeepAlive(_maps);
        return program;
    }

    private CoReResult? FirstPoisoned(string program)
    {
        if (_coRe.TryGetValue(program, out var results))
            foreach (var r in results)
                if (r.Poisoned)
                    return r;
        return null;
    }

    /// <summary>The kernel BTF id a tracing program attaches to: btf_trace_TP for tp_btf, the function for fentry/fexit.</summary>
    private static uint AttachBtfId(ProgramSpec p, BtfData kernel)
    {
        string name = (p.Section.BtfTargetPrefix ?? "") + p.AttachTarget;
        var kind = p.Kind == ProgramSectionKind.TracingRawTracepoint ? BtfKind.Typedef : BtfKind.Function;
        if (kernel.TryFind(name, kind, out var target))
            return (uint)target.Id;
        var near = BtfSuggestions.Nearest(kernel, name, kind);
        string what = p.Kind == ProgramSectionKind.TracingRawTracepoint ? "tracepoint" : "function";
        throw new BpfException($"program '{p.Name}' ({p.SectionName}): the kernel has no {what} '{p.AttachTarget}' ({name} is not in its BTF)"
            + (near.Count == 0 ? "" : $"; did you mean {string.Join(", ", near)}?"));
    }

    /// <summary>
    /// A function of a loaded module: its id in the module's BTF (split on vmlinux's, so ids continue
    /// after vmlinux's) and a descriptor of that BTF object for attach_btf_obj_fd.
    /// </summary>
    private static (uint Id, BtfHandle Module) ModuleAttachTarget(ProgramSpec p, string module, BtfData kernel)
    {
        string path = Path.Combine(Path.GetDirectoryName(BtfData.KernelPath)!, module);
        BtfData btf;
        try
        {
            btf = BtfData.Load(path, kernel);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BtfFormatException)
        {
            throw new BpfException($"program '{p.Name}' ({p.SectionName}): module '{module}' is not loaded ({path}: {e.Message}); load it with: modprobe {module}");
        }
        if (!btf.TryFindLocal(p.AttachTarget, BtfKind.Function, out var target))
            throw new BpfException($"program '{p.Name}' ({p.SectionName}): module '{module}' has no function '{p.AttachTarget}' in its BTF");
        var handle = BtfHandle.FromKernelModule(module)
            ?? throw new BpfException($"program '{p.Name}' ({p.SectionName}): the kernel lists no BTF object for module '{module}' (unloaded meanwhile?)");
        return ((uint)target.Id, handle);
    }

    private static byte[] FuncInfoBytes(ProgramSpec p)
    {
        var bytes = new byte[p.FuncInfos.Count * 8];
        for (int i = 0; i < p.FuncInfos.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 8), (uint)p.FuncInfos[i].InstructionIndex);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 8 + 4), (uint)p.FuncInfos[i].TypeId);
        }
        return bytes;
    }

    private static byte[] LineInfoBytes(ProgramSpec p)
    {
        var bytes = new byte[p.LineInfos.Count * 16];
        for (int i = 0; i < p.LineInfos.Count; i++)
        {
            var l = p.LineInfos[i];
            var d = bytes.AsSpan(i * 16);
            BinaryPrimitives.WriteUInt32LittleEndian(d, (uint)l.InstructionIndex);
            BinaryPrimitives.WriteUInt32LittleEndian(d[4..], l.FileNameOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(d[8..], l.LineOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(d[12..], l.LineAndColumn);
        }
        return bytes;
    }

    /// <summary>
    /// Attaches a program the way its section says: tp_btf/fentry/fexit/lsm through a tracing link,
    /// raw_tp by name, tracepoint and kprobe through a perf event, iter through a link. Programs that
    /// attach to a socket or an interface have their own methods.
    /// </summary>
    public BpfLink Attach(string programName)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var program = Program(programName);
        var p = _programSpecs[programName];
        BpfLink link = p.Kind switch
        {
            ProgramSectionKind.TracingRawTracepoint or ProgramSectionKind.Fentry or ProgramSectionKind.Fexit
                or ProgramSectionKind.ModifyReturn or ProgramSectionKind.Lsm => BpfLink.AttachRawTracepoint(program, null),
            ProgramSectionKind.RawTracepoint => BpfLink.AttachRawTracepoint(program, p.AttachTarget),
            ProgramSectionKind.Tracepoint => AttachTracepoint(program, p),
            ProgramSectionKind.Kprobe => BpfLink.AttachKprobe(program, p.AttachTarget, isReturn: false),
            ProgramSectionKind.Kretprobe => BpfLink.AttachKprobe(program, p.AttachTarget, isReturn: true),
            ProgramSectionKind.Iterator => BpfLink.Create(program, BpfAttachType.TraceIter, description: $"iter/{p.AttachTarget}"),
            _ => throw new InvalidOperationException(
                $"program '{p.Name}' ({p.SectionName}) attaches to a socket or an interface: use AttachToSocket or AttachXdp"),
        };
        _links.Add(link);
        return link;
    }

    private static BpfLink AttachTracepoint(BpfProgram program, ProgramSpec p)
    {
        int slash = p.AttachTarget.IndexOf('/');
        if (slash <= 0 || slash == p.AttachTarget.Length - 1)
            throw new InvalidOperationException($"program '{p.Name}' ({p.SectionName}): a tracepoint section is tracepoint/CATEGORY/NAME");
        return BpfLink.AttachTracepoint(program, p.AttachTarget[..slash], p.AttachTarget[(slash + 1)..]);
    }

    /// <summary>Attaches a socket filter program to <paramref name="socket"/> (SO_ATTACH_BPF); it goes with the socket.</summary>
    public void AttachToSocket(string programName, Socket socket)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var p = _programSpecs.TryGetValue(programName, out var s) ? s : throw new KeyNotFoundException($"no loaded program '{programName}'");
        if (p.Kind != ProgramSectionKind.SocketFilter)
            throw new InvalidOperationException($"program '{programName}' ({p.SectionName}) is not a socket filter");
        BpfSocketFilter.Attach(socket, Program(programName));
    }

    /// <summary>Attaches an XDP program to interface <paramref name="ifindex"/> through a link owned by this object.</summary>
    public BpfLink AttachXdp(string programName, int ifindex)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var link = BpfLink.AttachXdp(Program(programName), ifindex);
        _links.Add(link);
        return link;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var l in _links)
            l.Dispose();
        foreach (var p in _programs.Values)
            p.Dispose();
        foreach (var (name, m) in _maps)
            if (!_borrowedMaps.Contains(name))
                m.Dispose();
        _btf?.Dispose();
        _links.Clear();
        _programs.Clear();
        _maps.Clear();
    }
}
