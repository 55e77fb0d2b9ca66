using System.Diagnostics;
using System.Text.RegularExpressions;
using KdtCapture.Bpf.Asm;
using static KdtCapture.Bpf.Asm.BpfOpCode;
using static KdtCapture.Bpf.Asm.BpfRegister;

namespace KdtCapture.Bpf.Tests.Asm;

using Asm = KdtCapture.Bpf.Asm.Asm;

/// <summary>
/// Instruction encodings checked against LLVM's BPF assembler (llvm-mc -show-encoding). LLVM 14's
/// parser cannot read the fetch/xchg atomics, mod or jset; those are checked through the kernel
/// (ProgramTests.Disassembly_matches_bpftool_dump_xlated loads and bpftool prints them).
/// </summary>
public sealed partial class EncodingTests
{
    /// <summary>Our constructor next to the same instruction in LLVM's BPF assembly syntax.</summary>
    private static readonly (BpfInstruction[] Ours, string Llvm)[] Cases =
    [
        ([Asm.Mov64(R0, 0)], "r0 = 0"),
        ([Asm.Mov64(R6, R1)], "r6 = r1"),
        ([Asm.Mov32(R2, -7)], "w2 = -7"),
        ([Asm.Mov32(R3, R4)], "w3 = w4"),
        ([Asm.Add64(R1, -8)], "r1 += -8"),
        ([Asm.Add64(R1, R2)], "r1 += r2"),
        ([Asm.Sub64(R9, 100)], "r9 -= 100"),
        ([Asm.Mul64(R5, 3)], "r5 *= 3"),
        ([Asm.Alu64(Div, R5, R6)], "r5 /= r6"),
        ([Asm.And64(R7, 0xff)], "r7 &= 255"),
        ([Asm.Or64(R7, 0x100)], "r7 |= 256"),
        ([Asm.Xor64(R7, R8)], "r7 ^= r8"),
        ([Asm.Lsh64(R7, 3)], "r7 <<= 3"),
        ([Asm.Rsh64(R0, 32)], "r0 >>= 32"),
        ([Asm.Arsh64(R0, 1)], "r0 s>>= 1"),
        ([Asm.Alu32(Add, R1, 5)], "w1 += 5"),
        ([Asm.Alu32(Rsh, R1, R2)], "w1 >>= w2"),
        ([Asm.Neg64(R3)], "r3 = -r3"),
        ([Asm.ToBigEndian(R2, 16)], "r2 = be16 r2"),
        ([Asm.ToBigEndian(R2, 32)], "r2 = be32 r2"),
        ([Asm.ToLittleEndian(R2, 64)], "r2 = le64 r2"),
        ([Asm.LoadMem(SizeB, R1, R2, 3)], "r1 = *(u8 *)(r2 + 3)"),
        ([Asm.LoadMem(SizeH, R1, R2, -2)], "r1 = *(u16 *)(r2 - 2)"),
        ([Asm.LoadMem(SizeW, R0, R1, 0)], "r0 = *(u32 *)(r1 + 0)"),
        ([Asm.LoadMem(SizeDW, R0, R10, -8)], "r0 = *(u64 *)(r10 - 8)"),
        ([Asm.StoreMem(SizeDW, R10, -8, R1)], "*(u64 *)(r10 - 8) = r1"),
        ([Asm.StoreMem(SizeW, R10, -4, R1)], "*(u32 *)(r10 - 4) = r1"),
        ([Asm.StoreMem(SizeB, R2, 1, R3)], "*(u8 *)(r2 + 1) = r3"),
        ([Asm.AtomicAdd64(R0, 0, R1)], "lock *(u64 *)(r0 + 0) += r1"),
        ([Asm.Atomic(SizeW, AtomicAdd, R0, 4, R1)], "lock *(u32 *)(r0 + 4) += w1"),
        ([Asm.LoadAbsolute(SizeH, 12)], "r0 = *(u16 *)skb[12]"),
        ([Asm.LoadIndirect(SizeB, R1, 0)], "r0 = *(u8 *)skb[r1]"),
        ([Asm.Call(1)], "call 1"),
        ([Asm.Call("bpf_ktime_get_ns")], "call 5"),
        ([Asm.Exit()], "exit"),
        ([Asm.Ja(3)], "goto +3"),
        ([Asm.Jump(Jeq, R1, 5, 3)], "if r1 == 5 goto +3"),
        ([Asm.Jump(Jne, R1, R2, -4)], "if r1 != r2 goto -4"),
        ([Asm.Jump(Jgt, R1, 5, 1)], "if r1 > 5 goto +1"),
        ([Asm.Jump(Jge, R1, R2, 1)], "if r1 >= r2 goto +1"),
        ([Asm.Jump(Jlt, R1, 5, 1)], "if r1 < 5 goto +1"),
        ([Asm.Jump(Jle, R1, 5, 1)], "if r1 <= 5 goto +1"),
        ([Asm.Jump(Jsgt, R1, -1, 1)], "if r1 s> -1 goto +1"),
        ([Asm.Jump(Jsge, R1, R3, 1)], "if r1 s>= r3 goto +1"),
        ([Asm.Jump(Jslt, R1, 0, 1)], "if r1 s< 0 goto +1"),
        ([Asm.Jump(Jsle, R1, R3, 1)], "if r1 s<= r3 goto +1"),
        ([Asm.Jump32(Jeq, R1, 5, 2)], "if w1 == 5 goto +2"),
        ([Asm.Jump32(Jlt, R1, R2, 2)], "if w1 < w2 goto +2"),
        (Pair(Asm.LoadImm64(R1, 0x1122334455667788)), "r1 = 0x1122334455667788 ll"),
        (Pair(Asm.LoadImm64(R2, -1)), "r2 = -1 ll"),
    ];

    private static BpfInstruction[] Pair((BpfInstruction First, BpfInstruction Second) wide) => [wide.First, wide.Second];

    [Fact]
    public async Task Encodings_match_llvm_mc()
    {
        string? llvmMc = FindTool("llvm-mc");
        if (llvmMc is null)
            Assert.Skip("llvm-mc is not installed (apt-get install llvm); it is the oracle for instruction encodings");

        string source = string.Join('\n', Cases.Select(c => c.Llvm)) + "\n";
        var start = new ProcessStartInfo(llvmMc, ["-triple", "bpfel", "-mcpu=v3", "-show-encoding"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var token = TestContext.Current.CancellationToken;
        await process.StandardInput.WriteAsync(source.AsMemory(), token);
        process.StandardInput.Close();
        var errors = process.StandardError.ReadToEndAsync(token);
        string output = await process.StandardOutput.ReadToEndAsync(token);
        await process.WaitForExitAsync(token);
        Assert.True(process.ExitCode == 0, "llvm-mc: " + await errors);

        var encodings = EncodingLine().Matches(output).Select(m => Convert.FromHexString(m.Groups[1].Value.Replace("0x", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal))).ToList();
        Assert.Equal(Cases.Length, encodings.Count);
        for (int i = 0; i < Cases.Length; i++)
            Assert.True(BpfInstruction.Encode(Cases[i].Ours).AsSpan().SequenceEqual(encodings[i]), $"'{Cases[i].Llvm}': ours {Convert.ToHexString(BpfInstruction.Encode(Cases[i].Ours))}, llvm-mc {Convert.ToHexString(encodings[i])}");
    }

    [Fact]
    public void Decode_reverses_encode()
    {
        var all = Cases.SelectMany(c => c.Ours).ToArray();
        Assert.Equal(all, BpfInstruction.Decode(BpfInstruction.Encode(all)));
        var error = Assert.Throws<FormatException>(() => BpfInstruction.Decode(new byte[12]));
        Assert.Contains("not a multiple of 8", error.Message);
    }

    [Fact]
    public void Load_imm64_splits_the_constant_over_two_slots()
    {
        var (first, second) = Asm.LoadImm64(R3, unchecked((long)0xdeadbeef_cafef00d));
        Assert.True(first.IsLoadImm64);
        Assert.Equal(unchecked((int)0xcafef00d), first.Immediate);
        Assert.Equal(unchecked((int)0xdeadbeef), second.Immediate);
        Assert.Equal(0, second.OpCode);
        Assert.Equal(unchecked((long)0xdeadbeef_cafef00d), BpfInstruction.Imm64(first, second));
        var (map, _) = Asm.LoadMapFd(R1, 7);
        Assert.Equal((byte)BpfPseudoSource.MapFd, map.SourceBits);
        Assert.Equal(7, map.Immediate);
    }

    [Fact]
    public void Helper_ids_match_the_kernel_uapi_header()
    {
        const string header = "/usr/include/linux/bpf.h";
        if (!File.Exists(header))
            Assert.Skip("the kernel uapi headers (linux-libc-dev) are not installed; they list the helper ids");
        // The __BPF_FUNC_MAPPER list: FN(name) in id order (newer headers write FN(name, id, ##ctx)).
        string text = File.ReadAllText(header);
        int start = text.IndexOf("#define ___BPF_FUNC_MAPPER", StringComparison.Ordinal);
        if (start < 0)
            start = text.IndexOf("#define __BPF_FUNC_MAPPER", StringComparison.Ordinal);
        Assert.True(start >= 0, "no helper list in " + header);
        int end = text.IndexOf("/* */", start, StringComparison.Ordinal);
        if (end < 0)
            end = text.IndexOf("\n\n", start, StringComparison.Ordinal);
        var names = HelperEntry().Matches(text[start..end]).Select(m => m.Groups[1].Value).ToList();
        Assert.True(names.Count > 150, $"only {names.Count} helpers found in {header}");
        for (int id = 1; id < names.Count; id++)
        {
            Assert.Equal("bpf_" + names[id], BpfHelper.Name(id));
            Assert.Equal(id, BpfHelper.IdOf(names[id]));
        }
        Assert.Equal(-1, BpfHelper.IdOf("no_such_helper"));
    }

    internal static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/sbin").Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    [GeneratedRegex(@"encoding: \[([0-9a-fx,]+)\]")]
    private static partial Regex EncodingLine();

    [GeneratedRegex(@"FN\((\w+)")]
    private static partial Regex HelperEntry();
}
