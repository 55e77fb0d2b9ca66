using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.Tests.Kernel;

/// <summary>
/// Every syscall struct field we declare sits where the kernel's uapi headers put it: a C program
/// compiled against /usr/include/linux/{bpf,perf_event}.h prints offsetof() for each field.
/// (Fields newer than the installed headers, e.g. log_true_size, are not in the list.)
/// </summary>
public sealed class AbiLayoutTests
{
    private static readonly (Type Struct, string Field, string CType, string CField)[] Fields =
    [
        .. Map(typeof(MapCreateAttr), "union bpf_attr",
            ("MapType", "map_type"), ("KeySize", "key_size"), ("ValueSize", "value_size"), ("MaxEntries", "max_entries"),
            ("MapFlags", "map_flags"), ("InnerMapFd", "inner_map_fd"), ("NumaNode", "numa_node"), ("MapName", "map_name"),
            ("MapIfindex", "map_ifindex"), ("BtfFd", "btf_fd"), ("BtfKeyTypeId", "btf_key_type_id"), ("BtfValueTypeId", "btf_value_type_id"),
            ("BtfVmlinuxValueTypeId", "btf_vmlinux_value_type_id"), ("MapExtra", "map_extra")),
        .. Map(typeof(MapElemAttr), "union bpf_attr", ("MapFd", "map_fd"), ("Key", "key"), ("ValueOrNextKey", "value"), ("Flags", "flags")),
        .. Map(typeof(ProgLoadAttr), "union bpf_attr",
            ("ProgType", "prog_type"), ("InsnCount", "insn_cnt"), ("Insns", "insns"), ("License", "license"), ("LogLevel", "log_level"),
            ("LogSize", "log_size"), ("LogBuf", "log_buf"), ("KernVersion", "kern_version"), ("ProgFlags", "prog_flags"),
            ("ProgName", "prog_name"), ("ProgIfindex", "prog_ifindex"), ("ExpectedAttachType", "expected_attach_type"),
            ("ProgBtfFd", "prog_btf_fd"), ("FuncInfoRecSize", "func_info_rec_size"), ("FuncInfo", "func_info"),
            ("FuncInfoCount", "func_info_cnt"), ("LineInfoRecSize", "line_info_rec_size"), ("LineInfo", "line_info"),
            ("LineInfoCount", "line_info_cnt"), ("AttachBtfId", "attach_btf_id"), ("AttachProgOrBtfObjFd", "attach_prog_fd"),
            ("CoreReloCount", "core_relo_cnt"), ("FdArray", "fd_array"), ("CoreRelos", "core_relos"), ("CoreReloRecSize", "core_relo_rec_size")),
        .. Map(typeof(ObjPinAttr), "union bpf_attr", ("PathName", "pathname"), ("BpfFd", "bpf_fd"), ("FileFlags", "file_flags")),
        .. Map(typeof(ProgTestRunAttr), "union bpf_attr",
            ("ProgFd", "test.prog_fd"), ("Retval", "test.retval"), ("DataSizeIn", "test.data_size_in"), ("DataSizeOut", "test.data_size_out"),
            ("DataIn", "test.data_in"), ("DataOut", "test.data_out"), ("Repeat", "test.repeat"), ("Duration", "test.duration"),
            ("CtxSizeIn", "test.ctx_size_in"), ("CtxSizeOut", "test.ctx_size_out"), ("CtxIn", "test.ctx_in"), ("CtxOut", "test.ctx_out"),
            ("Flags", "test.flags"), ("Cpu", "test.cpu"), ("BatchSize", "test.batch_size")),
        .. Map(typeof(GetIdAttr), "union bpf_attr", ("StartOrObjectId", "start_id"), ("NextId", "next_id"), ("OpenFlags", "open_flags")),
        .. Map(typeof(ObjGetInfoAttr), "union bpf_attr", ("BpfFd", "info.bpf_fd"), ("InfoLength", "info.info_len"), ("Info", "info.info")),
        .. Map(typeof(RawTracepointOpenAttr), "union bpf_attr", ("Name", "raw_tracepoint.name"), ("ProgFd", "raw_tracepoint.prog_fd")),
        .. Map(typeof(BtfLoadAttr), "union bpf_attr", ("Btf", "btf"), ("LogBuf", "btf_log_buf"), ("BtfSize", "btf_size"), ("LogSize", "btf_log_size"), ("LogLevel", "btf_log_level")),
        .. Map(typeof(LinkCreateAttr), "union bpf_attr", ("ProgFd", "link_create.prog_fd"), ("TargetFdOrIfindex", "link_create.target_fd"),
            ("AttachType", "link_create.attach_type"), ("Flags", "link_create.flags"), ("TargetBtfIdOrIterInfo", "link_create.target_btf_id"),
            ("TargetBtfIdOrIterInfo", "link_create.perf_event.bpf_cookie"), ("Word24", "link_create.iter_info_len")),
        .. Map(typeof(FdAttr), "union bpf_attr", ("Fd", "map_fd")),
        .. Map(typeof(ProgInfoRaw), "struct bpf_prog_info",
            ("Type", "type"), ("Id", "id"), ("Tag", "tag"), ("JitedProgLen", "jited_prog_len"), ("XlatedProgLen", "xlated_prog_len"),
            ("JitedProgInsns", "jited_prog_insns"), ("XlatedProgInsns", "xlated_prog_insns"), ("LoadTime", "load_time"),
            ("CreatedByUid", "created_by_uid"), ("NrMapIds", "nr_map_ids"), ("MapIds", "map_ids"), ("Name", "name"), ("Ifindex", "ifindex"),
            ("NetnsDev", "netns_dev"), ("NetnsIno", "netns_ino"), ("NrJitedKsyms", "nr_jited_ksyms"), ("NrJitedFuncLens", "nr_jited_func_lens"),
            ("JitedKsyms", "jited_ksyms"), ("JitedFuncLens", "jited_func_lens"), ("BtfId", "btf_id"), ("FuncInfoRecSize", "func_info_rec_size"),
            ("FuncInfo", "func_info"), ("NrFuncInfo", "nr_func_info"), ("NrLineInfo", "nr_line_info"), ("LineInfo", "line_info"),
            ("JitedLineInfo", "jited_line_info"), ("NrJitedLineInfo", "nr_jited_line_info"), ("LineInfoRecSize", "line_info_rec_size"),
            ("JitedLineInfoRecSize", "jited_line_info_rec_size"), ("NrProgTags", "nr_prog_tags"), ("ProgTags", "prog_tags"),
            ("RunTimeNs", "run_time_ns"), ("RunCount", "run_cnt"), ("RecursionMisses", "recursion_misses"), ("VerifiedInsns", "verified_insns"),
            ("AttachBtfObjId", "attach_btf_obj_id"), ("AttachBtfId", "attach_btf_id")),
        .. Map(typeof(MapInfoRaw), "struct bpf_map_info",
            ("Type", "type"), ("Id", "id"), ("KeySize", "key_size"), ("ValueSize", "value_size"), ("MaxEntries", "max_entries"),
            ("MapFlags", "map_flags"), ("Name", "name"), ("Ifindex", "ifindex"), ("BtfVmlinuxValueTypeId", "btf_vmlinux_value_type_id"),
            ("NetnsDev", "netns_dev"), ("NetnsIno", "netns_ino"), ("BtfId", "btf_id"), ("BtfKeyTypeId", "btf_key_type_id"),
            ("BtfValueTypeId", "btf_value_type_id"), ("MapExtra", "map_extra")),
        .. Map(typeof(BtfInfoRaw), "struct bpf_btf_info", ("Btf", "btf"), ("BtfSize", "btf_size"), ("Id", "id"), ("Name", "name"), ("NameLength", "name_len"), ("KernelBtf", "kernel_btf")),
        .. Map(typeof(LinkInfoRaw), "struct bpf_link_info", ("Type", "type"), ("Id", "id"), ("ProgId", "prog_id"), ("Union0", "raw_tracepoint.tp_name")),
        .. Map(typeof(PerfEventAttr), "struct perf_event_attr",
            ("Type", "type"), ("Size", "size"), ("Config", "config"), ("SamplePeriodOrFreq", "sample_period"), ("SampleType", "sample_type"),
            ("ReadFormat", "read_format"), ("WakeupEventsOrWatermark", "wakeup_events"), ("BpType", "bp_type"), ("Config1", "config1"),
            ("Config2", "config2"), ("BranchSampleType", "branch_sample_type"), ("SampleRegsUser", "sample_regs_user"),
            ("SampleStackUser", "sample_stack_user"), ("ClockId", "clockid"), ("SampleRegsIntr", "sample_regs_intr"),
            ("AuxWatermark", "aux_watermark"), ("SampleMaxStack", "sample_max_stack")),
    ];

    private static IEnumerable<(Type, string, string, string)> Map(Type type, string cType, params (string Field, string CField)[] fields) =>
        fields.Select(f => (type, f.Field, cType, f.CField));

    [Fact]
    public async Task Struct_fields_sit_where_the_uapi_headers_put_them()
    {
        string? clang = EncodingTestsTools.Find("clang") ?? EncodingTestsTools.Find("cc");
        if (clang is null || !File.Exists("/usr/include/linux/bpf.h"))
            Assert.Skip("needs a C compiler (clang) and the kernel uapi headers (linux-libc-dev) as the layout oracle");

        var source = new StringBuilder("#include <linux/bpf.h>\n#include <linux/perf_event.h>\n#include <stddef.h>\n#include <stdio.h>\nint main(void) {\n");
        foreach (var (_, _, cType, cField) in Fields)
            source.Append($"  printf(\"%zu\\n\", offsetof({cType}, {cField}));\n");
        source.Append("  printf(\"%d\\n\", PERF_ATTR_SIZE_VER5);\n  return 0;\n}\n");

        string dir = Directory.CreateTempSubdirectory("kdt-abi").FullName;
        try
        {
            string c = Path.Combine(dir, "layout.c"), exe = Path.Combine(dir, "layout");
            await File.WriteAllTextAsync(c, source.ToString(), TestContext.Current.CancellationToken);
            await RunAsync(clang, ["-o", exe, c]);
            string[] offsets = (await RunAsync(exe, [])).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(Fields.Length + 1, offsets.Length);
            var mismatches = new List<string>();
            for (int i = 0; i < Fields.Length; i++)
            {
                var (type, field, cType, cField) = Fields[i];
                int ours = (int)Marshal.OffsetOf(type, field);
                if (ours != int.Parse(offsets[i], System.Globalization.CultureInfo.InvariantCulture))
                    mismatches.Add($"{type.Name}.{field} at {ours}, {cType}.{cField} at {offsets[i]}");
            }
            Assert.Empty(mismatches);
            Assert.Equal(int.Parse(offsets[^1], System.Globalization.CultureInfo.InvariantCulture), Marshal.SizeOf<PerfEventAttr>());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string> RunAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var token = TestContext.Current.CancellationToken;
        var errors = process.StandardError.ReadToEndAsync(token);
        string output = await process.StandardOutput.ReadToEndAsync(token);
        await process.WaitForExitAsync(token);
        Assert.True(process.ExitCode == 0, $"{program}: {await errors}");
        return output;
    }
}

internal static class EncodingTestsTools
{
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/sbin").Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
