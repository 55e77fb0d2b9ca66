namespace KdtCapture.Bpf.Internal.Sys;

/// <summary>CPU sets from sysfs: per-CPU map values are sized by the possible CPUs, perf rings opened per online CPU.</summary>
internal static class Cpus
{
    private static int[]? _possible;
    private static int[]? _online;

    public static int[] Possible => _possible ??= ReadList("/sys/devices/system/cpu/possible");

    public static int[] Online => _online ??= ReadList("/sys/devices/system/cpu/online");

    /// <summary>Number of possible CPU slots (highest possible id + 1), what per-CPU maps use.</summary>
    public static int PossibleCount
    {
        get
        {
            int[] possible = Possible;
            return possible.Length == 0 ? Environment.ProcessorCount : possible[^1] + 1;
        }
    }

    private static int[] ReadList(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException)
        {
            return Enumerable.Range(0, Environment.ProcessorCount).ToArray();
        }
        return ParseList(text);
    }

    /// <summary>Parses the kernel's cpu list format: "0-3,5,7-8".</summary>
    public static int[] ParseList(string text)
    {
        var cpus = new List<int>();
        foreach (string part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0)
            {
                cpus.Add(int.Parse(part, System.Globalization.CultureInfo.InvariantCulture));
                continue;
            }
            int first = int.Parse(part.AsSpan(0, dash), System.Globalization.CultureInfo.InvariantCulture);
            int last = int.Parse(part.AsSpan(dash + 1), System.Globalization.CultureInfo.InvariantCulture);
            for (int cpu = first; cpu <= last; cpu++)
                cpus.Add(cpu);
        }
        return cpus.ToArray();
    }
}
