using System.Text.RegularExpressions;
using KdtCapture.Bpf.Btf;
using KdtCapture.Capture.Taps;
using KdtCapture.Testing;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// Taps on functions of kernel modules, resolved against real module BTF. This machine has no
/// modules, so the BTF comes from the kernel package the VM harness (tests/vm) caches: the .BTF
/// section of its vmlinux and of its modules' .ko files is what the running kernel shows in
/// /sys/kernel/btf (the same bytes: checked against the guest's files once), laid out here as
/// /sys/kernel/btf would be. bpftool reads the same files for the expected ids. Attaching to a
/// module function is tested in the guest (GuestCaptureTests' 802.11 capture at
/// fentry/ieee80211_scan_rx).
/// </summary>
public sealed partial class ModuleTapTests : IClassFixture<ModuleTapTests.GuestKernelBtf>
{
    private readonly GuestKernelBtf _kernel;

    public ModuleTapTests(GuestKernelBtf kernel) => _kernel = kernel;

    /// <summary>The cached guest kernel's BTF as a /sys/kernel/btf of vmlinux, mac80211 and cfg80211, and its module tree.</summary>
    public sealed class GuestKernelBtf : IDisposable
    {
        public GuestKernelBtf()
        {
            if (!VmHarness.IsAvailable(out string reason))
            {
                SkipReason = "the guest kernel's BTF comes from the VM harness's cache: " + reason;
                return;
            }
            string cache = Environment.GetEnvironmentVariable("KDT_VM_CACHE") is { Length: > 0 } given ? given
                : Environment.IsPrivilegedProcess ? "/var/cache/kdt-vm"
                : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "kdt-vm");
            string? kernel = Directory.Exists(cache) ? Directory.GetDirectories(cache, "kernel-*").Order(StringComparer.Ordinal).LastOrDefault() : null;
            if (kernel is null || !File.Exists("/usr/bin/objcopy") || !File.Exists("/usr/sbin/bpftool"))
            {
                SkipReason = $"needs the harness's cached kernel in {cache}, objcopy and bpftool";
                return;
            }
            string release = Path.GetFileName(kernel)["kernel-".Length..];
            ModulesDirectory = Path.Combine(kernel, "lib", "modules", release);
            BtfDirectory = Directory.CreateTempSubdirectory("kdv-btf-").FullName;
            Extract(Path.Combine(kernel, "boot", "vmlinux-" + release), "vmlinux");
            Extract(Path.Combine(ModulesDirectory, "kernel", "net", "mac80211", "mac80211.ko"), "mac80211");
            Extract(Path.Combine(ModulesDirectory, "kernel", "net", "wireless", "cfg80211.ko"), "cfg80211");
            Vmlinux = Btf.Load(Path.Combine(BtfDirectory, "vmlinux"));
        }

        private void Extract(string elf, string name) =>
            TapTestKit.Run("/usr/bin/objcopy", "--dump-section", ".BTF=" + Path.Combine(BtfDirectory, name), elf, Path.Combine(BtfDirectory, name + ".o"));

        public string? SkipReason { get; }

        public string BtfDirectory { get; } = "";

        public string ModulesDirectory { get; } = "";

        public Btf? Vmlinux { get; }

        public void Dispose()
        {
            if (BtfDirectory.Length > 0)
                Directory.Delete(BtfDirectory, recursive: true);
        }
    }

    private TapResolver Resolver(string? btfDirectory = null)
    {
        if (_kernel.SkipReason is { } reason)
            Assert.Skip(reason);
        // No tracefs or kallsyms of that kernel here: traceability is the guest's to check.
        return new TapResolver(_kernel.Vmlinux!, new TapResolverOptions
        {
            CheckAttachKind = false,
            ModuleBtfDirectory = btfDirectory ?? _kernel.BtfDirectory,
            ModulesDirectory = _kernel.ModulesDirectory,
            AvailableFilterFunctionsPath = "/nonexistent/kdv",
            KallsymsPath = "/nonexistent/kdv",
        });
    }

    private static string Refusal(TapResolver resolver, string spec)
    {
        var e = Assert.Throws<TapException>(() => resolver.Resolve(TapSpec.Parse(spec)));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    /// <summary>bpftool's raw dump of a module's BTF on vmlinux's: FUNC name → (id, its parameters' names).</summary>
    private Dictionary<string, (int Id, List<string> Parameters)> BpftoolFunctions(string module)
    {
        string dump = TapTestKit.Run("/usr/sbin/bpftool", "btf", "dump", "file", Path.Combine(_kernel.BtfDirectory, module),
            "-B", Path.Combine(_kernel.BtfDirectory, "vmlinux"), "format", "raw");
        var protos = new Dictionary<int, List<string>>();
        var functions = new Dictionary<string, (int, int)>();
        List<string>? current = null;
        foreach (string line in dump.Split('\n'))
        {
            var t = TypeLine().Match(line);
            if (t.Success)
            {
                int id = int.Parse(t.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture);
                current = null;
                if (t.Groups["kind"].Value == "FUNC_PROTO")
                    protos[id] = current = [];
                else if (t.Groups["kind"].Value == "FUNC")
                    functions[t.Groups["name"].Value] = (id, int.Parse(t.Groups["type"].Value, System.Globalization.CultureInfo.InvariantCulture));
                continue;
            }
            var p = ParameterLine().Match(line);
            if (p.Success)
                current?.Add(p.Groups[1].Value);
        }
        return functions.ToDictionary(f => f.Key, f => (f.Value.Item1, protos.TryGetValue(f.Value.Item2, out var ps) ? ps : []));
    }

    [Fact]
    public void A_function_only_a_module_has_is_found_in_that_modules_BTF()
    {
        var resolver = Resolver();
        var bpftool = BpftoolFunctions("mac80211");
        foreach (string text in (string[])["fentry/ieee80211_scan_rx", "fentry/mac80211:ieee80211_scan_rx", "kprobe/ieee80211_scan_rx"])
        {
            var tap = Assert.Single(resolver.Resolve(TapSpec.Parse(text)));
            Assert.Equal("mac80211", tap.Module);
            Assert.Equal("mac80211", tap.Spec.Module);
            Assert.Equal(text, tap.Spec.Text);
            Assert.Equal("ieee80211_scan_rx", tap.Target);
            var (_, parameters) = bpftool["ieee80211_scan_rx"];
            Assert.Equal(parameters.Count, tap.ArgumentCount);
            Assert.Equal("skb", parameters[tap.SkbArgument]);
            Assert.Contains("(module mac80211)", tap.Description, StringComparison.Ordinal);
        }
        // The id a program names as attach_btf_id: ids of split BTF continue after vmlinux's, as bpftool numbers them.
        var module = Btf.Load(Path.Combine(_kernel.BtfDirectory, "mac80211"), _kernel.Vmlinux);
        Assert.True(module.TryFindLocal("ieee80211_scan_rx", BtfKind.Function, out var function));
        Assert.Equal(bpftool["ieee80211_scan_rx"].Id, function.Id);
        Assert.True(function.Id > _kernel.Vmlinux!.TypeCount - 1);
    }

    [Fact]
    public void A_module_glob_taps_the_modules_own_functions_that_take_an_skb()
    {
        var resolver = Resolver();
        var expected = BpftoolFunctions("mac80211")
            .Where(f => f.Key.StartsWith("ieee80211_rx", StringComparison.Ordinal) && f.Value.Parameters.Contains("skb"))
            .Select(f => f.Key).Order(StringComparer.Ordinal).ToList();
        var taps = resolver.Resolve(TapSpec.Parse("fentry/mac80211:ieee80211_rx*"));
        Assert.All(taps, t => Assert.Equal("mac80211", t.Module));
        Assert.All(taps, t => Assert.Equal($"fentry/mac80211:{t.Target}", t.Spec.Text));
        // A parameter named skb is a struct sk_buff * in mac80211; bpftool's names and our types agree.
        Assert.Equal(expected, taps.Select(t => t.Target).Order(StringComparer.Ordinal).ToList());
        Assert.Contains("ieee80211_rx_napi", expected);
    }

    [Fact]
    public void A_module_that_lacks_the_function_or_is_not_loaded_is_named_with_what_to_do()
    {
        var resolver = Resolver();
        Assert.Contains("module cfg80211 has no function 'ieee80211_scan_rx'", Refusal(resolver, "fentry/cfg80211:ieee80211_scan_rx"), StringComparison.Ordinal);
        Assert.Contains("did you mean ieee80211_scan_rx", Refusal(resolver, "fentry/mac80211:ieee80211_scan_rxx"), StringComparison.Ordinal);
        // Installed (modules.dep) but without BTF in the directory: not loaded.
        Assert.EndsWith("module mac80211_hwsim is not loaded: load it with 'modprobe mac80211_hwsim' and try again",
            Refusal(resolver, "fentry/mac80211-hwsim:mac80211_hwsim_rx"), StringComparison.Ordinal);
        Assert.Contains("no module kdv_nosuch is loaded or installed", Refusal(resolver, "fentry/kdv_nosuch:f"), StringComparison.Ordinal);
        Assert.Contains("vmlinux is not a module", Refusal(resolver, "fentry/vmlinux:ip_output"), StringComparison.Ordinal);
    }

    [Fact]
    public void An_exported_function_of_a_module_not_loaded_names_the_modprobe()
    {
        // Only vmlinux's BTF: mac80211 is not loaded; modules.symbols says who exports ieee80211_rx_napi.
        string alone = Directory.CreateTempSubdirectory("kdv-btf-alone-").FullName;
        try
        {
            var resolver = Resolver(alone);
            File.Copy(Path.Combine(_kernel.BtfDirectory, "vmlinux"), Path.Combine(alone, "vmlinux"));
            Assert.Equal("fentry/ieee80211_rx_napi: 'ieee80211_rx_napi' is a function of module mac80211, which is not loaded: load it with 'modprobe mac80211' and try again",
                Refusal(resolver, "fentry/ieee80211_rx_napi"));
            // Not exported, in no module: the nearest names, as before.
            Assert.Contains("the kernel has no function 'ieee80211_scan_rx'", Refusal(resolver, "fentry/ieee80211_scan_rx"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(alone, recursive: true);
        }
    }

    [Theory]
    [InlineData("fentry/mac80211:ieee80211_scan_rx", "mac80211", "ieee80211_scan_rx", null)]
    [InlineData("fexit/mac80211:ieee80211_rx_napi:2", "mac80211", "ieee80211_rx_napi", 2)]
    [InlineData("kprobe/ip_output:2", null, "ip_output", 2)]
    [InlineData("fentry/mac80211_hwsim:mac80211_hwsim_*", "mac80211_hwsim", "mac80211_hwsim_*", null)]
    public void Module_specs_parse(string text, string? module, string name, int? argument)
    {
        Assert.True(TapSpec.TryParse(text, out var spec, out var error), error);
        Assert.Equal(module, spec.Module);
        Assert.Equal(name, spec.Name);
        Assert.Equal(argument, spec.SkbArgument);
        Assert.Equal(text, spec.Text);
    }

    [Theory]
    [InlineData("fentry/:ieee80211_scan_rx", "is not a module name")]
    [InlineData("fentry/mac80211:ieee80211_scan_rx:x", "must be a number")]
    [InlineData("fentry/mac.80211:f", "is not a module name")]
    public void Bad_module_specs_say_why(string text, string expected)
    {
        Assert.False(TapSpec.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    // "[12] FUNC 'ip_output' type_id=11 linkage=static", "[11] FUNC_PROTO '(anon)' ret_type_id=..."
    [GeneratedRegex(@"^\[(?<id>\d+)\] (?<kind>[A-Z_0-9]+) '(?<name>[^']*)'(?: type_id=(?<type>\d+))?")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^\t'([^']*)' type_id=\d+$")]
    private static partial Regex ParameterLine();
}
