using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KdtCapture.Filters.Cbpf;

/// <summary>
/// An interpreter for runtimes without dynamic code (the Native AOT <c>kdt</c>): the program is
/// decoded once into steps with one operation per opcode-and-operand form, absolute jump targets
/// and precomputed bounds, so that running a packet is a tight loop with no allocation.
/// Agrees with <see cref="CbpfInterpreter"/> on every packet.
/// </summary>
public sealed class CbpfFastInterpreter
{
    private readonly Step[] _steps;
    private readonly bool _loadsMemory;

    /// <summary>Decodes a program that passes <see cref="CbpfValidator.Validate"/>.</summary>
    /// <exception cref="CbpfProgramException">The program is invalid.</exception>
    public CbpfFastInterpreter(ReadOnlySpan<CbpfInstruction> program)
    {
        CbpfValidationResult validation = CbpfValidator.Validate(program);
        if (!validation.IsValid)
            throw new CbpfProgramException(validation);
        _steps = Decode(program);
        _loadsMemory = Array.Exists(_steps, s => s.Operation is Operation.LoadMemory or Operation.LoadXMemory);
    }

    /// <summary>Runs the program over the captured bytes of one packet; returns what its ret returns.</summary>
    [SkipLocalsInit]
    public uint Run(ReadOnlySpan<byte> packet, uint wireLength)
    {
        // Validation guarantees every jump target and every fall-through lands inside the
        // program (the last instruction is a ret), so steps are indexed without bounds checks.
        ref Step first = ref MemoryMarshal.GetArrayDataReference(_steps);
        ref byte bytes = ref MemoryMarshal.GetReference(packet);
        uint captured = (uint)packet.Length;
        uint a = 0, x = 0;
        // Scratch memory must read as zero until written; only programs that read it pay for clearing it.
        Unsafe.SkipInit(out Scratch memory);
        if (_loadsMemory)
            memory = default;
        int pc = 0;

        while (true)
        {
            ref Step step = ref Unsafe.Add(ref first, pc);
            switch (step.Operation)
            {
                case Operation.ReturnK:
                    return step.K;
                case Operation.ReturnA:
                    return a;
                case Operation.Reject:
                    return 0;

                case Operation.LoadWordAbsolute:
                    if (captured < step.End)
                        return 0;
                    a = LoadWord(ref bytes, step.K);
                    pc++;
                    continue;
                case Operation.LoadHalfAbsolute:
                    if (captured < step.End)
                        return 0;
                    a = LoadHalf(ref bytes, step.K);
                    pc++;
                    continue;
                case Operation.LoadByteAbsolute:
                    if (captured < step.End)
                        return 0;
                    a = Unsafe.Add(ref bytes, step.K);
                    pc++;
                    continue;

                case Operation.LoadWordAbsoluteJumpEqualK:
                {
                    if (captured < step.End)
                        return 0;
                    a = LoadWord(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a == next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadWordAbsoluteJumpGreaterK:
                {
                    if (captured < step.End)
                        return 0;
                    a = LoadWord(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a > next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadWordAbsoluteJumpGreaterOrEqualK:
                {
                    if (captured < step.End)
                        return 0;
                    a = LoadWord(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a >= next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadWordAbsoluteJumpAnyBitK:
                {
                    if (captured < step.End)
                        return 0;
                    a = LoadWord(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = (a & next.K) != 0 ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadHalfAbsoluteJumpEqualK:
                {
                    if (captured < step.End)
                        return 0;
                    a = LoadHalf(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a == next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadHalfAbsoluteJumpGreaterK:
                {
                    if (captured < step.End)
                        return 0;
                    a = LoadHalf(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a > next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadHalfAbsoluteJumpGreaterOrEqualK:
                {
                    if (captured < step.End)
                        return 0;
                    a = LoadHalf(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a >= next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadHalfAbsoluteJumpAnyBitK:
                {
                    if (captured < step.End)
                        return 0;
                    a = LoadHalf(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = (a & next.K) != 0 ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadByteAbsoluteJumpEqualK:
                {
                    if (captured < step.End)
                        return 0;
                    a = Unsafe.Add(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a == next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadByteAbsoluteJumpGreaterK:
                {
                    if (captured < step.End)
                        return 0;
                    a = Unsafe.Add(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a > next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadByteAbsoluteJumpGreaterOrEqualK:
                {
                    if (captured < step.End)
                        return 0;
                    a = Unsafe.Add(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a >= next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadByteAbsoluteJumpAnyBitK:
                {
                    if (captured < step.End)
                        return 0;
                    a = Unsafe.Add(ref bytes, step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = (a & next.K) != 0 ? next.JumpTrue : next.JumpFalse;
                    continue;
                }

                case Operation.LoadWordIndirectJumpEqualK:
                {
                    if ((ulong)x + step.K + 4 > captured)
                        return 0;
                    a = LoadWord(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a == next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadWordIndirectJumpGreaterK:
                {
                    if ((ulong)x + step.K + 4 > captured)
                        return 0;
                    a = LoadWord(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a > next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadWordIndirectJumpGreaterOrEqualK:
                {
                    if ((ulong)x + step.K + 4 > captured)
                        return 0;
                    a = LoadWord(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a >= next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadWordIndirectJumpAnyBitK:
                {
                    if ((ulong)x + step.K + 4 > captured)
                        return 0;
                    a = LoadWord(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = (a & next.K) != 0 ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadHalfIndirectJumpEqualK:
                {
                    if ((ulong)x + step.K + 2 > captured)
                        return 0;
                    a = LoadHalf(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a == next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadHalfIndirectJumpGreaterK:
                {
                    if ((ulong)x + step.K + 2 > captured)
                        return 0;
                    a = LoadHalf(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a > next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadHalfIndirectJumpGreaterOrEqualK:
                {
                    if ((ulong)x + step.K + 2 > captured)
                        return 0;
                    a = LoadHalf(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a >= next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadHalfIndirectJumpAnyBitK:
                {
                    if ((ulong)x + step.K + 2 > captured)
                        return 0;
                    a = LoadHalf(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = (a & next.K) != 0 ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadByteIndirectJumpEqualK:
                {
                    if ((ulong)x + step.K >= captured)
                        return 0;
                    a = Unsafe.Add(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a == next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadByteIndirectJumpGreaterK:
                {
                    if ((ulong)x + step.K >= captured)
                        return 0;
                    a = Unsafe.Add(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a > next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadByteIndirectJumpGreaterOrEqualK:
                {
                    if ((ulong)x + step.K >= captured)
                        return 0;
                    a = Unsafe.Add(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = a >= next.K ? next.JumpTrue : next.JumpFalse;
                    continue;
                }
                case Operation.LoadByteIndirectJumpAnyBitK:
                {
                    if ((ulong)x + step.K >= captured)
                        return 0;
                    a = Unsafe.Add(ref bytes, x + step.K);
                    ref Step next = ref Unsafe.Add(ref step, 1);
                    pc = (a & next.K) != 0 ? next.JumpTrue : next.JumpFalse;
                    continue;
                }

                case Operation.LoadWordIndirect:
                    if ((ulong)x + step.K + 4 > captured)
                        return 0;
                    a = LoadWord(ref bytes, x + step.K);
                    pc++;
                    continue;
                case Operation.LoadHalfIndirect:
                    if ((ulong)x + step.K + 2 > captured)
                        return 0;
                    a = LoadHalf(ref bytes, x + step.K);
                    pc++;
                    continue;
                case Operation.LoadByteIndirect:
                    if ((ulong)x + step.K >= captured)
                        return 0;
                    a = Unsafe.Add(ref bytes, x + step.K);
                    pc++;
                    continue;
                case Operation.LoadHeaderLength:
                    if (step.K >= captured)
                        return 0;
                    x = (uint)(Unsafe.Add(ref bytes, step.K) & 0xf) << 2;
                    pc++;
                    continue;

                case Operation.LoadLength:
                    a = wireLength;
                    pc++;
                    continue;
                case Operation.LoadXLength:
                    x = wireLength;
                    pc++;
                    continue;
                case Operation.LoadImmediate:
                    a = step.K;
                    pc++;
                    continue;
                case Operation.LoadXImmediate:
                    x = step.K;
                    pc++;
                    continue;
                case Operation.LoadMemory:
                    a = memory[(int)step.K];
                    pc++;
                    continue;
                case Operation.LoadXMemory:
                    x = memory[(int)step.K];
                    pc++;
                    continue;
                case Operation.Store:
                    memory[(int)step.K] = a;
                    pc++;
                    continue;
                case Operation.StoreX:
                    memory[(int)step.K] = x;
                    pc++;
                    continue;

                case Operation.Jump:
                    pc = step.JumpTrue;
                    continue;
                case Operation.JumpGreaterK:
                    pc = a > step.K ? step.JumpTrue : step.JumpFalse;
                    continue;
                case Operation.JumpGreaterOrEqualK:
                    pc = a >= step.K ? step.JumpTrue : step.JumpFalse;
                    continue;
                case Operation.JumpEqualK:
                    pc = a == step.K ? step.JumpTrue : step.JumpFalse;
                    continue;
                case Operation.JumpAnyBitK:
                    pc = (a & step.K) != 0 ? step.JumpTrue : step.JumpFalse;
                    continue;
                case Operation.JumpGreaterX:
                    pc = a > x ? step.JumpTrue : step.JumpFalse;
                    continue;
                case Operation.JumpGreaterOrEqualX:
                    pc = a >= x ? step.JumpTrue : step.JumpFalse;
                    continue;
                case Operation.JumpEqualX:
                    pc = a == x ? step.JumpTrue : step.JumpFalse;
                    continue;
                case Operation.JumpAnyBitX:
                    pc = (a & x) != 0 ? step.JumpTrue : step.JumpFalse;
                    continue;

                case Operation.AddX:
                    a += x;
                    pc++;
                    continue;
                case Operation.SubtractX:
                    a -= x;
                    pc++;
                    continue;
                case Operation.MultiplyX:
                    a *= x;
                    pc++;
                    continue;
                case Operation.DivideX:
                    if (x == 0)
                        return 0;
                    a /= x;
                    pc++;
                    continue;
                case Operation.ModuloX:
                    if (x == 0)
                        return 0;
                    a %= x;
                    pc++;
                    continue;
                case Operation.AndX:
                    a &= x;
                    pc++;
                    continue;
                case Operation.OrX:
                    a |= x;
                    pc++;
                    continue;
                case Operation.XorX:
                    a ^= x;
                    pc++;
                    continue;
                case Operation.ShiftLeftX:
                    a = x < 32 ? a << (int)x : 0;
                    pc++;
                    continue;
                case Operation.ShiftRightX:
                    a = x < 32 ? a >> (int)x : 0;
                    pc++;
                    continue;

                case Operation.AddK:
                    a += step.K;
                    pc++;
                    continue;
                case Operation.SubtractK:
                    a -= step.K;
                    pc++;
                    continue;
                case Operation.MultiplyK:
                    a *= step.K;
                    pc++;
                    continue;
                case Operation.DivideK:
                    a /= step.K;
                    pc++;
                    continue;
                case Operation.ModuloK:
                    a %= step.K;
                    pc++;
                    continue;
                case Operation.AndK:
                    a &= step.K;
                    pc++;
                    continue;
                case Operation.OrK:
                    a |= step.K;
                    pc++;
                    continue;
                case Operation.XorK:
                    a ^= step.K;
                    pc++;
                    continue;
                case Operation.ShiftLeftK:
                    a <<= (int)step.K;
                    pc++;
                    continue;
                case Operation.ShiftRightK:
                    a >>= (int)step.K;
                    pc++;
                    continue;
                case Operation.Negate:
                    a = 0u - a;
                    pc++;
                    continue;

                case Operation.CopyAToX:
                    x = a;
                    pc++;
                    continue;
                case Operation.CopyXToA:
                    a = x;
                    pc++;
                    continue;

                default:
                    return ThrowUnknownOpcode(pc, (ushort)step.K);
            }
        }
    }

    private static Step[] Decode(ReadOnlySpan<CbpfInstruction> program)
    {
        var steps = new Step[program.Length];
        for (int i = 0; i < program.Length; i++)
        {
            CbpfInstruction insn = program[i];
            uint k = insn.K;
            ref Step step = ref steps[i];
            step.K = k;
            step.JumpTrue = i + 1 + insn.Jt;
            step.JumpFalse = i + 1 + insn.Jf;
            step.Operation = insn.Code switch
            {
                Cbpf.Ret | Cbpf.K => Operation.ReturnK,
                Cbpf.Ret | Cbpf.A => Operation.ReturnA,
                Cbpf.Ld | Cbpf.W | Cbpf.Abs => Absolute(ref step, Operation.LoadWordAbsolute, 4),
                Cbpf.Ld | Cbpf.H | Cbpf.Abs => Absolute(ref step, Operation.LoadHalfAbsolute, 2),
                Cbpf.Ld | Cbpf.B | Cbpf.Abs => Absolute(ref step, Operation.LoadByteAbsolute, 1),
                Cbpf.Ld | Cbpf.W | Cbpf.Ind => Operation.LoadWordIndirect,
                Cbpf.Ld | Cbpf.H | Cbpf.Ind => Operation.LoadHalfIndirect,
                Cbpf.Ld | Cbpf.B | Cbpf.Ind => Operation.LoadByteIndirect,
                Cbpf.Ldx | Cbpf.Msh | Cbpf.B => Operation.LoadHeaderLength,
                Cbpf.Ld | Cbpf.W | Cbpf.Len => Operation.LoadLength,
                Cbpf.Ldx | Cbpf.W | Cbpf.Len => Operation.LoadXLength,
                Cbpf.Ld | Cbpf.Imm => Operation.LoadImmediate,
                Cbpf.Ldx | Cbpf.Imm => Operation.LoadXImmediate,
                Cbpf.Ld | Cbpf.Mem => Operation.LoadMemory,
                Cbpf.Ldx | Cbpf.Mem => Operation.LoadXMemory,
                Cbpf.St => Operation.Store,
                Cbpf.Stx => Operation.StoreX,
                Cbpf.Jmp | Cbpf.Ja => Goto(ref step, unchecked((int)((uint)i + 1 + k))),
                Cbpf.Jmp | Cbpf.Jgt | Cbpf.K => Conditional(ref step, Operation.JumpGreaterK),
                Cbpf.Jmp | Cbpf.Jge | Cbpf.K => Conditional(ref step, Operation.JumpGreaterOrEqualK),
                Cbpf.Jmp | Cbpf.Jeq | Cbpf.K => Conditional(ref step, Operation.JumpEqualK),
                Cbpf.Jmp | Cbpf.Jset | Cbpf.K => Conditional(ref step, Operation.JumpAnyBitK),
                Cbpf.Jmp | Cbpf.Jgt | Cbpf.X => Conditional(ref step, Operation.JumpGreaterX),
                Cbpf.Jmp | Cbpf.Jge | Cbpf.X => Conditional(ref step, Operation.JumpGreaterOrEqualX),
                Cbpf.Jmp | Cbpf.Jeq | Cbpf.X => Conditional(ref step, Operation.JumpEqualX),
                Cbpf.Jmp | Cbpf.Jset | Cbpf.X => Conditional(ref step, Operation.JumpAnyBitX),
                Cbpf.Alu | Cbpf.Add | Cbpf.X => Operation.AddX,
                Cbpf.Alu | Cbpf.Sub | Cbpf.X => Operation.SubtractX,
                Cbpf.Alu | Cbpf.Mul | Cbpf.X => Operation.MultiplyX,
                Cbpf.Alu | Cbpf.Div | Cbpf.X => Operation.DivideX,
                Cbpf.Alu | Cbpf.Mod | Cbpf.X => Operation.ModuloX,
                Cbpf.Alu | Cbpf.And | Cbpf.X => Operation.AndX,
                Cbpf.Alu | Cbpf.Or | Cbpf.X => Operation.OrX,
                Cbpf.Alu | Cbpf.Xor | Cbpf.X => Operation.XorX,
                Cbpf.Alu | Cbpf.Lsh | Cbpf.X => Operation.ShiftLeftX,
                Cbpf.Alu | Cbpf.Rsh | Cbpf.X => Operation.ShiftRightX,
                Cbpf.Alu | Cbpf.Add | Cbpf.K => Operation.AddK,
                Cbpf.Alu | Cbpf.Sub | Cbpf.K => Operation.SubtractK,
                Cbpf.Alu | Cbpf.Mul | Cbpf.K => Operation.MultiplyK,
                Cbpf.Alu | Cbpf.Div | Cbpf.K => Operation.DivideK,
                Cbpf.Alu | Cbpf.Mod | Cbpf.K => Operation.ModuloK,
                Cbpf.Alu | Cbpf.And | Cbpf.K => Operation.AndK,
                Cbpf.Alu | Cbpf.Or | Cbpf.K => Operation.OrK,
                Cbpf.Alu | Cbpf.Xor | Cbpf.K => Operation.XorK,
                Cbpf.Alu | Cbpf.Lsh | Cbpf.K => Shift(ref step, Operation.ShiftLeftK),
                Cbpf.Alu | Cbpf.Rsh | Cbpf.K => Shift(ref step, Operation.ShiftRightK),
                Cbpf.Alu | Cbpf.Neg => Operation.Negate,
                Cbpf.Misc | Cbpf.Tax => Operation.CopyAToX,
                Cbpf.Misc | Cbpf.Txa => Operation.CopyXToA,
                _ => Unknown(ref step, insn.Code),
            };
        }

        // Fuse each packet load with a conditional jump on a constant right after it, the commonest
        // pair in libpcap's code ("ldh [12]; jeq #0x800"): one dispatch instead of two. The fused step
        // reads the jump's operand and targets from the next step, which stays intact for the
        // instructions that jump straight to it.
        for (int i = 0; i + 1 < steps.Length; i++)
            steps[i].Operation = Fuse(steps[i].Operation, steps[i + 1].Operation);
        return steps;
    }

    private static Operation Fuse(Operation load, Operation jump) => (load, jump) switch
    {
        (Operation.LoadWordAbsolute, Operation.JumpEqualK) => Operation.LoadWordAbsoluteJumpEqualK,
        (Operation.LoadWordAbsolute, Operation.JumpGreaterK) => Operation.LoadWordAbsoluteJumpGreaterK,
        (Operation.LoadWordAbsolute, Operation.JumpGreaterOrEqualK) => Operation.LoadWordAbsoluteJumpGreaterOrEqualK,
        (Operation.LoadWordAbsolute, Operation.JumpAnyBitK) => Operation.LoadWordAbsoluteJumpAnyBitK,
        (Operation.LoadHalfAbsolute, Operation.JumpEqualK) => Operation.LoadHalfAbsoluteJumpEqualK,
        (Operation.LoadHalfAbsolute, Operation.JumpGreaterK) => Operation.LoadHalfAbsoluteJumpGreaterK,
        (Operation.LoadHalfAbsolute, Operation.JumpGreaterOrEqualK) => Operation.LoadHalfAbsoluteJumpGreaterOrEqualK,
        (Operation.LoadHalfAbsolute, Operation.JumpAnyBitK) => Operation.LoadHalfAbsoluteJumpAnyBitK,
        (Operation.LoadByteAbsolute, Operation.JumpEqualK) => Operation.LoadByteAbsoluteJumpEqualK,
        (Operation.LoadByteAbsolute, Operation.JumpGreaterK) => Operation.LoadByteAbsoluteJumpGreaterK,
        (Operation.LoadByteAbsolute, Operation.JumpGreaterOrEqualK) => Operation.LoadByteAbsoluteJumpGreaterOrEqualK,
        (Operation.LoadByteAbsolute, Operation.JumpAnyBitK) => Operation.LoadByteAbsoluteJumpAnyBitK,
        (Operation.LoadWordIndirect, Operation.JumpEqualK) => Operation.LoadWordIndirectJumpEqualK,
        (Operation.LoadWordIndirect, Operation.JumpGreaterK) => Operation.LoadWordIndirectJumpGreaterK,
        (Operation.LoadWordIndirect, Operation.JumpGreaterOrEqualK) => Operation.LoadWordIndirectJumpGreaterOrEqualK,
        (Operation.LoadWordIndirect, Operation.JumpAnyBitK) => Operation.LoadWordIndirectJumpAnyBitK,
        (Operation.LoadHalfIndirect, Operation.JumpEqualK) => Operation.LoadHalfIndirectJumpEqualK,
        (Operation.LoadHalfIndirect, Operation.JumpGreaterK) => Operation.LoadHalfIndirectJumpGreaterK,
        (Operation.LoadHalfIndirect, Operation.JumpGreaterOrEqualK) => Operation.LoadHalfIndirectJumpGreaterOrEqualK,
        (Operation.LoadHalfIndirect, Operation.JumpAnyBitK) => Operation.LoadHalfIndirectJumpAnyBitK,
        (Operation.LoadByteIndirect, Operation.JumpEqualK) => Operation.LoadByteIndirectJumpEqualK,
        (Operation.LoadByteIndirect, Operation.JumpGreaterK) => Operation.LoadByteIndirectJumpGreaterK,
        (Operation.LoadByteIndirect, Operation.JumpGreaterOrEqualK) => Operation.LoadByteIndirectJumpGreaterOrEqualK,
        (Operation.LoadByteIndirect, Operation.JumpAnyBitK) => Operation.LoadByteIndirectJumpAnyBitK,
        _ => load,
    };

    private static Operation Absolute(ref Step step, Operation load, uint size)
    {
        // An offset whose end passes 2^32 can never be inside a packet.
        if (step.K > uint.MaxValue - size)
            return Operation.Reject;
        step.End = step.K + size;
        return load;
    }

    private static Operation Goto(ref Step step, int target)
    {
        step.JumpTrue = target;
        return Operation.Jump;
    }

    private static Operation Conditional(ref Step step, Operation compare)
        // Both branches to the same place: the comparison has no effect.
        => step.JumpTrue == step.JumpFalse ? Operation.Jump : compare;

    private static Operation Shift(ref Step step, Operation shift)
    {
        // libpcap's constant shifts use the count's low five bits (x86-64 behaviour).
        step.K &= 31;
        return shift;
    }

    private static Operation Unknown(ref Step step, ushort code)
    {
        step.K = code;
        return Operation.Unknown;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint LoadWord(ref byte bytes, uint offset)
    {
        uint raw = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref bytes, offset));
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(raw) : raw;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint LoadHalf(ref byte bytes, uint offset)
    {
        ushort raw = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref bytes, offset));
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(raw) : raw;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint ThrowUnknownOpcode(int index, ushort code) => throw new CbpfUnknownOpcodeException(index, code);

    private enum Operation : byte
    {
        Unknown,
        ReturnK,
        ReturnA,
        Reject,
        LoadWordAbsolute,
        LoadHalfAbsolute,
        LoadByteAbsolute,
        LoadWordIndirect,
        LoadHalfIndirect,
        LoadByteIndirect,
        LoadHeaderLength,
        LoadLength,
        LoadXLength,
        LoadImmediate,
        LoadXImmediate,
        LoadMemory,
        LoadXMemory,
        Store,
        StoreX,
        Jump,
        JumpGreaterK,
        JumpGreaterOrEqualK,
        JumpEqualK,
        JumpAnyBitK,
        JumpGreaterX,
        JumpGreaterOrEqualX,
        JumpEqualX,
        JumpAnyBitX,
        AddX,
        SubtractX,
        MultiplyX,
        DivideX,
        ModuloX,
        AndX,
        OrX,
        XorX,
        ShiftLeftX,
        ShiftRightX,
        AddK,
        SubtractK,
        MultiplyK,
        DivideK,
        ModuloK,
        AndK,
        OrK,
        XorK,
        ShiftLeftK,
        ShiftRightK,
        Negate,
        CopyAToX,
        CopyXToA,
        // A load fused with the conditional jump that follows it.
        LoadWordAbsoluteJumpEqualK,
        LoadWordAbsoluteJumpGreaterK,
        LoadWordAbsoluteJumpGreaterOrEqualK,
        LoadWordAbsoluteJumpAnyBitK,
        LoadHalfAbsoluteJumpEqualK,
        LoadHalfAbsoluteJumpGreaterK,
        LoadHalfAbsoluteJumpGreaterOrEqualK,
        LoadHalfAbsoluteJumpAnyBitK,
        LoadByteAbsoluteJumpEqualK,
        LoadByteAbsoluteJumpGreaterK,
        LoadByteAbsoluteJumpGreaterOrEqualK,
        LoadByteAbsoluteJumpAnyBitK,
        LoadWordIndirectJumpEqualK,
        LoadWordIndirectJumpGreaterK,
        LoadWordIndirectJumpGreaterOrEqualK,
        LoadWordIndirectJumpAnyBitK,
        LoadHalfIndirectJumpEqualK,
        LoadHalfIndirectJumpGreaterK,
        LoadHalfIndirectJumpGreaterOrEqualK,
        LoadHalfIndirectJumpAnyBitK,
        LoadByteIndirectJumpEqualK,
        LoadByteIndirectJumpGreaterK,
        LoadByteIndirectJumpGreaterOrEqualK,
        LoadByteIndirectJumpAnyBitK,
    }

    /// <summary>One decoded instruction, 16 bytes.</summary>
    [StructLayout(LayoutKind.Explicit)]
    private struct Step
    {
        [FieldOffset(0)] public Operation Operation;
        /// <summary>The operand; for an unknown opcode, the opcode.</summary>
        [FieldOffset(4)] public uint K;
        /// <summary>Absolute index of the next step when the condition holds (or of ja's target).</summary>
        [FieldOffset(8)] public int JumpTrue;
        /// <summary>Absolute index of the next step when the condition fails.</summary>
        [FieldOffset(12)] public int JumpFalse;
        /// <summary>Absolute loads: K plus the load's size, the captured length the load needs.</summary>
        [FieldOffset(8)] public uint End;
    }

    [InlineArray(Cbpf.MemWords)]
    private struct Scratch
    {
        private uint _word;
    }
}
