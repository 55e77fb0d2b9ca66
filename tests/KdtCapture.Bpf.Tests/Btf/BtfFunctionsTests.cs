using System.Text.RegularExpressions;
using KdtCapture.Bpf.Btf;

namespace KdtCapture.Bpf.Tests.Btf;

/// <summary>
/// Which argument is the skb, for every kernel function and raw tracepoint, worked out from
/// bpftool's raw dump text on its own and compared with <see cref="BtfFunctions.FindSkbArgument(BtfType)"/>.
/// </summary>
public sealed partial class BtfFunctionsTests
{
    private sealed record RawType(string Kind, string Name, int TypeId, List<int> Params);

    private static readonly Lazy<Dictionary<int, RawType>> s_raw = new(ParseBpftool);

    private static Dictionary<int, RawType> Raw()
    {
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip($"{KernelFacts.VmlinuxBtfPath} is absent: the kernel was built without BTF");
        Bpftool.SkipUnlessPresent();
        return s_raw.Value;
    }

    private static Dictionary<int, RawType> ParseBpftool()
    {
        var types = new Dictionary<int, RawType>();
        RawType? current = null;
        foreach (var line in Bpftool.Run("btf", "dump", "file", KernelFacts.VmlinuxBtfPath, "format", "raw").Split('\n'))
        {
            var head = Header().Match(line);
            if (head.Success)
            {
                var typeId = TypeIdField().Match(head.Groups[4].Value);
                current = new RawType(head.Groups[2].Value, head.Groups[3].Value, typeId.Success ? int.Parse(typeId.Groups[1].Value) : -1, []);
                types[int.Parse(head.Groups[1].Value)] = current;
                continue;
            }
            var param = ParamLine().Match(line);
            if (param.Success && current?.Kind == "FUNC_PROTO")
                current.Params.Add(int.Parse(param.Groups[1].Value));
        }
        return types;
    }

    /// <summary>Through typedefs and qualifiers to a pointer to struct sk_buff.</summary>
    private static bool IsSkbPointer(Dictionary<int, RawType> raw, int id)
    {
        static int Strip(Dictionary<int, RawType> raw, int id)
        {
            while (id != 0 && raw[id].Kind is "TYPEDEF" or "CONST" or "VOLATILE" or "RESTRICT" or "TYPE_TAG")
                id = raw[id].TypeId;
            return id;
        }
        id = Strip(raw, id);
        if (id == 0 || raw[id].Kind != "PTR")
            return false;
        int pointee = Strip(raw, raw[id].TypeId);
        return pointee != 0 && raw[pointee].Kind is "STRUCT" or "FWD" && raw[pointee].Name == "sk_buff";
    }

    [Fact]
    public void SkbArgumentOfEveryFunctionMatchesBpftool()
    {
        var raw = Raw();
        var btf = Bpf.Btf.Btf.Kernel;
        int functions = 0, withSkb = 0;
        var wrong = new List<string>();
        foreach (var (id, t) in raw)
        {
            if (t.Kind != "FUNC")
                continue;
            functions++;
            int expected = raw[t.TypeId].Params.FindIndex(p => IsSkbPointer(raw, p));
            if (expected >= 0)
                withSkb++;
            int actual = btf.GetType(id).FindSkbArgument();
            if (actual != expected && wrong.Count < 10)
                wrong.Add($"{t.Name}: bpftool says arg {expected}, we say {actual}");
        }
        Assert.Empty(wrong);
        Assert.True(functions > 10_000 && withSkb > 500, $"{functions} functions, {withSkb} with an skb");
        Assert.Equal(withSkb, btf.MatchFunctions(null, skbOnly: true).Count);
    }

    [Fact]
    public void SkbArgumentOfEveryTracepointMatchesBpftool()
    {
        var raw = Raw();
        var btf = Bpf.Btf.Btf.Kernel;
        var expected = new Dictionary<string, int>();
        foreach (var t in raw.Values)
        {
            if (t.Kind != "TYPEDEF" || !t.Name.StartsWith("btf_trace_", StringComparison.Ordinal))
                continue;
            var ptr = raw[t.TypeId];
            if (ptr.Kind != "PTR" || raw[ptr.TypeId].Kind != "FUNC_PROTO")
                continue;
            // The first parameter is the tracepoint's private data; programs see the rest.
            int index = raw[ptr.TypeId].Params.FindIndex(p => IsSkbPointer(raw, p));
            expected[t.Name["btf_trace_".Length..]] = index < 0 ? -1 : index - 1;
        }
        var ours = btf.MatchTracepoints(null).ToDictionary(tp => tp.Name, tp => tp.FindSkbArgument());
        Assert.Equal(expected.OrderBy(p => p.Key), ours.OrderBy(p => p.Key));
        Assert.Equal(0, expected["net_dev_queue"]);
        Assert.Contains(btf.MatchTracepoints("kfree_*", skbOnly: true), tp => tp.Name == "kfree_skb");
    }

    [Fact]
    public void GlobsSelectWhatARegexSelects()
    {
        var raw = Raw();
        var btf = Bpf.Btf.Btf.Kernel;
        foreach (var (glob, regex) in new[] { ("tcp_v4_*", "^tcp_v4_.*$"), ("ip?_output", "^ip._output$"), ("*_rcv", "^.*_rcv$"), ("[a-c]*skb*", "^[a-c].*skb.*$"), ("[!a-y]*", "^[^a-y].*$") })
        {
            var expected = raw.Where(p => p.Value.Kind == "FUNC" && Regex.IsMatch(p.Value.Name, regex)).Select(p => p.Key).Order().ToList();
            var actual = btf.MatchFunctions(glob).Select(t => t.Id).Order().ToList();
            Assert.True(expected.Count > 0, glob);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void UnknownFunctionsSuggestTheNearestNames()
    {
        Raw();
        var btf = Bpf.Btf.Btf.Kernel;
        var e = Assert.Throws<BtfNotFoundException>(() => btf.FindFunction("ip_outptu"));
        Assert.Equal("ip_output", e.Suggestions[0]);
        Assert.Contains("did you mean ip_output", e.Message);
        Assert.Contains("net_dev_queue", Assert.Throws<BtfNotFoundException>(() => btf.FindTracepoint("net_dev_queeu")).Suggestions);
        Assert.Equal("net_dev_queue", btf.FindTracepoint("net_dev_queue").Name);
    }

    [GeneratedRegex(@"^\[(\d+)\] (\w+) '([^']*)'(.*)$")]
    private static partial Regex Header();

    [GeneratedRegex(@"(?:type_id|ret_type_id)=(\d+)")]
    private static partial Regex TypeIdField();

    [GeneratedRegex(@"^\t'[^']*' type_id=(\d+)$")]
    private static partial Regex ParamLine();
}
