using KdtCapture.Bpf.Btf;
using KdtCapture.Bpf.Features;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Capture.Taps;

/// <summary>Which way the packets a tap sees travel, when its place in the stack says so.</summary>
public enum TapDirection
{
    Unknown,
    /// <summary>Received: netif_receive_skb, ip_rcv, ...</summary>
    Inbound,
    /// <summary>Sent: net_dev_queue, ip_output, dev_hard_start_xmit, ...</summary>
    Outbound,
}

/// <summary>One tap resolved against the kernel's BTF: what to attach to and where the skb is.</summary>
public sealed record ResolvedTap
{
    /// <summary>The spec for this one function or tracepoint (a glob's match has its own).</summary>
    public required TapSpec Spec { get; init; }

    public TapKind Kind => Spec.Kind;

    /// <summary>The function or tracepoint: "ip_output", "net_dev_queue".</summary>
    public required string Target { get; init; }

    /// <summary>The loaded kernel module whose function <see cref="Target"/> is ("mac80211"); null for vmlinux.</summary>
    public string? Module { get; init; }

    /// <summary>Index of the <c>struct sk_buff *</c> among the arguments the program sees.</summary>
    public required int SkbArgument { get; init; }

    /// <summary>How many arguments the program sees (fexit's return value comes after them).</summary>
    public required int ArgumentCount { get; init; }

    /// <summary>The argument holding an <c>enum skb_drop_reason</c> (kfree_skb), or -1.</summary>
    public int ReasonArgument { get; init; } = -1;

    /// <summary>The <c>void *location</c> argument of kfree_skb/consume_skb, or -1.</summary>
    public int LocationArgument { get; init; } = -1;

    /// <summary>The prototype in C, for messages and the interface description.</summary>
    public required string Prototype { get; init; }

    public TapDirection Direction { get; init; }

    /// <summary>What the pcapng interface block's if_description says.</summary>
    public string Description => $"kdt tap {Spec.Prefix}/{Target}{(Module is null ? "" : $" (module {Module})")}: {Prototype}, skb argument {SkbArgument}";
}

/// <summary>Where <see cref="TapResolver"/> looks besides BTF. The defaults are the running kernel's files.</summary>
public sealed class TapResolverOptions
{
    /// <summary>At most this many functions one glob may attach to. Default 64.</summary>
    public int MaxGlobMatches { get; init; } = 64;

    /// <summary>tracefs' list of traceable functions; unreadable or missing: not checked.</summary>
    public string AvailableFilterFunctionsPath { get; init; } = "/sys/kernel/tracing/available_filter_functions";

    /// <summary>Kernel symbols: a BTF function without a symbol was inlined everywhere.</summary>
    public string KallsymsPath { get; init; } = "/proc/kallsyms";

    /// <summary>Where the loaded modules' BTF lives (split on vmlinux's): functions not in vmlinux are looked up there.</summary>
    public string ModuleBtfDirectory { get; init; } = "/sys/kernel/btf";

    /// <summary>The running kernel's module tree (modules.dep, modules.symbols), to name the module to load for a function
    /// of a module that is not loaded; null: <c>/lib/modules/$(uname -r)</c>.</summary>
    public string? ModulesDirectory { get; init; }

    /// <summary>Check that the kernel allows the tap's kind (fentry refused, no kprobes) while resolving. Default true.</summary>
    public bool CheckAttachKind { get; init; } = true;
}

/// <summary>
/// Resolves tap specs against the kernel's BTF: the function or tracepoint must exist, take a
/// <c>struct sk_buff *</c> (the first one, or the one <c>:N</c> names) and be attachable. Every
/// refusal is a <see cref="TapException"/> of one line naming what to use instead.
/// </summary>
public sealed class TapResolver
{
    /// <summary>Arguments a kprobe tap reads from registers (x86-64: di, si, dx, cx, r8, r9).</summary>
    public const int KprobeRegisterArguments = 6;

    private const string SeeSamePackets = "tp_btf/net_dev_queue, tp_btf/netif_receive_skb or tp_btf/kfree_skb, which see the same packets";
    private readonly BtfData _btf;
    private readonly TapResolverOptions _options;
    private HashSet<string>? _traceable;
    private bool _traceableLoaded;
    private HashSet<string>? _symbols;
    private bool _symbolsLoaded;
    private readonly Dictionary<string, BtfData?> _moduleBtf = new(StringComparer.Ordinal);

    public TapResolver(BtfData btf, TapResolverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(btf);
        _btf = btf;
        _options = options ?? new TapResolverOptions();
    }

    /// <summary>A resolver over the running kernel's BTF.</summary>
    public static TapResolver ForKernel(TapResolverOptions? options = null)
    {
        BtfData btf;
        try
        {
            btf = BtfData.Kernel;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BtfFormatException)
        {
            throw new TapException($"kernel taps need the kernel's BTF ({BtfData.KernelPath}): {e.Message}", e);
        }
        return new TapResolver(btf, options);
    }

    /// <summary>Resolves every spec (globs expand to their functions, in BTF order); duplicates are kept once.</summary>
    public IReadOnlyList<ResolvedTap> Resolve(IEnumerable<TapSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var result = new List<ResolvedTap>();
        var seen = new HashSet<(TapKind, string)>();
        foreach (TapSpec spec in specs)
            foreach (ResolvedTap tap in Resolve(spec))
                if (seen.Add((tap.Kind, tap.Target)))
                    result.Add(tap);
        return result;
    }

    /// <summary>Resolves one spec.</summary>
    /// <exception cref="TapException">Unknown name, no skb argument, not traceable, refused kind.</exception>
    public IReadOnlyList<ResolvedTap> Resolve(TapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (_options.CheckAttachKind)
            CheckKind(spec);
        if (spec.IsTracepoint)
            return spec.IsGlob ? ResolveTracepointGlob(spec) : [ResolveTracepoint(spec)];
        return spec.IsGlob ? ResolveFunctionGlob(spec) : [ResolveFunction(spec)];
    }

    /// <summary>The one-line refusal when this kernel cannot attach taps of <paramref name="kind"/>; null when it can.</summary>
    public static string? AttachKindRefusal(TapKind kind, string target)
    {
        switch (kind)
        {
            case TapKind.Fentry or TapKind.Fexit:
                var attach = kind == TapKind.Fentry ? BpfAttachKind.Fentry : BpfAttachKind.Fexit;
                if (BpfFeatures.HasAttachKind(attach))
                    return null;
                string name = TapSpec.KindPrefix(kind);
                string kprobe = BpfFeatures.HasKprobes ? $"use kprobe/{target}, or " : "this kernel has no kprobes either; use ";
                return BpfFeatures.CanLoadPrograms
                    ? $"{name} is refused by this kernel (EPERM: BPF trampolines are not allowed here); {kprobe}{SeeSamePackets}"
                    : $"{name}/{target} needs root (CAP_BPF and CAP_PERFMON) to load BPF programs";
            case TapKind.Kprobe:
                if (BpfFeatures.HasKprobes)
                    return null;
                return $"kprobe/{target}: this kernel has no kprobes (CONFIG_KPROBE_EVENTS); use fentry/{target} where trampolines are allowed, or {SeeSamePackets}";
            case TapKind.TpBtf:
                return BpfFeatures.HasAttachKind(BpfAttachKind.TpBtf) ? null
                    : $"tp_btf/{target}: this kernel does not load tp_btf programs (Linux 5.5 with BTF and root are needed); try raw_tp/{target}";
            default:
                return BpfFeatures.HasAttachKind(BpfAttachKind.RawTracepoint) ? null
                    : $"raw_tp/{target}: this kernel does not load raw tracepoint programs (Linux 4.17 and root are needed)";
        }
    }

    private static void CheckKind(TapSpec spec)
    {
        string? refusal = AttachKindRefusal(spec.Kind, spec.Name);
        if (refusal is not null)
            throw new TapException(refusal);
    }

    private ResolvedTap ResolveFunction(TapSpec spec)
    {
        BtfData btf = _btf;
        string? module = spec.Module;
        BtfType function;
        if (module is not null)
        {
            btf = ModuleBtfOrRefuse(spec, module);
            if (!btf.TryFindLocal(spec.Name, BtfKind.Function, out function))
            {
                var near = NearestLocalFunctions(btf, spec.Name);
                throw new TapException($"{spec.Text}: module {module} has no function '{spec.Name}'" +
                    (near.Count == 0 ? "" : $" (did you mean {string.Join(", ", near)}?)")) { Suggestions = near };
            }
        }
        else if (!_btf.TryFind(spec.Name, BtfKind.Function, out function))
        {
            if (TryFindTracepoint(spec.Name, out _))
                throw new TapException($"{spec.Text}: '{spec.Name}' is a tracepoint, not a function: use tp_btf/{spec.Name}");
            if (FindModuleOf(spec.Name) is { } found)
            {
                (module, btf, function) = found;
                spec = spec.WithModule(module);
            }
            else
            {
                if (UnloadedModuleOf(spec.Name) is string unloaded)
                    throw new TapException($"{spec.Text}: '{spec.Name}' is a function of module {unloaded}, which is not loaded: load it with 'modprobe {unloaded}' and try again");
                var near = BtfSuggestions.Nearest(_btf, spec.Name, BtfKind.Function);
                throw new TapException($"{spec.Text}: the kernel has no function '{spec.Name}'" +
                    (near.Count == 0 ? "" : $" (did you mean {string.Join(", ", near)}?)")) { Suggestions = near };
            }
        }
        string? untraceable = Untraceable(spec.Name);
        if (untraceable is not null)
            throw new TapException($"{spec.Text}: {untraceable}; tap a caller, or {SeeSamePackets}");
        int count = function.Parameters.Count;
        int skb = SkbArgument(spec, count, i => function.Parameters[i], function.FindSkbArgument(), () => Prototype(btf, function));
        if (spec.Kind == TapKind.Kprobe && skb >= KprobeRegisterArguments)
            throw new TapException($"{spec.Text}: the skb is argument {skb} of '{spec.Name}', past the {KprobeRegisterArguments} passed in registers that a kprobe reads; use fentry/{spec.Text[(spec.Text.IndexOf('/') + 1)..]}");
        return new ResolvedTap
        {
            Spec = spec,
            Target = spec.Name,
            Module = module,
            SkbArgument = skb,
            ArgumentCount = count,
            Prototype = Prototype(btf, function),
            Direction = DirectionOf(spec.Name),
        };
    }

    private List<ResolvedTap> ResolveFunctionGlob(TapSpec spec)
    {
        var matches = new List<ResolvedTap>();
        int skipped = 0;
        // A glob covers vmlinux's functions, or with MODULE: that module's.
        BtfData btf = spec.Module is { } module ? ModuleBtfOrRefuse(spec, module) : _btf;
        foreach (BtfType function in btf.MatchFunctions(spec.Name, skbOnly: spec.SkbArgument is null))
        {
            if (function.Id < btf.FirstLocalId && spec.Module is not null)
                continue;
            string name = function.Name;
            if (Untraceable(name) is not null)
            {
                skipped++;
                continue;
            }
            int count = function.Parameters.Count;
            int skb = spec.SkbArgument ?? function.FindSkbArgument();
            if (skb < 0 || skb >= count || !function.Parameters[skb].Type.IsPointerToStruct("sk_buff"u8))
                continue;
            if (spec.Kind == TapKind.Kprobe && skb >= KprobeRegisterArguments)
                continue;
            matches.Add(new ResolvedTap
            {
                Spec = spec.WithName(name),
                Target = name,
                Module = spec.Module,
                SkbArgument = skb,
                ArgumentCount = count,
                Prototype = Prototype(btf, function),
                Direction = DirectionOf(name),
            });
        }
        if (matches.Count == 0)
            throw new TapException($"{spec.Text}: no traceable kernel function matching '{spec.Name}' takes a struct sk_buff *" +
                (skipped > 0 ? $" ({skipped} matching ones are inlined or notrace)" : "") + "; list candidates with: kdt btf funcs --skb '" + spec.Name + "'");
        if (matches.Count > _options.MaxGlobMatches)
            throw new TapException($"{spec.Text} matches {matches.Count} functions that take an skb; at most {_options.MaxGlobMatches} taps at once: narrow the pattern");
        return matches;
    }

    private ResolvedTap ResolveTracepoint(TapSpec spec)
    {
        if (!TryFindTracepoint(spec.Name, out BtfTracepoint tracepoint))
        {
            if (_btf.TryFind(spec.Name, BtfKind.Function, out _))
                throw new TapException($"{spec.Text}: '{spec.Name}' is a function, not a tracepoint: use fentry/{spec.Name} (or kprobe/{spec.Name})");
            var near = BtfSuggestions.Nearest(_btf, spec.Name, BtfKind.Typedef, BtfTracepoint.TypedefPrefix);
            throw new TapException($"{spec.Text}: the kernel has no tracepoint '{spec.Name}'" +
                (near.Count == 0 ? "" : $" (did you mean {string.Join(", ", near)}?)")) { Suggestions = near };
        }
        return FromTracepoint(spec, tracepoint, strict: true)!;
    }

    private List<ResolvedTap> ResolveTracepointGlob(TapSpec spec)
    {
        var matches = new List<ResolvedTap>();
        foreach (BtfTracepoint tp in _btf.MatchTracepoints(spec.Name, skbOnly: spec.SkbArgument is null))
            if (FromTracepoint(spec.WithName(tp.Name), tp, strict: false) is { } tap)
                matches.Add(tap);
        if (matches.Count == 0)
            throw new TapException($"{spec.Text}: no tracepoint matching '{spec.Name}' has a struct sk_buff * argument");
        if (matches.Count > _options.MaxGlobMatches)
            throw new TapException($"{spec.Text} matches {matches.Count} tracepoints with an skb; at most {_options.MaxGlobMatches} taps at once: narrow the pattern");
        return matches;
    }

    private ResolvedTap? FromTracepoint(TapSpec spec, BtfTracepoint tp, bool strict)
    {
        int count = tp.ArgumentCount;
        string prototype = TracepointPrototype(tp);
        int skb;
        if (strict)
            skb = SkbArgument(spec, count, tp.Argument, tp.FindSkbArgument(), () => prototype);
        else
        {
            skb = spec.SkbArgument ?? tp.FindSkbArgument();
            if (skb < 0 || skb >= count || !tp.Argument(skb).Type.IsPointerToStruct("sk_buff"u8))
                return null;
        }
        int reason = -1, location = -1;
        for (int i = 0; i < count; i++)
        {
            BtfType type = tp.Argument(i).Type.ResolveTypedefs();
            if (reason < 0 && type.Kind is BtfKind.Enum or BtfKind.Enum64 && type.Name == "skb_drop_reason")
                reason = i;
            else if (location < 0 && i > skb && type.Kind == BtfKind.Pointer && type.Target.SkipQualifiers().IsVoid)
                location = i;
        }
        return new ResolvedTap
        {
            Spec = spec,
            Target = tp.Name,
            SkbArgument = skb,
            ArgumentCount = count,
            ReasonArgument = reason,
            LocationArgument = location,
            Prototype = prototype,
            Direction = DirectionOf(tp.Name),
        };
    }

    private static int SkbArgument(TapSpec spec, int count, Func<int, BtfParameter> parameter, int found, Func<string> prototype)
    {
        if (spec.SkbArgument is int n)
        {
            if (n >= count)
                throw new TapException($"{spec.Text}: '{spec.Name}' has {count} argument{(count == 1 ? "" : "s")} (0 to {count - 1}): {prototype()}");
            if (!parameter(n).Type.IsPointerToStruct("sk_buff"u8))
            {
                string hint = found >= 0 ? $"; its skb is argument {found}" : "";
                throw new TapException($"{spec.Text}: argument {n} of '{spec.Name}' is not a struct sk_buff * ({prototype()}){hint}");
            }
            return n;
        }
        if (found < 0)
            throw new TapException($"{spec.Text}: '{spec.Name}' takes no struct sk_buff * ({prototype()}); list functions that do with: kdt btf funcs --skb '*{Stem(spec.Name)}*'");
        return found;
    }

    /// <summary>The name without leading underscores and a trailing verb part, for a search hint.</summary>
    private static string Stem(string name)
    {
        string s = name.TrimStart('_');
        int us = s.IndexOf('_');
        return us > 0 ? s[..us] : s;
    }

    private bool TryFindTracepoint(string name, out BtfTracepoint tracepoint)
    {
        try
        {
            tracepoint = _btf.FindTracepoint(name);
            return true;
        }
        catch (BtfNotFoundException)
        {
            tracepoint = default;
            return false;
        }
    }

    private static string Prototype(BtfData btf, BtfType function)
    {
        try
        {
            return new BtfCFormatter(btf).Prototype(function);
        }
        catch (InvalidOperationException)
        {
            return function.Name + "(...)";
        }
    }

    private string TracepointPrototype(BtfTracepoint tp)
    {
        var c = new BtfCFormatter(_btf);
        var parts = new List<string>();
        for (int i = 0; i < tp.ArgumentCount; i++)
            parts.Add(c.Declaration(tp.Argument(i).Type, tp.Argument(i).Name));
        return $"{tp.Name}({string.Join(", ", parts)})";
    }

    /// <summary>Why a function cannot be traced, or null: absent from tracefs' list when it is readable,
    /// else absent from kallsyms (inlined into every caller).</summary>
    private string? Untraceable(string name)
    {
        if (!_traceableLoaded)
        {
            _traceable = ReadNames(_options.AvailableFilterFunctionsPath, symbolColumn: 0);
            _traceableLoaded = true;
        }
        if (_traceable is not null)
            return _traceable.Contains(name) ? null : $"'{name}' cannot be traced: it is inlined or notrace (not in available_filter_functions)";
        if (!_symbolsLoaded)
        {
            _symbols = ReadNames(_options.KallsymsPath, symbolColumn: 2);
            _symbolsLoaded = true;
        }
        if (_symbols is not null && !_symbols.Contains(name))
            return $"'{name}' cannot be traced: it has no symbol in {_options.KallsymsPath} (inlined into its callers)";
        return null;
    }

    /// <summary>The names in a column of a text file ("name [module]" or "addr t name [module]"), modules'
    /// functions included; null when the file cannot be read.</summary>
    private static HashSet<string>? ReadNames(string path, int symbolColumn)
    {
        try
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (string line in File.ReadLines(path))
            {
                ReadOnlySpan<char> rest = line;
                for (int c = 0; c < symbolColumn; c++)
                {
                    int sp = rest.IndexOf(' ');
                    if (sp < 0) { rest = default; break; }
                    rest = rest[(sp + 1)..];
                }
                int end = rest.IndexOfAny(' ', '\t');
                if (end >= 0) rest = rest[..end];
                if (!rest.IsEmpty) names.Add(rest.ToString());
            }
            return names.Count == 0 ? null : names;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The first loaded module (in name order) whose own BTF defines <paramref name="name"/> as a function.</summary>
    private (string Module, BtfData Btf, BtfType Function)? FindModuleOf(string name)
    {
        foreach (string module in LoadedModules())
            if (ModuleBtf(module) is { } btf && btf.TryFindLocal(name, BtfKind.Function, out BtfType function))
                return (module, btf, function);
        return null;
    }

    /// <summary>The modules with BTF in <see cref="TapResolverOptions.ModuleBtfDirectory"/>, by name.</summary>
    private List<string> LoadedModules()
    {
        var modules = new List<string>();
        try
        {
            foreach (string path in Directory.EnumerateFiles(_options.ModuleBtfDirectory))
            {
                string module = Path.GetFileName(path);
                if (module != "vmlinux")
                    modules.Add(module);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        modules.Sort(StringComparer.Ordinal);
        return modules;
    }

    /// <summary>A loaded module's BTF (split on vmlinux's), read once; null when it is not there or unreadable.</summary>
    private BtfData? ModuleBtf(string module)
    {
        if (_moduleBtf.TryGetValue(module, out BtfData? known))
            return known;
        BtfData? btf = null;
        try
        {
            btf = BtfData.Load(Path.Combine(_options.ModuleBtfDirectory, module), _btf);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BtfFormatException)
        {
        }
        _moduleBtf[module] = btf;
        return btf;
    }

    /// <summary>The BTF of the module a spec names, or a refusal saying how to load it (or which modules there are).</summary>
    private BtfData ModuleBtfOrRefuse(TapSpec spec, string module)
    {
        if (module == "vmlinux")
            throw new TapException($"{spec.Text}: vmlinux is not a module: write {spec.Prefix}/{spec.Name}");
        string name = module.Replace('-', '_');
        if (ModuleBtf(name) is { } btf)
            return btf;
        if (File.Exists(Path.Combine(_options.ModuleBtfDirectory, name)))
            throw new TapException($"{spec.Text}: the BTF of module {name} ({_options.ModuleBtfDirectory}/{name}) cannot be read");
        switch (ModuleState(name))
        {
            case ModuleAvailability.Available:
                throw new TapException($"{spec.Text}: module {name} is not loaded: load it with 'modprobe {name}' and try again");
            case ModuleAvailability.Builtin:
                throw new TapException($"{spec.Text}: {name} is built into the kernel image: write {spec.Prefix}/{spec.Name}");
        }
        var loaded = LoadedModules();
        var near = loaded.Where(m => m.Contains(name, StringComparison.Ordinal) || name.Contains(m, StringComparison.Ordinal)).Take(5).ToList();
        throw new TapException($"{spec.Text}: no module {name} is loaded or installed" +
            (near.Count > 0 ? $" (loaded: {string.Join(", ", near)})" : loaded.Count > 0 ? $"; loaded modules with BTF: {loaded.Count} (ls {_options.ModuleBtfDirectory})" : ""));
    }

    private enum ModuleAvailability { Unknown, Available, Builtin }

    private string ModulesDirectory
    {
        get
        {
            if (_options.ModulesDirectory is { } given)
                return given;
            try
            {
                return "/lib/modules/" + File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return "/lib/modules/" + Environment.OSVersion.Version;
            }
        }
    }

    /// <summary>Whether modules.dep lists the module (it can be loaded) or modules.builtin has it.</summary>
    private ModuleAvailability ModuleState(string module)
    {
        bool Lists(string index)
        {
            try
            {
                foreach (string line in File.ReadLines(Path.Combine(ModulesDirectory, index)))
                {
                    int colon = line.IndexOf(':');
                    ReadOnlySpan<char> path = colon >= 0 ? line.AsSpan(0, colon) : line.AsSpan().TrimEnd();
                    int ko = path.LastIndexOf(".ko", StringComparison.Ordinal);
                    if (ko < 0)
                        continue;
                    int slash = path[..ko].LastIndexOf('/');
                    if (path[(slash + 1)..ko].ToString().Replace('-', '_') == module)
                        return true;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            return false;
        }
        if (Lists("modules.dep"))
            return ModuleAvailability.Available;
        return Lists("modules.builtin") ? ModuleAvailability.Builtin : ModuleAvailability.Unknown;
    }

    /// <summary>The module, not loaded, that exports <paramref name="name"/> (modules.symbols: "alias symbol:NAME MODULE"), or null.</summary>
    private string? UnloadedModuleOf(string name)
    {
        try
        {
            string wanted = "alias symbol:" + name + " ";
            foreach (string line in File.ReadLines(Path.Combine(ModulesDirectory, "modules.symbols")))
                if (line.StartsWith(wanted, StringComparison.Ordinal))
                    return line[wanted.Length..].Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    private static List<string> NearestLocalFunctions(BtfData btf, string name) =>
        BtfSuggestions.Nearest(btf, name, BtfKind.Function, max: 20).Where(n => btf.TryFindLocal(n, BtfKind.Function, out _)).Take(5).ToList();

    /// <summary>Which way packets go at a place in the stack, from its name.</summary>
    public static TapDirection DirectionOf(string target)
    {
        ReadOnlySpan<char> n = target;
        if (n.Contains("xmit", StringComparison.Ordinal) || n.Contains("output", StringComparison.Ordinal) ||
            n.Contains("net_dev_queue", StringComparison.Ordinal) || n.Contains("_send", StringComparison.Ordinal) ||
            n.StartsWith("dev_queue", StringComparison.Ordinal) || n.StartsWith("__dev_queue", StringComparison.Ordinal))
            return TapDirection.Outbound;
        if (n.Contains("_rcv", StringComparison.Ordinal) || n.Contains("receive", StringComparison.Ordinal) ||
            n.StartsWith("netif_rx", StringComparison.Ordinal) || n.Contains("_recv", StringComparison.Ordinal) ||
            n.Contains("gro_receive", StringComparison.Ordinal))
            return TapDirection.Inbound;
        return TapDirection.Unknown;
    }
}
