using System.Globalization;
using System.Text.RegularExpressions;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Elf;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Objects;
using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Tests.Objects;

/// <summary>ObjectSpec parsing (no syscalls): programs and subprograms against llvm-objdump, maps against the C sources.</summary>
public sealed partial class ObjectSpecTests
{
    public static TheoryData<string> ObjectNames()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in TestObjects.All())
            data.Add(name);
        return data;
    }

    private static byte[] BytesOf(string name)
    {
        foreach (var (n, bytes) in TestObjects.All())
            if (n == name)
                return bytes;
        throw new ArgumentException(name);
    }

    /// <summary>llvm-objdump -d: per function, its section and its instruction bytes.</summary>
    private static Dictionary<string, (string Section, List<byte[]> Instructions)> Disassemble(string path)
    {
        // Labels of branch targets (LBB0_2) look like functions in the listing; only FUNC symbols start one.
        var functionNames = new HashSet<string>();
        foreach (Match m in FunctionSymbol().Matches(TestObjects.Run("llvm-readelf", "-s", "--wide", path)))
            functionNames.Add(m.Groups[1].Value);
        var result = new Dictionary<string, (string, List<byte[]>)>();
        string section = "";
        List<byte[]>? current = null;
        foreach (var line in TestObjects.Run("llvm-objdump", "-d", path).Split('\n'))
        {
            var s = SectionLine().Match(line);
            if (s.Success)
            {
                section = s.Groups[1].Value;
                continue;
            }
            var f = FunctionLine().Match(line);
            if (f.Success && functionNames.Contains(f.Groups[1].Value))
            {
                current = [];
                result[f.Groups[1].Value] = (section, current);
                continue;
            }
            var i = InstructionLine().Match(line);
            if (i.Success && current is not null)
            {
                var bytes = i.Groups[1].Value.Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(h => byte.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
                for (int at = 0; at < bytes.Length; at += 8)
                    current.Add(bytes[at..(at + 8)]);
            }
        }
        return result;
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void Programs_and_subprograms_match_llvm_objdump(string name)
    {
        TestObjects.RequireTool("llvm-objdump");
        var bytes = BytesOf(name);
        var spec = ObjectSpec.Parse(bytes, name);
        var functions = Disassemble(TestObjects.FileOf(name, bytes));

        var expectedPrograms = functions.Where(f => f.Value.Section != ".text").Select(f => f.Key).Order().ToList();
        Assert.Equal(expectedPrograms, spec.Programs.Select(p => p.Name).Order().ToList());
        foreach (var program in spec.Programs)
        {
            var (section, own) = functions[program.Name];
            Assert.Equal(section, program.SectionName);
            int ownLength = program.Subprograms.Count == 0 ? program.Instructions.Length : program.Subprograms[0].Start;
            Assert.Equal(own.Count, ownLength);
            CheckCode(program, 0, own);
            foreach (var (subName, start) in program.Subprograms)
            {
                var (subSection, subCode) = functions[subName];
                Assert.Equal(".text", subSection);
                CheckCode(program, start, subCode);
            }
            // Every BPF-to-BPF call lands on the start of an appended subprogram.
            for (int i = 0; i < program.Instructions.Length; i++)
            {
                if (!program.Instructions[i].IsSubprogramCall)
                    continue;
                int target = i + program.Instructions[i].Immediate + 1;
                Assert.Contains(program.Subprograms, s => s.Start == target);
            }
        }
    }

    /// <summary>The linked code equals the disassembly, except call immediates (re-targeted by linking).</summary>
    private static void CheckCode(ProgramSpec program, int start, List<byte[]> expected)
    {
        for (int i = 0; i < expected.Count; i++)
        {
            var actual = new byte[8];
            program.Instructions[start + i].WriteTo(actual);
            var insn = BpfInstruction.ReadFrom(expected[i]);
            if (insn.IsSubprogramCall)
                Assert.Equal(expected[i][..4], actual[..4]);
            else
                Assert.True(expected[i].AsSpan().SequenceEqual(actual), $"{program.Name} instruction {start + i}: {Convert.ToHexString(actual)} != {Convert.ToHexString(expected[i])}");
        }
    }

    [Fact]
    public void Sections_map_to_program_types_and_attach_targets()
    {
        var spec = TestObjects.Spec("sections");
        void Check(string program, BpfProgramType type, BpfAttachType? attach, string target)
        {
            var p = spec.Program(program);
            Assert.Equal(type, p.Section.ProgramType);
            Assert.Equal(attach, p.Section.ExpectedAttachType);
            Assert.Equal(target, p.AttachTarget);
        }
        Check("accept_long", BpfProgramType.SocketFilter, null, "");
        Check("accept_all", BpfProgramType.SocketFilter, null, "");
        Check("xdp_pass", BpfProgramType.Xdp, BpfAttachType.Xdp, "");
        Check("tc_ok", BpfProgramType.SchedCls, null, "");
        Check("classifier_ok", BpfProgramType.SchedCls, null, "");
        Check("tracepoint_getpid", BpfProgramType.Tracepoint, null, "syscalls/sys_enter_getpid");
        Check("tp_sched_switch", BpfProgramType.Tracepoint, null, "sched/sched_switch");
        Check("raw_tracepoint_sched_switch", BpfProgramType.RawTracepoint, null, "sched_switch");
        Check("raw_tp_sys_enter", BpfProgramType.RawTracepoint, null, "sys_enter");
        Check("tp_btf_net_dev_queue", BpfProgramType.Tracing, BpfAttachType.TraceRawTp, "net_dev_queue");
        Check("fentry_ip_rcv", BpfProgramType.Tracing, BpfAttachType.TraceFentry, "ip_rcv");
        Check("fexit_ip_rcv", BpfProgramType.Tracing, BpfAttachType.TraceFexit, "ip_rcv");
        Check("kprobe_ip_output", BpfProgramType.Kprobe, null, "ip_output");
        Check("kretprobe_ip_output", BpfProgramType.Kprobe, null, "ip_output");
        Check("iter_task", BpfProgramType.Tracing, BpfAttachType.TraceIter, "task");
        Assert.Equal(ProgramSectionKind.Kretprobe, spec.Program("kretprobe_ip_output").Kind);
        Assert.Equal("Dual BSD/GPL", spec.License);
        Assert.Equal("GPL", TestObjects.Spec("skb_fields").License);
        Assert.Equal(0x060c00u, TestObjects.Spec("skb_fields").KernelVersion);
    }

    [Fact]
    public void Maps_are_read_as_the_sources_declare_them()
    {
        var spec = TestObjects.Spec("sections");
        void Check(string map, BpfMapType type, int key, int value, int max, BpfMapFlags flags)
        {
            var m = spec.Map(map);
            Assert.Equal((type, key, value, max, flags), (m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags));
            Assert.False(m.IsGlobalData);
        }
        Check("counts", BpfMapType.Array, 4, 8, 4, 0);
        Check("percpu", BpfMapType.PerCpuArray, 4, 4, 2, 0);
        Check("hash", BpfMapType.Hash, 8, 4, 1024, BpfMapFlags.NoPreallocation);
        Check("lru", BpfMapType.LruHash, 8, 16, 256, 0);
        Check("perf", BpfMapType.PerfEventArray, 4, 4, Environment.ProcessorCount, 0);
        Check("ring", BpfMapType.RingBuf, 0, 0, 1 << 16, 0);

        // Key/value BTF types are the declared ones.
        var counts = spec.Map("counts");
        Assert.Equal("__u32", spec.Btf!.GetType(counts.KeyTypeId).Name);
        Assert.Equal("__u64", spec.Btf.GetType(counts.ValueTypeId).Name);

        // Global data: one-entry arrays of the section's size; .rodata read-only for programs.
        var rodata = spec.Map(".rodata");
        Assert.True(rodata.IsReadOnlyData);
        Assert.Equal((BpfMapType.Array, 4, 4, 1), (rodata.Type, rodata.KeySize, rodata.ValueSize, rodata.MaxEntries));
        Assert.True(rodata.Flags.HasFlag(BpfMapFlags.ReadOnlyProgram));
        Assert.Equal("kdt\0\0\0\0\0"u8.ToArray(), spec.Map(".rodata.str").Contents);
        var bss = spec.Map(".bss");
        Assert.False(bss.IsReadOnlyData);
        Assert.Equal(new byte[4], bss.Contents);
        Assert.Equal(".bss", spec.Btf.GetType(bss.ValueTypeId).Name);
    }

    [Fact]
    public void Global_data_sizes_and_variable_offsets_agree_with_the_symbol_table()
    {
        TestObjects.RequireTool("llvm-readelf");
        var bytes = TestObjects.Bytes("skb_fields");
        var spec = ObjectSpec.Parse(bytes, "skb_fields");
        string symbols = TestObjects.Run("llvm-readelf", "-s", "-S", "--wide", TestObjects.FileOf("skb_fields", bytes));
        foreach (var (variable, section) in new[] { ("last", ".bss"), ("matched", ".bss"), ("calls_made", ".data"), ("target_mark", ".rodata") })
        {
            var m = Regex.Match(symbols, @"\d+: ([0-9a-f]{16})\s+(\d+)\s+OBJECT\s+GLOBAL\s+DEFAULT\s+\d+\s+" + variable + @"\b");
            Assert.True(m.Success, variable);
            var (map, offset, size) = spec.FindVariable(variable);
            Assert.Equal(section, map.SectionName);
            Assert.Equal(long.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), offset);
            Assert.Equal(int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), size);
        }
        // .data's initial image: calls_made starts at 7 in the source.
        Assert.Equal(7UL, BitConverter.ToUInt64(spec.VariableBytes("calls_made")));
    }

    [Fact]
    public void RewriteConstant_changes_the_rodata_image_and_checks_the_size()
    {
        var spec = TestObjects.Spec("skb_fields");
        Assert.Equal(0u, BitConverter.ToUInt32(spec.VariableBytes("target_mark")));
        spec.RewriteConstant("target_mark", 0x4b44540u);
        Assert.Equal(0x4b44540u, BitConverter.ToUInt32(spec.VariableBytes("target_mark")));
        Assert.Equal(0x4b44540u, BitConverter.ToUInt32(spec.Map(".rodata").Contents));
        Assert.Throws<ArgumentException>(() => spec.RewriteConstant("target_mark", 1UL));
        Assert.Throws<KeyNotFoundException>(() => spec.RewriteConstant("no_such_variable", 1));
    }

    [Fact]
    public void Map_and_data_references_are_recorded_per_instruction()
    {
        var spec = TestObjects.Spec("skb_fields");
        var program = spec.Program("count_marked");
        Assert.Contains(program.MapReferences, r => r.MapName == ".rodata" && r.IsGlobalData);
        Assert.Contains(program.MapReferences, r => r.MapName == "by_ifindex" && !r.IsGlobalData);
        Assert.Contains(program.MapReferences, r => r.MapName == ".bss" && r.Offset == spec.FindVariable("matched").Offset);
        foreach (var r in program.MapReferences)
            Assert.True(program.Instructions[r.InstructionIndex].IsLoadImm64);
        Assert.Equal(["record"], program.Subprograms.Select(s => s.Name));
        // func_info: one per function, the program's at 0, the subprogram's where it was appended.
        Assert.Equal([0, program.Subprograms[0].Start], program.FuncInfos.Select(f => f.InstructionIndex));
        Assert.Equal(["count_marked", "record"], program.FuncInfos.Select(f => spec.Btf!.GetType(f.TypeId).Name));
        Assert.NotEmpty(program.CoReRelocations);
        Assert.Equal(0, program.LineInfos[0].InstructionIndex);
    }

    [Fact]
    public void Errors_name_the_object_and_what_is_wrong()
    {
        var e = Assert.Throws<ElfFormatException>(() => ObjectSpec.Parse(new byte[64], "junk.o"));
        Assert.StartsWith("junk.o: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [GeneratedRegex(@"\bFUNC\s+\w+\s+\w+\s+\d+\s+(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex FunctionSymbol();

    [GeneratedRegex(@"^Disassembly of section (\S+):")]
    private static partial Regex SectionLine();

    [GeneratedRegex(@"^[0-9a-f]{16} <([^>]+)>:")]
    private static partial Regex FunctionLine();

    [GeneratedRegex(@"^\s*\d+:\s+((?:[0-9a-f]{2}[ \t]){8}(?:(?:[0-9a-f]{2}[ \t]){8})?)")]
    private static partial Regex InstructionLine();
}

/// <summary>Damaged objects: every failure is one ElfFormatException naming the object, never another exception.</summary>
public sealed class ObjectSpecDamageTests
{
    private static void ParseOrFormatError(ReadOnlyMemory<byte> bytes, string what)
    {
        try
        {
            ObjectSpec.Parse(bytes, "damaged");
        }
        catch (ElfFormatException e)
        {
            Assert.StartsWith("damaged: ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e}");
        }
    }

    [Theory]
    [InlineData("skb_fields")]
    [InlineData("sections")]
    public void Truncated_objects_raise_only_format_errors(string name)
    {
        var bytes = TestObjects.Bytes(name);
        for (int length = 0; length < bytes.Length; length += 5)
            ParseOrFormatError(bytes.AsMemory(0, length), $"cut at {length}");
    }

    [Theory]
    [InlineData("skb_fields", 1)]
    [InlineData("core_values", 2)]
    [InlineData("sections", 3)]
    public void Mutated_objects_raise_only_format_errors(string name, int seed)
    {
        var original = TestObjects.Bytes(name);
        var random = new Random(seed);
        for (int round = 0; round < 3000; round++)
        {
            var bytes = (byte[])original.Clone();
            int changes = 1 + random.Next(4);
            for (int c = 0; c < changes; c++)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            ParseOrFormatError(bytes, $"seed {seed} round {round}");
        }
    }
}
