using System.Reflection;

namespace KdtCapture.Bpf.Objects;

/// <summary>
/// BPF objects compiled from native/bpf-progs at build time and embedded in an assembly as
/// manifest resources "bpf/NAME.bpf.o" (see native/bpf-progs/README.md).
/// </summary>
public static class EmbeddedObjects
{
    private const string Prefix = "bpf/";
    private const string Suffix = ".bpf.o";

    /// <summary>The tap programs embedded in KdtCapture.Bpf (e.g. "tap_skb_perf").</summary>
    public static IReadOnlyList<string> Names => NamesIn(typeof(EmbeddedObjects).Assembly);

    /// <summary>The bytes of object <paramref name="name"/> ("tap_skb_perf" or "tap_skb_perf.bpf.o") from KdtCapture.Bpf.</summary>
    public static byte[] Read(string name) => Read(typeof(EmbeddedObjects).Assembly, name);

    /// <summary>The object names embedded in <paramref name="assembly"/>, sorted.</summary>
    public static IReadOnlyList<string> NamesIn(Assembly assembly)
    {
        var names = new List<string>();
        foreach (var resource in assembly.GetManifestResourceNames())
            if (resource.StartsWith(Prefix, StringComparison.Ordinal) && resource.EndsWith(Suffix, StringComparison.Ordinal))
                names.Add(resource[Prefix.Length..^Suffix.Length]);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public static byte[] Read(Assembly assembly, string name)
    {
        if (name.EndsWith(Suffix, StringComparison.Ordinal))
            name = name[..^Suffix.Length];
        using var stream = assembly.GetManifestResourceStream(Prefix + name + Suffix)
            ?? throw new ArgumentException(
                $"no BPF object '{name}' is embedded in {assembly.GetName().Name} (it has: {string.Join(", ", NamesIn(assembly))})",
                nameof(name));
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>The parsed spec of an embedded object of KdtCapture.Bpf.</summary>
    public static ObjectSpec Open(string name) => ObjectSpec.Parse(Read(name), name);
}
