using System.Diagnostics;
using System.Text.RegularExpressions;

namespace KdtCapture.Cli.Tests;

/// <summary>
/// <c>kdt btf</c> end to end, with the expected facts read from bpftool's raw dump of the same
/// /sys/kernel/btf/vmlinux (so nothing about this kernel is assumed).
/// </summary>
public sealed partial class BtfCommandTests
{
    private const string Vmlinux = "/sys/kernel/btf/vmlinux";

    private sealed record RawType(string Kind, string Name, string Rest, List<(string Name, long Value)> Items);

    private static readonly Lazy<Dictionary<int, RawType>> s_raw = new(ReadBpftool);

    private static Dictionary<int, RawType> Raw()
    {
        if (!File.Exists(Vmlinux))
            Assert.Skip($"{Vmlinux} is absent: the kernel was built without BTF");
        if (!File.Exists("/usr/sbin/bpftool"))
            Assert.Skip("bpftool is not installed (apt-get install bpftool; ./test.sh installs it)");
        return s_raw.Value;
    }

    private static Dictionary<int, RawType> ReadBpftool()
    {
        var start = new ProcessStartInfo("/usr/sbin/bpftool") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "btf", "dump", "file", Vmlinux, "format", "raw" })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var types = new Dictionary<int, RawType>();
        RawType? current = null;
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null)
        {
            var head = Header().Match(line);
            if (head.Success)
            {
                current = new RawType(head.Groups[2].Value, head.Groups[3].Value, head.Groups[4].Value, []);
                types[int.Parse(head.Groups[1].Value)] = current;
            }
            else if (Item().Match(line) is { Success: true } item)
            {
                current?.Items.Add((item.Groups[1].Value, long.Parse(item.Groups[2].Value)));
            }
        }
        p.WaitForExit();
        return types;
    }

    private static int Field(RawType t, string name) => int.Parse(Regex.Match(t.Rest, $@"\b{name}=(\d+)").Groups[1].Value);

    private static (int Id, RawType Type) Named(Dictionary<int, RawType> raw, string kind, string name) =>
        raw.Select(p => (p.Key, p.Value)).First(p => p.Value.Kind == kind && p.Value.Name == name);

    private static bool IsSkbPointer(Dictionary<int, RawType> raw, int id)
    {
        int Strip(int i)
        {
            while (i != 0 && raw[i].Kind is "TYPEDEF" or "CONST" or "VOLATILE" or "RESTRICT" or "TYPE_TAG")
                i = Field(raw[i], "type_id");
            return i;
        }
        id = Strip(id);
        if (id == 0 || raw[id].Kind != "PTR")
            return false;
        int target = Strip(Field(raw[id], "type_id"));
        return target != 0 && raw[target].Kind == "STRUCT" && raw[target].Name == "sk_buff";
    }

    [Fact]
    public void FuncsListsIpOutputArgumentsAndMarksTheSkb()
    {
        var raw = Raw();
        var (_, func) = Named(raw, "FUNC", "ip_output");
        var proto = raw[Field(func, "type_id")];
        int skb = proto.Items.FindIndex(p => IsSkbPointer(raw, (int)p.Value));
        Assert.True(skb >= 0, "bpftool shows no struct sk_buff * argument of ip_output");

        var result = Kdt.Run("btf", "funcs", "ip_output");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Stderr);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("fentry/ip_output", lines[0]);
        for (int i = 0; i < proto.Items.Count; i++)
        {
            Assert.EndsWith(proto.Items[i].Name + (i == skb ? $"    /* skb: arg{skb} */" : ""), lines[1 + i]);
            Assert.StartsWith("    ", lines[1 + i]);
        }
        Assert.Equal("    struct sk_buff *skb    /* skb: arg" + skb + " */", lines[1 + skb]);
        Assert.Matches(@"^    int retval$", lines[^1]);
    }

    [Fact]
    public void FuncsSkbListsTracepointsWithTheirSkbArgument()
    {
        var raw = Raw();
        var expected = raw.Values
            .Where(t => t.Kind == "TYPEDEF" && t.Name.StartsWith("btf_trace_", StringComparison.Ordinal))
            .Where(t => raw[Field(t, "type_id")] is { Kind: "PTR" } ptr && raw[Field(ptr, "type_id")].Kind == "FUNC_PROTO"
                && raw[Field(ptr, "type_id")].Items.Any(p => IsSkbPointer(raw, (int)p.Value)))
            .Select(t => "tp_btf/" + t.Name["btf_trace_".Length..])
            .Order(StringComparer.Ordinal)
            .ToList();

        var result = Kdt.Run("btf", "funcs", "tp_btf/*", "--skb");
        Assert.Equal(0, result.ExitCode);
        var listed = result.Stdout.Split('\n').Where(l => l.Length > 0 && !l.StartsWith(' ')).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, listed);
        Assert.Contains("tp_btf/net_dev_queue\n    struct sk_buff *arg0    /* skb: arg0 */\n", result.Stdout);
    }

    [Fact]
    public void UnknownFunctionIsOneLineWithTheNearestNames()
    {
        Raw();
        var result = Kdt.Run("btf", "funcs", "ip_outptu");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Matches(@"^kdt btf: no kernel function or tracepoint named 'ip_outptu' \(did you mean ip_output\b[^\n]*\?\)\n$", result.Stderr);

        var noSkb = Kdt.Run("btf", "funcs", "schedule", "--skb");
        Assert.Equal(1, noSkb.ExitCode);
        Assert.Equal("kdt btf: 'schedule' takes no struct sk_buff * argument\n", noSkb.Stderr);
    }

    [Fact]
    public void TypeShowsTheLayoutWithTheStructSize()
    {
        var raw = Raw();
        var (_, skb) = Named(raw, "STRUCT", "sk_buff");
        var result = Kdt.Run("btf", "type", "struct", "sk_buff");
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("struct sk_buff {\n", result.Stdout);
        int size = Field(skb, "size");
        Assert.Contains($"/* size: {size}, cachelines: {(size + 63) / 64}, members: {skb.Items.Count} */", result.Stdout);
        // Each member bpftool lists appears with its byte offset.
        foreach (var (name, _) in skb.Items.Where(m => m.Name != "(anon)"))
            Assert.Matches($@"\b{Regex.Escape(name)}(\[\d+\])?(:\d+)?;\s+/\*", result.Stdout);
    }

    [Fact]
    public void TypeShowsAnEnumWithEveryValue()
    {
        var raw = Raw();
        var (_, e) = Named(raw, "ENUM", "skb_drop_reason");
        var result = Kdt.Run("btf", "type", "enum skb_drop_reason");
        Assert.Equal(0, result.ExitCode);
        var values = Regex.Matches(result.Stdout, @"^\t(\w+) = (\d+),$", RegexOptions.Multiline)
            .Select(m => (m.Groups[1].Value, long.Parse(m.Groups[2].Value)))
            .ToList();
        Assert.True(e.Items.Count > 10);
        Assert.Equal(e.Items, values);
        Assert.StartsWith("enum skb_drop_reason {\n", result.Stdout);
    }

    [Fact]
    public void UnknownTypeSuggestsNearNames()
    {
        Raw();
        var result = Kdt.Run("btf", "type", "sk_bufff");
        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"^kdt btf: no type named 'sk_bufff' in BTF \(did you mean sk_buff\b[^\n]*\?\)\n$", result.Stderr);
    }

    [Fact]
    public void StatsCountsEveryKindAsBpftoolDoes()
    {
        var raw = Raw();
        var result = Kdt.Run("btf", "stats");
        Assert.Equal(0, result.ExitCode);
        foreach (var group in raw.Values.GroupBy(t => t.Kind))
            Assert.Matches($@"(?m)^  {group.Key}\s+{group.Count()}$", result.Stdout);
        Assert.Contains($"types:       {raw.Count} (ids 1..{raw.Count})", result.Stdout);
        Assert.Matches(@"(?m)^parse:\s+\d+\.\d ms", result.Stdout);
    }

    [Theory]
    [InlineData(new[] { "btf", "frob" }, "kdt btf: unknown subcommand 'frob' (funcs, type, stats; see 'kdt btf --help')")]
    [InlineData(new[] { "btf", "funcs", "--bogus" }, "kdt btf: unrecognized option '--bogus' (see 'kdt btf --help')")]
    [InlineData(new[] { "btf", "stats", "--file" }, "kdt btf: option '--file' needs a PATH")]
    [InlineData(new[] { "btf", "stats", "--base", "/sys/kernel/btf/vmlinux" }, "kdt btf: --base needs --file (the split BTF to read on top of it)")]
    [InlineData(new[] { "btf", "stats", "--file", "/nonexistent.btf" }, "kdt btf: cannot read BTF from /nonexistent.btf: Could not find file '/nonexistent.btf'.")]
    [InlineData(new[] { "btf", "stats", "--file", "/etc/hostname" }, null)]
    public void BadInputIsOneLineAndExitOne(string[] args, string? message)
    {
        var result = Kdt.Run(args);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("kdt btf: ", result.Stderr);
        if (message is not null)
            Assert.Equal(message + "\n", result.Stderr);
    }

    [Fact]
    public void HelpHasExamples()
    {
        var result = Kdt.Run("btf", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Examples:", result.Stdout);
        Assert.Contains("kdt btf funcs", result.Stdout);
        Assert.Equal(result.Stdout, Kdt.Run("help", "btf").Stdout);
        Assert.Matches(@"(?m)^\s+btf\s", Kdt.Run("--help").Stdout);
    }

    [GeneratedRegex(@"^\[(\d+)\] (\w+) '([^']*)'(.*)$")]
    private static partial Regex Header();

    // ENUM64 values (with a ULL/LL suffix) are left out: no test here reads them.
    [GeneratedRegex(@"^\t'([^']*)' (?:type_id|val)=(-?\d+)(?: bits_offset=\d+.*)?$")]
    private static partial Regex Item();
}
