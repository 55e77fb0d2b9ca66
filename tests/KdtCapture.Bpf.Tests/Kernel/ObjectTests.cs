using System.Buffers.Binary;
using KdtCapture.Bpf.Links;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Tests.Kernel;

/// <summary>BTF objects and object id iteration, checked against sysfs and the kernel's own listing.</summary>
public sealed class ObjectTests : KernelObjectTest
{
    [Fact]
    public void Kernel_btf_read_by_id_is_the_sysfs_vmlinux_file()
    {
        RequireRoot();
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip("no /sys/kernel/btf/vmlinux on this kernel");
        uint vmlinuxId = 0;
        foreach (uint id in BtfHandle.AllIds())
        {
            using var candidate = BtfHandle.FromId(id);
            var info = candidate.GetInfo();
            if (info.IsKernel && info.Name == "vmlinux")
            {
                vmlinuxId = id;
                Assert.Equal(File.ReadAllBytes(KernelFacts.VmlinuxBtfPath), candidate.ReadRaw());
            }
        }
        Assert.NotEqual(0u, vmlinuxId);
    }

    [Fact]
    public void Kernel_btf_by_module_name_is_each_sysfs_file_and_an_absent_module_has_none()
    {
        RequireRoot();
        if (!KernelFacts.HasVmlinuxBtf)
            Assert.Skip("no /sys/kernel/btf/vmlinux on this kernel");
        // vmlinux here; in the VM guest also every loaded module with BTF.
        foreach (string path in Directory.GetFiles(Path.GetDirectoryName(KernelFacts.VmlinuxBtfPath)!))
        {
            string name = Path.GetFileName(path);
            using var handle = BtfHandle.FromKernelModule(name);
            Assert.NotNull(handle);
            var info = handle.GetInfo();
            Assert.True(info.IsKernel);
            Assert.Equal(name, info.Name);
            Assert.Equal(File.ReadAllBytes(path), handle.ReadRaw());
        }
        Assert.Null(BtfHandle.FromKernelModule("kdv_no_such_module"));
    }

    [Fact]
    public void Btf_blob_loads_and_bad_btf_is_refused_with_the_log()
    {
        RequireRoot();
        using (var btf = BtfHandle.Load(IntBtf(bits: 32), "test BTF"))
        {
            var info = btf.GetInfo();
            Assert.False(info.IsKernel);
            Assert.Equal(IntBtf(bits: 32).Length, info.Size);
            Assert.Equal(IntBtf(bits: 32), btf.ReadRaw());
        }
        // An int of 33 bits in 4 bytes is not valid BTF.
        var error = Assert.Throws<BpfBtfException>(() => BtfHandle.Load(IntBtf(bits: 33), "test BTF"));
        Assert.StartsWith("load test BTF: EINVAL", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.NotEmpty(error.Log);
    }

    [Fact]
    public void Iteration_finds_our_programs_maps_and_links()
    {
        RequireRoot();
        using var counts = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "kdt_iter" });
        using var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_iter", Instructions = TracingTests.CountOwnEvents(counts) });
        using var link = BpfLink.AttachRawTracepoint(program, "net_dev_queue");
        Assert.Contains(counts.Id, BpfObjectIds.Maps());
        Assert.Contains(program.Id, BpfObjectIds.Programs());
        uint linkId = link.GetInfo().Id;
        Assert.Contains(linkId, BpfObjectIds.Links());

        using var programAgain = BpfProgram.FromId(program.Id);
        Assert.Equal("kdt_iter", programAgain.Name);
        Assert.Equal(BpfProgramType.RawTracepoint, programAgain.Type);
        using var linkAgain = BpfLink.FromId(linkId);
        Assert.Equal(program.Id, linkAgain.GetInfo().ProgramId);
        Assert.Contains(counts.Id, program.GetInfo().MapIds);
    }

    [Fact]
    public void Descriptor_count_sees_every_kind_of_kernel_object()
    {
        RequireRoot();
        int before = CountKernelObjectDescriptors();
        var counts = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "kdt_fdcount" });
        var ring = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.RingBuf, MaxEntries = Environment.SystemPageSize, Name = "kdt_fdcount" });
        var program = BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = "kdt_fdcount", Instructions = TracingTests.CountOwnEvents(counts) });
        var link = BpfLink.AttachRawTracepoint(program, "net_dev_queue");
        var reader = new Ringbuf.RingBufferReader(ring); // an epoll and an eventfd
        Assert.Equal(before + 6, CountKernelObjectDescriptors());
        reader.Dispose();
        link.Dispose();
        program.Dispose();
        ring.Dispose();
        counts.Dispose();
        Assert.Equal(before, CountKernelObjectDescriptors());
    }

    /// <summary>A BTF blob with one type: INT "int" of the given bit size in 4 bytes.</summary>
    private static byte[] IntBtf(int bits)
    {
        byte[] strings = "\0int\0"u8.ToArray();
        byte[] types = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(types, 1);            // name_off
        BinaryPrimitives.WriteUInt32LittleEndian(types.AsSpan(4), 1u << 24); // kind INT, vlen 0
        BinaryPrimitives.WriteUInt32LittleEndian(types.AsSpan(8), 4);  // size
        BinaryPrimitives.WriteUInt32LittleEndian(types.AsSpan(12), (uint)bits | (1u << 24)); // signed, bits
        byte[] blob = new byte[24 + types.Length + strings.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(blob, 0xeB9F);
        blob[2] = 1; // version
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), 24);  // hdr_len
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(8), 0);   // type_off
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), (uint)types.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(16), (uint)types.Length); // str_off
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(20), (uint)strings.Length);
        types.CopyTo(blob, 24);
        strings.CopyTo(blob, 24 + types.Length);
        return blob;
    }
}
