using System.Globalization;
using System.Text;

namespace KdtCapture.Filters.Cbpf;

/// <summary>The three ways tcpdump prints a compiled filter.</summary>
public enum CbpfDumpStyle
{
    /// <summary><c>-d</c>: one readable line per instruction, "(000) ldh      [12]".</summary>
    Readable = 1,
    /// <summary><c>-dd</c>: a C array initializer, "{ 0x28, 0, 0, 0x0000000c },".</summary>
    CArray = 2,
    /// <summary><c>-ddd</c>: the count, then "code jt jf k" in decimal per line.</summary>
    Decimal = 3,
}

/// <summary>Prints cBPF programs exactly as tcpdump's -d/-dd/-ddd (libpcap's bpf_dump and bpf_image).</summary>
public static class CbpfPrinter
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The whole listing, each line ending in '\n'.</summary>
    public static string Format(ReadOnlySpan<CbpfInstruction> program, CbpfDumpStyle style)
    {
        var text = new StringBuilder(program.Length * 48 + 8);
        Append(text, program, style);
        return text.ToString();
    }

    /// <summary>Writes the whole listing.</summary>
    public static void Write(TextWriter writer, ReadOnlySpan<CbpfInstruction> program, CbpfDumpStyle style)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Format(program, style));
    }

    /// <summary>One instruction as a -d line, without the newline (libpcap's bpf_image).</summary>
    public static string Image(CbpfInstruction instruction, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var text = new StringBuilder(48);
        AppendImage(text, instruction, index);
        return text.ToString();
    }

    private static void Append(StringBuilder text, ReadOnlySpan<CbpfInstruction> program, CbpfDumpStyle style)
    {
        switch (style)
        {
            case CbpfDumpStyle.Readable:
                for (int i = 0; i < program.Length; i++)
                {
                    AppendImage(text, program[i], i);
                    text.Append('\n');
                }
                break;
            case CbpfDumpStyle.CArray:
                foreach (var insn in program)
                    text.Append(Invariant, $"{{ 0x{insn.Code:x}, {insn.Jt}, {insn.Jf}, 0x{insn.K:x8} }},\n");
                break;
            case CbpfDumpStyle.Decimal:
                text.Append(Invariant, $"{program.Length}\n");
                foreach (var insn in program)
                    text.Append(Invariant, $"{insn.Code} {insn.Jt} {insn.Jf} {insn.K}\n");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(style), style, "not a tcpdump dump style");
        }
    }

    /// <summary>How bpf_image renders the operand of each kind of instruction.</summary>
    private enum Operand
    {
        None,           // ""
        X,              // "x"
        SignedK,        // "#%d"
        HexK,           // "#0x%x"
        Absolute,       // "[%d]", or "[name]" for a Linux ancillary offset
        Indirect,       // "[x + %d]"
        HeaderLength,   // "4*([%d]&0xf)"
        Memory,         // "M[%d]"
        PacketLength,   // "#pktlen"
        JumpTarget,     // "%d": the absolute target of ja
        Unknown,        // "0x%x" of the opcode
    }

    private static void AppendImage(StringBuilder text, CbpfInstruction insn, int index)
    {
        (string mnemonic, Operand operand) = Describe(insn.Code);
        text.Append(Invariant, $"({index:D3}) {mnemonic,-8} ");

        int operandStart = text.Length;
        int k = unchecked((int)insn.K);
        switch (operand)
        {
            case Operand.None:
                break;
            case Operand.X:
                text.Append('x');
                break;
            case Operand.SignedK:
                text.Append(Invariant, $"#{k}");
                break;
            case Operand.HexK:
                text.Append(Invariant, $"#0x{insn.K:x}");
                break;
            case Operand.Absolute:
                if (CbpfAncillary.Name(insn.K) is { } name)
                    text.Append('[').Append(name).Append(']');
                else
                    text.Append(Invariant, $"[{k}]");
                break;
            case Operand.Indirect:
                text.Append(Invariant, $"[x + {k}]");
                break;
            case Operand.HeaderLength:
                text.Append(Invariant, $"4*([{k}]&0xf)");
                break;
            case Operand.Memory:
                text.Append(Invariant, $"M[{k}]");
                break;
            case Operand.PacketLength:
                text.Append("#pktlen");
                break;
            case Operand.JumpTarget:
                // libpcap adds in unsigned arithmetic and prints the sum as signed.
                text.Append(Invariant, $"{unchecked((int)((uint)index + 1u + insn.K))}");
                break;
            case Operand.Unknown:
                text.Append(Invariant, $"0x{insn.Code:x}");
                break;
        }

        // The branch layout depends on the opcode bits alone, so an unknown conditional-jump
        // opcode still shows its targets, as bpf_image does.
        if (Cbpf.Class(insn.Code) == Cbpf.Jmp && Cbpf.Op(insn.Code) != Cbpf.Ja)
        {
            int operandLength = text.Length - operandStart;
            if (operandLength < 16)
                text.Append(' ', 16 - operandLength);
            text.Append(Invariant, $" jt {unchecked(index + 1 + insn.Jt)}\tjf {unchecked(index + 1 + insn.Jf)}");
        }
    }

    private static (string Mnemonic, Operand Operand) Describe(ushort code) => code switch
    {
        Cbpf.Ret | Cbpf.K => ("ret", Operand.SignedK),
        Cbpf.Ret | Cbpf.A => ("ret", Operand.None),

        Cbpf.Ld | Cbpf.W | Cbpf.Abs => ("ld", Operand.Absolute),
        Cbpf.Ld | Cbpf.H | Cbpf.Abs => ("ldh", Operand.Absolute),
        Cbpf.Ld | Cbpf.B | Cbpf.Abs => ("ldb", Operand.Absolute),
        Cbpf.Ld | Cbpf.W | Cbpf.Len => ("ld", Operand.PacketLength),
        Cbpf.Ld | Cbpf.W | Cbpf.Ind => ("ld", Operand.Indirect),
        Cbpf.Ld | Cbpf.H | Cbpf.Ind => ("ldh", Operand.Indirect),
        Cbpf.Ld | Cbpf.B | Cbpf.Ind => ("ldb", Operand.Indirect),
        Cbpf.Ld | Cbpf.Imm => ("ld", Operand.HexK),
        Cbpf.Ldx | Cbpf.Imm => ("ldx", Operand.HexK),
        Cbpf.Ldx | Cbpf.Msh | Cbpf.B => ("ldxb", Operand.HeaderLength),
        Cbpf.Ld | Cbpf.Mem => ("ld", Operand.Memory),
        Cbpf.Ldx | Cbpf.Mem => ("ldx", Operand.Memory),
        Cbpf.St => ("st", Operand.Memory),
        Cbpf.Stx => ("stx", Operand.Memory),

        Cbpf.Jmp | Cbpf.Ja => ("ja", Operand.JumpTarget),
        Cbpf.Jmp | Cbpf.Jgt | Cbpf.K => ("jgt", Operand.HexK),
        Cbpf.Jmp | Cbpf.Jge | Cbpf.K => ("jge", Operand.HexK),
        Cbpf.Jmp | Cbpf.Jeq | Cbpf.K => ("jeq", Operand.HexK),
        Cbpf.Jmp | Cbpf.Jset | Cbpf.K => ("jset", Operand.HexK),
        Cbpf.Jmp | Cbpf.Jgt | Cbpf.X => ("jgt", Operand.X),
        Cbpf.Jmp | Cbpf.Jge | Cbpf.X => ("jge", Operand.X),
        Cbpf.Jmp | Cbpf.Jeq | Cbpf.X => ("jeq", Operand.X),
        Cbpf.Jmp | Cbpf.Jset | Cbpf.X => ("jset", Operand.X),

        Cbpf.Alu | Cbpf.Add | Cbpf.X => ("add", Operand.X),
        Cbpf.Alu | Cbpf.Sub | Cbpf.X => ("sub", Operand.X),
        Cbpf.Alu | Cbpf.Mul | Cbpf.X => ("mul", Operand.X),
        Cbpf.Alu | Cbpf.Div | Cbpf.X => ("div", Operand.X),
        Cbpf.Alu | Cbpf.Mod | Cbpf.X => ("mod", Operand.X),
        Cbpf.Alu | Cbpf.And | Cbpf.X => ("and", Operand.X),
        Cbpf.Alu | Cbpf.Or | Cbpf.X => ("or", Operand.X),
        Cbpf.Alu | Cbpf.Xor | Cbpf.X => ("xor", Operand.X),
        Cbpf.Alu | Cbpf.Lsh | Cbpf.X => ("lsh", Operand.X),
        Cbpf.Alu | Cbpf.Rsh | Cbpf.X => ("rsh", Operand.X),
        // Arithmetic constants print in decimal, bitwise ones in hex.
        Cbpf.Alu | Cbpf.Add | Cbpf.K => ("add", Operand.SignedK),
        Cbpf.Alu | Cbpf.Sub | Cbpf.K => ("sub", Operand.SignedK),
        Cbpf.Alu | Cbpf.Mul | Cbpf.K => ("mul", Operand.SignedK),
        Cbpf.Alu | Cbpf.Div | Cbpf.K => ("div", Operand.SignedK),
        Cbpf.Alu | Cbpf.Mod | Cbpf.K => ("mod", Operand.SignedK),
        Cbpf.Alu | Cbpf.And | Cbpf.K => ("and", Operand.HexK),
        Cbpf.Alu | Cbpf.Or | Cbpf.K => ("or", Operand.HexK),
        Cbpf.Alu | Cbpf.Xor | Cbpf.K => ("xor", Operand.HexK),
        Cbpf.Alu | Cbpf.Lsh | Cbpf.K => ("lsh", Operand.SignedK),
        Cbpf.Alu | Cbpf.Rsh | Cbpf.K => ("rsh", Operand.SignedK),
        Cbpf.Alu | Cbpf.Neg => ("neg", Operand.None),

        Cbpf.Misc | Cbpf.Tax => ("tax", Operand.None),
        Cbpf.Misc | Cbpf.Txa => ("txa", Operand.None),

        _ => ("unimp", Operand.Unknown),
    };
}
