using System.Globalization;

namespace KdtCapture.Bpf.Symbols;

/// <summary>Which lines of /proc/kallsyms a <see cref="KernelSymbols"/> keeps.</summary>
public enum KernelSymbolKinds
{
    /// <summary>Code: types t, T and the weak w, W (return addresses, call sites, drop locations).</summary>
    Text,
    /// <summary>Every symbol with an address, data too (a trace.dat's copy, as trace-cmd resolves %pS with it).</summary>
    All,
}

/// <summary>
/// Kernel addresses to "symbol+offset", from /proc/kallsyms text ("ADDRESS TYPE NAME", modules
/// adding "\t[module]"), read once and sorted. Without the privilege to see addresses (all zero)
/// it is empty and every lookup fails.
/// </summary>
public sealed class KernelSymbols
{
    public const string DefaultPath = "/proc/kallsyms";

    private readonly ulong[] _addresses;
    private readonly string[] _names;

    private KernelSymbols(List<(ulong Address, string Name)> entries)
    {
        entries.Sort((x, y) => x.Address.CompareTo(y.Address));
        _addresses = new ulong[entries.Count];
        _names = new string[entries.Count];
        for (int i = 0; i < entries.Count; i++)
            (_addresses[i], _names[i]) = entries[i];
    }

    /// <summary>The symbols of <paramref name="path"/>; empty when it cannot be read.</summary>
    public static KernelSymbols Load(KernelSymbolKinds kinds = KernelSymbolKinds.Text, string path = DefaultPath)
    {
        var entries = new List<(ulong, string)>();
        try
        {
            foreach (string line in File.ReadLines(path))
                Add(entries, line, kinds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return new KernelSymbols(entries);
    }

    /// <summary>The symbols of kallsyms text (a trace.dat carries a copy of the recording machine's).</summary>
    public static KernelSymbols Parse(string text, KernelSymbolKinds kinds)
    {
        var entries = new List<(ulong, string)>();
        foreach (var line in text.Split('\n'))
            Add(entries, line, kinds);
        return new KernelSymbols(entries);
    }

    private static void Add(List<(ulong, string)> entries, string line, KernelSymbolKinds kinds)
    {
        int space = line.IndexOf(' ');
        if (space <= 0 || space + 3 >= line.Length)
            return;
        if (kinds == KernelSymbolKinds.Text && line[space + 1] is not ('t' or 'T' or 'w' or 'W'))
            return;
        if (!ulong.TryParse(line.AsSpan(0, space), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong address) || address == 0)
            return;
        int start = space + 3;
        int tab = line.IndexOf('\t', start);
        entries.Add((address, tab < 0 ? line[start..] : line[start..tab]));
    }

    public int Count => _addresses.Length;

    /// <summary>The symbol at or below <paramref name="address"/> and the offset into it; false when none.</summary>
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

    /// <summary>"symbol+0xoffset", or the address as "0x..." when no symbol covers it.</summary>
    public string Describe(ulong address) =>
        address != 0 && TryResolve(address, out string name, out ulong offset)
            ? string.Create(CultureInfo.InvariantCulture, $"{name}+0x{offset:x}")
            : string.Create(CultureInfo.InvariantCulture, $"0x{address:x}");
}
