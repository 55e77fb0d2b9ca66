using System.Diagnostics;
using System.Globalization;
using KdtCapture.Bpf.Symbols;

namespace KdtCapture.Bpf.Tests.Symbols;

/// <summary>
/// KernelSymbols against the running kernel's /proc/kallsyms as awk sees it (fields split on
/// blanks, types compared as written), and on kallsyms text made here.
/// </summary>
public sealed class KernelSymbolsTests
{
    private static string Awk(string program)
    {
        var start = new ProcessStartInfo("awk") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(program);
        start.ArgumentList.Add(KernelSymbols.DefaultPath);
        using var awk = Process.Start(start)!;
        string output = awk.StandardOutput.ReadToEnd();
        awk.WaitForExit();
        Assert.Equal(0, awk.ExitCode);
        return output.Trim();
    }

    private static void SkipWithoutAddresses()
    {
        if (!File.Exists(KernelSymbols.DefaultPath))
            Assert.Skip("no /proc/kallsyms");
        if (Awk("$1 !~ /^0+$/ { n++ } END { print n + 0 }") == "0")
            Assert.Skip("/proc/kallsyms shows no addresses here (kptr_restrict, not root)");
    }

    [Fact]
    public void LoadKeepsEveryCodeSymbolWithAnAddress()
    {
        SkipWithoutAddresses();
        long expected = long.Parse(Awk("$2 ~ /^[tTwW]$/ && $1 !~ /^0+$/ { n++ } END { print n + 0 }"), CultureInfo.InvariantCulture);
        var symbols = KernelSymbols.Load();
        // The file can change between the two reads only when a module comes or goes.
        Assert.InRange(symbols.Count, expected - 100, expected + 100);
        Assert.True(symbols.Count > 1000, $"{symbols.Count} code symbols");
    }

    [Theory]
    [InlineData("ip_output")]
    [InlineData("consume_skb")]
    [InlineData("__x64_sys_write")]
    public void AnAddressInsideAFunctionResolvesToIt(string function)
    {
        SkipWithoutAddresses();
        string line = Awk($"$3 == \"{function}\" && $2 ~ /^[tT]$/ {{ print $1; exit }}");
        if (line.Length == 0)
            Assert.Skip($"this kernel has no {function}");
        ulong address = ulong.Parse(line, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var symbols = KernelSymbols.Load();
        Assert.True(symbols.TryResolve(address + 5, out string name, out ulong offset));
        Assert.Equal(5UL, offset);
        // Aliases share an address; any of them names the place.
        string aliases = Awk($"$1 == \"{line}\" {{ print $3 }}");
        Assert.Contains(name, aliases.Split('\n'));
        Assert.Equal($"{name}+0x5", symbols.Describe(address + 5));
    }

    [Fact]
    public void DataSymbolsAreKeptOnlyWhenAllAreAsked()
    {
        SkipWithoutAddresses();
        // A data symbol at an address no code symbol shares.
        string line = Awk("$2 ~ /^[tTwW]$/ { code[$1] = 1 } $2 ~ /^[dDbBrR]$/ && $1 !~ /^0+$/ { data[$1] = $3 } " +
            "END { for (a in data) if (!(a in code)) { print a \" \" data[a]; exit } }");
        if (line.Length == 0)
            Assert.Skip("this kernel's kallsyms lists no data symbols (CONFIG_KALLSYMS_ALL is off)");
        var parts = line.Split(' ');
        ulong address = ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var all = KernelSymbols.Parse(File.ReadAllText(KernelSymbols.DefaultPath), KernelSymbolKinds.All);
        Assert.True(all.TryResolve(address, out string name, out ulong offset));
        Assert.Equal(0UL, offset);
        Assert.Contains(name, Awk($"$1 == \"{parts[0]}\" {{ print $3 }}").Split('\n'));
        var text = KernelSymbols.Load();
        Assert.False(text.TryResolve(address, out string codeName, out ulong codeOffset) && codeOffset == 0 && codeName == parts[1]);
    }

    private const string Sample =
        "0000000000000000 T hidden\n" +
        "ffffffff81000000 T _stext\n" +
        "ffffffff81000100 t helper\n" +
        "ffffffff81000200 W weak_hook\n" +
        "ffffffff82000000 D some_data\n" +
        "ffffffffc0000000 t mod_func\t[mymod]\n" +
        "not a line\n";

    [Fact]
    public void ModuleNamesAreDroppedAndZeroAddressesIgnored()
    {
        var text = KernelSymbols.Parse(Sample, KernelSymbolKinds.Text);
        Assert.Equal(4, text.Count);
        Assert.True(text.TryResolve(0xffffffffc0000010, out string name, out ulong offset));
        Assert.Equal(("mod_func", 0x10UL), (name, offset));
        Assert.Equal("weak_hook+0x1", text.Describe(0xffffffff81000201));
        // Without data symbols an address there belongs to the code before it.
        Assert.Equal("weak_hook+0xfffe00", text.Describe(0xffffffff82000000));
        var all = KernelSymbols.Parse(Sample, KernelSymbolKinds.All);
        Assert.Equal(5, all.Count);
        Assert.Equal("some_data+0x0", all.Describe(0xffffffff82000000));
    }

    [Fact]
    public void BelowTheFirstSymbolOrUnreadableNothingResolves()
    {
        var text = KernelSymbols.Parse(Sample, KernelSymbolKinds.Text);
        Assert.False(text.TryResolve(0x10, out _, out _));
        Assert.Equal("0x10", text.Describe(0x10));
        var none = KernelSymbols.Load(KernelSymbolKinds.Text, "/nonexistent/kallsyms");
        Assert.Equal(0, none.Count);
        Assert.Equal("0xffffffff81000000", none.Describe(0xffffffff81000000));
    }
}
