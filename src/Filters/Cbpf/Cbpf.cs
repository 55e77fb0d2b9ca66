namespace KdtCapture.Filters.Cbpf;

/// <summary>
/// Classic BPF opcode fields, as the kernel's and libpcap's <c>bpf.h</c> define them.
/// An opcode is the OR of a class with the fields that class takes.
/// </summary>
public static class Cbpf
{
    // Instruction classes.
    public const int Ld = 0x00;
    public const int Ldx = 0x01;
    public const int St = 0x02;
    public const int Stx = 0x03;
    public const int Alu = 0x04;
    public const int Jmp = 0x05;
    public const int Ret = 0x06;
    public const int Misc = 0x07;

    // ld/ldx operand sizes.
    public const int W = 0x00;
    public const int H = 0x08;
    public const int B = 0x10;

    // ld/ldx addressing modes.
    public const int Imm = 0x00;
    public const int Abs = 0x20;
    public const int Ind = 0x40;
    public const int Mem = 0x60;
    public const int Len = 0x80;
    public const int Msh = 0xa0;

    // alu operations.
    public const int Add = 0x00;
    public const int Sub = 0x10;
    public const int Mul = 0x20;
    public const int Div = 0x30;
    public const int Or = 0x40;
    public const int And = 0x50;
    public const int Lsh = 0x60;
    public const int Rsh = 0x70;
    public const int Neg = 0x80;
    public const int Mod = 0x90;
    public const int Xor = 0xa0;

    // jmp operations.
    public const int Ja = 0x00;
    public const int Jeq = 0x10;
    public const int Jgt = 0x20;
    public const int Jge = 0x30;
    public const int Jset = 0x40;

    // Operand source for alu/jmp; return value source for ret.
    public const int K = 0x00;
    public const int X = 0x08;
    public const int A = 0x10;

    // misc operations.
    public const int Tax = 0x00;
    public const int Txa = 0x80;

    /// <summary>Scratch memory words (M[0..15]).</summary>
    public const int MemWords = 16;

    /// <summary>Linux ancillary-data offsets start here (SKF_AD_OFF = -0x1000).</summary>
    public const uint AncillaryBase = unchecked((uint)-0x1000);

    public static int Class(int code) => code & 0x07;
    public static int Size(int code) => code & 0x18;
    public static int Mode(int code) => code & 0xe0;
    public static int Op(int code) => code & 0xf0;
    public static int Src(int code) => code & 0x08;
    public static int RVal(int code) => code & 0x18;
    public static int MiscOp(int code) => code & 0xf8;
}
