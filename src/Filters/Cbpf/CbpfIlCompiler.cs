using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;

namespace KdtCapture.Filters.Cbpf;

/// <summary>
/// A cBPF program compiled to a .NET method: <paramref name="packet"/> is a reference to the first
/// captured byte (any reference when <paramref name="capturedLength"/> is 0).
/// </summary>
/// <returns>What the program's ret returns.</returns>
public delegate uint CbpfCompiledFilter(ref byte packet, uint capturedLength, uint wireLength);

/// <summary>
/// Compiles cBPF to IL in a <see cref="DynamicMethod"/>, which the JIT turns into machine code:
/// A, X and the scratch words become locals, jumps become branches, every packet load keeps the
/// bounds check of <see cref="CbpfInterpreter"/>. Only for runtimes that compile dynamic code
/// (<see cref="RuntimeFeature.IsDynamicCodeCompiled"/>); Native AOT uses <see cref="CbpfFastInterpreter"/>.
/// </summary>
public static class CbpfIlCompiler
{
    private const string DynamicCodeReason = "Compiles cBPF to IL at run time; check RuntimeFeature.IsDynamicCodeCompiled or use CbpfFastInterpreter.";

    private static readonly MethodInfo ReverseWord =
        typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(uint)])!;
    private static readonly MethodInfo ReverseHalf =
        typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ushort)])!;
    private static readonly MethodInfo UnknownOpcode =
        typeof(CbpfIlCompiler).GetMethod(nameof(ThrowUnknownOpcode), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Compiles a program that passes <see cref="CbpfValidator.Validate"/>.</summary>
    /// <exception cref="CbpfProgramException">The program is invalid.</exception>
    [RequiresDynamicCode(DynamicCodeReason)]
    public static CbpfCompiledFilter Compile(ReadOnlySpan<CbpfInstruction> program)
    {
        CbpfValidationResult validation = CbpfValidator.Validate(program);
        if (!validation.IsValid)
            throw new CbpfProgramException(validation);

        // The first parameter is a dummy the delegate is closed over: invoking a closed delegate
        // skips the argument-shuffling thunk an open static one goes through.
        var method = new DynamicMethod("cbpf_filter", typeof(uint), [typeof(object), typeof(byte).MakeByRefType(), typeof(uint), typeof(uint)],
            typeof(CbpfIlCompiler).Module, skipVisibility: true);
        new Emitter(method.GetILGenerator(), program).Emit();
        return method.CreateDelegate<CbpfCompiledFilter>(ClosureTarget);
    }

    private static readonly object ClosureTarget = new();

    private static uint ThrowUnknownOpcode(int index, int code) => throw new CbpfUnknownOpcodeException(index, (ushort)code);

    private sealed class Emitter
    {
        private const short PacketArgument = 1;
        private const short CapturedArgument = 2;
        private const short WireArgument = 3;

        private readonly ILGenerator _il;
        private readonly CbpfInstruction[] _program;
        private readonly Label[] _labels;
        private readonly Label _reject;
        private readonly LocalBuilder _a;
        private readonly LocalBuilder _x;
        private readonly LocalBuilder?[] _memory = new LocalBuilder?[Cbpf.MemWords];

        public Emitter(ILGenerator il, ReadOnlySpan<CbpfInstruction> program)
        {
            _il = il;
            _program = program.ToArray();
            _labels = new Label[program.Length];
            for (int i = 0; i < _labels.Length; i++)
                _labels[i] = il.DefineLabel();
            _reject = il.DefineLabel();
            _a = il.DeclareLocal(typeof(uint));
            _x = il.DeclareLocal(typeof(uint));
        }

        public void Emit()
        {
            // Locals start zeroed (DynamicMethod sets localsinit), as A, X and memory must.
            for (int i = 0; i < _program.Length; i++)
            {
                _il.MarkLabel(_labels[i]);
                EmitInstruction(i, _program[i]);
            }
            _il.MarkLabel(_reject);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Ret);
        }

        private void EmitInstruction(int index, CbpfInstruction insn)
        {
            uint k = insn.K;
            switch (insn.Code)
            {
                case Cbpf.Ret | Cbpf.K:
                    LoadConstant(k);
                    _il.Emit(OpCodes.Ret);
                    break;
                case Cbpf.Ret | Cbpf.A:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Ret);
                    break;

                case Cbpf.Ld | Cbpf.W | Cbpf.Abs:
                    LoadAbsolute(k, 4);
                    break;
                case Cbpf.Ld | Cbpf.H | Cbpf.Abs:
                    LoadAbsolute(k, 2);
                    break;
                case Cbpf.Ld | Cbpf.B | Cbpf.Abs:
                    LoadAbsolute(k, 1);
                    break;
                case Cbpf.Ld | Cbpf.W | Cbpf.Ind:
                    LoadIndirect(k, 4);
                    break;
                case Cbpf.Ld | Cbpf.H | Cbpf.Ind:
                    LoadIndirect(k, 2);
                    break;
                case Cbpf.Ld | Cbpf.B | Cbpf.Ind:
                    LoadIndirect(k, 1);
                    break;
                case Cbpf.Ldx | Cbpf.Msh | Cbpf.B:
                    // x = (p[k] & 0xf) << 2
                    if (!RejectUnlessCaptured(k, 1))
                        break;
                    LoadPacketAddress(k);
                    _il.Emit(OpCodes.Ldind_U1);
                    LoadConstant(0xf);
                    _il.Emit(OpCodes.And);
                    _il.Emit(OpCodes.Ldc_I4_2);
                    _il.Emit(OpCodes.Shl);
                    _il.Emit(OpCodes.Stloc, _x);
                    break;

                case Cbpf.Ld | Cbpf.W | Cbpf.Len:
                    _il.Emit(OpCodes.Ldarg, WireArgument);
                    _il.Emit(OpCodes.Stloc, _a);
                    break;
                case Cbpf.Ldx | Cbpf.W | Cbpf.Len:
                    _il.Emit(OpCodes.Ldarg, WireArgument);
                    _il.Emit(OpCodes.Stloc, _x);
                    break;
                case Cbpf.Ld | Cbpf.Imm:
                    LoadConstant(k);
                    _il.Emit(OpCodes.Stloc, _a);
                    break;
                case Cbpf.Ldx | Cbpf.Imm:
                    LoadConstant(k);
                    _il.Emit(OpCodes.Stloc, _x);
                    break;
                case Cbpf.Ld | Cbpf.Mem:
                    _il.Emit(OpCodes.Ldloc, Memory(k));
                    _il.Emit(OpCodes.Stloc, _a);
                    break;
                case Cbpf.Ldx | Cbpf.Mem:
                    _il.Emit(OpCodes.Ldloc, Memory(k));
                    _il.Emit(OpCodes.Stloc, _x);
                    break;
                case Cbpf.St:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Stloc, Memory(k));
                    break;
                case Cbpf.Stx:
                    _il.Emit(OpCodes.Ldloc, _x);
                    _il.Emit(OpCodes.Stloc, Memory(k));
                    break;

                case Cbpf.Jmp | Cbpf.Ja:
                    _il.Emit(OpCodes.Br, _labels[unchecked((int)((uint)index + 1 + k))]);
                    break;
                case Cbpf.Jmp | Cbpf.Jgt | Cbpf.K:
                    Compare(index, insn, OpCodes.Bgt_Un, OpCodes.Ble_Un, constant: true);
                    break;
                case Cbpf.Jmp | Cbpf.Jge | Cbpf.K:
                    Compare(index, insn, OpCodes.Bge_Un, OpCodes.Blt_Un, constant: true);
                    break;
                case Cbpf.Jmp | Cbpf.Jeq | Cbpf.K:
                    Compare(index, insn, OpCodes.Beq, OpCodes.Bne_Un, constant: true);
                    break;
                case Cbpf.Jmp | Cbpf.Jset | Cbpf.K:
                    TestBits(index, insn, constant: true);
                    break;
                case Cbpf.Jmp | Cbpf.Jgt | Cbpf.X:
                    Compare(index, insn, OpCodes.Bgt_Un, OpCodes.Ble_Un, constant: false);
                    break;
                case Cbpf.Jmp | Cbpf.Jge | Cbpf.X:
                    Compare(index, insn, OpCodes.Bge_Un, OpCodes.Blt_Un, constant: false);
                    break;
                case Cbpf.Jmp | Cbpf.Jeq | Cbpf.X:
                    Compare(index, insn, OpCodes.Beq, OpCodes.Bne_Un, constant: false);
                    break;
                case Cbpf.Jmp | Cbpf.Jset | Cbpf.X:
                    TestBits(index, insn, constant: false);
                    break;

                case Cbpf.Alu | Cbpf.Add | Cbpf.X: Arithmetic(OpCodes.Add, null); break;
                case Cbpf.Alu | Cbpf.Sub | Cbpf.X: Arithmetic(OpCodes.Sub, null); break;
                case Cbpf.Alu | Cbpf.Mul | Cbpf.X: Arithmetic(OpCodes.Mul, null); break;
                case Cbpf.Alu | Cbpf.And | Cbpf.X: Arithmetic(OpCodes.And, null); break;
                case Cbpf.Alu | Cbpf.Or | Cbpf.X: Arithmetic(OpCodes.Or, null); break;
                case Cbpf.Alu | Cbpf.Xor | Cbpf.X: Arithmetic(OpCodes.Xor, null); break;
                case Cbpf.Alu | Cbpf.Div | Cbpf.X:
                    _il.Emit(OpCodes.Ldloc, _x);
                    _il.Emit(OpCodes.Brfalse, _reject);
                    Arithmetic(OpCodes.Div_Un, null);
                    break;
                case Cbpf.Alu | Cbpf.Mod | Cbpf.X:
                    _il.Emit(OpCodes.Ldloc, _x);
                    _il.Emit(OpCodes.Brfalse, _reject);
                    Arithmetic(OpCodes.Rem_Un, null);
                    break;
                case Cbpf.Alu | Cbpf.Lsh | Cbpf.X:
                    ShiftByX(OpCodes.Shl);
                    break;
                case Cbpf.Alu | Cbpf.Rsh | Cbpf.X:
                    ShiftByX(OpCodes.Shr_Un);
                    break;

                case Cbpf.Alu | Cbpf.Add | Cbpf.K: Arithmetic(OpCodes.Add, k); break;
                case Cbpf.Alu | Cbpf.Sub | Cbpf.K: Arithmetic(OpCodes.Sub, k); break;
                case Cbpf.Alu | Cbpf.Mul | Cbpf.K: Arithmetic(OpCodes.Mul, k); break;
                // Validation has refused a constant divisor of zero.
                case Cbpf.Alu | Cbpf.Div | Cbpf.K: Arithmetic(OpCodes.Div_Un, k); break;
                case Cbpf.Alu | Cbpf.Mod | Cbpf.K: Arithmetic(OpCodes.Rem_Un, k); break;
                case Cbpf.Alu | Cbpf.And | Cbpf.K: Arithmetic(OpCodes.And, k); break;
                case Cbpf.Alu | Cbpf.Or | Cbpf.K: Arithmetic(OpCodes.Or, k); break;
                case Cbpf.Alu | Cbpf.Xor | Cbpf.K: Arithmetic(OpCodes.Xor, k); break;
                // IL leaves shifts by 32 or more unspecified; libpcap on x86-64 uses the low five bits.
                case Cbpf.Alu | Cbpf.Lsh | Cbpf.K: Arithmetic(OpCodes.Shl, k & 31); break;
                case Cbpf.Alu | Cbpf.Rsh | Cbpf.K: Arithmetic(OpCodes.Shr_Un, k & 31); break;
                case Cbpf.Alu | Cbpf.Neg:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Neg);
                    _il.Emit(OpCodes.Stloc, _a);
                    break;

                case Cbpf.Misc | Cbpf.Tax:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Stloc, _x);
                    break;
                case Cbpf.Misc | Cbpf.Txa:
                    _il.Emit(OpCodes.Ldloc, _x);
                    _il.Emit(OpCodes.Stloc, _a);
                    break;

                default:
                    // bpf_filter aborts here; throw when a packet reaches it.
                    LoadConstant((uint)index);
                    LoadConstant(insn.Code);
                    _il.Emit(OpCodes.Call, UnknownOpcode);
                    _il.Emit(OpCodes.Ret);
                    break;
            }
        }

        private LocalBuilder Memory(uint k) => _memory[k] ??= _il.DeclareLocal(typeof(uint));

        private void LoadConstant(uint value) => _il.Emit(OpCodes.Ldc_I4, unchecked((int)value));

        /// <summary>
        /// Branches to reject unless bytes [k, k + size) are captured; false when they never can be
        /// (the end passes 2^32), so the load is not emitted at all.
        /// </summary>
        private bool RejectUnlessCaptured(uint k, uint size)
        {
            if (k > uint.MaxValue - size)
            {
                _il.Emit(OpCodes.Br, _reject);
                return false;
            }
            _il.Emit(OpCodes.Ldarg, CapturedArgument);
            LoadConstant(k + size);
            _il.Emit(OpCodes.Blt_Un, _reject);
            return true;
        }

        private void LoadPacketAddress(uint offset)
        {
            _il.Emit(OpCodes.Ldarg, PacketArgument);
            LoadConstant(offset);
            _il.Emit(OpCodes.Conv_U);
            _il.Emit(OpCodes.Add);
        }

        private void LoadAbsolute(uint k, uint size)
        {
            if (!RejectUnlessCaptured(k, size))
                return;
            LoadPacketAddress(k);
            LoadBigEndian(size);
            _il.Emit(OpCodes.Stloc, _a);
        }

        private void LoadIndirect(uint k, uint size)
        {
            // (ulong)X + k + size > captured: no 32-bit wrap-around can bring a far offset back into range.
            _il.Emit(OpCodes.Ldloc, _x);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ldc_I8, (long)k + size);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Ldarg, CapturedArgument);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Bgt_Un, _reject);

            _il.Emit(OpCodes.Ldarg, PacketArgument);
            _il.Emit(OpCodes.Ldloc, _x);
            LoadConstant(k);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Conv_U);
            _il.Emit(OpCodes.Add);
            LoadBigEndian(size);
            _il.Emit(OpCodes.Stloc, _a);
        }

        private void LoadBigEndian(uint size)
        {
            switch (size)
            {
                case 4:
                    _il.Emit(OpCodes.Unaligned, (byte)1);
                    _il.Emit(OpCodes.Ldind_U4);
                    if (BitConverter.IsLittleEndian)
                        _il.Emit(OpCodes.Call, ReverseWord);
                    break;
                case 2:
                    _il.Emit(OpCodes.Unaligned, (byte)1);
                    _il.Emit(OpCodes.Ldind_U2);
                    if (BitConverter.IsLittleEndian)
                        _il.Emit(OpCodes.Call, ReverseHalf);
                    break;
                default:
                    _il.Emit(OpCodes.Ldind_U1);
                    break;
            }
        }

        /// <summary>A = A op (k, or X when k is null).</summary>
        private void Arithmetic(OpCode operation, uint? k)
        {
            _il.Emit(OpCodes.Ldloc, _a);
            if (k is { } constant)
                LoadConstant(constant);
            else
                _il.Emit(OpCodes.Ldloc, _x);
            _il.Emit(operation);
            _il.Emit(OpCodes.Stloc, _a);
        }

        private void ShiftByX(OpCode shift)
        {
            // A = X < 32 ? A shift X : 0
            Label inRange = _il.DefineLabel();
            Label done = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _x);
            _il.Emit(OpCodes.Ldc_I4_S, (sbyte)32);
            _il.Emit(OpCodes.Blt_Un, inRange);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Stloc, _a);
            _il.Emit(OpCodes.Br, done);
            _il.MarkLabel(inRange);
            Arithmetic(shift, null);
            _il.MarkLabel(done);
        }

        private void Compare(int index, CbpfInstruction insn, OpCode branchIfTrue, OpCode branchIfFalse, bool constant)
        {
            if (insn.Jt == insn.Jf)
            {
                Goto(index, insn.Jt);
                return;
            }
            _il.Emit(OpCodes.Ldloc, _a);
            if (constant)
                LoadConstant(insn.K);
            else
                _il.Emit(OpCodes.Ldloc, _x);
            Branch(index, insn, branchIfTrue, branchIfFalse);
        }

        private void TestBits(int index, CbpfInstruction insn, bool constant)
        {
            if (insn.Jt == insn.Jf)
            {
                Goto(index, insn.Jt);
                return;
            }
            _il.Emit(OpCodes.Ldloc, _a);
            if (constant)
                LoadConstant(insn.K);
            else
                _il.Emit(OpCodes.Ldloc, _x);
            _il.Emit(OpCodes.And);
            Branch(index, insn, OpCodes.Brtrue, OpCodes.Brfalse);
        }

        /// <summary>Consumes the operands of the branch; falls through where a target is the next instruction.</summary>
        private void Branch(int index, CbpfInstruction insn, OpCode branchIfTrue, OpCode branchIfFalse)
        {
            if (insn.Jt == 0)
            {
                _il.Emit(branchIfFalse, _labels[index + 1 + insn.Jf]);
            }
            else
            {
                _il.Emit(branchIfTrue, _labels[index + 1 + insn.Jt]);
                if (insn.Jf != 0)
                    _il.Emit(OpCodes.Br, _labels[index + 1 + insn.Jf]);
            }
        }

        private void Goto(int index, byte offset)
        {
            if (offset != 0)
                _il.Emit(OpCodes.Br, _labels[index + 1 + offset]);
        }
    }
}
