using System.Globalization;
using KdtCapture.Cli.CommandLine;
using KdtCapture.Toolkit.Hotfix;

namespace KdtCapture.Cli.Hotfix;

/// <summary><c>kdt hotfix VERB</c>: kpatch's verbs over the kernel's livepatch. The work lives in KdtCapture.Toolkit.Hotfix.</summary>
internal static class HotfixCommand
{
    private const int OptAll = 1000, OptTimeout = 1001, OptRoot = 1002;

    private static readonly Getopt s_getopt = new("hk:",
    [
        new LongOption("help", false, 'h'),
        new LongOption("all", false, OptAll),
        new LongOption("timeout", true, OptTimeout),
        new LongOption("root", true, OptRoot),
        new LongOption("kernel-version", true, 'k'),
    ]);

    private const string Verbs = "load, unload, install, uninstall, list, info, signal, force";

    private sealed class Options
    {
        public bool All;
        public TimeSpan? Timeout;
        public string Root = "/";
        public string? KernelRelease;
        public List<string> Operands = [];
    }

    // Ctrl-C during a transition wait rolls back instead of leaving a half-applied patch.
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr) =>
        Interrupt.Run(token => Run(args, stdout, stderr, token));

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help")
        {
            stdout.Write(HotfixHelp.Text);
            return args.Count == 0 ? ExitCodes.Failure : ExitCodes.Success;
        }
        string verb = args[0];
        if (verb is not ("load" or "unload" or "install" or "uninstall" or "list" or "info" or "signal" or "force"))
            return Fail(stderr, $"unknown verb '{verb}' ({Verbs}; see 'kdt hotfix --help')");
        var o = new Options();
        try
        {
            foreach (var option in s_getopt.Parse(args.Skip(1).ToArray(), o.Operands))
            {
                switch (option.Id)
                {
                    case 'h':
                        stdout.Write(HotfixHelp.Text);
                        return ExitCodes.Success;
                    case OptAll:
                        o.All = true;
                        break;
                    case OptTimeout:
                        if (!double.TryParse(option.Argument, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds) || seconds <= 0 || seconds > 86400)
                            return Fail(stderr, $"--timeout '{option.Argument}': give the seconds a transition may take (e.g. --timeout 120)");
                        o.Timeout = TimeSpan.FromSeconds(seconds);
                        break;
                    case OptRoot:
                        if (!Directory.Exists(option.Argument))
                            return Fail(stderr, $"--root '{option.Argument}' is not a directory");
                        o.Root = Path.GetFullPath(option.Argument!);
                        break;
                    case 'k':
                        o.KernelRelease = option.Argument;
                        break;
                }
            }
        }
        catch (GetoptException e)
        {
            return Fail(stderr, $"{e.Message} (see 'kdt hotfix --help')");
        }
        if (Usage(verb, o) is { } usage)
            return Fail(stderr, usage);

        try
        {
            if (verb == "info")
                return Info(o.Operands[0], stdout);
            if (Livepatcher.WhyNot() is { } why)
                return Fail(stderr, $"{verb}: {why}");
            var patcher = new Livepatcher(o.Timeout is { } t ? new LivepatchOptions { Timeout = t } : new LivepatchOptions(), stdout);
            var installation = new HotfixInstallation(o.Root);
            switch (verb)
            {
                case "load":
                {
                    var modules = o.All ? installation.ModulesFor(Livepatcher.RunningRelease()) : o.Operands;
                    if (o.All && modules.Count == 0)
                        stdout.WriteLine($"no patch is installed for {Livepatcher.RunningRelease()} ({installation.DirectoryFor(Livepatcher.RunningRelease())})");
                    foreach (var path in modules)
                        patcher.Load(path, cancellationToken);
                    return ExitCodes.Success;
                }
                case "unload":
                    if (o.All)
                    {
                        // Newest first, as patches stacked on one another come off.
                        var loaded = new LivepatchSysfs().List();
                        for (int i = loaded.Count - 1; i >= 0; i--)
                            patcher.Unload(loaded[i].Name, cancellationToken);
                    }
                    else
                    {
                        foreach (var name in o.Operands)
                            patcher.Unload(name, cancellationToken);
                    }
                    return ExitCodes.Success;
                case "install":
                {
                    string release = o.KernelRelease ?? Livepatcher.RunningRelease();
                    string kdt = Environment.ProcessPath ?? "/usr/local/bin/kdt";
                    string installed = installation.Install(o.Operands[0], release, kdt);
                    stdout.WriteLine($"installed {o.Operands[0]} ({release}) as {installed}");
                    stdout.WriteLine($"enabled {installation.UnitPath} ({installation.WantsLink}): 'kdt hotfix load --all' loads it at boot");
                    return ExitCodes.Success;
                }
                case "uninstall":
                {
                    string release = o.KernelRelease ?? Livepatcher.RunningRelease();
                    string removed = installation.Uninstall(o.Operands[0], release);
                    stdout.WriteLine($"uninstalled {removed} ({release})");
                    if (!File.Exists(installation.UnitPath))
                        stdout.WriteLine($"no patch is installed any more: removed {installation.UnitPath} and its link");
                    return ExitCodes.Success;
                }
                case "list":
                    return List(patcher, installation, stdout);
                case "signal":
                {
                    string? name = o.Operands.Count > 0 ? PatchModule.ModuleNameOfFile(o.Operands[0]) : patcher.TransitionPatch();
                    if (name is null || !new LivepatchSysfs().InTransition(name))
                    {
                        stdout.WriteLine(name is null ? "no patch is in a transition: there is nothing to signal" : $"{name} is not in a transition: there is nothing to signal");
                        return ExitCodes.Success;
                    }
                    patcher.SignalStalled(name);
                    return ExitCodes.Success;
                }
                case "force":
                    stderr.WriteLine($"kdt hotfix: warning: forcing ends {o.Operands[0]}'s transition without checking the stalled tasks' stacks: a task still running a replaced function may crash the kernel, and the patch module can never be removed");
                    patcher.Force(o.Operands[0]);
                    return ExitCodes.Success;
            }
            return ExitCodes.Failure;
        }
        catch (HotfixException e)
        {
            stdout.Flush();
            return Fail(stderr, e.Message);
        }
    }

    /// <summary>Checks the operands each verb takes; the refusal, or null.</summary>
    private static string? Usage(string verb, Options o)
    {
        int n = o.Operands.Count;
        return verb switch
        {
            "load" when o.All && n > 0 => "load --all loads every installed patch: give no files with it",
            "load" when !o.All && n == 0 => "load needs a patch module (kdt hotfix load FILE.ko), or --all for the installed ones",
            "unload" when o.All && n > 0 => "unload --all unloads every loaded patch: give no names with it",
            "unload" when !o.All && n == 0 => "unload needs a patch name (kdt hotfix list shows them), or --all",
            "install" when n != 1 => "install takes one patch module: kdt hotfix install [-k RELEASE] FILE.ko",
            "uninstall" when n != 1 => "uninstall takes one installed patch name: kdt hotfix uninstall [-k RELEASE] NAME",
            "info" when n != 1 => "info takes one module file: kdt hotfix info FILE.ko",
            "force" when n != 1 => "force takes the name of the patch in a transition: kdt hotfix force NAME",
            "list" when n > 0 => $"list takes no operands, not '{o.Operands[0]}'",
            "signal" when n > 1 => "signal takes at most one patch name",
            "list" or "info" or "signal" or "force" or "install" or "uninstall" when o.All => $"{verb} takes no --all",
            "load" or "unload" or "info" or "list" or "signal" or "force" when o.KernelRelease is not null => $"-k picks the kernel of install and uninstall; {verb} works on the running kernel",
            _ => null,
        };
    }

    private static int Info(string path, TextWriter stdout)
    {
        var module = PatchModule.Read(path);
        // modinfo's layout (its own field order, 16-column keys), then what the patch patches.
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"filename:",-16}{Path.GetFullPath(path)}"));
        foreach (var field in module.Fields)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{field.Key + ":",-16}{field.Value}"));
        stdout.WriteLine();
        if (!module.IsLivepatch)
        {
            stdout.WriteLine($"{module.Name} is not a livepatch (no livepatch=Y in .modinfo)");
            return ExitCodes.Success;
        }
        if (module.Objects.Count == 0)
            stdout.WriteLine($"patched functions: none found in {module.Name}'s data (kdt decodes a static klp_patch and kpatch-build's .kpatch.funcs)");
        else
        {
            stdout.WriteLine($"patched functions (from {module.PatchFormat}):");
            foreach (var obj in module.Objects)
            {
                stdout.WriteLine($"  {obj.DisplayName}");
                foreach (var f in obj.Functions)
                {
                    string old = f.SymbolPosition == 0 ? f.OldName : $"{f.OldName},{f.SymbolPosition}";
                    stdout.WriteLine(f.NewFunction is null ? $"    {old}" : $"    {old} -> {f.NewFunction}");
                }
            }
        }
        if (module.KlpSymbols.Count > 0)
        {
            stdout.WriteLine("symbols resolved at load (.klp.sym):");
            foreach (var s in module.KlpSymbols)
                stdout.WriteLine($"  {s}");
        }
        return ExitCodes.Success;
    }

    private static int List(Livepatcher patcher, HotfixInstallation installation, TextWriter stdout)
    {
        stdout.WriteLine("Loaded patch modules:");
        string? inTransition = null;
        foreach (var p in new LivepatchSysfs().List())
        {
            stdout.WriteLine($"{p.Name} [{p.State}]");
            foreach (var (obj, functions) in p.Functions)
                stdout.WriteLine($"  {obj}: {string.Join(' ', functions)}");
            if (p.InTransition)
                inTransition ??= p.Name;
        }
        if (inTransition is not null)
            patcher.ShowStalled(inTransition);
        stdout.WriteLine();
        stdout.WriteLine("Installed patch modules:");
        foreach (var p in installation.Installed())
            stdout.WriteLine($"{p.Name} ({p.KernelRelease})");
        return ExitCodes.Success;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"kdt hotfix: {message}");
        return ExitCodes.Failure;
    }
}
