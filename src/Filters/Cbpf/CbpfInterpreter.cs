using System.Buffers.Binary;

namespace KdtCapture.Filters.Cbpf;

/// <summary>
/// The reference interpreter: the semantics of libpcap's bpf_filter, written for clarity, one
/// instruction at a time straight from the program. The other runners must agree with it.
/// <list type="bullet">
/// <item>A load that does not fit in the captured bytes makes the program return 0; Linux
/// ancillary offsets are such loads here, as in libpcap's userland bpf_filter.</item>
/// <item>Division or modulo by an X of zero returns 0; shifts by an X of 32 or more give 0;
/// shifts by a constant use its low five bits (what libpcap does on x86-64).</item>
/// <item>Scratch memory starts zeroed (bpf_filter leaves it uninitialized).</item>
/// <item>Reaching an opcode bpf_filter does not know throws <see cref="CbpfUnknownOpcodeException"/>
/// where libpcap aborts.</item>
/// </list>
/// It does not validate: a program that jumps outside itself or indexes memory past M[15]
/// throws <see cref="IndexOutOfRangeException"/> where libpcap's behaviour is undefined.
/// </summary>
public static class CbpfInterpreter
{
    /// <summary>Runs <paramref name="program"/> over the captured bytes of one packet; returns what its ret returns.</summary>
    /// <param name="wireLength">The packet's length on the wire, what <c>ld #pktlen</c> loads.</param>
    public static uint Run(ReadOnlySpan<CbpfInstruction> program, ReadOnlySpan<byte> packet, uint wireLength)
    {
        uint a = 0, x = 0;
        Span<uint> memory = stackalloc uint[Cbpf.MemWords];
        memory.Clear();
        uint captured = (uint)packet.Length;

        for (int pc = 0; ; pc++)
        {
            CbpfInstruction insn = program[pc];
            uint k = insn.K;
            switch (insn.Code)
            {
                case Cbpf.Ret | Cbpf.K:
                    return k;
                case Cbpf.Ret | Cbpf.A:
                    return a;

                case Cbpf.Ld | Cbpf.W | Cbpf.Abs:
                    if ((ulong)k + 4 > captured)
                        return 0;
                    a = BinaryPrimitives.ReadUInt32BigEndian(packet.Slice((int)k, 4));
                    break;
                case Cbpf.Ld | Cbpf.H | Cbpf.Abs:
                    if ((ulong)k + 2 > captured)
                        return 0;
                    a = BinaryPrimitives.ReadUInt16BigEndian(packet.Slice((int)k, 2));
                    break;
                case Cbpf.Ld | Cbpf.B | Cbpf.Abs:
                    if (k >= captured)
                        return 0;
                    a = packet[(int)k];
                    break;

                // Offsets are summed without wrapping: X + k past 2^32 is out of bounds, not a small offset.
                case Cbpf.Ld | Cbpf.W | Cbpf.Ind:
                    if ((ulong)x + k + 4 > captured)
                        return 0;
                    a = BinaryPrimitives.ReadUInt32BigEndian(packet.Slice((int)(x + k), 4));
                    break;
                case Cbpf.Ld | Cbpf.H | Cbpf.Ind:
                    if ((ulong)x + k + 2 > captured)
                        return 0;
                    a = BinaryPrimitives.ReadUInt16BigEndian(packet.Slice((int)(x + k), 2));
                    break;
                case Cbpf.Ld | Cbpf.B | Cbpf.Ind:
                    if ((ulong)x + k >= captured)
                        return 0;
                    a = packet[(int)(x + k)];
                    break;

                case Cbpf.Ldx | Cbpf.Msh | Cbpf.B:
                    if (k >= captured)
                        return 0;
                    x = (uint)(packet[(int)k] & 0xf) << 2;
                    break;

                case Cbpf.Ld | Cbpf.W | Cbpf.Len:
                    a = wireLength;
                    break;
                case Cbpf.Ldx | Cbpf.W | Cbpf.Len:
                    x = wireLength;
                    break;
                case Cbpf.Ld | Cbpf.Imm:
                    a = k;
                    break;
                case Cbpf.Ldx | Cbpf.Imm:
                    x = k;
                    break;
                case Cbpf.Ld | Cbpf.Mem:
                    a = memory[(int)k];
                    break;
                case Cbpf.Ldx | Cbpf.Mem:
                    x = memory[(int)k];
                    break;
                case Cbpf.St:
                    memory[(int)k] = a;
                    break;
                case Cbpf.Stx:
                    memory[(int)k] = x;
                    break;

                // ja's k is a signed displacement: libpcap's protochain code jumps backwards.
                case Cbpf.Jmp | Cbpf.Ja:
                    pc += (int)k;
                    break;
                case Cbpf.Jmp | Cbpf.Jgt | Cbpf.K:
                    pc += a > k ? insn.Jt : insn.Jf;
                    break;
                case Cbpf.Jmp | Cbpf.Jge | Cbpf.K:
                    pc += a >= k ? insn.Jt : insn.Jf;
                    break;
                case Cbpf.Jmp | Cbpf.Jeq | Cbpf.K:
                    pc += a == k ? insn.Jt : insn.Jf;
                    break;
                case Cbpf.Jmp | Cbpf.Jset | Cbpf.K:
                    pc += (a & k) != 0 ? insn.Jt : insn.Jf;
                    break;
                case Cbpf.Jmp | Cbpf.Jgt | Cbpf.X:
                    pc += a > x ? insn.Jt : insn.Jf;
                    break;
                case Cbpf.Jmp | Cbpf.Jge | Cbpf.X:
                    pc += a >= x ? insn.Jt : insn.Jf;
                    break;
                case Cbpf.Jmp | Cbpf.Jeq | Cbpf.X:
                    pc += a == x ? insn.Jt : insn.Jf;
                    break;
                case Cbpf.Jmp | Cbpf.Jset | Cbpf.X:
                    pc += (a & x) != 0 ? insn.Jt : insn.Jf;
                    break;

                case Cbpf.Alu | Cbpf.Add | Cbpf.X:
                    a += x;
                    break;
                case Cbpf.Alu | Cbpf.Sub | Cbpf.X:
                    a -= x;
                    break;
                case Cbpf.Alu | Cbpf.Mul | Cbpf.X:
                    a *= x;
                    break;
                case Cbpf.Alu | Cbpf.Div | Cbpf.X:
                    if (x == 0)
                        return 0;
                    a /= x;
                    break;
                case Cbpf.Alu | Cbpf.Mod | Cbpf.X:
                    if (x == 0)
                        return 0;
                    a %= x;
                    break;
                case Cbpf.Alu | Cbpf.And | Cbpf.X:
                    a &= x;
                    break;
                case Cbpf.Alu | Cbpf.Or | Cbpf.X:
                    a |= x;
                    break;
                case Cbpf.Alu | Cbpf.Xor | Cbpf.X:
                    a ^= x;
                    break;
                case Cbpf.Alu | Cbpf.Lsh | Cbpf.X:
                    a = x < 32 ? a << (int)x : 0;
                    break;
                case Cbpf.Alu | Cbpf.Rsh | Cbpf.X:
                    a = x < 32 ? a >> (int)x : 0;
                    break;

                case Cbpf.Alu | Cbpf.Add | Cbpf.K:
                    a += k;
                    break;
                case Cbpf.Alu | Cbpf.Sub | Cbpf.K:
                    a -= k;
                    break;
                case Cbpf.Alu | Cbpf.Mul | Cbpf.K:
                    a *= k;
                    break;
                case Cbpf.Alu | Cbpf.Div | Cbpf.K:
                    a /= k;
                    break;
                case Cbpf.Alu | Cbpf.Mod | Cbpf.K:
                    a %= k;
                    break;
                case Cbpf.Alu | Cbpf.And | Cbpf.K:
                    a &= k;
                    break;
                case Cbpf.Alu | Cbpf.Or | Cbpf.K:
                    a |= k;
                    break;
                case Cbpf.Alu | Cbpf.Xor | Cbpf.K:
                    a ^= k;
                    break;
                case Cbpf.Alu | Cbpf.Lsh | Cbpf.K:
                    a <<= (int)(k & 31);
                    break;
                case Cbpf.Alu | Cbpf.Rsh | Cbpf.K:
                    a >>= (int)(k & 31);
                    break;
                case Cbpf.Alu | Cbpf.Neg:
                    a = 0u - a;
                    break;

                case Cbpf.Misc | Cbpf.Tax:
                    x = a;
                    break;
                case Cbpf.Misc | Cbpf.Txa:
                    a = x;
                    break;

                default:
                    throw new CbpfUnknownOpcodeException(pc, insn.Code);
            }
        }
    }
}
