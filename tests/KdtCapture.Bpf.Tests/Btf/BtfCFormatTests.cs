using System.Text.RegularExpressions;
using KdtCapture.Bpf.Btf;

namespace KdtCapture.Bpf.Tests.Btf;

/// <summary>Our C rendering of vmlinux's named structs, unions, enums and typedefs against bpftool's "format c".</summary>
public sealed partial class BtfCFormatTests
{
    [Fact]
    public void NamedTypeDefinitionsMatchBpftoolFormatC()
    {
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip($"{KernelFacts.VmlinuxBtfPath} is absent: the kernel was built without BTF");
        Bpftool.SkipUnlessPresent();

        string header = Bpftool.Run("btf", "dump", "file", KernelFacts.VmlinuxBtfPath, "format", "c");
        // format c separates top-level definitions with a blank line.
        var blocks = new HashSet<string>(header.Split("\n\n"), StringComparer.Ordinal);
        // Names bpftool had to rename (NAME___2) are rendered differently on purpose: leave them out.
        var renamed = new HashSet<string>(Renamed().Matches(header).Select(m => m.Groups[1].Value), StringComparer.Ordinal);

        var btf = Bpf.Btf.Btf.Load(KernelFacts.VmlinuxBtfPath);
        // Older bpftools leave out the enum size attributes; compare like with like.
        var formatter = new BtfCFormatter(btf) { EnumModeAttributes = header.Contains("__attribute__((mode(", StringComparison.Ordinal) };
        int compared = 0;
        var mismatches = new List<string>();
        var perKind = new Dictionary<BtfKind, int>();
        foreach (var t in btf.Types)
        {
            if (t.IsAnonymous || t.Kind is not (BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Typedef))
                continue;
            if (t.Kind is BtfKind.Enum or BtfKind.Enum64 && t.Vlen == 0)
                continue;
            // Compilers predefine it, so format c never writes its typedef out.
            if (t.Name == "__builtin_va_list")
                continue;
            string ours = formatter.Definition(t).TrimEnd('\n');
            if (Words().Matches(ours).Any(w => renamed.Contains(w.Value)))
                continue;
            compared++;
            perKind[t.Kind] = perKind.GetValueOrDefault(t.Kind) + 1;
            if (!blocks.Contains(ours) && mismatches.Count < 5)
                mismatches.Add(ours);
        }
        Assert.True(mismatches.Count == 0, $"not in bpftool's format c output:\n{string.Join("\n----\n", mismatches)}");
        Assert.True(compared > 5_000 && perKind.GetValueOrDefault(BtfKind.Struct) > 1_000 && perKind.GetValueOrDefault(BtfKind.Typedef) > 500,
            $"too few types compared: {compared} ({string.Join(", ", perKind)})");
    }

    [Fact]
    public void PrototypesAndDeclaratorsReadAsC()
    {
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip($"{KernelFacts.VmlinuxBtfPath} is absent");
        Bpftool.SkipUnlessPresent();
        var btf = Bpf.Btf.Btf.Kernel;
        var formatter = new BtfCFormatter(btf);
        // bpftool's format c declares every FUNC as "extern PROTOTYPE;"? It does not; it declares
        // function pointer members, which the struct comparison covers. Check prototypes against
        // the typedef'd function pointers bpftool prints for btf_trace_* instead.
        string header = Bpftool.Run("btf", "dump", "file", KernelFacts.VmlinuxBtfPath, "format", "c");
        var traceTypedef = btf.Find("btf_trace_net_dev_queue", BtfKind.Typedef);
        string ours = formatter.Definition(traceTypedef).TrimEnd('\n');
        Assert.Contains(ours, header.Split("\n\n"));
    }

    [GeneratedRegex(@"\b(\w+)___\d+\b")]
    private static partial Regex Renamed();

    [GeneratedRegex(@"\b\w+\b")]
    private static partial Regex Words();
}
