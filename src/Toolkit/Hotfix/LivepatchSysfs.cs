using System.Globalization;

namespace KdtCapture.Toolkit.Hotfix;

/// <summary>A livepatch as /sys/kernel/livepatch/NAME shows it.</summary>
/// <param name="Functions">Per object directory (vmlinux or a module), its "function,sympos" directories.</param>
public sealed record LoadedPatch(string Name, bool Enabled, bool InTransition, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> Functions)
{
    /// <summary>kpatch's words: enabled, enabling..., disabled, disabling...</summary>
    public string State => (Enabled, InTransition) switch
    {
        (true, false) => "enabled",
        (true, true) => "enabling...",
        (false, false) => "disabled",
        (false, true) => "disabling...",
    };
}

/// <summary>
/// The kernel's livepatch interface, /sys/kernel/livepatch (Documentation/ABI/testing/sysfs-kernel-livepatch):
/// per patch enabled (write 0 to disable), transition, force (write 1: end the transition without
/// checking stacks) and, where the kernel has it, signal (write 1: fake-signal stalled tasks).
/// The root is configurable so the parsing is tested on a directory tree made by hand.
/// </summary>
public sealed class LivepatchSysfs(string root = LivepatchSysfs.DefaultRoot)
{
    public const string DefaultRoot = "/sys/kernel/livepatch";

    public string Root { get; } = root;

    public bool Exists(string name) => Directory.Exists(System.IO.Path.Combine(Root, name));

    public IReadOnlyList<LoadedPatch> List()
    {
        var patches = new List<LoadedPatch>();
        if (!Directory.Exists(Root))
            return patches;
        var names = Directory.GetDirectories(Root).Select(System.IO.Path.GetFileName).OfType<string>().ToList();
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (Get(name) is { } p)
                patches.Add(p);
        }
        return patches;
    }

    /// <summary>The patch's state, or null when it is gone (disabled patches disappear from sysfs).</summary>
    public LoadedPatch? Get(string name)
    {
        string dir = System.IO.Path.Combine(Root, name);
        try
        {
            bool enabled = ReadFlag(System.IO.Path.Combine(dir, "enabled"));
            bool transition = ReadFlag(System.IO.Path.Combine(dir, "transition"));
            var functions = new List<KeyValuePair<string, IReadOnlyList<string>>>();
            foreach (var objectDir in Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
            {
                var funcs = Directory.GetDirectories(objectDir).Select(System.IO.Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
                functions.Add(new(System.IO.Path.GetFileName(objectDir), funcs));
            }
            return new LoadedPatch(name, enabled, transition, functions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether the patch is in a transition; false when it has gone.</summary>
    public bool InTransition(string name)
    {
        try
        {
            return ReadFlag(System.IO.Path.Combine(Root, name, "transition"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The patch's enabled value (1/0), the target state of its tasks; null when it has gone.</summary>
    public int? Target(string name)
    {
        try
        {
            return ReadFlag(System.IO.Path.Combine(Root, name, "enabled")) ? 1 : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Disable(string name) => Write(name, "enabled", "0");

    public bool HasSignal(string name) => File.Exists(System.IO.Path.Combine(Root, name, "signal"));

    public void Signal(string name) => Write(name, "signal", "1");

    public void Force(string name) => Write(name, "force", "1");

    /// <summary>Writes a control file in one write(2); errors become <see cref="IOException"/> with the kernel's errno in the message.</summary>
    public void Write(string name, string file, string value)
    {
        string path = System.IO.Path.Combine(Root, name, file);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
        stream.Write(System.Text.Encoding.ASCII.GetBytes(value));
    }

    internal static bool ReadFlag(string path)
    {
        string text = File.ReadAllText(path).Trim();
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw new IOException($"{path} holds '{text}', not a number");
        return value != 0;
    }
}
