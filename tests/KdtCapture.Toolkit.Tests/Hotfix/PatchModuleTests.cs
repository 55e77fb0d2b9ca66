using System.Globalization;
using System.Text.RegularExpressions;
using KdtCapture.Cli.Hotfix;
using KdtCapture.Toolkit.Hotfix;

namespace KdtCapture.Toolkit.Tests.Hotfix;

/// <summary>
/// kdt hotfix info on the modules tests/vm/build-livepatch builds against the guest kernel's
/// headers: .modinfo as modinfo (kmod) prints it, the patched functions as readelf and nm show the
/// module's relocations and symbols, and as the C sources in tests/vm/livepatch wrote them.
/// </summary>
public sealed partial class PatchModuleTests
{
    private static (int Status, string Stdout, string Stderr) Info(string path)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = HotfixCommand.Run(["info", path], stdout, stderr, CancellationToken.None);
        return (status, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("kdt_hotfix_marker.ko")]
    [InlineData("kdt_hotfix_stall.ko")]
    [InlineData("kdt_hotfix_sleeper.ko")]
    [InlineData("kdt_hotfix_marker-wrong-vermagic.ko")]
    public void InfoPrintsModinfoFieldsAsModinfoDoes(string file)
    {
        string modinfo = HotfixTools.ToolOrSkip("modinfo", "kmod");
        string path = HotfixTools.Module(file);
        var theirs = HotfixTools.Run(modinfo, [path], TimeSpan.FromMinutes(1));
        Assert.True(theirs.ExitCode == 0, theirs.Stderr);
        var (status, ours, stderr) = Info(path);
        Assert.True(status == 0, stderr);
        // modinfo's text is the head of ours, line for line; the patched functions follow.
        Assert.StartsWith(theirs.Stdout, ours, StringComparison.Ordinal);
    }

    [Fact]
    public void VerMagicNameAndDependsAgreeWithModinfo()
    {
        string modinfo = HotfixTools.ToolOrSkip("modinfo", "kmod");
        foreach (var file in new[] { "kdt_hotfix_marker.ko", "kdt_hotfix_marker-wrong-vermagic.ko", "kdt_hotfix_stall.ko", "kdt_hotfix_sleeper.ko" })
        {
            string path = HotfixTools.Module(file);
            string Field(string f) => HotfixTools.Run(modinfo, ["-F", f, path], TimeSpan.FromMinutes(1)).Stdout.TrimEnd('\n');
            var module = PatchModule.Read(path);
            Assert.Equal(Field("vermagic"), module.VerMagic);
            Assert.Equal(Field("name"), module.Name);
            Assert.Equal(Field("livepatch") == "Y", module.IsLivepatch);
            Assert.Equal(Field("depends"), string.Join(',', module.Depends));
        }
        // The build changed only the release of the copy's vermagic.
        var good = VerMagic.Parse(PatchModule.Read(HotfixTools.Module("kdt_hotfix_marker.ko")).VerMagic!);
        var wrong = VerMagic.Parse(PatchModule.Read(HotfixTools.Module("kdt_hotfix_marker-wrong-vermagic.ko")).VerMagic!);
        Assert.NotEqual(good.Release, wrong.Release);
        Assert.Equal(good.Flags, wrong.Flags);
    }

    [Fact]
    public void PatchedFunctionsAreTheOnesTheSourcesName()
    {
        var marker = PatchModule.Read(HotfixTools.Module("kdt_hotfix_marker.ko"));
        Assert.Equal("klp_patch", marker.PatchFormat);
        var vmlinux = Assert.Single(marker.Objects);
        Assert.Null(vmlinux.Name);
        Assert.Equal("vmlinux", vmlinux.DisplayName);
        Assert.Equal(
            [new PatchedFunction("cmdline_proc_show", 0, "kdt_cmdline_proc_show"), new PatchedFunction("version_proc_show", 0, "kdt_version_proc_show")],
            vmlinux.Functions);

        var stall = PatchModule.Read(HotfixTools.Module("kdt_hotfix_stall.ko"));
        var sleeper = Assert.Single(stall.Objects);
        Assert.Equal("kdt_hotfix_sleeper", sleeper.Name);
        Assert.Equal([new PatchedFunction("kdt_sleeper_wait", 0, "kdt_sleeper_wait_patched")], sleeper.Functions);

        Assert.Empty(PatchModule.Read(HotfixTools.Module("kdt_hotfix_sleeper.ko")).Objects);
    }

    /// <summary>
    /// The oracle, from binutils alone: every 64-bit relocation in .rela.data that points into a
    /// string section (readelf -p gives the string) and is followed 8 bytes on by one into .text
    /// (nm -f sysv names the function there) is a klp_func's old_name and new_func.
    /// </summary>
    [Theory]
    [InlineData("kdt_hotfix_marker.ko")]
    [InlineData("kdt_hotfix_stall.ko")]
    public void PatchedFunctionsAgreeWithReadelfAndNm(string file)
    {
        string readelf = HotfixTools.ToolOrSkip("readelf", "binutils");
        string nm = HotfixTools.ToolOrSkip("nm", "binutils");
        string path = HotfixTools.Module(file);

        var relocations = new Dictionary<ulong, (string Symbol, long Addend)>();
        string? section = null;
        foreach (var line in HotfixTools.Run(readelf, ["-rW", path], TimeSpan.FromMinutes(1)).Stdout.Split('\n'))
        {
            if (RelocationSection().Match(line) is { Success: true } s)
                section = s.Groups[1].Value;
            else if (section == ".rela.data" && RelocationLine().Match(line) is { Success: true } r)
                relocations[ulong.Parse(r.Groups["offset"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)] =
                    (r.Groups["symbol"].Value, (r.Groups["sign"].Value == "-" ? -1 : 1) * long.Parse(r.Groups["addend"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
        var functions = new Dictionary<long, string>();
        foreach (var line in HotfixTools.Run(nm, ["-f", "sysv", path], TimeSpan.FromMinutes(1)).Stdout.Split('\n'))
        {
            var f = line.Split('|');
            if (f.Length >= 7 && f[3].Trim() == "FUNC" && f[6].Trim() == ".text")
                functions[long.Parse(f[1].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = f[0].Trim();
        }
        var strings = new Dictionary<string, Dictionary<long, string>>();
        Dictionary<long, string> StringsOf(string name)
        {
            if (!strings.TryGetValue(name, out var table))
            {
                table = [];
                foreach (var line in HotfixTools.Run(readelf, ["-p", name, path], TimeSpan.FromMinutes(1)).Stdout.Split('\n'))
                {
                    if (StringLine().Match(line) is { Success: true } m)
                        table[long.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = m.Groups[2].Value;
                }
                strings[name] = table;
            }
            return table;
        }

        var expected = new List<(string Old, string New)>();
        foreach (var (offset, (symbol, addend)) in relocations.OrderBy(r => r.Key))
        {
            if (symbol.StartsWith(".rodata.str", StringComparison.Ordinal) && relocations.TryGetValue(offset + 8, out var next) && next.Symbol == ".text")
                expected.Add((StringsOf(symbol)[addend], functions[next.Addend]));
        }
        Assert.NotEmpty(expected);
        var ours = PatchModule.Read(path).Objects.SelectMany(o => o.Functions).Select(f => (f.OldName, f.NewFunction!)).ToList();
        Assert.Equal(expected, ours);
    }

    [Fact]
    public void InfoListsThePatchedFunctionsPerObject()
    {
        var (status, stdout, stderr) = Info(HotfixTools.Module("kdt_hotfix_stall.ko"));
        Assert.True(status == 0, stderr);
        Assert.Contains("patched functions (from klp_patch):\n  kdt_hotfix_sleeper\n    kdt_sleeper_wait -> kdt_sleeper_wait_patched\n", stdout, StringComparison.Ordinal);
        (status, stdout, _) = Info(HotfixTools.Module("kdt_hotfix_sleeper.ko"));
        Assert.Equal(0, status);
        Assert.Contains("kdt_hotfix_sleeper is not a livepatch (no livepatch=Y in .modinfo)", stdout, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^Relocation section '([^']+)'")]
    private static partial Regex RelocationSection();

    [GeneratedRegex(@"^(?<offset>[0-9a-f]{16})\s+[0-9a-f]{16}\s+R_X86_64_64\s+[0-9a-f]{16}\s+(?<symbol>\S+)\s+(?<sign>[+-])\s+(?<addend>[0-9a-f]+)")]
    private static partial Regex RelocationLine();

    [GeneratedRegex(@"^\s+\[\s*([0-9a-f]+)\]\s\s(.*)$")]
    private static partial Regex StringLine();
}
