using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Objects;
using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Tests.Objects;

/// <summary>Objects loaded into the running kernel and run on real traffic (as root).</summary>
public sealed class BpfObjectTests
{
    private const int SolSocket = 1, SoMark = 36, SoNoCheck = 11;

    internal static void RequireRoot()
    {
        if (!KernelFacts.IsRoot)
            Assert.Skip("loading BPF programs needs root (CAP_BPF, CAP_PERFMON)");
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip("the kernel publishes no BTF (/sys/kernel/btf/vmlinux)");
    }

    /// <summary>A mark nobody else uses, so that concurrent loopback traffic does not count.</summary>
    internal static uint RandomMark() => (uint)Random.Shared.Next(0x1000_0000, 0x7fff_ffff);

    /// <summary>Sends <paramref name="count"/> UDP datagrams of <paramref name="payload"/> bytes over loopback with SO_MARK.</summary>
    internal static void SendMarked(uint mark, int count, int payload, bool noChecksum = false)
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.SetRawSocketOption(SolSocket, SoMark, BitConverter.GetBytes(mark));
        if (noChecksum)
            sender.SetRawSocketOption(SolSocket, SoNoCheck, BitConverter.GetBytes(1));
        var data = new byte[payload];
        for (int i = 0; i < count; i++)
            sender.SendTo(data, receiver.LocalEndPoint!);
    }

    private static byte[] ReadBss(BpfObject obj)
    {
        var map = obj.Map(".bss");
        var value = new byte[map.ValueSize];
        Assert.True(map.TryLookup(stackalloc byte[4], value));
        return value;
    }

    private static ulong U64(BpfObject obj, byte[] section, string variable, int field = 0) =>
        BinaryPrimitives.ReadUInt64LittleEndian(section.AsSpan(obj.Spec.FindVariable(variable).Offset + field * 8));

    [Fact]
    public void Tp_btf_program_reads_skb_fields_of_loopback_packets_through_CO_RE()
    {
        RequireRoot();
        uint mark = RandomMark();
        var spec = TestObjects.Spec("skb_fields");
        spec.RewriteConstant("target_mark", mark);
        using var obj = BpfObject.Load(spec);
        Assert.DoesNotContain(obj.CoReResults("count_marked"), r => r.Poisoned);
        obj.Attach("count_marked");

        const int count = 5, payload = 100;
        SendMarked(mark, count, payload);
        var bss = ReadBss(obj);
        Assert.Equal((ulong)count, U64(obj, bss, "matched"));
        // struct skb_fields as the source declares it: ten u64, then 16 bytes.
        int loIndex = int.Parse(File.ReadAllText("/sys/class/net/lo/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((ulong)(14 + 20 + 8 + payload), U64(obj, bss, "last", 0)); // skb->len: Ethernet + IPv4 + UDP + payload
        Assert.Equal(0UL, U64(obj, bss, "last", 1));                             // data_len: all linear
        Assert.Equal(0x0008UL, U64(obj, bss, "last", 2));                        // protocol: htons(ETH_P_IP)
        Assert.Equal((ulong)loIndex, U64(obj, bss, "last", 3));                  // dev->ifindex
        Assert.Equal(mark, U64(obj, bss, "last", 4));                            // mark
        Assert.Equal(0UL, U64(obj, bss, "last", 5));                             // pkt_type: PACKET_HOST
        Assert.Equal(3UL, U64(obj, bss, "last", 6));                             // ip_summed: CHECKSUM_PARTIAL (lo offloads)
        ulong mac = U64(obj, bss, "last", 7), network = U64(obj, bss, "last", 8), dataOffset = U64(obj, bss, "last", 9);
        Assert.Equal(mac + 14, network);
        Assert.Equal(mac, dataOffset); // at net_dev_queue skb->data is the MAC header
        // A field declared wider than the kernel's (u64 for its u32 tail): loaded at the kernel's size.
        Assert.Equal(dataOffset + (ulong)(14 + 20 + 8 + payload), U64(obj, bss, "wide_tail"));
        var first = bss.AsSpan(obj.Spec.FindVariable("last").Offset + 80, 16);
        Assert.Equal(new byte[] { 0x08, 0x00, 0x45 }, first[12..15].ToArray());

        // The same program, packets without a UDP checksum: ip_summed is CHECKSUM_NONE.
        SendMarked(mark, 1, payload, noChecksum: true);
        bss = ReadBss(obj);
        Assert.Equal((ulong)count + 1, U64(obj, bss, "matched"));
        Assert.Equal(0UL, U64(obj, bss, "last", 6));

        // Maps written by the BPF-to-BPF subprogram, and .data that started at 7.
        Assert.True(obj.Map("by_ifindex").TryLookup(loIndex, out ulong perIfindex));
        Assert.Equal((ulong)count + 1, perIfindex);
        Assert.True(obj.Map("by_len").TryLookup(14 + 20 + 8 + payload, out ulong _));
        var data = new byte[obj.Map(".data").ValueSize];
        Assert.True(obj.Map(".data").TryLookup(stackalloc byte[4], data));
        Assert.Equal(7UL + count + 1, BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(obj.Spec.FindVariable("calls_made").Offset)));
    }

    [Fact]
    public void Rewriting_a_rodata_constant_changes_what_the_program_does()
    {
        RequireRoot();
        uint markA = RandomMark(), markB = markA + 1;
        var specA = TestObjects.Spec("skb_fields");
        specA.RewriteConstant("target_mark", markA);
        var specB = TestObjects.Spec("skb_fields");
        specB.RewriteConstant("target_mark", markB);
        using var a = BpfObject.Load(specA);
        using var b = BpfObject.Load(specB);
        a.Attach("count_marked");
        b.Attach("count_marked");
        SendMarked(markA, 3, 10);
        SendMarked(markB, 7, 10);
        Assert.Equal(3UL, U64(a, ReadBss(a), "matched"));
        Assert.Equal(7UL, U64(b, ReadBss(b), "matched"));

        // .rodata is frozen: user space cannot change it after load.
        var rodata = a.Map(".rodata");
        Assert.ThrowsAny<BpfException>(() => rodata.Update(stackalloc byte[4], new byte[rodata.ValueSize]));
    }

    [Fact]
    public void Socket_filter_with_a_subprogram_filters_a_real_socket()
    {
        RequireRoot();
        var spec = TestObjects.Spec("sections");
        spec.RewriteConstant("min_len", 8u + 100); // __sk_buff.len at a UDP socket: UDP header + payload
        using var obj = BpfObject.Load(spec, new BpfObjectOptions { Programs = ["accept_long", "accept_all"] });
        Assert.Equal(["accept_all", "accept_long"], obj.Programs.Keys.Order());

        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        obj.AttachToSocket("accept_long", receiver);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (int i = 0; i < 4; i++)
            sender.SendTo(new byte[50], receiver.LocalEndPoint!);
        sender.SendTo(new byte[150], receiver.LocalEndPoint!);
        sender.SendTo(new byte[100], receiver.LocalEndPoint!);

        // The short datagrams were dropped by the filter: the first to arrive is the long one.
        var buffer = new byte[2048];
        Assert.Equal(150, receiver.Receive(buffer));
        Assert.Equal(100, receiver.Receive(buffer));
        var counts = obj.Map("counts");
        Assert.True(counts.TryLookup(0u, out ulong accepted));
        Assert.True(counts.TryLookup(1u, out ulong rejected));
        Assert.Equal((2UL, 4UL), (accepted, rejected));
        var bss = ReadBss(obj);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(bss.AsSpan(obj.Spec.FindVariable("accepted_total").Offset)));
    }

    [Fact]
    public void A_subprogram_replaced_by_generated_code_runs_instead()
    {
        RequireRoot();
        var spec = TestObjects.Spec("sections");
        // bump(index) counts into a map and returns index; the replacement only returns it.
        var original = spec.Program("accept_all");
        var spliced = original.WithSubprogramReplaced("bump", [KdtCapture.Bpf.Asm.Asm.Mov64(BpfRegister.R0, BpfRegister.R1), KdtCapture.Bpf.Asm.Asm.Exit()]);
        Assert.True(spliced.Instructions.Length < original.Instructions.Length);
        spec.ReplaceProgram(spliced);
        using var obj = BpfObject.Load(spec, new BpfObjectOptions { Programs = ["accept_all", "accept_long"] });

        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        obj.AttachToSocket("accept_all", receiver);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (int i = 0; i < 3; i++)
            sender.SendTo(new byte[20], receiver.LocalEndPoint!);
        var buffer = new byte[64];
        for (int i = 0; i < 3; i++)
            Assert.Equal(20, receiver.Receive(buffer));
        // The generated code ran: nothing was counted at index 2, as the stub would have.
        Assert.True(obj.Map("counts").TryLookup(2u, out ulong counted));
        Assert.Equal(0UL, counted);

        // The unspliced accept_long still has its own copy of the original bump, which counts.
        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        other.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        obj.AttachToSocket("accept_long", other);
        sender.SendTo(new byte[20], other.LocalEndPoint!);
        sender.SendTo(new byte[20], other.LocalEndPoint!);
        Assert.Equal(20, other.Receive(buffer));
        Assert.Equal(20, other.Receive(buffer));
        Assert.True(obj.Map("counts").TryLookup(0u, out ulong accepted));
        Assert.Equal(2UL, accepted);
    }

    [Fact]
    public void Every_program_kind_this_kernel_offers_loads()
    {
        RequireRoot();
        var spec = TestObjects.Spec("sections");
        string[] loadable = ["accept_long", "accept_all", "xdp_pass", "tc_ok", "classifier_ok", "tracepoint_getpid", "tp_sched_switch",
            "raw_tracepoint_sched_switch", "raw_tp_sys_enter", "tp_btf_net_dev_queue", "iter_task"];
        using var obj = BpfObject.Load(spec, new BpfObjectOptions { Programs = loadable });
        foreach (var name in loadable)
            Assert.Equal(spec.Program(name).Section.ProgramType, obj.Program(name).Type);
        using var raw = obj.Attach("raw_tp_sys_enter");
        using var tp = obj.Attach("tracepoint_getpid");
        using var btf = obj.Attach("tp_btf_net_dev_queue");
        using var iter = obj.Attach("iter_task");
        Assert.Throws<InvalidOperationException>(() => obj.Attach("xdp_pass"));
    }

    [Fact]
    [Trait(KdtCapture.Testing.VmHarness.KernelTrait, KdtCapture.Testing.VmHarness.GuestKernel)]
    public void Fentry_programs_load_where_the_kernel_allows_them()
    {
        RequireRoot();
        var spec = TestObjects.Spec("sections");
        try
        {
            using var obj = BpfObject.Load(spec, new BpfObjectOptions { Programs = ["fentry_ip_rcv", "fexit_ip_rcv"] });
            obj.Attach("fentry_ip_rcv");
            obj.Attach("fexit_ip_rcv");
        }
        catch (BpfNotSupportedException e)
        {
            Assert.Contains("fentry", e.Message);
            Assert.Skip($"this kernel refuses fentry: {e.Message}");
        }
    }

    [Fact]
    [Trait(KdtCapture.Testing.VmHarness.KernelTrait, KdtCapture.Testing.VmHarness.GuestKernel)]
    public void Kprobe_programs_attach_where_the_kernel_has_kprobes()
    {
        RequireRoot();
        if (!Directory.Exists("/sys/kernel/tracing/events/kprobes") && !File.Exists("/sys/kernel/tracing/kprobe_events"))
            Assert.Skip("this kernel has no kprobes (no /sys/kernel/tracing/kprobe_events)");
        var spec = TestObjects.Spec("sections");
        using var obj = BpfObject.Load(spec, new BpfObjectOptions { Programs = ["kprobe_ip_output", "kretprobe_ip_output"] });
        obj.Attach("kprobe_ip_output");
        obj.Attach("kretprobe_ip_output");
    }

    [Fact]
    public void A_rejected_program_reports_its_name_and_the_verifier_log()
    {
        RequireRoot();
        var e = Assert.Throws<BpfVerifierException>(() => BpfObject.Load(TestObjects.Spec("rejected")));
        Assert.Equal("unchecked_lookup", e.ProgramName);
        Assert.Contains("'unchecked_lookup'", e.Message);
        Assert.Contains("map_value_or_null", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("R0 invalid mem access", e.Log);
        // Line info reached the kernel: the log quotes the source line.
        Assert.True(e.Log.Contains("return (int)*value;"), e.Log);
    }

    [Fact]
    public void Unknown_tp_btf_target_is_named_with_suggestions()
    {
        RequireRoot();
        var spec = TestObjects.Spec("sections");
        var p = spec.Program("tp_btf_net_dev_queue");
        spec.ReplaceProgram(p with { AttachTarget = "net_dev_queu" });
        var e = Assert.ThrowsAny<BpfException>(() => BpfObject.Load(spec, new BpfObjectOptions { Programs = [p.Name] }));
        Assert.Contains("net_dev_queu", e.Message);
        Assert.Contains("btf_trace_net_dev_queue", e.Message);
    }
}
