using System.Diagnostics;
using System.Text;
using KdtCapture.Bpf.Btf;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Cli.Btf;

/// <summary><c>kdt btf</c>: funcs, type and stats over the kernel's (or a file's) BTF. The queries live in KdtCapture.Bpf.Btf.</summary>
internal static class BtfCommand
{
    private sealed class Options
    {
        public string? Subcommand;
        public List<string> Operands = [];
        public bool Skb;
        public bool CFormat;
        public string? File;
        public string? Base;
        public string? Module;
    }

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var o = new Options();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            switch (a)
            {
                case "-h" or "--help":
                    stdout.Write(BtfHelp.Text);
                    return ExitCodes.Success;
                case "--skb":
                    o.Skb = true;
                    continue;
                case "--c":
                    o.CFormat = true;
                    continue;
                case "--file" or "--base":
                    if (i + 1 >= args.Count)
                        return Fail(stderr, $"option '{a}' needs a PATH");
                    if (a == "--file")
                        o.File = args[++i];
                    else
                        o.Base = args[++i];
                    continue;
                case "--module":
                    if (i + 1 >= args.Count)
                        return Fail(stderr, "option '--module' needs a NAME (a loaded module: ls /sys/kernel/btf)");
                    o.Module = args[++i];
                    continue;
            }
            if (a.StartsWith("--module=", StringComparison.Ordinal))
                o.Module = a["--module=".Length..];
            else if (a.StartsWith("--file=", StringComparison.Ordinal))
                o.File = a["--file=".Length..];
            else if (a.StartsWith("--base=", StringComparison.Ordinal))
                o.Base = a["--base=".Length..];
            else if (a.StartsWith('-') && a.Length > 1)
                return Fail(stderr, $"unrecognized option '{a}' (see 'kdt btf --help')");
            else if (o.Subcommand is null)
                o.Subcommand = a;
            else
                o.Operands.Add(a);
        }
        if (o.Base is not null && o.File is null)
            return Fail(stderr, "--base needs --file (the split BTF to read on top of it)");
        if (o.Module is not null && o.File is not null)
            return Fail(stderr, "--module reads /sys/kernel/btf/MODULE on the kernel's BTF: give --file PATH --base PATH for a module's BTF elsewhere");

        try
        {
            return o.Subcommand switch
            {
                null => Usage(stdout),
                "funcs" => Funcs(o, stdout, stderr),
                "type" => TypeCommand(o, stdout, stderr),
                "stats" => Stats(o, stdout, stderr),
                _ => Fail(stderr, $"unknown subcommand '{o.Subcommand}' (funcs, type, stats; see 'kdt btf --help')"),
            };
        }
        catch (BtfFormatException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (BtfNotFoundException e)
        {
            return Fail(stderr, e.Message);
        }
    }

    private static int Usage(TextWriter stdout)
    {
        stdout.Write(BtfHelp.Text);
        return ExitCodes.Success;
    }

    private static BtfData Load(Options o)
    {
        if (o.File is null)
        {
            if (!File.Exists(BtfData.KernelPath))
                throw new BtfFormatException($"{BtfData.KernelPath} is absent: this kernel was built without BTF (CONFIG_DEBUG_INFO_BTF); use --file PATH");
            return BtfData.Kernel;
        }
        var baseBtf = o.Base is null ? null : BtfData.Load(o.Base);
        return BtfData.Load(o.File, baseBtf);
    }

    /// <summary>A loaded module's BTF, split on the kernel's.</summary>
    private static BtfData LoadModule(string module)
    {
        string directory = Path.GetDirectoryName(BtfData.KernelPath)!;
        string path = Path.Combine(directory, module.Replace('-', '_'));
        if (module.Contains('/') || module == "vmlinux" || !File.Exists(path))
            throw new BtfFormatException($"no loaded module '{module}' has BTF in {directory} (load it with 'modprobe {module}'; list them with 'ls {directory}')");
        return BtfData.Load(path, BtfData.Kernel);
    }

    private static int Funcs(Options o, TextWriter stdout, TextWriter stderr)
    {
        if (o.Operands.Count > 1)
            return Fail(stderr, "funcs takes one GLOB (quote it so the shell leaves it alone)");
        string? glob = o.Operands.Count == 1 ? o.Operands[0] : null;
        bool functions = true, tracepoints = true;
        if (glob is not null && glob.StartsWith("fentry/", StringComparison.Ordinal))
        {
            glob = glob["fentry/".Length..];
            tracepoints = false;
            // fentry/MODULE:GLOB, as kdt capture -i takes it.
            int colon = glob.IndexOf(':');
            if (colon > 0)
            {
                if (o.Module is not null && o.Module != glob[..colon])
                    return Fail(stderr, $"'{o.Operands[0]}' names module {glob[..colon]}, --module {o.Module}: give one");
                o.Module = glob[..colon];
                glob = glob[(colon + 1)..];
            }
        }
        if (o.Module is not null)
        {
            if (!functions)
                return Fail(stderr, "--module lists a module's functions (fentry/MODULE:NAME), not tracepoints");
            tracepoints = false;
        }
        else if (glob is not null && glob.StartsWith("tp_btf/", StringComparison.Ordinal))
        {
            glob = glob["tp_btf/".Length..];
            functions = false;
        }
        if (glob is "" or "*")
            glob = null;

        var btf = o.Module is { } module ? LoadModule(module) : Load(o);
        var listing = new BtfListing(btf);
        var text = new StringBuilder();
        int found = 0;
        if (functions)
        {
            foreach (var f in btf.MatchFunctions(glob, o.Skb))
            {
                if (o.Module is not null && f.Id < btf.FirstLocalId)
                    continue; // the module's own functions, not vmlinux's under it
                listing.AppendFunction(text, f, o.Module);
                found++;
            }
        }
        if (tracepoints)
        {
            foreach (var tp in btf.MatchTracepoints(glob, o.Skb))
            {
                listing.AppendTracepoint(text, tp);
                found++;
            }
        }
        if (found == 0 && glob is not null)
        {
            string what = o.Module is not null ? $"function of module {o.Module}" : functions && tracepoints ? "kernel function or tracepoint" : functions ? "kernel function" : "tracepoint";
            string taking = o.Skb ? " taking a struct sk_buff *" : "";
            if (!BtfGlob.HasWildcards(glob))
            {
                bool exists = (functions && (o.Module is null ? btf.TryFind(glob, BtfKind.Function, out _) : btf.TryFindLocal(glob, BtfKind.Function, out _)))
                    || (tracepoints && btf.TryFind(BtfTracepoint.TypedefPrefix + glob, BtfKind.Typedef, out _));
                if (exists)
                    return Fail(stderr, $"'{glob}' takes no struct sk_buff * argument");
                var near = new List<string>();
                if (functions)
                    near.AddRange(BtfSuggestions.Nearest(btf, glob, BtfKind.Function));
                if (tracepoints)
                {
                    foreach (var n in BtfSuggestions.Nearest(btf, glob, BtfKind.Typedef, BtfTracepoint.TypedefPrefix))
                        near.Add("tp_btf/" + n);
                }
                string hint = near.Count == 0 ? "" : $" (did you mean {string.Join(", ", near.Take(6))}?)";
                return Fail(stderr, $"no {what} named '{glob}'{hint}");
            }
            return Fail(stderr, $"no {what}{taking} matches '{glob}'");
        }
        stdout.Write(text.ToString());
        return ExitCodes.Success;
    }

    private static int TypeCommand(Options o, TextWriter stdout, TextWriter stderr)
    {
        if (o.Operands.Count == 0)
            return Fail(stderr, "type needs a NAME (e.g. 'kdt btf type sk_buff')");
        // "struct sock" may arrive as one argument or two.
        string spec = string.Join(' ', o.Operands).Trim();
        BtfKind[] kinds = [BtfKind.Struct, BtfKind.Union, BtfKind.Typedef, BtfKind.Enum, BtfKind.Enum64];
        string name = spec;
        foreach (var (word, k) in new[] { ("struct ", new[] { BtfKind.Struct }), ("union ", new[] { BtfKind.Union }), ("enum ", new[] { BtfKind.Enum, BtfKind.Enum64 }), ("typedef ", new[] { BtfKind.Typedef }) })
        {
            if (spec.StartsWith(word, StringComparison.Ordinal))
            {
                name = spec[word.Length..].Trim();
                kinds = k;
                break;
            }
        }
        var btf = Load(o);
        BtfType? found = null;
        foreach (var k in kinds)
        {
            if (btf.TryFind(name, k, out var t))
            {
                found = t;
                break;
            }
        }
        if (found is not { } type)
        {
            if (btf.TryFind(name, BtfKind.Forward, out _))
                return Fail(stderr, $"'{name}' is only declared (struct {name};) in this BTF, never defined");
            var near = BtfSuggestions.Nearest(btf, name, kinds[0]);
            string hint = near.Count == 0 ? "" : $" (did you mean {string.Join(", ", near)}?)";
            return Fail(stderr, $"no type named '{spec}' in BTF{hint}");
        }

        var c = new BtfCFormatter(btf);
        if (o.CFormat || type.Kind is BtfKind.Enum or BtfKind.Enum64)
        {
            stdout.Write(c.Definition(type));
            return ExitCodes.Success;
        }
        if (type.Kind == BtfKind.Typedef)
        {
            stdout.Write(c.Definition(type));
            var target = type.ResolveTypedefs();
            if (target.Kind is BtfKind.Struct or BtfKind.Union)
            {
                stdout.Write('\n');
                stdout.Write(new BtfLayoutPrinter(btf).Render(target));
            }
            return ExitCodes.Success;
        }
        stdout.Write(new BtfLayoutPrinter(btf).Render(type));
        return ExitCodes.Success;
    }

    private static int Stats(Options o, TextWriter stdout, TextWriter stderr)
    {
        if (o.Operands.Count > 0)
            return Fail(stderr, "stats takes no operands");
        string path = o.File ?? BtfData.KernelPath;
        if (o.File is null && !File.Exists(path))
            throw new BtfFormatException($"{path} is absent: this kernel was built without BTF (CONFIG_DEBUG_INFO_BTF); use --file PATH");
        var clock = Stopwatch.StartNew();
        var baseBtf = o.Base is null ? null : BtfData.Load(o.Base);
        var baseTime = clock.Elapsed;
        var (btf, stats) = BtfStatistics.Measure(path, baseBtf);
        var text = new StringBuilder();
        text.Append($"file:        {path}\n");
        if (o.Base is not null)
            text.Append($"base:        {o.Base} ({btf.FirstLocalId - 1} types, read in {baseTime.TotalMilliseconds:F1} ms)\n");
        text.Append($"size:        {stats.BlobBytes} bytes\n");
        text.Append($"types:       {stats.TypeCount} (ids {stats.FirstLocalId}..{stats.FirstLocalId + stats.TypeCount - 1})\n");
        text.Append($"parse:       {stats.ParseTime.TotalMilliseconds:F1} ms (read and index every record)\n");
        text.Append($"name index:  {stats.NameIndexTime.TotalMilliseconds:F1} ms (built on the first lookup)\n");
        text.Append("kinds:\n");
        for (var k = BtfKind.Int; k <= BtfKind.Enum64; k++)
            text.Append($"  {k.ToKernelName(),-11} {stats.Count(k),7}\n");
        int skbFunctions = btf.MatchFunctions(null, skbOnly: true).Count;
        int skbTracepoints = btf.MatchTracepoints(null, skbOnly: true).Count;
        text.Append($"functions taking struct sk_buff *:   {skbFunctions}\n");
        text.Append($"tracepoints with a struct sk_buff *: {skbTracepoints}\n");
        stdout.Write(text.ToString());
        return ExitCodes.Success;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"kdt btf: {message}");
        return ExitCodes.Failure;
    }
}
