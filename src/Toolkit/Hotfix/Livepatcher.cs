using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace KdtCapture.Toolkit.Hotfix;

/// <summary>How <see cref="Livepatcher"/> waits for transitions.</summary>
public sealed class LivepatchOptions
{
    /// <summary>How long a transition may take before it counts as stalled (kpatch: 15 s, then a signal, then 60 s more). Default 75 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(75);

    /// <summary>When stalled tasks are signalled, from the transition's start (kpatch's 15 s). Default 15 s, or the timeout when shorter.</summary>
    public TimeSpan SignalAfter { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How often progress is printed while waiting. Default 5 s.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// kpatch's workflow on the kernel's livepatch: load a patch module and wait for its transition
/// (signalling stalled tasks, rolling back when it does not finish), unload (disable, wait,
/// delete_module), signal, force. Progress goes to <c>log</c> in kpatch's words; refusals are
/// <see cref="HotfixException"/>s that say what to do.
/// </summary>
public sealed partial class Livepatcher(LivepatchOptions options, TextWriter log)
{
    private const int MaxLoadAttempts = 5;
    private static readonly TimeSpan s_retryInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_moduleRefWait = TimeSpan.FromSeconds(15);

    private readonly LivepatchSysfs _sysfs = new();

    /// <summary>Why kdt hotfix cannot manage patches on this kernel, in one sentence; null when it can.</summary>
    public static string? WhyNot()
    {
        bool modules = KernelModules.Supported, livepatch = Directory.Exists(LivepatchSysfs.DefaultRoot);
        if (!modules && !livepatch)
            return "this kernel has neither loadable modules (no /proc/modules) nor livepatch (no /sys/kernel/livepatch): run it on a kernel built with CONFIG_MODULES and CONFIG_LIVEPATCH (kdt hotfix info FILE.ko reads a patch anywhere)";
        if (!modules)
            return "this kernel has no loadable modules (no /proc/modules), so no patch module can be loaded: run it on a kernel built with CONFIG_MODULES (kdt hotfix info FILE.ko reads a patch anywhere)";
        if (!livepatch)
            return "this kernel has no livepatch (no /sys/kernel/livepatch): run it on a kernel built with CONFIG_LIVEPATCH (kdt hotfix info FILE.ko reads a patch anywhere)";
        return null;
    }

    /// <summary>The running kernel's release (uname -r).</summary>
    public static string RunningRelease() => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    /// <summary>
    /// The vermagic of the running kernel's own modules (the first readable one in modules.dep),
    /// for the comparison the kernel makes; null when none can be read.
    /// </summary>
    public static VerMagic? KernelVerMagic(string release)
    {
        string dir = $"/lib/modules/{release}";
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(dir, "modules.dep")))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || !line.AsSpan(0, colon).EndsWith(".ko"))
                    continue;
                try
                {
                    var module = PatchModule.Read(Path.Combine(dir, line[..colon]));
                    return module.VerMagic is { } v ? VerMagic.Parse(v) : null;
                }
                catch (HotfixException)
                {
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>Refuses a file that is not a livepatch for the running kernel.</summary>
    public static PatchModule CheckLoadable(string path, string runningRelease, VerMagic? kernelVerMagic)
    {
        var module = PatchModule.Read(path);
        if (!module.IsLivepatch)
            throw new HotfixException($"{path} is not a livepatch module (no livepatch=Y in its .modinfo): load ordinary modules with insmod or modprobe");
        if (module.VerMagic is not { } text)
            throw new HotfixException($"{path} has no vermagic in its .modinfo: build it with the kernel's Makefile (make -C /lib/modules/{runningRelease}/build M=DIR)");
        if (VerMagic.Parse(text).Mismatch(path, runningRelease, kernelVerMagic) is { } why)
            throw new HotfixException(why);
        return module;
    }

    /// <summary>Loads the patch in <paramref name="path"/> and waits for its transition; rolls it back when the transition does not finish.</summary>
    public void Load(string path, CancellationToken cancellationToken)
    {
        string release = RunningRelease();
        var module = CheckLoadable(path, release, KernelVerMagic(release));
        string name = module.Name;
        if (_sysfs.Get(name) is { } existing)
        {
            if (existing.Enabled && !existing.InTransition)
            {
                log.WriteLine($"patch module {name} is already loaded and enabled");
                return;
            }
            if (existing.Enabled)
            {
                log.WriteLine($"patch module {name} is loaded and still enabling");
                WaitOrRollBack(name, cancellationToken);
                return;
            }
            throw new HotfixException($"patch module {name} is being disabled: wait for that (kdt hotfix list), then load it again");
        }
        // A patch disabled earlier whose module stayed loaded: remove it so the new one can load.
        if (KernelModules.IsLoaded(name) && KernelModules.IsLivepatchModule(name))
            RemoveModule(name, quiet: true, cancellationToken);

        log.WriteLine($"loading patch module: {path}");
        log.Flush();
        var since = Stopwatch.StartNew();
        for (int attempt = 1; ; attempt++)
        {
            int errno = KernelModules.Load(path);
            if (errno == 0)
                break;
            // EBUSY: another patch is in a transition; kpatch retries a few times.
            if (errno != KernelModules.Ebusy || attempt == MaxLoadAttempts)
                throw new HotfixException(LoadError(path, name, errno));
            log.WriteLine($"kdt hotfix: {KernelModules.Describe(errno)}, retrying in {s_retryInterval.TotalSeconds:F0} s ({attempt}/{MaxLoadAttempts - 1})...");
            if (cancellationToken.WaitHandle.WaitOne(s_retryInterval))
                throw new HotfixException($"interrupted before {name} was loaded");
            since.Restart();
        }
        WaitOrRollBack(name, cancellationToken, since);
    }

    private void WaitOrRollBack(string name, CancellationToken cancellationToken, Stopwatch? since = null)
    {
        if (WaitForTransition(name, cancellationToken, since))
            return;
        ShowStalled(name);
        log.WriteLine($"patch module {name} did not complete its transition, unloading...");
        int? target = _sysfs.Target(name);
        try
        {
            if (target == 1)
                _sysfs.Disable(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HotfixException($"{name}'s transition stalled and disabling it failed ({e.Message}): kdt hotfix signal, or kdt hotfix force {name}, then kdt hotfix unload {name}");
        }
        if (!WaitForTransition(name, CancellationToken.None))
            throw new HotfixException($"{name}'s transition stalled, and so did its reversal: kdt hotfix signal, or kdt hotfix force {name}, then kdt hotfix unload {name}");
        RemoveModule(name, quiet: false, CancellationToken.None);
        throw new HotfixException(cancellationToken.IsCancellationRequested
            ? $"interrupted while {name} was in its transition: the patch was rolled back"
            : $"{name}'s transition did not finish within {options.Timeout.TotalSeconds:F0} s (the tasks above hold patched functions on their stacks): the patch was rolled back; try again when they are idle, or with a longer --timeout");
    }

    /// <summary>Disables the patch <paramref name="name"/>, waits for the transition back, and removes its module.</summary>
    public void Unload(string name, CancellationToken cancellationToken)
    {
        name = PatchModule.ModuleNameOfFile(name);
        var patch = _sysfs.Get(name);
        if (patch is null)
        {
            if (KernelModules.IsLoaded(name))
            {
                if (!KernelModules.IsLivepatchModule(name))
                    throw new HotfixException($"{name} is a loaded module but not a livepatch: remove ordinary modules with rmmod");
                // Loaded but already disabled.
                RemoveModule(name, quiet: false, cancellationToken);
                return;
            }
            throw new HotfixException($"no patch module {name} is loaded (kdt hotfix list shows the loaded ones)");
        }
        var since = Stopwatch.StartNew();
        if (patch.Enabled)
        {
            log.WriteLine($"disabling patch module: {name}");
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    _sysfs.Disable(name);
                    break;
                }
                catch (IOException e) when (attempt < MaxLoadAttempts && e.HResult == KernelModules.Ebusy)
                {
                    log.WriteLine($"kdt hotfix: {e.Message}, retrying in {s_retryInterval.TotalSeconds:F0} s...");
                    cancellationToken.WaitHandle.WaitOne(s_retryInterval);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new HotfixException(e.HResult == KernelModules.Ebusy
                        ? $"cannot disable {name} while another patch is in its transition: wait for that one (kdt hotfix list), then unload again"
                        : $"cannot disable {name}: {e.Message}");
                }
            }
        }
        if (!WaitForTransition(name, cancellationToken, since))
        {
            ShowStalled(name);
            throw new HotfixException($"{name}'s transition to disabled did not finish (the tasks above): kdt hotfix signal, or kdt hotfix force {name}, then unload again");
        }
        RemoveModule(name, quiet: false, cancellationToken);
    }

    /// <summary>Waits while <paramref name="name"/> is in a transition, signalling stalled tasks once; false when it is still in one at the timeout (or on cancellation).</summary>
    /// <param name="since">When the transition began (the load or the disable), for the times printed; default now.</param>
    public bool WaitForTransition(string name, CancellationToken cancellationToken, Stopwatch? since = null)
    {
        var clock = since ?? Stopwatch.StartNew();
        if (!_sysfs.InTransition(name))
        {
            // Already over (a quiet system switches every task within the kernel's first tries).
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"transition complete ({clock.Elapsed.TotalSeconds:F1} s)"));
            return true;
        }
        TimeSpan signalAfter = options.SignalAfter < options.Timeout ? options.SignalAfter : options.Timeout;
        bool signalled = false;
        var nextProgress = options.ProgressInterval;
        log.WriteLine($"waiting (up to {options.Timeout.TotalSeconds:F0} s) for the patch transition to complete...");
        log.Flush();
        while (_sysfs.InTransition(name))
        {
            var elapsed = clock.Elapsed;
            if (elapsed >= options.Timeout || cancellationToken.IsCancellationRequested)
                return false;
            if (!signalled && elapsed >= signalAfter)
            {
                signalled = true;
                log.WriteLine("the patch transition has stalled!");
                SignalStalled(name);
            }
            if (elapsed >= nextProgress)
            {
                nextProgress += options.ProgressInterval;
                int? target = _sysfs.Target(name);
                int lagging = target is { } t ? PatchTasks.Stalled(t, withStacks: false).Count : 0;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {elapsed.TotalSeconds:F0} s: {lagging} task(s) not yet {(target == 1 ? "patched" : "unpatched")}"));
                log.Flush();
            }
            cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100));
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"transition complete ({clock.Elapsed.TotalSeconds:F1} s)"));
        return true;
    }

    /// <summary>The patch in a transition now, if any.</summary>
    public string? TransitionPatch()
    {
        foreach (var p in _sysfs.List())
        {
            if (p.InTransition)
                return p.Name;
        }
        return null;
    }

    /// <summary>kpatch list's "Stalled processes:" block: each lagging task with its stack.</summary>
    public void ShowStalled(string name)
    {
        if (_sysfs.Target(name) is not { } target)
            return;
        var stalled = PatchTasks.Stalled(target);
        if (stalled.Count == 0)
            return;
        log.WriteLine();
        log.WriteLine($"Stalled processes ({stalled.Count}, patch_state {1 - target}, target {target}):");
        foreach (var t in stalled)
        {
            log.WriteLine(t.Pid == t.Tid ? $"{t.Tid} {t.Comm}{(t.KernelThread ? " [kernel thread]" : "")}" : $"{t.Tid} {t.Comm} (thread of {t.Pid})");
            if (t.Stack is { Length: > 0 } stack)
            {
                log.WriteLine("stack:");
                log.Write(stack.EndsWith('\n') ? stack : stack + "\n");
            }
        }
    }

    /// <summary>
    /// Wakes the tasks that stall the transition of <paramref name="name"/>: through its sysfs signal
    /// file where the kernel has one (a fake signal to user tasks, a wake-up to kernel threads), else
    /// as kpatch did before that, SIGSTOP then SIGCONT to each lagging user process that is not stopped.
    /// </summary>
    /// <returns>How many tasks lagged when signalled.</returns>
    public int SignalStalled(string name)
    {
        if (_sysfs.Target(name) is not { } target)
            return 0;
        var stalled = PatchTasks.Stalled(target, withStacks: false);
        if (_sysfs.HasSignal(name))
        {
            log.WriteLine($"signaling {stalled.Count} stalled task(s) through {Path.Combine(_sysfs.Root, name, "signal")}");
            try
            {
                _sysfs.Signal(name);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new HotfixException($"cannot signal {name}'s stalled tasks: {e.Message}");
            }
            return stalled.Count;
        }
        var pids = new SortedSet<int>();
        foreach (var t in stalled)
        {
            if (!t.KernelThread && !IsStopped(t.Pid))
                pids.Add(t.Pid);
        }
        log.WriteLine($"sending SIGSTOP and SIGCONT to {pids.Count} stalled process(es)");
        foreach (int pid in pids)
        {
            Kill(pid, SigStop);
            Kill(pid, SigCont);
        }
        return stalled.Count;
    }

    /// <summary>Ends <paramref name="name"/>'s transition without checking the stalled tasks (sysfs force).</summary>
    public void Force(string name)
    {
        name = PatchModule.ModuleNameOfFile(name);
        if (!_sysfs.Exists(name))
            throw new HotfixException($"no patch {name} is loaded (kdt hotfix list shows the loaded ones)");
        if (!_sysfs.InTransition(name))
            throw new HotfixException($"{name} is not in a transition: there is nothing to force");
        try
        {
            _sysfs.Force(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HotfixException($"cannot force {name}'s transition: {e.Message}");
        }
        log.WriteLine($"forced the transition of {name}");
    }

    private void RemoveModule(string name, bool quiet, CancellationToken cancellationToken)
    {
        if (!quiet)
            log.WriteLine($"unloading patch module: {name}");
        var clock = Stopwatch.StartNew();
        bool said = false;
        while (true)
        {
            int errno = KernelModules.Remove(name);
            if (errno == 0 || errno == KernelModules.Enoent)
                return;
            // The patch drops its module reference from a work item after the transition: a moment.
            if (errno is KernelModules.Eagain or KernelModules.Ebusy && clock.Elapsed < s_moduleRefWait && !cancellationToken.IsCancellationRequested)
            {
                if (!said && clock.Elapsed > TimeSpan.FromSeconds(1))
                {
                    log.WriteLine($"waiting (up to {s_moduleRefWait.TotalSeconds:F0} s) for the module's references to go...");
                    said = true;
                }
                cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100));
                continue;
            }
            throw new HotfixException(errno switch
            {
                KernelModules.Eagain or KernelModules.Ebusy => $"cannot remove module {name}: it is still in use (a forced transition keeps its patch module loaded for good); it stays loaded, disabled",
                KernelModules.Eperm => $"cannot remove module {name}: not permitted (run as root; a locked-down kernel refuses)",
                _ => $"cannot remove module {name}: {KernelModules.Describe(errno)}",
            });
        }
    }

    internal static string LoadError(string path, string name, int errno) => errno switch
    {
        KernelModules.Eperm or KernelModules.Eacces => $"the kernel refused to load {path}: not permitted (run as root; a kernel in lockdown or with kernel.modules_disabled=1 takes no modules)",
        KernelModules.Enoexec => $"the kernel rejected {path} as not built for it (version magic or format; dmesg says which): rebuild it against this kernel's headers",
        KernelModules.Eexist => $"a module named {name} is already loaded: kdt hotfix unload {name} first",
        KernelModules.Enokey or KernelModules.Ekeyrejected => $"the kernel requires signed modules and {path} is not signed with a key it trusts: sign it (scripts/sign-file) with an enrolled key",
        KernelModules.Enoent => $"the kernel could not resolve a symbol {path} needs (dmesg names it): rebuild it against this kernel, and load the modules it patches or depends on first",
        KernelModules.Einval => $"the kernel refused the patch in {path} (a function it replaces not found, or a patch conflict; dmesg says which)",
        KernelModules.Ebusy => $"the kernel kept refusing {path} because another patch is in a transition: wait for it (kdt hotfix list), then load again",
        KernelModules.Enosys => $"this kernel has no loadable modules: {path} cannot be loaded",
        _ => $"loading {path} failed: {KernelModules.Describe(errno)}",
    };

    private static bool IsStopped(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is 'T' or 't';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true; // gone: nothing to wake
        }
    }

    private const int SigStop = 19, SigCont = 18;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
