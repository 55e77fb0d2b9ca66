using System.Globalization;

namespace KdtCapture.Capture.Taps;

/// <summary>Kernel text addresses to "symbol+0xoffset", from /proc/kallsyms (read once, sorted).</summary>
public sealed class KernelSymbols
{
    private readonly ulong[] _addresses;
    private readonly string[] _names;

    private KernelSymbols(ulong[] addresses, string[] names)
    {
        _addresses = addresses;
        _names = names;
    }

    /// <summary>Text symbols of <paramref name="path"/>; empty when it cannot be read or shows only zeros (no privilege).</summary>
    public static KernelSymbols Load(string path = "/proc/kallsyms")
    {
        var entries = new List<(ulong, string)>();
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                // "ffffffff81fff0b0 T ip_output" (modules add "\t[name]")
                int sp1 = line.IndexOf(' ');
                if (sp1 <= 0 || sp1 + 3 >= line.Length) continue;
                char type = line[sp1 + 1];
                if (type is not ('t' or 'T')) continue;
                if (!ulong.TryParse(line.AsSpan(0, sp1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong address) || address == 0)
                    continue;
                int nameStart = sp1 + 3;
                int end = line.IndexOf('\t', nameStart);
                entries.Add((address, end < 0 ? line[nameStart..] : line[nameStart..end]));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        entries.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        var addresses = new ulong[entries.Count];
        var names = new string[entries.Count];
        for (int i = 0; i < entries.Count; i++)
            (addresses[i], names[i]) = entries[i];
        return new KernelSymbols(addresses, names);
    }

    public int Count => _addresses.Length;

    /// <summary>The symbol at or below <paramref name="address"/> and the offset into it; false when none.</summary>
    public bool TryResolve(ulong address, out string name, out ulong offset)
    {
        int i = Array.BinarySearch(_addresses, address);
        if (i < 0) i = ~i - 1;
        if (i < 0)
        {
            name = "";
            offset = 0;
            return false;
        }
        name = _names[i];
        offset = address - _addresses[i];
        return true;
    }
}
