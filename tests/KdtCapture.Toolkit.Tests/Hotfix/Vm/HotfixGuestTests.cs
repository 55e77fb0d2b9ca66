using System.Diagnostics;
using KdtCapture.Cli.Hotfix;
using KdtCapture.Testing;
using KdtCapture.Toolkit.Hotfix;

namespace KdtCapture.Toolkit.Tests.Hotfix.Vm;

/// <summary>
/// kdt hotfix on a kernel with modules and livepatch: Debian 12's 6.1 in the tests/vm guest, with
/// the modules tests/vm/build-livepatch built on the host against that kernel's headers. This
/// machine's kernel has neither, so here they skip; the guest suite (tests/vm/guest-suite, run
/// by test.sh) runs them in its one boot. The kernel is the oracle: /proc/cmdline and
/// /proc/version as the patch changes them, /sys/kernel/livepatch, /proc/modules.
/// </summary>
[Trait(VmHarness.KernelTrait, VmHarness.GuestKernel)]
public sealed class HotfixGuestTests
{
    private const string Marker = "kdt_hotfix_marker", Stall = "kdt_hotfix_stall", Sleeper = "kdt_hotfix_sleeper";

    private static void RequireLivepatch()
    {
        if (Livepatcher.WhyNot() is { } why)
            Assert.Skip($"{why} (the tests/vm guest suite runs this test)");
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("loading modules needs root");
    }

    private static (int Status, string Stdout, string Stderr) Kdt(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = HotfixCommand.Run(args, stdout, stderr, CancellationToken.None);
        return (status, stdout.ToString(), stderr.ToString());
    }

    private static string Sysfs(string patch, string file) => File.ReadAllText($"/sys/kernel/livepatch/{patch}/{file}").Trim();

    [Fact]
    public void LoadPatchesTheKernelAndUnloadRestoresIt()
    {
        RequireLivepatch();
        string module = HotfixTools.Module("kdt_hotfix_marker.ko");
        string cmdline = File.ReadAllText("/proc/cmdline");
        Assert.DoesNotContain(HotfixTools.Marker, cmdline, StringComparison.Ordinal);
        try
        {
            var load = Kdt("load", module);
            Assert.True(load.Status == 0, load.Stderr + load.Stdout);
            Assert.Contains($"loading patch module: {module}", load.Stdout, StringComparison.Ordinal);
            Assert.Matches(@"transition complete \(\d+\.\d s\)", load.Stdout);
            // kdt returned once the transition ended: every task runs the new functions.
            Assert.Equal("0", Sysfs(Marker, "transition"));
            Assert.Equal("1", Sysfs(Marker, "enabled"));
            Assert.Equal($"{HotfixTools.Marker} cmdline\n", File.ReadAllText("/proc/cmdline"));
            Assert.EndsWith($" {HotfixTools.Marker}\n", File.ReadAllText("/proc/version"), StringComparison.Ordinal);
            Assert.True(KernelModules.IsLoaded(Marker));

            var list = Kdt("list");
            Assert.Equal(0, list.Status);
            Assert.Contains($"Loaded patch modules:\n{Marker} [enabled]\n  vmlinux: cmdline_proc_show,1 version_proc_show,1\n", list.Stdout, StringComparison.Ordinal);

            // What info read from the file is what the kernel made of it.
            var sysfsFunctions = Directory.GetDirectories($"/sys/kernel/livepatch/{Marker}/vmlinux").Select(Path.GetFileName).Order(StringComparer.Ordinal);
            var infoFunctions = Assert.Single(PatchModule.Read(module).Objects).Functions.Select(f => $"{f.OldName},{Math.Max(1UL, f.SymbolPosition)}");
            Assert.Equal(sysfsFunctions, infoFunctions);

            var again = Kdt("load", module);
            Assert.Equal(0, again.Status);
            Assert.Contains($"patch module {Marker} is already loaded and enabled", again.Stdout, StringComparison.Ordinal);

            var unload = Kdt("unload", Marker);
            Assert.True(unload.Status == 0, unload.Stderr + unload.Stdout);
            Assert.Contains($"disabling patch module: {Marker}", unload.Stdout, StringComparison.Ordinal);
            Assert.Contains($"unloading patch module: {Marker}", unload.Stdout, StringComparison.Ordinal);
            Assert.Equal(cmdline, File.ReadAllText("/proc/cmdline"));
            Assert.DoesNotContain(HotfixTools.Marker, File.ReadAllText("/proc/version"), StringComparison.Ordinal);
            Assert.False(KernelModules.IsLoaded(Marker));
            Assert.False(Directory.Exists($"/sys/kernel/livepatch/{Marker}"));

            var gone = Kdt("unload", Marker);
            Assert.Equal(1, gone.Status);
            Assert.Contains($"no patch module {Marker} is loaded", gone.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (KernelModules.IsLoaded(Marker))
                Kdt("unload", Marker);
        }
    }

    [Fact]
    public void WrongVerMagicIsRefusedBeforeTheKernelSeesIt()
    {
        RequireLivepatch();
        string module = HotfixTools.Module("kdt_hotfix_marker-wrong-vermagic.ko");
        string release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        var (status, stdout, stderr) = Kdt("load", module);
        Assert.Equal(1, status);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        string built = VerMagic.Parse(PatchModule.Read(module).VerMagic!).Release;
        Assert.Equal($"kdt hotfix: {module} was built for kernel {built}, and this is {release}: build the patch against this kernel's headers (linux-headers-{release})", line);
        Assert.False(KernelModules.IsLoaded(Marker));
    }

    [Fact]
    public async Task StalledTransitionIsReportedAndRolledBackThenSignalled()
    {
        RequireLivepatch();
        string sleeperModule = HotfixTools.Module("kdt_hotfix_sleeper.ko"), stallModule = HotfixTools.Module("kdt_hotfix_stall.ko");
        Assert.Equal(0, KernelModules.Load(sleeperModule));
        Process? reader = null;
        try
        {
            // A task asleep in kdt_sleeper_wait, the function the patch replaces: it cannot switch.
            reader = StartSleeper();
            var load = Kdt("load", "--timeout", "3", stallModule);
            Assert.Equal(1, load.Status);
            Assert.Contains("\nStalled processes (1, patch_state 0, target 1):\n", load.Stdout, StringComparison.Ordinal);
            Assert.Contains($"\n{reader.Id} cat\nstack:\n", load.Stdout, StringComparison.Ordinal);
            Assert.Contains("kdt_sleeper_wait+", load.Stdout, StringComparison.Ordinal);
            Assert.Contains($"patch module {Stall} did not complete its transition, unloading...", load.Stdout, StringComparison.Ordinal);
            Assert.Contains($"unloading patch module: {Stall}", load.Stdout, StringComparison.Ordinal);
            string line = Assert.Single(load.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains($"{Stall}'s transition did not finish within 3 s", line, StringComparison.Ordinal);
            Assert.Contains("the patch was rolled back", line, StringComparison.Ordinal);
            Assert.False(KernelModules.IsLoaded(Stall));
            Assert.False(Directory.Exists($"/sys/kernel/livepatch/{Stall}"));
            Assert.False(reader.HasExited);

            // Loaded again with time to spare, the transition waits on the same task until
            // 'kdt hotfix signal' (well before the kernel's own fake signal, after 15 s) stops and
            // continues it: it leaves the old function, and the transition ends.
            var patient = Task.Run(() => Kdt("load", "--timeout", "120", stallModule), TestContext.Current.CancellationToken);
            var clock = Stopwatch.StartNew();
            while (!(File.Exists($"/sys/kernel/livepatch/{Stall}/transition") && Sysfs(Stall, "transition") == "1") && !patient.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(60))
                Thread.Sleep(50);
            if (patient.IsCompleted)
            {
                var early = await patient;
                Assert.Fail($"load returned before the signal: {early.Status}\n{early.Stdout}{early.Stderr}");
            }
            var signal = Kdt("signal");
            Assert.True(signal.Status == 0, signal.Stderr);
            Assert.Contains("sending SIGSTOP and SIGCONT to 1 stalled process(es)", signal.Stdout, StringComparison.Ordinal);
            var loaded = await patient;
            Assert.True(loaded.Status == 0, loaded.Stderr + loaded.Stdout);
            Assert.Matches(@"transition complete \(\d+\.\d s\)", loaded.Stdout);
            Assert.Equal("0", Sysfs(Stall, "transition"));
            Assert.True(reader.WaitForExit(TimeSpan.FromSeconds(30)));

            var unload = Kdt("unload", Stall);
            Assert.True(unload.Status == 0, unload.Stderr + unload.Stdout);
            Assert.False(KernelModules.IsLoaded(Stall));
        }
        finally
        {
            if (reader is { HasExited: false })
            {
                reader.Kill();
                reader.WaitForExit(TimeSpan.FromSeconds(30));
            }
            reader?.Dispose();
            if (KernelModules.IsLoaded(Stall))
                Kdt("unload", Stall);
            for (int i = 0; i < 50 && KernelModules.Remove(Sleeper) is not (0 or KernelModules.Enoent); i++)
                Thread.Sleep(200);
        }
    }

    private static Process StartSleeper()
    {
        var reader = Process.Start(new ProcessStartInfo("cat", "/proc/kdt_hotfix_sleeper") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                if (File.ReadAllText($"/proc/{reader.Id}/stack").Contains("kdt_sleeper_wait", StringComparison.Ordinal))
                    return reader;
            }
            catch (IOException)
            {
            }
            Thread.Sleep(50);
        }
        reader.Kill();
        throw new InvalidOperationException("cat /proc/kdt_hotfix_sleeper did not reach kdt_sleeper_wait in 30 s");
    }

    [Fact]
    public void InstallListLoadAllUninstallUnderARoot()
    {
        RequireLivepatch();
        string module = HotfixTools.Module("kdt_hotfix_marker.ko");
        string release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        string root = Directory.CreateTempSubdirectory("kdh-install-").FullName;
        try
        {
            var install = Kdt("install", "--root", root, module);
            Assert.True(install.Status == 0, install.Stderr);
            string installed = Path.Combine(root, "var/lib/kdt/hotfix", release, "kdt_hotfix_marker.ko");
            Assert.True(File.Exists(installed));
            Assert.Contains(" hotfix load --all\n", File.ReadAllText(Path.Combine(root, "etc/systemd/system/kdt-hotfix.service")), StringComparison.Ordinal);
            Assert.Equal("/etc/systemd/system/kdt-hotfix.service", new FileInfo(Path.Combine(root, "etc/systemd/system/multi-user.target.wants/kdt-hotfix.service")).LinkTarget);

            var list = Kdt("list", "--root", root);
            Assert.EndsWith($"Installed patch modules:\n{Marker} ({release})\n", list.Stdout, StringComparison.Ordinal);

            var loadAll = Kdt("load", "--all", "--root", root);
            Assert.True(loadAll.Status == 0, loadAll.Stderr + loadAll.Stdout);
            Assert.Contains($"loading patch module: {installed}", loadAll.Stdout, StringComparison.Ordinal);
            Assert.Equal($"{HotfixTools.Marker} cmdline\n", File.ReadAllText("/proc/cmdline"));

            var signal = Kdt("signal");
            Assert.Equal(0, signal.Status);
            Assert.Equal("no patch is in a transition: there is nothing to signal\n", signal.Stdout);
            var force = Kdt("force", Marker);
            Assert.Equal(1, force.Status);
            Assert.Contains($"{Marker} is not in a transition: there is nothing to force", force.Stderr, StringComparison.Ordinal);
            Assert.Contains("warning: forcing", force.Stderr, StringComparison.Ordinal);

            Assert.Equal(0, Kdt("unload", "--all").Status);
            Assert.False(KernelModules.IsLoaded(Marker));

            var uninstall = Kdt("uninstall", "--root", root, Marker);
            Assert.True(uninstall.Status == 0, uninstall.Stderr);
            Assert.False(File.Exists(installed));
            Assert.False(File.Exists(Path.Combine(root, "etc/systemd/system/kdt-hotfix.service")));
        }
        finally
        {
            if (KernelModules.IsLoaded(Marker))
                Kdt("unload", Marker);
            Directory.Delete(root, recursive: true);
        }
    }
}
