using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using KdtCapture.Filters.Cbpf;
using static KdtCapture.Filters.Ebpf.Ebpf;

namespace KdtCapture.Filters.Ebpf;

/// <summary>
/// Translates a classic BPF filter into an eBPF function that a tap program calls as a subprogram
/// on a frame in kernel memory (calling convention on <see cref="EbpfFilterProgram"/>), keeping the
/// semantics of libpcap's bpf_filter (<see cref="CbpfInterpreter"/>): a load past the available
/// bytes and a division or modulo by an X of zero return 0; shifts by an X of 32 or more give 0;
/// scratch memory starts zeroed.
/// <para>
/// Registers: R6 the frame's address, R7 the available length, R8 the accumulator A, R9 the index
/// X (R6–R9 survive helper calls; A and X are kept as 32-bit values with the upper half zero).
/// R1–R5 and R0 are scratch. The stack holds the load buffer, the wire length, M[0..15] and the
/// prefix copy, each only when the program needs it.
/// </para>
/// <para>
/// What the verifier must see: every jump goes forward (cBPF back edges are refused), no
/// instruction is unreachable (unreachable cBPF code is left out), every register and stack slot
/// is written before it is read, the size given to bpf_probe_read_kernel is a constant or bounded
/// by a compare with a constant, and an offset added to the frame's address is bounded by
/// compares with constants (below <see cref="MaxFrameBytes"/>), so a frame address the verifier
/// tracks as a pointer is accepted as well as a plain scalar.
/// </para>
/// </summary>
public static class EbpfTranslator
{
    /// <summary>
    /// Loads that end past this offset make the filter return 0 even on a frame that long; the bound
    /// lets the verifier accept the offset arithmetic. Linear skb data never comes near it.
    /// </summary>
    public const uint MaxFrameBytes = 1u << 24;

    private const byte FrameRegister = R6;
    private const byte AvailableRegister = R7;
    private const byte ARegister = R8;
    private const byte XRegister = R9;

    /// <inheritdoc cref="Translate(ReadOnlySpan{CbpfInstruction}, EbpfTranslationOptions?)"/>
    public static EbpfFilterProgram Translate(CbpfProgram program, EbpfTranslationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Translate(program.Instructions, options);
    }

    /// <summary>Translates <paramref name="program"/>.</summary>
    /// <exception cref="EbpfTranslationException">The program cannot run in the kernel this way; <see cref="EbpfTranslationException.Failure"/> says why.</exception>
    public static EbpfFilterProgram Translate(ReadOnlySpan<CbpfInstruction> program, EbpfTranslationOptions? options = null)
    {
        options ??= EbpfTranslationOptions.Default;
        if (options.PrefixBytes is < 0 or > EbpfTranslationOptions.MaxPrefixBytes)
            throw new ArgumentOutOfRangeException(nameof(options), $"PrefixBytes must be 0 to {EbpfTranslationOptions.MaxPrefixBytes}");
        if (options.MaxInstructions is < 2 or > MaxJumpReach)
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxInstructions must be 2 to {MaxJumpReach}");

        var validation = CbpfValidator.ValidateForExecution(program);
        if (!validation.IsValid)
            throw new EbpfTranslationException(EbpfTranslationFailure.InvalidProgram, validation.InstructionIndex, "invalid cBPF program: " + validation.Reason);

        var translation = new Translation(program, options);
        translation.Analyze();
        return translation.Emit();
    }

    /// <summary>Translates <paramref name="program"/>, or says why it cannot be.</summary>
    public static bool TryTranslate(ReadOnlySpan<CbpfInstruction> program, EbpfTranslationOptions? options,
        [NotNullWhen(true)] out EbpfFilterProgram? translated, [NotNullWhen(false)] out EbpfTranslationException? failure)
    {
        try
        {
            translated = Translate(program, options);
            failure = null;
            return true;
        }
        catch (EbpfTranslationException e)
        {
            translated = null;
            failure = e;
            return false;
        }
    }

    /// <summary>Bytes a cBPF load reads (W, H, B).</summary>
    private static uint LoadSize(int code) => Cbpf.Cbpf.Size(code) switch
    {
        Cbpf.Cbpf.W => 4,
        Cbpf.Cbpf.H => 2,
        _ => 1,
    };

    private static bool IsPacketLoad(int code, out bool indirect)
    {
        int cls = Cbpf.Cbpf.Class(code), mode = Cbpf.Cbpf.Mode(code);
        indirect = mode == Cbpf.Cbpf.Ind;
        return (cls == Cbpf.Cbpf.Ld && (mode == Cbpf.Cbpf.Abs || mode == Cbpf.Cbpf.Ind))
            || (cls == Cbpf.Cbpf.Ldx && mode == Cbpf.Cbpf.Msh);
    }

    /// <summary>One translation: the analysis of the cBPF program, then the emission.</summary>
    private sealed class Translation
    {
        private const int RejectTarget = -1;
        private const int BeyondAvailableTarget = -2;

        private readonly CbpfInstruction[] _program;
        private readonly EbpfTranslationOptions _options;
        private readonly bool[] _reachable;
        private readonly bool[] _memoryRead = new bool[Cbpf.Cbpf.MemWords];
        private readonly List<EbpfInstruction> _code = [];
        private readonly List<(int At, int Target)> _fixups = [];
        private bool _readsFrame, _readsWireLength, _usesMemory, _needsLoadSlot, _needsWireSlot;
        private uint _prefixEnd;
        private int _loadSlot, _wireSlot, _memoryBase, _prefixBase, _stackBytes, _helperCalls;

        public Translation(ReadOnlySpan<CbpfInstruction> program, EbpfTranslationOptions options)
        {
            _program = program.ToArray();
            _options = options;
            _reachable = new bool[program.Length];
        }

        /// <summary>Which instructions run, what they use, and where the stack slots go.</summary>
        public void Analyze()
        {
            _reachable[0] = true;
            for (int pc = 0; pc < _program.Length; pc++)
            {
                if (!_reachable[pc])
                    continue;
                CbpfInstruction insn = _program[pc];
                int code = insn.Code;
                switch (Cbpf.Cbpf.Class(code))
                {
                    case Cbpf.Cbpf.Ret:
                        continue;
                    case Cbpf.Cbpf.Jmp:
                        if (Cbpf.Cbpf.Op(code) == Cbpf.Cbpf.Ja)
                        {
                            uint target = unchecked((uint)pc + 1 + insn.K);
                            if (target <= (uint)pc)
                            {
                                throw new EbpfTranslationException(EbpfTranslationFailure.BackwardJump, pc, string.Create(CultureInfo.InvariantCulture,
                                    $"instruction {pc} jumps back to {target} (a loop, as protochain compiles); the kernel's verifier cannot bound it, so this filter runs in user space"));
                            }
                            _reachable[target] = true;
                        }
                        else
                        {
                            _reachable[pc + 1 + insn.Jt] = true;
                            _reachable[pc + 1 + insn.Jf] = true;
                        }
                        continue;
                }

                if (IsPacketLoad(code, out bool indirect))
                {
                    uint k = insn.K;
                    if (!indirect && k - Cbpf.Cbpf.AncillaryBase < CbpfAncillary.End)
                    {
                        string name = CbpfAncillary.Name(k) ?? "offset " + (k - Cbpf.Cbpf.AncillaryBase).ToString(CultureInfo.InvariantCulture);
                        throw new EbpfTranslationException(EbpfTranslationFailure.KernelMetadata, pc, string.Create(CultureInfo.InvariantCulture,
                            $"instruction {pc} loads the socket's '{name}' (SKF_AD_*), which an in-kernel filter on a frame does not have; compile without kernel metadata or filter in user space"));
                    }
                    ulong end = (ulong)k + LoadSize(code);
                    if (end > MaxFrameBytes)
                        continue; // always out of bounds: returns 0, nothing after it runs from here
                    _readsFrame = true;
                    if (!indirect && end <= (ulong)_options.PrefixBytes)
                        _prefixEnd = Math.Max(_prefixEnd, (uint)end);
                    else
                        _needsLoadSlot = true;
                }
                else
                {
                    switch (code)
                    {
                        case Cbpf.Cbpf.Ld | Cbpf.Cbpf.W | Cbpf.Cbpf.Len:
                        case Cbpf.Cbpf.Ldx | Cbpf.Cbpf.W | Cbpf.Cbpf.Len:
                            _readsWireLength = true;
                            break;
                        case Cbpf.Cbpf.Ld | Cbpf.Cbpf.Mem:
                        case Cbpf.Cbpf.Ldx | Cbpf.Cbpf.Mem:
                            _memoryRead[insn.K] = true;
                            _usesMemory = true;
                            break;
                        case Cbpf.Cbpf.St:
                        case Cbpf.Cbpf.Stx:
                            _usesMemory = true;
                            break;
                    }
                }
                _reachable[pc + 1] = true;
            }

            // Stack layout, from R10 down; 8-byte aligned pieces.
            int offset = 0;
            if (_needsLoadSlot)
                _loadSlot = offset -= 8;
            // Undecided loads compare their end with the wire length: keep it when any load may fall there.
            _needsWireSlot = _readsWireLength || (_options.UndecidedBeyondAvailable && _readsFrame);
            if (_needsWireSlot)
                _wireSlot = offset -= 8;
            if (_usesMemory)
                _memoryBase = offset -= 4 * Cbpf.Cbpf.MemWords;
            _prefixEnd = (_prefixEnd + 7) & ~7u;
            if (_prefixEnd > 0)
                _prefixBase = offset -= (int)_prefixEnd;
            _stackBytes = -offset;
        }

        public EbpfFilterProgram Emit()
        {
            EmitEntry();
            int[] start = new int[_program.Length];
            int next = -1;
            for (int pc = _program.Length - 1; pc >= 0; pc--)
            {
                start[pc] = next; // for now: the next instruction emitted after pc
                if (_reachable[pc])
                    next = pc;
            }
            int[] nextEmitted = (int[])start.Clone();
            for (int pc = 0; pc < _program.Length; pc++)
            {
                if (!_reachable[pc])
                {
                    start[pc] = -1;
                    continue;
                }
                start[pc] = _code.Count;
                EmitInstruction(pc, nextEmitted[pc]);
                if (_code.Count > _options.MaxInstructions)
                    throw TooLarge();
            }

            int beyond = -1;
            if (_fixups.Exists(f => f.Target == BeyondAvailableTarget))
            {
                // R2 = the load's end: past the wire length too → 0, else within the packet but not
                // readable here → the undecided verdict (1 << 32) for the caller to settle.
                beyond = _code.Count;
                _code.Add(LoadX(W, R1, R10, _wireSlot));
                JumpTo(JmpReg(Jgt, R2, R1, 0), RejectTarget);
                _code.Add(Alu64Imm(Mov, R0, 1));
                _code.Add(Alu64Imm(Lsh, R0, 32));
                _code.Add(new EbpfInstruction(Jmp | Exit, 0, 0, 0, 0));
            }
            int reject = -1;
            if (_fixups.Exists(f => f.Target == RejectTarget))
            {
                reject = _code.Count;
                _code.Add(Alu32Imm(Mov, R0, 0));
                _code.Add(new EbpfInstruction(Jmp | Exit, 0, 0, 0, 0));
            }
            if (_code.Count > _options.MaxInstructions)
                throw TooLarge();

            foreach (var (at, target) in _fixups)
            {
                int destination = target switch { RejectTarget => reject, BeyondAvailableTarget => beyond, _ => start[target] };
                int relative = destination - (at + 1);
                if (relative is < 0 or > MaxJumpReach)
                    throw TooLarge();
                _code[at] = _code[at] with { Offset = (short)relative };
            }
            return new EbpfFilterProgram([.. _code], _stackBytes, _readsFrame, _needsWireSlot, (int)_prefixEnd, _helperCalls);
        }

        private EbpfTranslationException TooLarge() => new(EbpfTranslationFailure.TooLarge, -1, string.Create(CultureInfo.InvariantCulture,
            $"the filter's {_program.Length} cBPF instructions translate to more than {_options.MaxInstructions} eBPF instructions, too large for the kernel's verifier; it runs in user space"));

        private void EmitEntry()
        {
            if (_readsFrame)
            {
                _code.Add(Alu64Reg(Mov, FrameRegister, R1));
                _code.Add(Alu32Reg(Mov, AvailableRegister, R2)); // zero-extends: the length is a u32
            }
            if (_needsWireSlot)
                _code.Add(StoreX(W, R10, _wireSlot, R3));
            _code.Add(Alu32Imm(Mov, ARegister, 0));
            _code.Add(Alu32Imm(Mov, XRegister, 0));
            for (int i = 0; i < Cbpf.Cbpf.MemWords; i++)
            {
                if (_memoryRead[i])
                    _code.Add(StoreImm(W, R10, _memoryBase + (4 * i), 0));
            }
            if (_prefixEnd > 0)
            {
                // probe_read_kernel(stack prefix, min(available, prefix), frame): the size is bounded
                // by the constant. Computed from prefix - available so that R7 is never compared.
                _code.Add(Alu64Imm(Mov, R1, (int)_prefixEnd));
                _code.Add(Alu64Reg(Sub, R1, AvailableRegister));
                _code.Add(Alu64Imm(Mov, R2, (int)_prefixEnd));
                _code.Add(JmpImm(Jslt, R1, 0, 1));
                _code.Add(Alu64Reg(Sub, R2, R1));
                _code.Add(Alu64Reg(Mov, R1, R10));
                _code.Add(Alu64Imm(Add, R1, _prefixBase));
                _code.Add(Alu64Reg(Mov, R3, FrameRegister));
                EmitProbeRead();
            }
        }

        /// <summary>call bpf_probe_read_kernel; a fault (negative R0) rejects the packet.</summary>
        private void EmitProbeRead()
        {
            _code.Add(new EbpfInstruction(Jmp | Call, 0, 0, 0, HelperProbeReadKernel));
            _helperCalls++;
            JumpTo(JmpImm(Jne, R0, 0, 0), RejectTarget);
        }

        private void EmitInstruction(int pc, int nextEmitted)
        {
            CbpfInstruction insn = _program[pc];
            int code = insn.Code;
            uint k = insn.K;
            int imm = unchecked((int)k);

            if (IsPacketLoad(code, out bool indirect))
            {
                byte destination = Cbpf.Cbpf.Class(code) == Cbpf.Cbpf.Ldx ? XRegister : ARegister;
                EmitPacketLoad(LoadSize(code), k, indirect, destination);
                if (code == (Cbpf.Cbpf.Ldx | Cbpf.Cbpf.Msh | Cbpf.Cbpf.B))
                {
                    _code.Add(Alu32Imm(And, XRegister, 0xf));
                    _code.Add(Alu32Imm(Lsh, XRegister, 2));
                }
                return;
            }

            switch (code)
            {
                case Cbpf.Cbpf.Ret | Cbpf.Cbpf.K:
                    _code.Add(Alu32Imm(Mov, R0, imm));
                    _code.Add(new EbpfInstruction(Jmp | Exit, 0, 0, 0, 0));
                    return;
                case Cbpf.Cbpf.Ret | Cbpf.Cbpf.A:
                    _code.Add(Alu32Reg(Mov, R0, ARegister));
                    _code.Add(new EbpfInstruction(Jmp | Exit, 0, 0, 0, 0));
                    return;

                case Cbpf.Cbpf.Ld | Cbpf.Cbpf.W | Cbpf.Cbpf.Len:
                    _code.Add(LoadX(W, ARegister, R10, _wireSlot));
                    return;
                case Cbpf.Cbpf.Ldx | Cbpf.Cbpf.W | Cbpf.Cbpf.Len:
                    _code.Add(LoadX(W, XRegister, R10, _wireSlot));
                    return;
                case Cbpf.Cbpf.Ld | Cbpf.Cbpf.Imm:
                    _code.Add(Alu32Imm(Mov, ARegister, imm));
                    return;
                case Cbpf.Cbpf.Ldx | Cbpf.Cbpf.Imm:
                    _code.Add(Alu32Imm(Mov, XRegister, imm));
                    return;
                case Cbpf.Cbpf.Ld | Cbpf.Cbpf.Mem:
                    _code.Add(LoadX(W, ARegister, R10, MemorySlot(k)));
                    return;
                case Cbpf.Cbpf.Ldx | Cbpf.Cbpf.Mem:
                    _code.Add(LoadX(W, XRegister, R10, MemorySlot(k)));
                    return;
                case Cbpf.Cbpf.St:
                    _code.Add(StoreX(W, R10, MemorySlot(k), ARegister));
                    return;
                case Cbpf.Cbpf.Stx:
                    _code.Add(StoreX(W, R10, MemorySlot(k), XRegister));
                    return;
                case Cbpf.Cbpf.Misc | Cbpf.Cbpf.Tax:
                    _code.Add(Alu32Reg(Mov, XRegister, ARegister));
                    return;
                case Cbpf.Cbpf.Misc | Cbpf.Cbpf.Txa:
                    _code.Add(Alu32Reg(Mov, ARegister, XRegister));
                    return;
                case Cbpf.Cbpf.Alu | Cbpf.Cbpf.Neg:
                    _code.Add(new EbpfInstruction(Alu | Neg, ARegister, 0, 0, 0));
                    return;
                case Cbpf.Cbpf.Jmp | Cbpf.Cbpf.Ja:
                    int target = (int)((uint)pc + 1 + k);
                    if (target != nextEmitted)
                        JumpTo(Ja0(), target);
                    return;
            }

            switch (Cbpf.Cbpf.Class(code))
            {
                case Cbpf.Cbpf.Alu:
                    EmitAlu(code, k);
                    return;
                case Cbpf.Cbpf.Jmp:
                    EmitConditional(pc, insn, nextEmitted);
                    return;
            }
            // Validation let through only what the cases above cover.
            throw new InvalidOperationException($"cBPF opcode 0x{code:x2} at {pc} has no translation");
        }

        private void EmitAlu(int code, uint k)
        {
            int op = Cbpf.Cbpf.Op(code);
            bool fromX = Cbpf.Cbpf.Src(code) == Cbpf.Cbpf.X;
            byte ebpfOp = op switch
            {
                Cbpf.Cbpf.Add => Add,
                Cbpf.Cbpf.Sub => Sub,
                Cbpf.Cbpf.Mul => Mul,
                Cbpf.Cbpf.Div => Div,
                Cbpf.Cbpf.Mod => Mod,
                Cbpf.Cbpf.And => And,
                Cbpf.Cbpf.Or => Or,
                Cbpf.Cbpf.Xor => Xor,
                Cbpf.Cbpf.Lsh => Lsh,
                Cbpf.Cbpf.Rsh => Rsh,
                _ => throw new InvalidOperationException($"cBPF alu operation 0x{op:x2} has no translation"),
            };
            if (!fromX)
            {
                // Constant shifts use the low five bits, as bpf_filter does on x86-64; eBPF refuses larger ones.
                int imm = op is Cbpf.Cbpf.Lsh or Cbpf.Cbpf.Rsh ? (int)(k & 31) : unchecked((int)k);
                _code.Add(Alu32Imm(ebpfOp, ARegister, imm));
                return;
            }
            switch (op)
            {
                case Cbpf.Cbpf.Div:
                case Cbpf.Cbpf.Mod:
                    // cBPF returns 0 from the filter; eBPF would give 0 (div) or A (mod) and carry on.
                    JumpTo(Jmp32Imm(Jeq, XRegister, 0, 0), RejectTarget);
                    _code.Add(Alu32Reg(ebpfOp, ARegister, XRegister));
                    return;
                case Cbpf.Cbpf.Lsh:
                case Cbpf.Cbpf.Rsh:
                    // A shift by 32 or more gives 0; eBPF leaves it undefined (JITs mask the count).
                    _code.Add(Jmp32Imm(Jgt, XRegister, 31, 2));
                    _code.Add(Alu32Reg(ebpfOp, ARegister, XRegister));
                    _code.Add(new EbpfInstruction(Jmp | Ja, 0, 0, 1, 0));
                    _code.Add(Alu32Imm(Mov, ARegister, 0));
                    return;
                default:
                    _code.Add(Alu32Reg(ebpfOp, ARegister, XRegister));
                    return;
            }
        }

        private void EmitConditional(int pc, CbpfInstruction insn, int nextEmitted)
        {
            int code = insn.Code;
            int whenTrue = pc + 1 + insn.Jt, whenFalse = pc + 1 + insn.Jf;
            if (whenTrue == whenFalse)
            {
                if (whenTrue != nextEmitted)
                    JumpTo(Ja0(), whenTrue);
                return;
            }
            byte op = Cbpf.Cbpf.Op(code) switch
            {
                Cbpf.Cbpf.Jeq => Jeq,
                Cbpf.Cbpf.Jgt => Jgt,
                Cbpf.Cbpf.Jge => Jge,
                _ => Jset,
            };
            bool fromX = Cbpf.Cbpf.Src(code) == Cbpf.Cbpf.X;
            // A and X are 32-bit: compare 32-bit registers (a 64-bit compare would sign-extend k).
            EbpfInstruction Compare(byte operation) => fromX
                ? Jmp32Reg(operation, ARegister, XRegister, 0)
                : Jmp32Imm(operation, ARegister, unchecked((int)insn.K), 0);

            if (whenTrue == nextEmitted)
            {
                if (op == Jset)
                {
                    // No "bits clear" jump: skip the jump to the false branch when bits are set.
                    _code.Add(Compare(Jset) with { Offset = 1 });
                    JumpTo(Ja0(), whenFalse);
                    return;
                }
                byte inverse = op switch { Jeq => Jne, Jgt => Jle, _ => Jlt };
                JumpTo(Compare(inverse), whenFalse);
                return;
            }
            JumpTo(Compare(op), whenTrue);
            if (whenFalse != nextEmitted)
                JumpTo(Ja0(), whenFalse);
        }

        /// <summary>A = (or X =) the bytes at k (or X + k), in network order; out of bounds returns 0.</summary>
        private void EmitPacketLoad(uint size, uint k, bool indirect, byte destination)
        {
            ulong end = (ulong)k + size;
            if (end > MaxFrameBytes)
            {
                JumpTo(Ja0(), RejectTarget);
                return;
            }
            byte sizeCode = size switch { 4 => W, 2 => H, _ => B };
            if (!indirect)
            {
                // end - available > 0: out of bounds (64-bit, no wrap: both are below 2^32).
                if (_options.UndecidedBeyondAvailable)
                {
                    _code.Add(Alu64Imm(Mov, R2, (int)end));
                    _code.Add(Alu64Reg(Mov, R1, R2));
                }
                else
                {
                    _code.Add(Alu64Imm(Mov, R1, (int)end));
                }
                _code.Add(Alu64Reg(Sub, R1, AvailableRegister));
                JumpTo(JmpImm(Jsgt, R1, 0, 0), OutOfBoundsTarget);
                if (end <= _prefixEnd)
                {
                    EmitPrefixLoad(size, (int)k, destination);
                    return;
                }
                else
                {
                    _code.Add(Alu64Reg(Mov, R3, FrameRegister));
                    _code.Add(Alu64Imm(Add, R3, (int)k));
                    EmitReadIntoLoadSlot(size, sizeCode, destination);
                }
            }
            else
            {
                // offset = X + k in 64 bits (no wrap, as bpf_filter); offset + size <= available.
                _code.Add(Alu32Reg(Mov, R3, XRegister));
                _code.Add(Alu64Imm(Add, R3, (int)k));
                _code.Add(Alu64Reg(Mov, R2, R3));
                _code.Add(Alu64Imm(Add, R2, (int)size));
                _code.Add(Alu64Reg(Mov, R1, R2));
                _code.Add(Alu64Reg(Sub, R1, AvailableRegister));
                JumpTo(JmpImm(Jsgt, R1, 0, 0), OutOfBoundsTarget);
                // A compare with a constant bounds the offset for the verifier (it may not learn it from R7).
                JumpTo(JmpImm(Jgt, R3, (int)(MaxFrameBytes - size), 0), RejectTarget);
                _code.Add(Alu64Reg(Add, R3, FrameRegister));
                EmitReadIntoLoadSlot(size, sizeCode, destination);
            }
            if (size > 1)
                _code.Add(new EbpfInstruction(Alu | End | ToBigEndian, destination, 0, 0, (int)size * 8));
        }

        /// <summary>
        /// destination = the bytes at k of the prefix copy, in network order. The verifier refuses
        /// misaligned stack accesses, so a word or half at an offset its size does not divide is
        /// put together from aligned halves or single bytes.
        /// </summary>
        private void EmitPrefixLoad(uint size, int k, byte destination)
        {
            int at = _prefixBase + k; // _prefixBase is a multiple of 8: alignment follows k
            if (k % (int)size == 0)
            {
                _code.Add(LoadX(size switch { 4 => W, 2 => H, _ => B }, destination, R10, at));
                if (size > 1)
                    _code.Add(new EbpfInstruction(Alu | End | ToBigEndian, destination, 0, 0, (int)size * 8));
                return;
            }
            if (size == 4 && k % 2 == 0)
            {
                _code.Add(LoadX(H, destination, R10, at));
                _code.Add(new EbpfInstruction(Alu | End | ToBigEndian, destination, 0, 0, 16));
                _code.Add(Alu32Imm(Lsh, destination, 16));
                _code.Add(LoadX(H, R1, R10, at + 2));
                _code.Add(new EbpfInstruction(Alu | End | ToBigEndian, R1, 0, 0, 16));
                _code.Add(Alu32Reg(Or, destination, R1));
                return;
            }
            _code.Add(LoadX(B, destination, R10, at));
            for (int i = 1; i < size; i++)
            {
                _code.Add(Alu32Imm(Lsh, destination, 8));
                _code.Add(LoadX(B, R1, R10, at + i));
                _code.Add(Alu32Reg(Or, destination, R1));
            }
        }

        /// <summary>probe_read_kernel(load slot, size, R3), then destination = the slot.</summary>
        private void EmitReadIntoLoadSlot(uint size, byte sizeCode, byte destination)
        {
            _code.Add(Alu64Reg(Mov, R1, R10));
            _code.Add(Alu64Imm(Add, R1, _loadSlot));
            _code.Add(Alu64Imm(Mov, R2, (int)size));
            EmitProbeRead();
            _code.Add(LoadX(sizeCode, destination, R10, _loadSlot));
        }

        /// <summary>Where a load past the available bytes goes: 0, or the undecided block (R2 = the load's end).</summary>
        private int OutOfBoundsTarget => _options.UndecidedBeyondAvailable ? BeyondAvailableTarget : RejectTarget;

        private int MemorySlot(uint k) => _memoryBase + (4 * (int)k);

        private void JumpTo(EbpfInstruction jump, int target)
        {
            _fixups.Add((_code.Count, target));
            _code.Add(jump);
        }

        private static EbpfInstruction Ja0() => new(Jmp | Ja, 0, 0, 0, 0);
        private static EbpfInstruction Alu32Imm(byte op, byte dst, int imm) => new((byte)(Alu | K | op), dst, 0, 0, imm);
        private static EbpfInstruction Alu32Reg(byte op, byte dst, byte src) => new((byte)(Alu | X | op), dst, src, 0, 0);
        private static EbpfInstruction Alu64Imm(byte op, byte dst, int imm) => new((byte)(Alu64 | K | op), dst, 0, 0, imm);
        private static EbpfInstruction Alu64Reg(byte op, byte dst, byte src) => new((byte)(Alu64 | X | op), dst, src, 0, 0);
        private static EbpfInstruction JmpImm(byte op, byte dst, int imm, short offset) => new((byte)(Jmp | K | op), dst, 0, offset, imm);
        private static EbpfInstruction JmpReg(byte op, byte dst, byte src, short offset) => new((byte)(Jmp | X | op), dst, src, offset, 0);
        private static EbpfInstruction Jmp32Imm(byte op, byte dst, int imm, short offset) => new((byte)(Jmp32 | K | op), dst, 0, offset, imm);
        private static EbpfInstruction Jmp32Reg(byte op, byte dst, byte src, short offset) => new((byte)(Jmp32 | X | op), dst, src, offset, 0);
        private static EbpfInstruction LoadX(byte size, byte dst, byte src, int offset) => new((byte)(Ldx | Mem | size), dst, src, (short)offset, 0);
        private static EbpfInstruction StoreX(byte size, byte dst, int offset, byte src) => new((byte)(Stx | Mem | size), dst, src, (short)offset, 0);
        private static EbpfInstruction StoreImm(byte size, byte dst, int offset, int imm) => new((byte)(St | Mem | size), dst, 0, (short)offset, imm);
    }
}
