using KdtCapture.Bpf.Asm;
using static KdtCapture.Bpf.Asm.BpfOpCode;
using static KdtCapture.Bpf.Asm.BpfRegister;

namespace KdtCapture.Bpf.Tests.Asm;

using Asm = KdtCapture.Bpf.Asm.Asm;

public sealed class AssemblerTests
{
    [Fact]
    public void Labels_resolve_to_relative_offsets_across_wide_loads()
    {
        var code = new BpfAssembler()
            .JumpIf(Jeq, R1, 0, "end")    // 0
            .Emit(Asm.LoadImm64(R2, 1))  // 1-2
            .Label("loop")
            .Emit(Asm.Add64(R2, 1))      // 3
            .JumpIf(Jlt, R2, 10, "loop") // 4
            .CallSubprogram("sub")       // 5
            .Label("end")
            .Emit(Asm.Mov64(R0, 0))      // 6
            .Exit()                      // 7
            .Label("sub")
            .Emit(Asm.Mov64(R0, 1))      // 8
            .Exit()                      // 9
            .Assemble();
        Assert.Equal(5, code[0].Offset);     // 0 + 1 + 5 = 6
        Assert.Equal(-2, code[4].Offset);    // 4 + 1 - 2 = 3
        Assert.True(code[5].IsSubprogramCall);
        Assert.Equal(2, code[5].Immediate);  // 5 + 1 + 2 = 8
    }

    [Fact]
    public void Undefined_and_duplicate_labels_are_errors()
    {
        var missing = new BpfAssembler().Ja("nowhere").Exit();
        Assert.Contains("'nowhere'", Assert.Throws<InvalidOperationException>(() => missing.Assemble()).Message);
        var twice = new BpfAssembler().Label("a").Exit();
        Assert.Throws<ArgumentException>(() => twice.Label("a"));
        Assert.Throws<ArgumentException>(() => Asm.Call("bpf_no_such_helper"));
    }

    [Fact]
    public void Disassembler_prints_like_the_kernel()
    {
        // Expected lines written from the kernel's disasm.c formats (also compared with bpftool on a live program).
        var code = new BpfAssembler()
            .Emit(Asm.Mov64(R0, 0))
            .Emit(Asm.Mov32(R1, R2))
            .Emit(Asm.Add64(R1, -8))
            .Emit(Asm.StoreMem(SizeDW, R10, -8, R1))
            .Emit(Asm.LoadMem(SizeW, R3, R1, 4))
            .Emit(Asm.LoadMapFd(R1, 5))
            .Call(BpfHelper.MapLookupElem)
            .Emit(Asm.Jump(Jeq, R0, 0, 1))
            .Emit(Asm.Jump32(Jsgt, R3, R4, -3))
            .Emit(Asm.LoadAbsolute(SizeB, 23))
            .Emit(Asm.CallSubprogram(-12))
            .Exit()
            .Assemble();
        string expected = string.Join('\n',
            "   0: (b7) r0 = 0",
            "   1: (bc) w1 = w2",
            "   2: (07) r1 += -8",
            "   3: (7b) *(u64 *)(r10 -8) = r1",
            "   4: (61) r3 = *(u32 *)(r1 +4)",
            "   5: (18) r1 = map[fd:5]",
            "   7: (85) call bpf_map_lookup_elem#1",
            "   8: (15) if r0 == 0x0 goto pc+1",
            "   9: (6e) if w3 s> w4 goto pc-3",
            "  10: (30) r0 = *(u8 *)skb[23]",
            "  11: (85) call pc-12",
            "  12: (95) exit") + "\n";
        Assert.Equal(expected, BpfDisassembler.Disassemble(code));
    }
}
