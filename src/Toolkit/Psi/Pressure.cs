using System.Globalization;

namespace KdtCapture.Toolkit.Psi;

/// <summary>A resource the kernel reports pressure stalls for (one file each in /proc/pressure or a cgroup).</summary>
public enum PressureResource
{
    Cpu,
    Memory,
    Io,
    Irq,
}

/// <summary>One line of a pressure file: share of time some (or all) tasks stalled, and the total stall time.</summary>
/// <param name="Avg10">Percent of the last 10 s.</param>
/// <param name="Avg60">Percent of the last 60 s.</param>
/// <param name="Avg300">Percent of the last 300 s.</param>
/// <param name="TotalMicroseconds">Stall time since boot (or since the cgroup was made), in µs.</param>
public readonly record struct PressureLine(double Avg10, double Avg60, double Avg300, ulong TotalMicroseconds);

/// <summary>One pressure file read: "some" always; "full" where the kernel reports it (not for the system's cpu before 5.13).</summary>
public sealed record PressureReading(PressureResource Resource, PressureLine Some, PressureLine? Full);

/// <summary>Names and parsing of the PSI files, as Documentation/accounting/psi.rst describes them.</summary>
public static class Pressure
{
    public const string SystemDirectory = "/proc/pressure";

    public static IReadOnlyList<PressureResource> All { get; } = [PressureResource.Cpu, PressureResource.Memory, PressureResource.Io, PressureResource.Irq];

    /// <summary>The file's name in /proc/pressure ("cpu"); a cgroup's file adds ".pressure".</summary>
    public static string Name(PressureResource resource) => resource switch
    {
        PressureResource.Cpu => "cpu",
        PressureResource.Memory => "memory",
        PressureResource.Io => "io",
        PressureResource.Irq => "irq",
        _ => throw new ArgumentOutOfRangeException(nameof(resource)),
    };

    public static bool TryParseResource(string name, out PressureResource resource)
    {
        foreach (var r in All)
        {
            if (string.Equals(Name(r), name, StringComparison.Ordinal))
            {
                resource = r;
                return true;
            }
        }
        resource = default;
        return false;
    }

    /// <summary>The pressure file of <paramref name="resource"/>: in /proc/pressure when <paramref name="cgroup"/> is null, else in that cgroup v2 directory.</summary>
    public static string FilePath(PressureResource resource, string? cgroup)
        => cgroup is null ? Path.Combine(SystemDirectory, Name(resource)) : Path.Combine(cgroup, Name(resource) + ".pressure");

    /// <summary>
    /// Reads every pressure file that exists (irq only with CONFIG_IRQ_TIME_ACCOUNTING, and
    /// not in cgroups on older kernels). Files that exist but cannot be read raise.
    /// </summary>
    /// <exception cref="PsiException">No pressure file at all, or one that is unreadable or malformed.</exception>
    public static IReadOnlyList<PressureReading> Read(string? cgroup)
    {
        string where = cgroup ?? SystemDirectory;
        if (!Directory.Exists(where))
        {
            throw new PsiException(cgroup is null
                ? $"{SystemDirectory} is absent: this kernel has no PSI (CONFIG_PSI, or boot with psi=1)"
                : $"no cgroup directory {cgroup} (give a cgroup v2 directory such as /sys/fs/cgroup/system.slice)");
        }
        var readings = new List<PressureReading>(4);
        foreach (var resource in All)
        {
            string path = FilePath(resource, cgroup);
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (FileNotFoundException)
            {
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PsiException($"cannot read {path}: {e.Message}");
            }
            readings.Add(Parse(resource, text, path));
        }
        if (readings.Count == 0)
        {
            throw new PsiException(cgroup is null
                ? $"{SystemDirectory} has no pressure files: PSI is disabled (boot with psi=1)"
                : $"{cgroup} has no *.pressure files: it is not a cgroup v2 directory (on a hybrid system look under /sys/fs/cgroup/unified)");
        }
        return readings;
    }

    /// <summary>Parses a pressure file's text ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0", then "full ...").</summary>
    /// <exception cref="PsiException">A line that is not in that form.</exception>
    public static PressureReading Parse(PressureResource resource, string text, string source)
    {
        PressureLine? some = null, full = null;
        foreach (var raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var words = raw.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length != 5 || !TryValue(words[1], "avg10=", out double a10) || !TryValue(words[2], "avg60=", out double a60)
                || !TryValue(words[3], "avg300=", out double a300) || !words[4].StartsWith("total=", StringComparison.Ordinal)
                || !ulong.TryParse(words[4].AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out ulong total))
            {
                throw new PsiException($"{source}: unexpected line '{raw}'");
            }
            var line = new PressureLine(a10, a60, a300, total);
            switch (words[0])
            {
                case "some": some = line; break;
                case "full": full = line; break;
                default: throw new PsiException($"{source}: unexpected line '{raw}'");
            }
        }
        if (some is null)
            throw new PsiException($"{source}: no 'some' line");
        return new PressureReading(resource, some.Value, full);
    }

    private static bool TryValue(string word, string prefix, out double value)
    {
        value = 0;
        return word.StartsWith(prefix, StringComparison.Ordinal)
            && double.TryParse(word.AsSpan(prefix.Length), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value);
    }
}

/// <summary>A PSI request that cannot be met; the message is one sentence saying what to do instead.</summary>
public sealed class PsiException(string message) : Exception(message);
