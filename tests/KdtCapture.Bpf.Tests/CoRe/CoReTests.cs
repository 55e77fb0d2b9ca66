using System.Buffers.Binary;
using System.Runtime.InteropServices;
using KdtCapture.Bpf.CoRe;
using KdtCapture.Bpf.Objects;
using KdtCapture.Bpf.Programs;
using KdtCapture.Bpf.Tests.Objects;

namespace KdtCapture.Bpf.Tests.CoRe;

/// <summary>CO-RE relocations computed against this kernel's BTF, compared with what bpftool prints of it.</summary>
public sealed class CoReTests
{
    [DllImport("libc", EntryPoint = "getpid")]
    private static extern int GetPid();

    /// <summary>Loads core_values for this process, makes it run once (any syscall), and returns its 27 recorded values.</summary>
    private static (ulong[] Values, BpfObject Object) RunCoreValues()
    {
        BpfObjectTests.RequireRoot();
        var spec = TestObjects.Spec("core_values");
        spec.RewriteConstant("target_tgid", (uint)Environment.ProcessId);
        var obj = BpfObject.Load(spec);
        using (obj.Attach("record_core_values"))
            _ = GetPid();
        var map = obj.Map(".bss");
        var bss = new byte[map.ValueSize];
        Assert.True(map.TryLookup(stackalloc byte[4], bss));
        int at = spec.FindVariable("values").Offset;
        var values = new ulong[27];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadUInt64LittleEndian(bss.AsSpan(at + i * 8));
        return (values, obj);
    }

    [Fact]
    public void Relocated_values_match_bpftool_on_this_kernel()
    {
        var (v, obj) = RunCoreValues();
        using var _ = obj;
        var kernel = BpftoolRawBtf.Kernel;
        var local = BpftoolRawBtf.Dump(TestObjects.FileOf("core_values", TestObjects.Bytes("core_values")));
        var skb = kernel.Find("STRUCT", "sk_buff");
        var netDevice = kernel.Find("STRUCT", "net_device");
        var reasons = kernel.Find("ENUM", "skb_drop_reason");

        Assert.True(v[26] >= 1, "the program ran");
        Assert.Equal((ulong)skb.Size, v[0]);                                   // type size
        Assert.Equal((ulong)skb.Id, v[1]);                                     // target type id
        Assert.Equal((ulong)local.Find("STRUCT", "sk_buff").Id, v[2]);        // local type id
        Assert.Equal(1UL, v[3]);                                               // sk_buff exists
        Assert.Equal(0UL, v[4]);                                               // kdt_no_such_struct does not

        var len = kernel.FindMember(skb, "len")!.Value;
        Assert.Equal((ulong)(len.BitOffset / 8), v[5]);
        Assert.Equal((ulong)kernel.SizeOf(len.Member.TypeId), v[6]);
        Assert.Equal(1UL, v[7]);
        Assert.Equal(0UL, v[8]);                                               // unsigned int
        Assert.Equal(v[5], v[9]);                                              // the sk_buff___kdt flavor finds the same len
        Assert.Equal(0UL, v[10]);                                              // kdt_no_such_member does not exist

        // Bitfields: the load the values describe covers exactly the field's bits.
        foreach (var (member, offset, size, lshift, rshift) in new[] { ("ip_summed", v[11], v[12], v[13], v[14]) })
        {
            var (m, bitOffset) = kernel.FindMember(skb, member)!.Value;
            Assert.True(m.BitfieldSize > 0, $"{member} is a bitfield in this kernel");
            Assert.Contains(size, new ulong[] { 1, 2, 4, 8 });
            Assert.Equal(0UL, offset % size);
            Assert.InRange(bitOffset, (long)offset * 8, (long)(offset + size) * 8 - m.BitfieldSize);
            Assert.Equal((ulong)(64 - m.BitfieldSize), rshift);
            Assert.Equal((ulong)(64 - (bitOffset - (long)offset * 8) - m.BitfieldSize), lshift);
        }
        var pktType = kernel.FindMember(skb, "pkt_type")!.Value;
        Assert.Equal((ulong)(64 - pktType.Member.BitfieldSize), v[16]);
        Assert.InRange(v[15], v[16], 63UL);

        Assert.Equal((ulong)(kernel.FindMember(skb, "mac_header")!.Value.BitOffset / 8), v[17]);
        Assert.Equal((ulong)(kernel.FindMember(netDevice, "ifindex")!.Value.BitOffset / 8), v[18]);
        Assert.Equal(1UL, v[19]);                                              // int ifindex is signed
        Assert.Equal((ulong)(kernel.FindMember(skb, "dev")!.Value.BitOffset / 8), v[20]);   // inside anonymous members
        Assert.Equal((ulong)(kernel.FindMember(skb, "mark")!.Value.BitOffset / 8), v[21]);  // inside an anonymous union
        Assert.Equal((ulong)reasons.Values.Single(e => e.Name == "SKB_DROP_REASON_NOT_SPECIFIED").Value, v[22]);
        Assert.Equal((ulong)reasons.Values.Single(e => e.Name == "SKB_DROP_REASON_NO_SOCKET").Value, v[23]);
        Assert.Equal(1UL, v[24]);
        Assert.Equal(0UL, v[25]);                                              // the made-up enumerator does not exist
        Assert.DoesNotContain(obj.CoReResults("record_core_values"), r => r.Poisoned);
    }

    [Fact]
    public void An_unsatisfiable_relocation_is_poisoned_and_the_verifier_names_it()
    {
        BpfObjectTests.RequireRoot();
        var spec = TestObjects.Spec("poisoned");
        var e = Assert.Throws<BpfVerifierException>(() => BpfObject.Load(spec));
        Assert.Equal("read_missing_member", e.ProgramName);
        Assert.Contains("'read_missing_member'", e.Message);
        Assert.Contains("kdt_no_such_member", e.Log);
        Assert.Contains("sk_buff___kdt", e.Message);
        // The kernel saw the poison call at the relocated instruction, not something else.
        Assert.Contains(CoReRelocator.PoisonHelperId.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Log);
    }

    [Fact]
    public void Poisoning_changes_only_the_relocated_instruction()
    {
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip("the kernel publishes no BTF");
        var spec = TestObjects.Spec("poisoned");
        var program = spec.Program("read_missing_member");
        var code = (KdtCapture.Bpf.Asm.BpfInstruction[])program.Instructions.Clone();
        var results = new CoReRelocator(spec.Btf!, KdtCapture.Bpf.Btf.Btf.Kernel).Apply(code, program.CoReRelocations);
        var poisoned = Assert.Single(results, r => r.Poisoned);
        Assert.Contains("kdt_no_such_member", poisoned.Reason);
        for (int i = 0; i < code.Length; i++)
        {
            if (i == poisoned.InstructionIndex)
                Assert.Equal((true, CoReRelocator.PoisonHelperId), (code[i].IsHelperCall, code[i].Immediate));
            else
                Assert.Equal(program.Instructions[i], code[i]);
        }
    }

    [Fact]
    public void Flavor_suffixes_are_dropped_for_matching()
    {
        Assert.Equal("sk_buff", CoReRelocator.EssentialName("sk_buff___kdt"));
        Assert.Equal("sk_buff", CoReRelocator.EssentialName("sk_buff___old___x"[..^3]));
        Assert.Equal("sk_buff", CoReRelocator.EssentialName("sk_buff"));
        Assert.Equal("___x", CoReRelocator.EssentialName("___x"));
    }
}
