namespace KdtCapture.Filters.Ebpf;

/// <summary>
/// eBPF opcode fields and registers, as the kernel's <c>linux/bpf.h</c> and <c>bpf_common.h</c> define
/// them; an opcode is a class ORed with the fields that class takes.
/// </summary>
public static class Ebpf
{
    // Classes.
    public const byte Ld = 0x00;
    public const byte Ldx = 0x01;
    public const byte St = 0x02;
    public const byte Stx = 0x03;
    public const byte Alu = 0x04;
    public const byte Jmp = 0x05;
    public const byte Jmp32 = 0x06;
    public const byte Alu64 = 0x07;

    // Load/store sizes and modes.
    public const byte W = 0x00;
    public const byte H = 0x08;
    public const byte B = 0x10;
    public const byte DW = 0x18;
    public const byte Imm = 0x00;
    public const byte Mem = 0x60;

    // Operand source.
    public const byte K = 0x00;
    public const byte X = 0x08;

    // ALU operations.
    public const byte Add = 0x00;
    public const byte Sub = 0x10;
    public const byte Mul = 0x20;
    public const byte Div = 0x30;
    public const byte Or = 0x40;
    public const byte And = 0x50;
    public const byte Lsh = 0x60;
    public const byte Rsh = 0x70;
    public const byte Neg = 0x80;
    public const byte Mod = 0x90;
    public const byte Xor = 0xa0;
    public const byte Mov = 0xb0;
    public const byte Arsh = 0xc0;
    /// <summary>Byte swap (class ALU); with <see cref="ToBigEndian"/> it converts to network order.</summary>
    public const byte End = 0xd0;
    public const byte ToLittleEndian = 0x00;
    public const byte ToBigEndian = 0x08;

    // Jump operations.
    public const byte Ja = 0x00;
    public const byte Jeq = 0x10;
    public const byte Jgt = 0x20;
    public const byte Jge = 0x30;
    public const byte Jset = 0x40;
    public const byte Jne = 0x50;
    public const byte Jsgt = 0x60;
    public const byte Jsge = 0x70;
    public const byte Call = 0x80;
    public const byte Exit = 0x90;
    public const byte Jlt = 0xa0;
    public const byte Jle = 0xb0;
    public const byte Jslt = 0xc0;
    public const byte Jsle = 0xd0;

    // Registers: R0 return value, R1-R5 arguments (clobbered by calls), R6-R9 callee-saved, R10 frame pointer.
    public const byte R0 = 0;
    public const byte R1 = 1;
    public const byte R2 = 2;
    public const byte R3 = 3;
    public const byte R4 = 4;
    public const byte R5 = 5;
    public const byte R6 = 6;
    public const byte R7 = 7;
    public const byte R8 = 8;
    public const byte R9 = 9;
    public const byte R10 = 10;

    /// <summary>The kernel's bpf_probe_read_kernel(void *dst, u32 size, const void *unsafe_ptr) helper.</summary>
    public const int HelperProbeReadKernel = 113;

    /// <summary>Offsets of jumps are 16-bit: no program longer than this can jump from its start to its end.</summary>
    public const int MaxJumpReach = short.MaxValue;

    /// <summary>Every function's stack frame, and the deepest chain of calls together, fit in this many bytes.</summary>
    public const int MaxStackBytes = 512;
}
