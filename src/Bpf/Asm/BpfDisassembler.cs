using System.Globalization;
using System.Text;
using static KdtCapture.Bpf.Asm.BpfOpCode;

namespace KdtCapture.Bpf.Asm;

/// <summary>How ld_imm64 map references are shown.</summary>
public enum BpfMapReferenceStyle
{
    /// <summary>"map[fd:5]": instructions before load carry descriptors.</summary>
    Descriptor,
    /// <summary>"map[id:12]": xlated instructions read back from the kernel carry map ids (bpftool's style).</summary>
    Id,
}

/// <summary>
/// Prints instructions the way the kernel's verifier log and <c>bpftool prog dump xlated</c> do
/// ("   3: (85) call bpf_map_lookup_elem#1"), so our dumps diff cleanly against theirs.
/// </summary>
public static class BpfDisassembler
{
    private static readonly string[] AluOperators = ["+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "neg", "%=", "^=", "=", "s>>=", "endian", "?", "?"];
    private static readonly string[] JumpOperators = ["jmp", "==", ">", ">=", "&", "!=", "s>", "s>=", "call", "exit", "<", "<=", "s<", "s<=", "?", "?"];
    private static readonly string[] AtomicNames = ["add", "?", "?", "?", "or", "and", "?", "?", "?", "?", "xor", "?", "?", "?", "?", "?"];

    /// <summary>All instructions, one numbered line each; the second slot of a 16-byte load gets no line.</summary>
    public static string Disassemble(ReadOnlySpan<BpfInstruction> instructions, BpfMapReferenceStyle maps = BpfMapReferenceStyle.Descriptor)
    {
        var text = new StringBuilder(instructions.Length * 32);
        for (int i = 0; i < instructions.Length; i++)
        {
            // bpftool numbers with "% 4d: ".
            string index = i.ToString(CultureInfo.InvariantCulture);
            text.Append(' ', index.Length < 4 ? 4 - index.Length : 1).Append(index).Append(": ");
            var next = instructions[i].IsLoadImm64 && i + 1 < instructions.Length ? instructions[i + 1] : default;
            text.Append(Format(instructions[i], next, maps)).Append('\n');
            if (instructions[i].IsLoadImm64)
                i++;
        }
        return text.ToString();
    }

    /// <summary>One instruction without its index; <paramref name="next"/> is the second slot of a 16-byte load.</summary>
    public static string Format(BpfInstruction insn, BpfInstruction next, BpfMapReferenceStyle maps = BpfMapReferenceStyle.Descriptor)
    {
        var inv = CultureInfo.InvariantCulture;
        byte code = insn.OpCode;
        string c = "(" + code.ToString("x2", inv) + ") ";
        int dst = (int)insn.Destination, src = insn.SourceBits;
        byte cls = BpfOpCode.Class(code);
        switch (cls)
        {
            case ClassAlu:
            case ClassAlu64:
            {
                char r = cls == ClassAlu64 ? 'r' : 'w';
                byte op = Operation(code);
                if (op == End)
                {
                    return cls == ClassAlu64
                        ? string.Create(inv, $"{c}r{dst} = bswap{insn.Immediate} r{dst}")
                        : string.Create(inv, $"{c}r{dst} = {(Source(code) == ToBe ? "be" : "le")}{insn.Immediate} r{dst}");
                }
                if (op == Neg)
                    return string.Create(inv, $"{c}{r}{dst} = -{r}{dst}");
                if (op == Mov && Source(code) == SourceX && insn.Offset is 8 or 16 or 32)
                    return string.Create(inv, $"{c}{r}{dst} = (s{insn.Offset}){r}{src}");
                string oper = (op == Div || op == Mod) && insn.Offset == 1 ? (op == Div ? "s/=" : "s%=") : AluOperators[op >> 4];
                return Source(code) == SourceX
                    ? string.Create(inv, $"{c}{r}{dst} {oper} {r}{src}")
                    : string.Create(inv, $"{c}{r}{dst} {oper} {insn.Immediate}");
            }
            case ClassStx:
            {
                string size = SizeName(code);
                if (Mode(code) == ModeMem)
                    return string.Create(inv, $"{c}*({size} *)(r{dst} {Signed(insn.Offset)}) = r{src}");
                if (Mode(code) == ModeAtomic)
                {
                    string bits = Size(code) == SizeDW ? "64" : "";
                    int imm = insn.Immediate;
                    if (imm is AtomicAdd or AtomicAnd or AtomicOr or AtomicXor)
                        return string.Create(inv, $"{c}lock *({size} *)(r{dst} {Signed(insn.Offset)}) {AluOperators[(imm >> 4) & 15]} r{src}");
                    if (imm is (AtomicAdd | AtomicFetch) or (AtomicAnd | AtomicFetch) or (AtomicOr | AtomicFetch) or (AtomicXor | AtomicFetch))
                        return string.Create(inv, $"{c}r{src} = atomic{bits}_fetch_{AtomicNames[(imm >> 4) & 15]}(({size} *)(r{dst} {Signed(insn.Offset)}), r{src})");
                    if (imm == AtomicCmpXchg)
                        return string.Create(inv, $"{c}r0 = atomic{bits}_cmpxchg(({size} *)(r{dst} {Signed(insn.Offset)}), r0, r{src})");
                    if (imm == AtomicXchg)
                        return string.Create(inv, $"{c}r{src} = atomic{bits}_xchg(({size} *)(r{dst} {Signed(insn.Offset)}), r{src})");
                }
                return Unknown(c, insn);
            }
            case ClassSt:
                return Mode(code) == ModeMem
                    ? string.Create(inv, $"{c}*({SizeName(code)} *)(r{dst} {Signed(insn.Offset)}) = {insn.Immediate}")
                    : Unknown(c, insn);
            case ClassLdx:
                if (Mode(code) == ModeMem)
                    return string.Create(inv, $"{c}r{dst} = *({SizeName(code)} *)(r{src} {Signed(insn.Offset)})");
                if (Mode(code) == ModeMemSx)
                    return string.Create(inv, $"{c}r{dst} = *(s{SizeInBytes(Size(code)) * 8} *)(r{src} {Signed(insn.Offset)})");
                return Unknown(c, insn);
            case ClassLd:
                if (Mode(code) == ModeAbs)
                    return string.Create(inv, $"{c}r0 = *({SizeName(code)} *)skb[{insn.Immediate}]");
                if (Mode(code) == ModeInd)
                    return string.Create(inv, $"{c}r0 = *({SizeName(code)} *)skb[r{src} + {insn.Immediate}]");
                if (insn.IsLoadImm64)
                    return string.Create(inv, $"{c}r{dst} = {Immediate64(insn, next, maps)}");
                return Unknown(c, insn);
            default: // JMP, JMP32
            {
                byte op = Operation(code);
                if (cls == ClassJmp && op == BpfOpCode.Call)
                {
                    return (BpfCallKind)src switch
                    {
                        BpfCallKind.Subprogram => string.Create(inv, $"{c}call pc{Signed(insn.Immediate)}"),
                        BpfCallKind.Kfunc => string.Create(inv, $"{c}call kfunc#{insn.Immediate}"),
                        _ => string.Create(inv, $"{c}call {BpfHelper.Name(insn.Immediate) ?? "unknown"}#{insn.Immediate}"),
                    };
                }
                if (cls == ClassJmp && op == BpfOpCode.Exit)
                    return c + "exit";
                if (op == Ja)
                {
                    return cls == ClassJmp
                        ? string.Create(inv, $"{c}goto pc{Signed(insn.Offset)}")
                        : string.Create(inv, $"{c}gotol pc{Signed(insn.Immediate)}");
                }
                char r = cls == ClassJmp32 ? 'w' : 'r';
                return Source(code) == SourceX
                    ? string.Create(inv, $"{c}if {r}{dst} {JumpOperators[op >> 4]} {r}{src} goto pc{Signed(insn.Offset)}")
                    : string.Create(inv, $"{c}if {r}{dst} {JumpOperators[op >> 4]} 0x{(uint)insn.Immediate:x} goto pc{Signed(insn.Offset)}");
            }
        }
    }

    private static string Immediate64(BpfInstruction insn, BpfInstruction next, BpfMapReferenceStyle maps)
    {
        var inv = CultureInfo.InvariantCulture;
        string key = maps == BpfMapReferenceStyle.Id ? "id" : "fd";
        return (BpfPseudoSource)insn.SourceBits switch
        {
            BpfPseudoSource.MapFd => string.Create(inv, $"map[{key}:{(uint)insn.Immediate}]"),
            BpfPseudoSource.MapValue => string.Create(inv, $"map[{key}:{(uint)insn.Immediate}][0]+{(uint)next.Immediate}"),
            BpfPseudoSource.MapIndex => string.Create(inv, $"map[idx:{(uint)insn.Immediate}]"),
            BpfPseudoSource.MapIndexValue => string.Create(inv, $"map[idx:{(uint)insn.Immediate}]+{(uint)next.Immediate}"),
            BpfPseudoSource.BtfId => string.Create(inv, $"btf_id[{(uint)insn.Immediate}]"),
            BpfPseudoSource.Func => string.Create(inv, $"func pc{Signed(insn.Immediate)}"),
            _ => "0x" + ((ulong)BpfInstruction.Imm64(insn, next)).ToString("x", inv),
        };
    }

    private static string SizeName(byte code) => Size(code) switch { SizeB => "u8", SizeH => "u16", SizeW => "u32", _ => "u64" };

    private static string Signed(int value) => value >= 0 ? "+" + value.ToString(CultureInfo.InvariantCulture) : value.ToString(CultureInfo.InvariantCulture);

    private static string Unknown(string c, BpfInstruction insn) => c + "BUG_" + insn.OpCode.ToString("x2", CultureInfo.InvariantCulture);
}
