using System.Text;
using KdtCapture.Bpf.Btf;

namespace KdtCapture.Bpf.Tests.Btf;

/// <summary>Every type of the running kernel's BTF, decoded by us, against bpftool's raw dump of the same file.</summary>
public sealed class BtfRawDumpTests
{
    [Fact]
    public void EveryVmlinuxTypeMatchesBpftoolRawDump()
    {
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip($"{KernelFacts.VmlinuxBtfPath} is absent: the kernel was built without BTF");
        Bpftool.SkipUnlessPresent();

        string expected = Bpftool.Run("btf", "dump", "file", KernelFacts.VmlinuxBtfPath, "format", "raw");
        var btf = Bpf.Btf.Btf.Load(KernelFacts.VmlinuxBtfPath);
        var ours = new StringBuilder(expected.Length);
        foreach (var t in btf.Types)
            Bpftool.FormatRaw(t, ours);

        AssertSameLines(expected, ours.ToString());
        Assert.True(btf.TypeCount > 10_000, $"only {btf.TypeCount} types");
    }

    internal static void AssertSameLines(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var diffs = new List<string>();
        for (int i = 0; i < Math.Max(e.Length, a.Length) && diffs.Count < 10; i++)
        {
            string el = i < e.Length ? e[i] : "<end>", al = i < a.Length ? a[i] : "<end>";
            if (el != al)
                diffs.Add($"line {i + 1}:\n  bpftool: {el}\n  ours:    {al}");
        }
        Assert.True(diffs.Count == 0, $"{e.Length} bpftool lines, {a.Length} ours; first differences:\n{string.Join('\n', diffs)}");
    }
}
