using System.Globalization;

namespace KdtCapture.Toolkit.Trace;

/// <summary>Kernel text addresses to "symbol+0xoffset" from /proc/kallsyms, read once and sorted.
/// Without the privilege to see addresses (all zero) every lookup gives the raw address.</summary>
internal sealed class KernelSymbolTable
{
    private readonly ulong[] _addresses;
    private readonly string[] _names;

    private KernelSymbolTable(ulong[] addresses, string[] names)
    {
        _addresses = addresses;
        _names = names;
    }

    public static KernelSymbolTable Load(string path = "/proc/kallsyms")
    {
        var entries = new List<(ulong, string)>();
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                // "ffffffff81000000 T _stext [module]"
                int a = line.IndexOf(' ');
                if (a <= 0 || a + 3 >= line.Length)
                    continue;
                char type = line[a + 1];
                if (type is not ('t' or 'T' or 'w' or 'W'))
                    continue;
                if (!ulong.TryParse(line.AsSpan(0, a), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong address) || address == 0)
                    continue;
                int nameEnd = line.IndexOf('\t', a + 3);
                string name = nameEnd < 0 ? line[(a + 3)..] : line[(a + 3)..nameEnd];
                entries.Add((address, name));
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        entries.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        var addresses = new ulong[entries.Count];
        var names = new string[entries.Count];
        for (int i = 0; i < entries.Count; i++)
            (addresses[i], names[i]) = entries[i];
        return new KernelSymbolTable(addresses, names);
    }

    public string Describe(ulong address)
    {
        int i = Array.BinarySearch(_addresses, address);
        if (i < 0)
            i = ~i - 1;
        if (i < 0 || address == 0)
            return string.Create(CultureInfo.InvariantCulture, $"0x{address:x}");
        ulong offset = address - _addresses[i];
        return string.Create(CultureInfo.InvariantCulture, $"{_names[i]}+0x{offset:x}");
    }
}
