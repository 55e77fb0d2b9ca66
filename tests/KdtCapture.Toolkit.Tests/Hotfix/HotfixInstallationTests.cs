using KdtCapture.Toolkit.Hotfix;

namespace KdtCapture.Toolkit.Tests.Hotfix;

/// <summary>
/// install/uninstall under a scratch root (what --root does): the module copied per kernel
/// release (0600), the systemd unit that runs 'kdt hotfix load --all', the multi-user.target.wants
/// link that systemctl enable makes, and kpatch's refusals. The files are checked, not systemd.
/// </summary>
public sealed class HotfixInstallationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("kdh-root-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string Release(string path) => VerMagic.Parse(PatchModule.Read(path).VerMagic!).Release;

    [Fact]
    public void InstallWritesModuleUnitAndLinkAndUninstallRemovesThem()
    {
        string marker = HotfixTools.Module("kdt_hotfix_marker.ko"), stall = HotfixTools.Module("kdt_hotfix_stall.ko");
        string release = Release(marker);
        var installation = new HotfixInstallation(_root);
        string installed = installation.Install(marker, release, "/usr/local/bin/kdt");

        Assert.Equal(Path.Combine(_root, "var/lib/kdt/hotfix", release, "kdt_hotfix_marker.ko"), installed);
        Assert.Equal(File.ReadAllBytes(marker), File.ReadAllBytes(installed));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(installed));
        string unit = File.ReadAllText(Path.Combine(_root, "etc/systemd/system/kdt-hotfix.service"));
        Assert.Contains("\nExecStart=/usr/local/bin/kdt hotfix load --all\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nType=oneshot\n", unit, StringComparison.Ordinal);
        Assert.Contains("\n[Install]\nWantedBy=multi-user.target\n", unit, StringComparison.Ordinal);
        var link = new FileInfo(Path.Combine(_root, "etc/systemd/system/multi-user.target.wants/kdt-hotfix.service"));
        Assert.Equal("/etc/systemd/system/kdt-hotfix.service", link.LinkTarget);

        installation.Install(stall, release, "/usr/local/bin/kdt");
        Assert.Equal([("kdt_hotfix_marker", release), ("kdt_hotfix_stall", release)], installation.Installed().Select(p => (p.Name, p.KernelRelease)));
        Assert.Equal([installed, Path.Combine(Path.GetDirectoryName(installed)!, "kdt_hotfix_stall.ko")], installation.ModulesFor(release));

        // By module name, as kpatch accepts; the unit stays while a patch is left.
        installation.Uninstall("kdt_hotfix_marker", release);
        Assert.False(File.Exists(installed));
        Assert.True(File.Exists(installation.UnitPath));
        installation.Uninstall("kdt_hotfix_stall.ko", release);
        Assert.Empty(installation.Installed());
        Assert.False(Directory.Exists(installation.DirectoryFor(release)));
        Assert.False(File.Exists(installation.UnitPath));
        Assert.Null(new FileInfo(installation.WantsLink).LinkTarget);
    }

    [Fact]
    public void InstallRefusesWhatKpatchRefuses()
    {
        string marker = HotfixTools.Module("kdt_hotfix_marker.ko");
        string release = Release(marker);
        var installation = new HotfixInstallation(_root);
        string Refusal(Action a) => Assert.Throws<HotfixException>(a).Message;

        Assert.Contains($"was built for kernel {release}, not 6.1.0-1-amd64", Refusal(() => installation.Install(marker, "6.1.0-1-amd64", "/kdt")), StringComparison.Ordinal);
        Assert.Contains("is not a livepatch module", Refusal(() => installation.Install(HotfixTools.Module("kdt_hotfix_sleeper.ko"), release, "/kdt")), StringComparison.Ordinal);
        Assert.Contains("does not exist", Refusal(() => installation.Install(Path.Combine(_root, "none.ko"), release, "/kdt")), StringComparison.Ordinal);
        string copy = Path.Combine(_root, "marker.bin");
        File.Copy(marker, copy);
        Assert.Contains("is not a .ko file", Refusal(() => installation.Install(copy, release, "/kdt")), StringComparison.Ordinal);
        // The wrong-vermagic copy names another release: refused for this one, taken for its own.
        string wrong = HotfixTools.Module("kdt_hotfix_marker-wrong-vermagic.ko");
        Assert.Contains("install it for its own kernel with -k", Refusal(() => installation.Install(wrong, release, "/kdt")), StringComparison.Ordinal);

        installation.Install(marker, release, "/kdt");
        Assert.Contains("is already installed", Refusal(() => installation.Install(marker, release, "/kdt")), StringComparison.Ordinal);
        Assert.Contains("is not installed for kernel 6.1.0-1-amd64", Refusal(() => installation.Uninstall("kdt_hotfix_marker", "6.1.0-1-amd64")), StringComparison.Ordinal);
        Assert.Contains("without a directory", Refusal(() => installation.Uninstall("/x/kdt_hotfix_marker.ko", release)), StringComparison.Ordinal);
    }
}
