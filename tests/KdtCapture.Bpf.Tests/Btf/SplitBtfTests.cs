using System.Text;
using KdtCapture.Bpf.Btf;

namespace KdtCapture.Bpf.Tests.Btf;

/// <summary>Module-style split BTF on the running kernel's vmlinux, and blobs made in the test (both byte orders, damaged).</summary>
public sealed class SplitBtfTests
{
    private static Bpf.Btf.Btf Vmlinux()
    {
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip($"{KernelFacts.VmlinuxBtfPath} is absent: the kernel was built without BTF");
        return Bpf.Btf.Btf.Kernel;
    }

    /// <summary>A module-like blob: its own struct and function, both using vmlinux's sk_buff and net_device.</summary>
    private static (byte[] Blob, int StateId, int FunctionId) ModuleBlob(Bpf.Btf.Btf vmlinux)
    {
        int skb = vmlinux.Find("sk_buff", BtfKind.Struct).Id;
        int dev = vmlinux.Find("net_device", BtfKind.Struct).Id;
        var w = BtfBlobWriter.SplitOn(vmlinux);
        int u32 = w.Int("u32", 4, 0);
        int skbPtr = w.Pointer(skb);
        int devPtr = w.Pointer(dev);
        int state = w.Struct("kdt_mod_state", 24, ("skb", skbPtr, 0), ("dev", devPtr, 64), ("drops", u32, 128));
        int proto = w.FunctionProto(u32, ("dev", devPtr), ("skb", skbPtr));
        int function = w.Function("kdt_mod_xmit", proto);
        return (w.ToArray(), state, function);
    }

    [Fact]
    public void SplitTypesNumberAfterTheBaseAndResolveThroughIt()
    {
        var vmlinux = Vmlinux();
        var (blob, stateId, functionId) = ModuleBlob(vmlinux);
        var module = Bpf.Btf.Btf.Parse(blob, vmlinux);

        Assert.Equal(vmlinux.TypeCount, module.FirstLocalId);
        Assert.Equal(6, module.LocalTypeCount);
        Assert.Equal(vmlinux.TypeCount + 6, module.TypeCount);

        var state = module.Find("kdt_mod_state", BtfKind.Struct);
        Assert.Equal(stateId, state.Id);
        Assert.Equal(["skb", "dev", "drops"], Names(state.Members));
        Assert.Equal("sk_buff", state.Members[0].Type.Target.Name);
        // Base types are found through the split blob, and are the base's own.
        var skb = module.Find("sk_buff", BtfKind.Struct);
        Assert.Same(vmlinux, skb.Btf);

        var function = module.FindFunction("kdt_mod_xmit");
        Assert.Equal(functionId, function.Id);
        Assert.Equal(1, function.FindSkbArgument());
        Assert.Equal("u32 kdt_mod_xmit(struct net_device *dev, struct sk_buff *skb)", new BtfCFormatter(module).Prototype(function));
        Assert.Equal(
            "struct kdt_mod_state {\n\tstruct sk_buff *skb;\n\tstruct net_device *dev;\n\tu32 drops;\n};\n",
            new BtfCFormatter(module).Definition(state));
        var ex = Assert.Throws<BtfNotFoundException>(() => module.FindFunction("kdt_mod_xmti"));
        Assert.Contains("kdt_mod_xmit", ex.Suggestions);
    }

    [Fact]
    public void SplitBlobReadsAsBpftoolReadsIt()
    {
        var vmlinux = Vmlinux();
        Bpftool.SkipUnlessPresent();
        var (blob, _, _) = ModuleBlob(vmlinux);
        string path = Path.Combine(Path.GetTempPath(), $"kdt-split-{Environment.ProcessId}.btf");
        File.WriteAllBytes(path, blob);
        try
        {
            string expected = Bpftool.Run("-B", KernelFacts.VmlinuxBtfPath, "btf", "dump", "file", path, "format", "raw");
            var module = Bpf.Btf.Btf.Load(path, vmlinux);
            var ours = new StringBuilder();
            foreach (var t in module.LocalTypes)
                Bpftool.FormatRaw(t, ours);
            BtfRawDumpTests.AssertSameLines(expected, ours.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BigEndianBlobReadsLikeTheLittleEndianOne()
    {
        var w = StandaloneWriter();
        var little = Bpf.Btf.Btf.Parse(w.ToArray());
        var big = Bpf.Btf.Btf.Parse(w.ToArray(bigEndian: true));
        Assert.Equal(Dump(little), Dump(big));
        // Normalized to this machine's order, ready for the kernel.
        Assert.Equal(little.RawBytes.ToArray(), big.RawBytes.ToArray());
    }

    [Fact]
    public void EveryTruncationIsAFormatError()
    {
        byte[] blob = StandaloneWriter().ToArray();
        Bpf.Btf.Btf.Parse(blob);
        for (int length = 0; length < blob.Length; length++)
        {
            // Cut the blob and claim the header still fits: whatever happens must be a BtfFormatException.
            var cut = blob.AsSpan(0, length).ToArray();
            var e = Record.Exception(() => Bpf.Btf.Btf.Parse(cut));
            Assert.True(e is BtfFormatException, $"length {length}: {e?.GetType().Name ?? "no error"}: {e?.Message}");
        }
    }

    [Fact]
    public void DamagedBlobsRaiseOnlyFormatErrors()
    {
        byte[] blob = StandaloneWriter().ToArray();
        var random = new Random(6);
        for (int round = 0; round < 5000; round++)
        {
            var damaged = (byte[])blob.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
                damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
            Exception? e = Record.Exception(() =>
            {
                var btf = Bpf.Btf.Btf.Parse(damaged);
                // Whatever parses must decode and render without surprises.
                var c = new BtfCFormatter(btf);
                var sb = new StringBuilder();
                foreach (var t in btf.Types)
                {
                    Bpftool.FormatRaw(t, sb);
                    if (t.Kind is BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Typedef)
                        c.Definition(t);
                }
            });
            Assert.True(e is null or BtfFormatException, $"round {round}: {e?.GetType().Name}: {e?.Message}\n{e?.StackTrace}");
        }
    }

    [Fact]
    public void BadHeadersSayWhatIsWrong()
    {
        Assert.Contains("not BTF", Assert.Throws<BtfFormatException>(() => Bpf.Btf.Btf.Parse(new byte[64])).Message);
        var blob = StandaloneWriter().ToArray();
        blob[2] = 2;
        Assert.Contains("version 2", Assert.Throws<BtfFormatException>(() => Bpf.Btf.Btf.Parse(blob)).Message);
        Assert.Contains("cannot read", Assert.Throws<BtfFormatException>(() => Bpf.Btf.Btf.Load("/nonexistent/vmlinux")).Message);
    }

    private static BtfBlobWriter StandaloneWriter()
    {
        var w = new BtfBlobWriter();
        int i32 = w.Int("int", 4, 1);
        int ch = w.Int("char", 1, 2);
        int p = w.Pointer(ch);
        int s = w.Struct("pair", 16, ("name", p, 0), ("value", i32, 64));
        int proto = w.FunctionProto(i32, ("a", s), ("b", p));
        w.Function("use_pair", proto);
        w.Record(BtfKind.Enum, "colour", 2, 4, true, w.String("RED"), unchecked((uint)-1), w.String("BLUE"), 7);
        return w;
    }

    private static string Dump(Bpf.Btf.Btf btf)
    {
        var sb = new StringBuilder();
        foreach (var t in btf.Types)
            Bpftool.FormatRaw(t, sb);
        return sb.ToString();
    }

    private static List<string> Names(BtfMemberList members)
    {
        var names = new List<string>();
        foreach (var m in members)
            names.Add(m.Name);
        return names;
    }
}
