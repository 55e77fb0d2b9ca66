namespace KdtCapture.Toolkit.Hotfix;

/// <summary>A patch module installed for a kernel release (kpatch list's "Installed patch modules").</summary>
public sealed record InstalledPatch(string Name, string KernelRelease, string Path);

/// <summary>
/// Patches installed to be loaded at boot, as kpatch keeps them: one directory per kernel release
/// (/var/lib/kdt/hotfix/RELEASE/NAME.ko), and a systemd unit (kdt-hotfix.service) that runs
/// <c>kdt hotfix load --all</c> at boot, enabled with the multi-user.target.wants link that
/// <c>systemctl enable</c> makes. Every path is under <see cref="Root"/> ("/" normally; a scratch
/// directory for tests or a system image, as systemctl --root does).
/// </summary>
public sealed class HotfixInstallation(string root = "/")
{
    public const string UnitName = "kdt-hotfix.service";
    public const string InstallDirectory = "/var/lib/kdt/hotfix";
    public const string UnitDirectory = "/etc/systemd/system";

    public string Root { get; } = root;

    /// <summary>Where patches for every release live (under <see cref="Root"/>).</summary>
    public string Directory => Under(InstallDirectory);

    public string DirectoryFor(string release) => System.IO.Path.Combine(Directory, release);

    public string UnitPath => Under($"{UnitDirectory}/{UnitName}");

    public string WantsLink => Under($"{UnitDirectory}/multi-user.target.wants/{UnitName}");

    private string Under(string absolute) => System.IO.Path.Join(Root, absolute);

    /// <summary>The unit that loads every installed patch of the booted kernel.</summary>
    public static string UnitText(string kdtPath) =>
        $"""
        # Written by kdt hotfix install: loads the livepatch modules installed for the running
        # kernel ({InstallDirectory}/$(uname -r)/*.ko) at boot, as kpatch.service does.
        [Unit]
        Description=kdt hotfix: load the installed livepatch modules
        ConditionPathIsDirectory={InstallDirectory}

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart={kdtPath} hotfix load --all

        [Install]
        WantedBy=multi-user.target

        """;

    /// <summary>Copies a patch module for <paramref name="release"/> and enables the boot unit; returns the installed path.</summary>
    public string Install(string modulePath, string release, string kdtPath)
    {
        if (!File.Exists(modulePath))
            throw new HotfixException($"{modulePath} does not exist");
        if (!modulePath.EndsWith(".ko", StringComparison.Ordinal))
            throw new HotfixException($"{modulePath} is not a .ko file: give the patch module kpatch-build or make built");
        var module = PatchModule.Read(modulePath);
        if (!module.IsLivepatch)
            throw new HotfixException($"{modulePath} is not a livepatch module (no livepatch=Y in its .modinfo): only patches are installed");
        string moduleRelease = module.VerMagic is { } v ? VerMagic.Parse(v).Release : "(none)";
        if (moduleRelease != release)
            throw new HotfixException($"{modulePath} was built for kernel {moduleRelease}, not {release}: install it for its own kernel with -k {moduleRelease}, or build it against {release}");
        string dir = DirectoryFor(release);
        string target = System.IO.Path.Combine(dir, System.IO.Path.GetFileName(modulePath));
        if (File.Exists(target))
            throw new HotfixException($"{System.IO.Path.GetFileName(modulePath)} is already installed for {release} ({target}): kdt hotfix uninstall {module.Name} first to replace it");
        foreach (var other in Installed())
        {
            if (other.KernelRelease == release && other.Name == module.Name)
                throw new HotfixException($"a patch module named {module.Name} is already installed for {release} ({other.Path}): kdt hotfix uninstall {module.Name} first");
        }
        try
        {
            System.IO.Directory.CreateDirectory(dir);
            string temporary = target + ".tmp";
            File.Copy(modulePath, temporary, overwrite: true);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(temporary, target);
            WriteUnit(kdtPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HotfixException($"cannot install {modulePath} into {dir}: {e.Message}");
        }
        return target;
    }

    /// <summary>Removes an installed patch (by file name or module name) for <paramref name="release"/>; when none is left for any kernel, the unit goes too.</summary>
    public string Uninstall(string name, string release)
    {
        if (name.Contains('/', StringComparison.Ordinal))
            throw new HotfixException($"give the installed patch's name without a directory (kdt hotfix list shows them), not {name}");
        string moduleName = PatchModule.ModuleNameOfFile(name);
        InstalledPatch? found = null;
        foreach (var p in Installed())
        {
            if (p.KernelRelease == release && (System.IO.Path.GetFileName(p.Path) == name || p.Name == moduleName))
            {
                found = p;
                break;
            }
        }
        if (found is null)
            throw new HotfixException($"{name} is not installed for kernel {release} (kdt hotfix list shows what is; -k RELEASE picks another kernel)");
        try
        {
            File.Delete(found.Path);
            string dir = DirectoryFor(release);
            if (!System.IO.Directory.EnumerateFileSystemEntries(dir).Any())
                System.IO.Directory.Delete(dir);
            if (Installed().Count == 0)
            {
                File.Delete(WantsLink);
                File.Delete(UnitPath);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HotfixException($"cannot uninstall {found.Path}: {e.Message}");
        }
        return found.Path;
    }

    /// <summary>Every installed patch, by release then file name. The name is the module's (from the file) where it can be read.</summary>
    public List<InstalledPatch> Installed()
    {
        var patches = new List<InstalledPatch>();
        if (!System.IO.Directory.Exists(Directory))
            return patches;
        foreach (var releaseDir in System.IO.Directory.GetDirectories(Directory).Order(StringComparer.Ordinal))
        {
            foreach (var file in System.IO.Directory.GetFiles(releaseDir, "*.ko").Order(StringComparer.Ordinal))
            {
                string name;
                try
                {
                    name = PatchModule.Read(file).Name;
                }
                catch (HotfixException)
                {
                    name = PatchModule.ModuleNameOfFile(file);
                }
                patches.Add(new InstalledPatch(name, System.IO.Path.GetFileName(releaseDir), file));
            }
        }
        return patches;
    }

    /// <summary>The installed modules of <paramref name="release"/>, in load order (by file name).</summary>
    public IReadOnlyList<string> ModulesFor(string release)
    {
        string dir = DirectoryFor(release);
        return System.IO.Directory.Exists(dir) ? [.. System.IO.Directory.GetFiles(dir, "*.ko").Order(StringComparer.Ordinal)] : [];
    }

    private void WriteUnit(string kdtPath)
    {
        string unit = UnitText(kdtPath);
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(UnitPath)!);
        if (!File.Exists(UnitPath) || File.ReadAllText(UnitPath) != unit)
        {
            string temporary = UnitPath + ".tmp";
            File.WriteAllText(temporary, unit);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(temporary, UnitPath, overwrite: true);
        }
        // What systemctl enable does for WantedBy=multi-user.target: a link to the unit's path
        // as the booted system sees it (so absolute, not under Root).
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(WantsLink)!);
        var existing = new FileInfo(WantsLink);
        if (existing.LinkTarget is null && !existing.Exists)
            File.CreateSymbolicLink(WantsLink, $"{UnitDirectory}/{UnitName}");
    }
}
