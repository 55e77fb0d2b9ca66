using System.Buffers.Binary;
using System.Globalization;

namespace KdtCapture.Filters.Ebpf;

/// <summary>
/// One eBPF instruction slot as the kernel's <c>struct bpf_insn</c> lays it out: an opcode, the
/// destination and source registers (destination in the low nibble), a signed 16-bit offset and a
/// 32-bit immediate. Filters depends on nothing of ours, so it emits these and KdtCapture.Bpf reads
/// them through <see cref="Encode"/> or <see cref="WriteTo"/>.
/// </summary>
public readonly record struct EbpfInstruction(byte OpCode, byte Destination, byte Source, short Offset, int Immediate)
{
    /// <summary>Bytes per instruction slot.</summary>
    public const int Size = 8;

    /// <summary>The slot as one little-endian 64-bit word, the order the kernel reads it in on x86-64 and arm64.</summary>
    public ulong Encode() =>
        OpCode
        | ((ulong)(byte)((Source << 4) | (Destination & 0x0f)) << 8)
        | ((ulong)(ushort)Offset << 16)
        | ((ulong)(uint)Immediate << 32);

    /// <summary>Writes the 8 bytes of the slot (little-endian fields).</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Encode());
    }

    /// <summary>Reads a slot back from its 64-bit word.</summary>
    public static EbpfInstruction Decode(ulong word) => new(
        (byte)word,
        (byte)((word >> 8) & 0x0f),
        (byte)((word >> 12) & 0x0f),
        unchecked((short)(ushort)(word >> 16)),
        unchecked((int)(uint)(word >> 32)));

    public int Class => OpCode & 0x07;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{{code 0x{OpCode:x2}, dst r{Destination}, src r{Source}, off {Offset}, imm {Immediate}}}");
}
