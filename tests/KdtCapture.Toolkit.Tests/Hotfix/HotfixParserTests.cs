using System.Text;
using KdtCapture.Toolkit.Hotfix;

namespace KdtCapture.Toolkit.Tests.Hotfix;

/// <summary>The parsers on inputs made by hand: .modinfo, vermagic, /sys/kernel/livepatch and /proc trees.</summary>
public sealed class HotfixParserTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kdh-parse-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ModInfoKeepsOrderRepeatsAndEqualsInValues()
    {
        byte[] data = Encoding.UTF8.GetBytes("alias=a\0\0\0alias=b\0note=x=y\0junk\0depends=\0vermagic=6.1.0 SMP \0");
        var fields = PatchModule.ParseModInfo(data);
        Assert.Equal(
            [new("alias", "a"), new("alias", "b"), new("note", "x=y"), new("depends", ""), new("vermagic", "6.1.0 SMP ")],
            fields);
    }

    [Theory]
    [InlineData("6.1.0-56-amd64 SMP preempt mod_unload modversions ", "6.1.0-56-amd64", "SMP preempt mod_unload modversions")]
    [InlineData("5.14.0-362.el9.x86_64  SMP  mod_unload modversions", "5.14.0-362.el9.x86_64", "SMP mod_unload modversions")]
    [InlineData("6.8.0", "6.8.0", "")]
    public void VerMagicSplitsReleaseAndFlags(string text, string release, string flags)
    {
        var v = VerMagic.Parse(text);
        Assert.Equal(release, v.Release);
        Assert.Equal(flags, v.Flags);
    }

    [Fact]
    public void VerMagicMismatchComparesReleaseThenFlags()
    {
        var module = VerMagic.Parse("6.1.0-56-amd64 SMP preempt mod_unload modversions ");
        Assert.Null(module.Mismatch("p.ko", "6.1.0-56-amd64", VerMagic.Parse("6.1.0-56-amd64 SMP preempt mod_unload modversions")));
        Assert.Null(module.Mismatch("p.ko", "6.1.0-56-amd64", null));
        Assert.Contains("was built for kernel 6.1.0-56-amd64, and this is 6.1.0-57-amd64", module.Mismatch("p.ko", "6.1.0-57-amd64", null), StringComparison.Ordinal);
        Assert.Contains("'SMP mod_unload modversions'", module.Mismatch("p.ko", "6.1.0-56-amd64", VerMagic.Parse("6.1.0-56-amd64 SMP mod_unload modversions")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/x/livepatch-fix-2.ko", "livepatch_fix_2")]
    [InlineData("kpatch_fix", "kpatch_fix")]
    [InlineData("a-b.ko.ko", "a_b.ko")]
    public void ModuleNamesFromFilesAsTheKernelMakesThem(string file, string name)
        => Assert.Equal(name, PatchModule.ModuleNameOfFile(file));

    [Fact]
    public void KlpSymbolNames()
    {
        Assert.Equal("vmlinux saved_command_line,0", PatchModule.KlpSymbol(".klp.sym.vmlinux.saved_command_line,0"));
        Assert.Equal("nfsd nfsd_cache.constprop.0,1", PatchModule.KlpSymbol(".klp.sym.nfsd.nfsd_cache.constprop.0,1"));
    }

    [Fact]
    public void LivepatchSysfsTreeGivesStatesAndFunctions()
    {
        void Patch(string name, string enabled, string transition, params string[] functions)
        {
            string dir = Path.Combine(_dir, "livepatch", name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "enabled"), enabled + "\n");
            File.WriteAllText(Path.Combine(dir, "transition"), transition + "\n");
            File.WriteAllText(Path.Combine(dir, "force"), "");
            foreach (var f in functions)
            {
                Directory.CreateDirectory(Path.Combine(dir, f));
                File.WriteAllText(Path.Combine(dir, Path.GetDirectoryName(f)!, "patched"), "1\n");
            }
        }
        Patch("b_fix", "1", "0", "vmlinux/cmdline_proc_show,1", "vmlinux/version_proc_show,1", "ext4/ext4_readdir,2");
        Patch("a_fix", "1", "1", "vmlinux/schedule,1");
        Patch("c_fix", "0", "1");
        Patch("d_fix", "0", "0");
        var sysfs = new LivepatchSysfs(Path.Combine(_dir, "livepatch"));
        var patches = sysfs.List();
        Assert.Equal(["a_fix", "b_fix", "c_fix", "d_fix"], patches.Select(p => p.Name));
        Assert.Equal(["enabling...", "enabled", "disabling...", "disabled"], patches.Select(p => p.State));
        Assert.Equal(["ext4", "vmlinux"], patches[1].Functions.Select(f => f.Key));
        Assert.Equal(["ext4_readdir,2"], patches[1].Functions[0].Value);
        Assert.Equal(["cmdline_proc_show,1", "version_proc_show,1"], patches[1].Functions[1].Value);
        Assert.True(sysfs.InTransition("a_fix"));
        Assert.False(sysfs.InTransition("gone"));
        Assert.Null(sysfs.Target("gone"));
        Assert.Equal(0, sysfs.Target("c_fix"));
        Assert.False(sysfs.HasSignal("a_fix"));
        sysfs.Force("a_fix");
        Assert.Equal("1", File.ReadAllText(Path.Combine(_dir, "livepatch", "a_fix", "force")));
    }

    [Fact]
    public void StalledTasksAreThoseWhosePatchStateLagsTheTarget()
    {
        void Task(int pid, int tid, string state, string comm, uint flags, string? stack)
        {
            string dir = Path.Combine(_dir, "proc", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "task", tid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "patch_state"), state + "\n");
            File.WriteAllText(Path.Combine(dir, "comm"), comm + "\n");
            // A comm with ") (" in it: the flags are counted after the last ')'.
            File.WriteAllText(Path.Combine(dir, "stat"), $"{tid} ({comm}) S 1 {tid} {tid} 0 -1 {flags} 0 0 0 0\n");
            if (stack is not null)
                File.WriteAllText(Path.Combine(dir, "stack"), stack);
        }
        Task(10, 10, "0", "cat", 0x400000, "[<0>] kdt_sleeper_wait+0x1c/0x30 [kdt_hotfix_sleeper]\n");
        Task(10, 11, "1", "cat", 0x400000, null);
        Task(20, 20, "-1", "idle", 0, null);
        Task(30, 30, "0", "kworker/0:1) (x", 0x00208040, null);
        Task(40, 40, "1", "done", 0, null);
        Directory.CreateDirectory(Path.Combine(_dir, "proc", "self"));
        File.WriteAllText(Path.Combine(_dir, "proc", "uptime"), "1 1\n");

        var stalled = PatchTasks.Stalled(1, Path.Combine(_dir, "proc"));
        Assert.Equal([10, 30], stalled.Select(t => t.Tid));
        Assert.Equal("cat", stalled[0].Comm);
        Assert.False(stalled[0].KernelThread);
        Assert.Contains("kdt_sleeper_wait", stalled[0].Stack, StringComparison.Ordinal);
        Assert.True(stalled[1].KernelThread);
        Assert.Equal("kworker/0:1) (x", stalled[1].Comm);
        // Disabling: the target is 0, so the tasks already back (0) are fine and the patched ones lag.
        Assert.Equal([11, 40], PatchTasks.Stalled(0, Path.Combine(_dir, "proc")).Select(t => t.Tid));
    }

    [Fact]
    public void KernelErrorsBecomeOneSentenceEach()
    {
        foreach (int errno in new[] { KernelModules.Eperm, KernelModules.Enoexec, KernelModules.Eexist, KernelModules.Ekeyrejected, KernelModules.Enoent, KernelModules.Einval, KernelModules.Ebusy, 5 })
        {
            string line = Livepatcher.LoadError("/p/fix.ko", "fix", errno);
            Assert.DoesNotContain('\n', line);
            Assert.Contains("fix", line, StringComparison.Ordinal);
        }
        Assert.Contains("kdt hotfix unload fix first", Livepatcher.LoadError("/p/fix.ko", "fix", KernelModules.Eexist), StringComparison.Ordinal);
        Assert.Contains("lockdown", Livepatcher.LoadError("/p/fix.ko", "fix", KernelModules.Eperm), StringComparison.Ordinal);
        Assert.Contains("rebuild it against this kernel's headers", Livepatcher.LoadError("/p/fix.ko", "fix", KernelModules.Enoexec), StringComparison.Ordinal);
    }
}
