using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Asm;

/// <summary>
/// One 8-byte eBPF instruction slot (struct bpf_insn): opcode, dst/src registers in one byte
/// (dst in the low nibble on little-endian hosts), a signed 16-bit offset and a 32-bit immediate.
/// A 64-bit load (ld_imm64) takes two slots; the second has opcode 0 and the immediate's high half.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public readonly record struct BpfInstruction
{
    public const int Size = 8;

    // Explicit offsets: this struct is passed to the kernel as struct bpf_insn.
    [FieldOffset(0)] private readonly byte _opCode;
    [FieldOffset(1)] private readonly byte _registers;
    [FieldOffset(2)] private readonly short _offset;
    [FieldOffset(4)] private readonly int _immediate;

    public BpfInstruction(byte opCode, BpfRegister destination, BpfRegister source, short offset, int immediate)
    {
        _opCode = opCode;
        _registers = (byte)(((byte)source << 4) | ((byte)destination & 0x0f));
        _offset = offset;
        _immediate = immediate;
    }

    public byte OpCode => _opCode;

    public short Offset
    {
        get => _offset;
        init => _offset = value;
    }

    public int Immediate
    {
        get => _immediate;
        init => _immediate = value;
    }

    public BpfRegister Destination => (BpfRegister)(_registers & 0x0f);

    public BpfRegister Source => (BpfRegister)(_registers >> 4);

    /// <summary>The raw src register nibble, which ld_imm64 and call use as a pseudo kind.</summary>
    public byte SourceBits => (byte)(_registers >> 4);

    public byte Class => BpfOpCode.Class(OpCode);

    /// <summary>The first slot of a 16-byte ld_imm64.</summary>
    public bool IsLoadImm64 => OpCode == (BpfOpCode.ClassLd | BpfOpCode.SizeDW | BpfOpCode.ModeImm);

    public bool IsCall => OpCode == (BpfOpCode.ClassJmp | BpfOpCode.Call);

    public bool IsExit => OpCode == (BpfOpCode.ClassJmp | BpfOpCode.Exit);

    public bool IsHelperCall => IsCall && SourceBits == (byte)BpfCallKind.Helper;

    public bool IsSubprogramCall => IsCall && SourceBits == (byte)BpfCallKind.Subprogram;

    public bool IsKfuncCall => IsCall && SourceBits == (byte)BpfCallKind.Kfunc;

    /// <summary>A jump whose target is Offset (JA in JMP32 class uses the immediate, see <see cref="IsLongJump"/>).</summary>
    public bool IsJump
    {
        get
        {
            byte c = Class;
            if (c != BpfOpCode.ClassJmp && c != BpfOpCode.ClassJmp32)
                return false;
            byte op = BpfOpCode.Operation(OpCode);
            return op != BpfOpCode.Call && op != BpfOpCode.Exit && !IsLongJump;
        }
    }

    /// <summary>gotol: BPF_JMP32|BPF_JA with a 32-bit offset in the immediate.</summary>
    public bool IsLongJump => OpCode == (BpfOpCode.ClassJmp32 | BpfOpCode.Ja);

    /// <summary>An ld_imm64 whose immediate refers to a subprogram (callbacks for bpf_loop etc.).</summary>
    public bool IsFunctionReference => IsLoadImm64 && SourceBits == (byte)BpfPseudoSource.Func;

    public BpfInstruction WithSource(BpfRegister source) => new(OpCode, Destination, source, Offset, Immediate);

    public BpfInstruction WithSourceBits(byte source) => new(OpCode, Destination, (BpfRegister)source, Offset, Immediate);

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = OpCode;
        destination[1] = _registers;
        BinaryPrimitives.WriteInt16LittleEndian(destination[2..], Offset);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], Immediate);
    }

    public static BpfInstruction ReadFrom(ReadOnlySpan<byte> source) => new(
        source[0],
        (BpfRegister)(source[1] & 0x0f),
        (BpfRegister)(source[1] >> 4),
        BinaryPrimitives.ReadInt16LittleEndian(source[2..]),
        BinaryPrimitives.ReadInt32LittleEndian(source[4..]));

    /// <summary>Decodes little-endian bytes (an ELF section, xlated instructions) into instructions.</summary>
    public static BpfInstruction[] Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length % Size != 0)
            throw new FormatException($"BPF instructions: {bytes.Length} bytes is not a multiple of {Size}");
        var result = new BpfInstruction[bytes.Length / Size];
        for (int i = 0; i < result.Length; i++)
            result[i] = ReadFrom(bytes.Slice(i * Size, Size));
        return result;
    }

    public static byte[] Encode(ReadOnlySpan<BpfInstruction> instructions)
    {
        var bytes = new byte[instructions.Length * Size];
        for (int i = 0; i < instructions.Length; i++)
            instructions[i].WriteTo(bytes.AsSpan(i * Size, Size));
        return bytes;
    }

    /// <summary>The 64-bit constant of an ld_imm64 given its second slot.</summary>
    public static long Imm64(BpfInstruction first, BpfInstruction second) =>
        (long)(((ulong)(uint)second.Immediate << 32) | (uint)first.Immediate);

    public override string ToString() => BpfDisassembler.Format(this, default);
}
