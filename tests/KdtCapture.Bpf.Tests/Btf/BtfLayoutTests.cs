using System.Diagnostics;
using System.Text.RegularExpressions;
using KdtCapture.Bpf.Btf;

namespace KdtCapture.Bpf.Tests.Btf;

/// <summary>The pahole-style layout of well-known kernel structs against pahole's own (dwarves), reading the same BTF.</summary>
public sealed partial class BtfLayoutTests
{
    private static string? Pahole => new[] { "/usr/bin/pahole", "/usr/sbin/pahole" }.FirstOrDefault(File.Exists);

    [Theory]
    [InlineData("list_head")]
    [InlineData("sk_buff")]
    [InlineData("sock_common")]
    [InlineData("sock")]
    [InlineData("net_device")]
    [InlineData("skb_shared_info")]
    [InlineData("iphdr")]
    [InlineData("tcphdr")]
    [InlineData("task_struct")]
    [InlineData("file")]
    [InlineData("bpf_prog")]
    public void MembersOffsetsSizesAndSummaryMatchPahole(string name)
    {
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip($"{KernelFacts.VmlinuxBtfPath} is absent");
        if (Pahole is null)
            Assert.Skip("pahole is not installed (apt-get install dwarves; ./test.sh installs it)");

        string theirs = RunPahole(name);
        var btf = Bpf.Btf.Btf.Kernel;
        string ours = new BtfLayoutPrinter(btf).Render(btf.Find(name, BtfKind.Struct));

        // Every member line at the top level: declaration text aside, its offset and size (or bit position).
        Assert.Equal(TopLevel(theirs), TopLevel(ours));
        Assert.Equal(Summary().Match(theirs).Value, Summary().Match(ours).Value);
        // Every hole at every depth, in order: nested ones included, such as those inside the named
        // anonymous struct of a struct_group (6.1's sk_buff "headers"), which pahole writes out too.
        Assert.Equal(HoleLines(theirs), HoleLines(ours));
    }

    private static List<string> TopLevel(string layout) =>
        layout.Split('\n')
            .Where(l => l.StartsWith('\t') && !l.StartsWith("\t\t", StringComparison.Ordinal))
            .Select(l => (Name: MemberName().Match(Attribute().Replace(l, "")), Numbers: Numbers().Match(l)))
            .Where(m => m.Numbers.Success)
            .Select(m => $"{(m.Name.Success ? m.Name.Groups[1].Value : "}")} {Regex.Replace(m.Numbers.Groups[1].Value, @"\s+", " ")}")
            .ToList();

    private static List<string> HoleLines(string layout) =>
        layout.Split('\n').Where(l => Holes().IsMatch(l)).Select(l => l.TrimEnd()).ToList();

    private static string RunPahole(string name)
    {
        var start = new ProcessStartInfo(Pahole!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-C", name, KernelFacts.VmlinuxBtfPath })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        _ = err.Result; // pahole 1.24 complains about DECL_TAG/TYPE_TAG records it does not know; harmless here.
        Assert.True(p.ExitCode == 0 && output.Length > 0, $"pahole -C {name} failed: {p.ExitCode}");
        return output;
    }

    // "name; /* 24 8 */", "x:1; /* 126: 0 1 */", "priv[] ...": the member's name and the numbers.
    // pahole writes flexible arrays as [] and over-aligned members with __aligned__; we write [0] and nothing.
    [GeneratedRegex(@"(\w+)\)?(?:\([^)]*\))?(?:\[\d*\])*(?::\d+)?;\s*/\*")]
    private static partial Regex MemberName();

    [GeneratedRegex(@"/\*\s+(\d+(?::\s*\d+)?\s+\d+)\s+\*/")]
    private static partial Regex Numbers();

    [GeneratedRegex(@"\s*__attribute__\(\(.*?\)\)\)")]
    private static partial Regex Attribute();

    [GeneratedRegex(@"size: \d+, cachelines: \d+, members: \d+")]
    private static partial Regex Summary();

    [GeneratedRegex(@"XXX \d+ (?:bytes?|bits?) hole")]
    private static partial Regex Holes();
}
