using KdtCapture.Bpf.Btf;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Objects;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>Tap specs and their resolution against this kernel's BTF: what resolves, and every refusal as one line naming alternatives.</summary>
public sealed class TapSpecTests
{
    [Theory]
    [InlineData("fentry/ip_output", TapKind.Fentry, "ip_output", null)]
    [InlineData("fexit/__dev_queue_xmit:0", TapKind.Fexit, "__dev_queue_xmit", 0)]
    [InlineData("kprobe/tcp_v4_*", TapKind.Kprobe, "tcp_v4_*", null)]
    [InlineData("tp_btf/kfree_skb", TapKind.TpBtf, "kfree_skb", null)]
    [InlineData("raw_tp/net_dev_queue", TapKind.RawTracepoint, "net_dev_queue", null)]
    public void Specs_parse(string text, TapKind kind, string name, int? argument)
    {
        Assert.True(TapSpec.TryParse(text, out var spec, out var error), error);
        Assert.Equal(kind, spec.Kind);
        Assert.Equal(name, spec.Name);
        Assert.Equal(argument, spec.SkbArgument);
        Assert.Equal(text, spec.ToString());
        Assert.True(TapSpec.LooksLikeTapSpec(text));
    }

    [Theory]
    [InlineData("eth0")]
    [InlineData("any")]
    [InlineData("tracepoint/net/net_dev_queue")]
    [InlineData("/dev/null")]
    public void Interfaces_are_not_tap_specs(string text) => Assert.False(TapSpec.LooksLikeTapSpec(text));

    [Theory]
    [InlineData("fentry/", "names no function")]
    [InlineData("fentry/ip_output:", "must be a number")]
    [InlineData("fentry/ip_output:12", "must be a number from 0 to 11")]
    [InlineData("tp_btf/net dev", "cannot appear")]
    [InlineData("fentri/ip_output", "is not a tap spec")]
    public void Bad_specs_say_why_in_one_line(string text, string expected)
    {
        Assert.False(TapSpec.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    private static TapResolver Resolver()
    {
        if (!File.Exists(Btf.KernelPath))
            Assert.Skip("needs kernel BTF");
        // Attach-kind checks are tested apart: here BTF, kallsyms and tracefs speak.
        return new TapResolver(Btf.Kernel, new TapResolverOptions { CheckAttachKind = false });
    }

    private static string Refusal(TapResolver resolver, string spec)
    {
        var e = Assert.Throws<TapException>(() => resolver.Resolve(TapSpec.Parse(spec)));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Fact]
    public void Skb_argument_comes_from_BTF()
    {
        var resolver = Resolver();
        // Prototypes as bpftool prints them: ip_output(struct net *, struct sock *, struct sk_buff *),
        // kfree_skb tracepoint (skb, location, reason, sk).
        var ip = Assert.Single(resolver.Resolve(TapSpec.Parse("fentry/ip_output")));
        Assert.Equal(2, ip.SkbArgument);
        Assert.Equal(3, ip.ArgumentCount);
        Assert.Equal(TapDirection.Outbound, ip.Direction);
        var kfree = Assert.Single(resolver.Resolve(TapSpec.Parse("tp_btf/kfree_skb")));
        Assert.Equal(0, kfree.SkbArgument);
        Assert.Equal(1, kfree.LocationArgument);
        Assert.Equal(2, kfree.ReasonArgument);
        var rx = Assert.Single(resolver.Resolve(TapSpec.Parse("tp_btf/netif_receive_skb")));
        Assert.Equal(TapDirection.Inbound, rx.Direction);
    }

    [Fact]
    public void Unknown_function_names_the_nearest()
    {
        string m = Refusal(Resolver(), "fentry/ip_outptu");
        Assert.Contains("no function 'ip_outptu'", m, StringComparison.Ordinal);
        Assert.Contains("ip_output", m, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_tracepoint_names_the_nearest()
    {
        string m = Refusal(Resolver(), "tp_btf/net_dev_queu");
        Assert.Contains("no tracepoint 'net_dev_queu'", m, StringComparison.Ordinal);
        Assert.Contains("net_dev_queue", m, StringComparison.Ordinal);
    }

    [Fact]
    public void Function_without_an_skb_is_refused()
    {
        // tcp_v4_connect(struct sock *, struct sockaddr *, int): no skb.
        string m = Refusal(Resolver(), "fentry/tcp_v4_connect");
        Assert.Contains("takes no struct sk_buff *", m, StringComparison.Ordinal);
        Assert.Contains("struct sock *", m, StringComparison.Ordinal);
    }

    [Fact]
    public void Argument_override_out_of_range_or_not_an_skb()
    {
        var resolver = Resolver();
        Assert.Contains("has 3 arguments (0 to 2)", Refusal(resolver, "fentry/ip_output:5"), StringComparison.Ordinal);
        string m = Refusal(resolver, "fentry/ip_output:1");
        Assert.Contains("argument 1 of 'ip_output' is not a struct sk_buff *", m, StringComparison.Ordinal);
        Assert.Contains("its skb is argument 2", m, StringComparison.Ordinal);
        Assert.Equal(2, Assert.Single(resolver.Resolve(TapSpec.Parse("fentry/ip_output:2"))).SkbArgument);
    }

    [Fact]
    public void Kprobe_refuses_an_skb_past_the_register_arguments()
    {
        var resolver = Resolver();
        // A function whose first skb argument comes after six others (found from BTF, checked by its prototype).
        var late = Btf.Kernel.MatchFunctions(null, skbOnly: true).FirstOrDefault(f => f.FindSkbArgument() >= TapResolver.KprobeRegisterArguments);
        if (late == default)
            Assert.Skip("no function on this kernel takes its skb past the sixth argument");
        string m = Refusal(resolver, "kprobe/" + late.Name);
        Assert.Contains($"past the {TapResolver.KprobeRegisterArguments} passed in registers", m, StringComparison.Ordinal);
        Assert.Contains("use fentry/" + late.Name, m, StringComparison.Ordinal);
    }

    [Fact]
    public void Tracepoints_and_functions_are_not_mixed_up()
    {
        var resolver = Resolver();
        Assert.Contains("use tp_btf/net_dev_queue", Refusal(resolver, "fentry/net_dev_queue"), StringComparison.Ordinal);
        Assert.Contains("use fentry/ip_output", Refusal(resolver, "tp_btf/ip_output"), StringComparison.Ordinal);
    }

    [Fact]
    public void Inlined_function_is_refused()
    {
        var resolver = Resolver();
        // A BTF function taking an skb with no kallsyms entry was inlined into every caller.
        var symbols = File.ReadLines("/proc/kallsyms").Select(l => l.Split(' ', '\t')).Where(p => p.Length >= 3).Select(p => p[2]).ToHashSet();
        if (symbols.Count == 0 || !File.ReadLines("/proc/kallsyms").Any(l => !l.StartsWith("0000000000000000", StringComparison.Ordinal)))
            Assert.Skip("/proc/kallsyms shows no addresses to this user");
        string? inlined = Btf.Kernel.MatchFunctions(null, skbOnly: true).Select(f => f.Name).FirstOrDefault(n => !symbols.Contains(n));
        if (inlined is null)
            Assert.Skip("every BTF function with an skb has a symbol on this kernel");
        string m = Refusal(resolver, "fentry/" + inlined);
        Assert.Contains("cannot be traced", m, StringComparison.Ordinal);
    }

    [Fact]
    public void Globs_expand_and_are_capped()
    {
        var resolver = Resolver();
        var taps = resolver.Resolve(TapSpec.Parse("fentry/ip_*output*"));
        Assert.Contains(taps, t => t.Target == "ip_output");
        Assert.All(taps, t => Assert.Equal("fentry/" + t.Target, t.Spec.Text));
        var capped = new TapResolver(Btf.Kernel, new TapResolverOptions { CheckAttachKind = false, MaxGlobMatches = 2 });
        var e = Assert.Throws<TapException>(() => capped.Resolve(TapSpec.Parse("fentry/tcp_*")));
        Assert.Contains("at most 2 taps at once", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fentry_refusal_suggests_what_works_here()
    {
        if (!Environment.IsPrivilegedProcess || !File.Exists(Btf.KernelPath))
            Assert.Skip("needs root and BTF to probe fentry");
        if (BpfFeatures.HasAttachKind(BpfAttachKind.Fentry))
            Assert.Skip("this kernel allows fentry");
        var e = Assert.Throws<TapException>(() => TapResolver.ForKernel().Resolve(TapSpec.Parse("fentry/ip_output")));
        Assert.StartsWith("fentry is refused by this kernel (EPERM", e.Message, StringComparison.Ordinal);
        Assert.Contains("tp_btf/net_dev_queue, tp_btf/netif_receive_skb or tp_btf/kfree_skb, which see the same packets", e.Message, StringComparison.Ordinal);
        Assert.Contains(BpfFeatures.HasKprobes ? "kprobe/ip_output" : "no kprobes", e.Message, StringComparison.Ordinal);
        var x = Assert.Throws<TapException>(() => TapResolver.ForKernel().Resolve(TapSpec.Parse("fexit/ip_output")));
        Assert.StartsWith("fexit is refused by this kernel", x.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_kprobes_are_said_in_one_line()
    {
        if (BpfFeatures.HasKprobes)
            Assert.Skip("this kernel has kprobes");
        if (!File.Exists(Btf.KernelPath))
            Assert.Skip("needs kernel BTF");
        var e = Assert.Throws<TapException>(() => TapResolver.ForKernel().Resolve(TapSpec.Parse("kprobe/ip_output")));
        Assert.StartsWith("kprobe/ip_output: this kernel has no kprobes", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The C# offsets of the record are the C struct's, as clang laid it out (its BTF).</summary>
    [Fact]
    public void Record_layout_matches_the_program()
    {
        var spec = EmbeddedObjects.Open(TapSource.ObjectName);
        Assert.True(spec.Btf!.TryFind("kdt_tap_record", BtfKind.Struct, out var record));
        Assert.Equal(TapRecord.Size, (int)record.Size);
        var expected = new Dictionary<string, int>
        {
            ["timestamp_ns"] = 0, ["skb_addr"] = 8, ["pid_tgid"] = 16, ["retval"] = 24, ["location"] = 32, ["len"] = 40,
            ["data_len"] = 44, ["ifindex"] = 48, ["mark"] = 52, ["netns"] = 56, ["cpu"] = 60, ["wire_len"] = 64, ["cap_len"] = 68,
            ["reason"] = 72, ["protocol"] = 76, ["dev_type"] = 78, ["mac_header"] = 80, ["network_header"] = 82, ["data_offset"] = 84,
            ["pkt_type"] = 86, ["link_type"] = 87, ["prefix_len"] = 88, ["flags"] = 89, ["skip"] = 90, ["data_bytes"] = 92,
            ["comm"] = 96, ["prefix"] = 112, ["cgroup_id"] = 176,
        };
        var actual = new Dictionary<string, int>();
        foreach (var m in record.Members)
            actual[m.Name] = (int)(m.BitOffset / 8);
        Assert.Equal(expected.OrderBy(kv => kv.Key), actual.OrderBy(kv => kv.Key));
    }
}
