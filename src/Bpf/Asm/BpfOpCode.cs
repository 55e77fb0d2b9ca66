namespace KdtCapture.Bpf.Asm;

/// <summary>The parts of an eBPF opcode byte (include/uapi/linux/bpf_common.h and bpf.h).</summary>
public static class BpfOpCode
{
    // Instruction classes (low 3 bits).
    public const byte ClassLd = 0x00, ClassLdx = 0x01, ClassSt = 0x02, ClassStx = 0x03,
        ClassAlu = 0x04, ClassJmp = 0x05, ClassJmp32 = 0x06, ClassAlu64 = 0x07;

    // Load/store size (bits 3-4) and mode (bits 5-7).
    public const byte SizeW = 0x00, SizeH = 0x08, SizeB = 0x10, SizeDW = 0x18;
    public const byte ModeImm = 0x00, ModeAbs = 0x20, ModeInd = 0x40, ModeMem = 0x60, ModeMemSx = 0x80, ModeAtomic = 0xc0;

    // Operand source (bit 3) for ALU and JMP classes.
    public const byte SourceK = 0x00, SourceX = 0x08;

    // ALU operations (bits 4-7).
    public const byte Add = 0x00, Sub = 0x10, Mul = 0x20, Div = 0x30, Or = 0x40, And = 0x50, Lsh = 0x60, Rsh = 0x70,
        Neg = 0x80, Mod = 0x90, Xor = 0xa0, Mov = 0xb0, Arsh = 0xc0, End = 0xd0;

    // Jump operations (bits 4-7).
    public const byte Ja = 0x00, Jeq = 0x10, Jgt = 0x20, Jge = 0x30, Jset = 0x40, Jne = 0x50, Jsgt = 0x60, Jsge = 0x70,
        Call = 0x80, Exit = 0x90, Jlt = 0xa0, Jle = 0xb0, Jslt = 0xc0, Jsle = 0xd0;

    // Byte-swap direction for End (shares the source bit).
    public const byte ToLe = 0x00, ToBe = 0x08;

    // Atomic operations, in the immediate of an STX|ATOMIC instruction.
    public const int AtomicAdd = 0x00, AtomicOr = 0x40, AtomicAnd = 0x50, AtomicXor = 0xa0,
        AtomicFetch = 0x01, AtomicXchg = 0xe0 | AtomicFetch, AtomicCmpXchg = 0xf0 | AtomicFetch;

    public static byte Class(byte op) => (byte)(op & 0x07);
    public static byte Size(byte op) => (byte)(op & 0x18);
    public static byte Mode(byte op) => (byte)(op & 0xe0);
    public static byte Source(byte op) => (byte)(op & 0x08);
    public static byte Operation(byte op) => (byte)(op & 0xf0);

    public static int SizeInBytes(byte size) => size switch { SizeB => 1, SizeH => 2, SizeW => 4, _ => 8 };
}

/// <summary>What the src register of a 16-byte ld_imm64 says the immediate is (BPF_PSEUDO_*).</summary>
public enum BpfPseudoSource : byte
{
    /// <summary>A plain 64-bit constant.</summary>
    None = 0,
    /// <summary>imm is a map file descriptor; the register gets the map pointer.</summary>
    MapFd = 1,
    /// <summary>imm is a map fd, the second imm an offset into its value (global data).</summary>
    MapValue = 2,
    /// <summary>imm is a kernel BTF type id (a ksym).</summary>
    BtfId = 3,
    /// <summary>imm is a relative instruction offset of a subprogram (a callback).</summary>
    Func = 4,
    /// <summary>imm indexes fd_array.</summary>
    MapIndex = 5,
    /// <summary>imm indexes fd_array, the second imm is a value offset.</summary>
    MapIndexValue = 6,
}

/// <summary>What a call instruction's src register says its target is.</summary>
public enum BpfCallKind : byte
{
    Helper = 0,
    /// <summary>BPF-to-BPF call; imm is the offset to the subprogram minus one.</summary>
    Subprogram = 1,
    /// <summary>imm is the BTF id of a kernel function; off selects the module BTF in fd_array.</summary>
    Kfunc = 2,
}

/// <summary>The eleven eBPF registers; R10 is the read-only frame pointer.</summary>
public enum BpfRegister : byte
{
    R0 = 0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10,
}
