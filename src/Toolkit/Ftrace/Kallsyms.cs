using System.Globalization;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>Kernel symbols from /proc/kallsyms text ("ADDRESS TYPE NAME [module]"), for %pS and function events.</summary>
public sealed class Kallsyms : ISymbolResolver
{
    private readonly ulong[] _addresses;
    private readonly string[] _names;

    private Kallsyms(ulong[] addresses, string[] names)
    {
        _addresses = addresses;
        _names = names;
    }

    public int Count => _addresses.Length;

    public static Kallsyms Parse(string text)
    {
        var entries = new List<(ulong, string)>();
        foreach (var line in text.Split('\n'))
        {
            int a = line.IndexOf(' ');
            if (a <= 0 || a + 3 > line.Length)
                continue;
            if (!ulong.TryParse(line.AsSpan(0, a), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong address) || address == 0)
                continue;
            string name = line[(a + 3)..];
            int tab = name.IndexOf('\t');
            if (tab >= 0)
                name = name[..tab];
            entries.Add((address, name));
        }
        entries.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        return new Kallsyms(entries.Select(e => e.Item1).ToArray(), entries.Select(e => e.Item2).ToArray());
    }

    public bool TryResolve(ulong address, out string name, out ulong offset)
    {
        int i = Array.BinarySearch(_addresses, address);
        if (i < 0)
            i = ~i - 1;
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
