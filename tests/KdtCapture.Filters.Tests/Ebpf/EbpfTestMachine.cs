using System.Buffers.Binary;
using KdtCapture.Filters.Ebpf;

namespace KdtCapture.Filters.Tests.Ebpf;

/// <summary>An eBPF program did something the kernel's verifier or the calling convention forbids.</summary>
public sealed class EbpfMachineFault(int pc, string message) : Exception($"eBPF instruction {pc}: {message}")
{
    public int InstructionIndex { get; } = pc;
}

/// <summary>
/// An eBPF interpreter for filter functions, written from the kernel's instruction-set document
/// (Documentation/bpf/standardization/instruction-set.rst), not from the translator: ALU and
/// ALU64, JMP and JMP32, LDX/STX/ST to the stack, ld_imm64, byte swaps, exit, and helper 113
/// (bpf_probe_read_kernel) over a "kernel memory" that holds only the frame's available bytes.
/// <para>
/// It also enforces what the verifier and the calling convention demand, and throws
/// <see cref="EbpfMachineFault"/> otherwise: only R1–R3 and R10 are readable at entry, a call
/// clobbers R1–R5, stack bytes are written before they are read, stack loads and stores are
/// aligned to their size and stay in the 512-byte frame (the packet frame itself is never
/// dereferenced directly), jumps go forward and land
/// inside the program, and R0 holds a 32-bit value at exit. A probe read that faults is counted
/// in <see cref="FaultedReads"/>: a correct translation checks its bounds first, so never faults.
/// </para>
/// </summary>
public sealed class EbpfTestMachine
{
    public const ulong FrameAddress = 0xffff_8880_1000_0000;
    public const ulong StackTop = 0xffff_c900_0000_8000;
    private const int StackSize = 512;
    private const ulong EFault = unchecked((ulong)-14L);

    private readonly ulong[] _registers = new ulong[11];
    private readonly bool[] _readable = new bool[11];
    private readonly byte[] _stack = new byte[StackSize];
    private readonly bool[] _stackWritten = new bool[StackSize];
    private byte[] _copy = [];
    private byte[] _frame = [];
    private int _frameLength;

    /// <summary>Probe reads that did not fit in the available bytes (each zeroed its destination and returned -EFAULT).</summary>
    public long FaultedReads { get; private set; }

    /// <summary>Instructions executed over all runs.</summary>
    public long Executed { get; private set; }

    /// <summary>Calls to bpf_probe_read_kernel over all runs.</summary>
    public long HelperCalls { get; private set; }

    /// <summary>Runs <paramref name="code"/> as the filter function on <paramref name="frame"/>; returns R0.</summary>
    /// <param name="frame">The frame's available bytes: all the kernel memory the function may read.</param>
    public uint Run(ReadOnlySpan<EbpfInstruction> code, ReadOnlySpan<byte> frame, uint wireLength)
    {
        if (_copy.Length < frame.Length)
            _copy = new byte[frame.Length];
        frame.CopyTo(_copy);
        _frame = _copy;
        _frameLength = frame.Length;
        return (uint)Execute(code, wireLength);
    }

    /// <summary>Runs with the first <paramref name="available"/> bytes of <paramref name="packet"/> as the frame (no copy).</summary>
    public uint Run(ReadOnlySpan<EbpfInstruction> code, byte[] packet, int available, uint wireLength)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(available, packet.Length);
        _frame = packet;
        _frameLength = available;
        return (uint)Execute(code, wireLength);
    }

    /// <summary>
    /// Runs a translation made with <see cref="EbpfTranslationOptions.UndecidedBeyondAvailable"/>: R0 may
    /// also be <see cref="EbpfFilterProgram.UndecidedVerdict"/> at exit.
    /// </summary>
    public ulong RunAllowingUndecided(ReadOnlySpan<EbpfInstruction> code, byte[] packet, int available, uint wireLength)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(available, packet.Length);
        _frame = packet;
        _frameLength = available;
        _allowUndecided = true;
        try
        {
            return Execute(code, wireLength);
        }
        finally
        {
            _allowUndecided = false;
        }
    }

    private bool _allowUndecided;

    private ulong Execute(ReadOnlySpan<EbpfInstruction> code, uint wireLength)
    {
        Array.Clear(_registers);
        Array.Clear(_readable);
        Array.Clear(_stackWritten);
        _stack.AsSpan().Fill(0xa5); // garbage: a read of a slot never written must not look like zero
        _registers[1] = FrameAddress;
        _registers[2] = (uint)_frameLength;
        _registers[3] = wireLength;
        _registers[10] = StackTop;
        _readable[1] = _readable[2] = _readable[3] = _readable[10] = true;

        for (int pc = 0; ;)
        {
            if ((uint)pc >= (uint)code.Length)
                throw new EbpfMachineFault(pc, "fell off the end of the program");
            EbpfInstruction insn = code[pc];
            Executed++;
            int next = pc + 1;
            int cls = insn.OpCode & 0x07;
            switch (cls)
            {
                case 0x04: // ALU
                case 0x07: // ALU64
                    Alu(pc, insn, cls == 0x07);
                    break;
                case 0x05: // JMP
                case 0x06: // JMP32
                    int op = insn.OpCode & 0xf0;
                    if (cls == 0x05 && op == 0x90) // exit
                    {
                        ulong r0 = Read(pc, 0);
                        if (r0 > uint.MaxValue && !(_allowUndecided && r0 == EbpfFilterProgram.UndecidedVerdict))
                            throw new EbpfMachineFault(pc, $"R0 = 0x{r0:x} at exit is not a 32-bit verdict");
                        return r0;
                    }
                    if (cls == 0x05 && op == 0x80) // call
                    {
                        Call(pc, insn);
                        break;
                    }
                    if (Branch(pc, insn, cls == 0x05))
                    {
                        if (insn.Offset < 0)
                            throw new EbpfMachineFault(pc, $"jumps backwards ({insn.Offset})");
                        next = pc + 1 + insn.Offset;
                        if (next >= code.Length)
                            throw new EbpfMachineFault(pc, $"jumps to {next}, outside the {code.Length}-instruction program");
                    }
                    else if (op != 0x00 && insn.Offset < 0)
                    {
                        throw new EbpfMachineFault(pc, $"jumps backwards ({insn.Offset})");
                    }
                    break;
                case 0x01: // LDX
                    {
                        if ((insn.OpCode & 0xe0) != 0x60)
                            throw new EbpfMachineFault(pc, $"load mode 0x{insn.OpCode & 0xe0:x2} is not BPF_MEM");
                        int size = SizeOf(insn.OpCode);
                        int at = AlignedStackIndex(pc, Read(pc, insn.Source) + (ulong)(long)insn.Offset, size);
                        for (int i = 0; i < size; i++)
                        {
                            if (!_stackWritten[at + i])
                                throw new EbpfMachineFault(pc, $"reads stack byte {at + i - StackSize} before anything wrote it");
                        }
                        ulong value = size switch
                        {
                            1 => _stack[at],
                            2 => BinaryPrimitives.ReadUInt16LittleEndian(_stack.AsSpan(at)),
                            4 => BinaryPrimitives.ReadUInt32LittleEndian(_stack.AsSpan(at)),
                            _ => BinaryPrimitives.ReadUInt64LittleEndian(_stack.AsSpan(at)),
                        };
                        Write(insn.Destination, value);
                        break;
                    }
                case 0x02: // ST
                case 0x03: // STX
                    {
                        if ((insn.OpCode & 0xe0) != 0x60)
                            throw new EbpfMachineFault(pc, $"store mode 0x{insn.OpCode & 0xe0:x2} is not BPF_MEM");
                        int size = SizeOf(insn.OpCode);
                        int at = AlignedStackIndex(pc, Read(pc, insn.Destination) + (ulong)(long)insn.Offset, size);
                        ulong value = cls == 0x02 ? (ulong)(long)insn.Immediate : Read(pc, insn.Source);
                        Span<byte> bytes = stackalloc byte[8];
                        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
                        bytes[..size].CopyTo(_stack.AsSpan(at));
                        _stackWritten.AsSpan(at, size).Fill(true);
                        break;
                    }
                case 0x00: // LD: only ld_imm64
                    if (insn.OpCode != 0x18 || pc + 1 >= code.Length || code[pc + 1].OpCode != 0)
                        throw new EbpfMachineFault(pc, $"opcode 0x{insn.OpCode:x2} is not a 16-byte immediate load");
                    if (insn.Source != 0)
                        throw new EbpfMachineFault(pc, "ld_imm64 refers to a map or function, which a filter has none of");
                    Write(insn.Destination, ((ulong)(uint)code[pc + 1].Immediate << 32) | (uint)insn.Immediate);
                    next = pc + 2;
                    break;
            }
            pc = next;
        }
    }

    private static int SizeOf(byte opCode) => (opCode & 0x18) switch { 0x00 => 4, 0x08 => 2, 0x10 => 1, _ => 8 };

    /// <summary>The verifier refuses stack loads and stores at an offset their size does not divide.</summary>
    private int AlignedStackIndex(int pc, ulong address, int size)
    {
        int at = StackIndex(pc, address, size);
        if (at % size != 0)
            throw new EbpfMachineFault(pc, $"misaligned stack access of {size} bytes at {at - StackSize}");
        return at;
    }

    private int StackIndex(int pc, ulong address, int size)
    {
        ulong bottom = StackTop - StackSize;
        if (address < bottom || address + (ulong)size > StackTop)
        {
            string where = address >= FrameAddress && address < FrameAddress + (1UL << 32) ? "the frame (kernel memory must be read with a helper)" : $"0x{address:x}";
            throw new EbpfMachineFault(pc, $"accesses {size} bytes at {where}, outside the 512-byte stack");
        }
        return (int)(address - bottom);
    }

    private ulong Read(int pc, byte register)
    {
        if (register > 10)
            throw new EbpfMachineFault(pc, $"register r{register} does not exist");
        if (!_readable[register])
            throw new EbpfMachineFault(pc, $"reads r{register}, which holds nothing readable here");
        return _registers[register];
    }

    private void Write(byte register, ulong value)
    {
        if (register >= 10)
            throw new EbpfMachineFault(-1, $"writes r{register}");
        _registers[register] = value;
        _readable[register] = true;
    }

    private void Call(int pc, EbpfInstruction insn)
    {
        if (insn.Source != 0 || insn.Immediate != KdtCapture.Filters.Ebpf.Ebpf.HelperProbeReadKernel)
            throw new EbpfMachineFault(pc, $"calls {(insn.Source == 0 ? $"helper {insn.Immediate}" : "a function")}; a filter calls only bpf_probe_read_kernel");
        ulong destination = Read(pc, 1), size = Read(pc, 2), source = Read(pc, 3);
        if (size > StackSize)
            throw new EbpfMachineFault(pc, $"probe read of {size} bytes");
        int at = StackIndex(pc, destination, (int)size);
        HelperCalls++;
        ulong result = 0;
        ulong frameEnd = FrameAddress + (ulong)_frameLength;
        if (source >= FrameAddress && source <= frameEnd && size <= frameEnd - source)
        {
            _frame.AsSpan((int)(source - FrameAddress), (int)size).CopyTo(_stack.AsSpan(at));
        }
        else
        {
            FaultedReads++;
            _stack.AsSpan(at, (int)size).Clear();
            result = EFault;
        }
        _stackWritten.AsSpan(at, (int)size).Fill(true);
        for (int r = 1; r <= 5; r++)
            _readable[r] = false;
        Write(0, result);
    }

    private void Alu(int pc, EbpfInstruction insn, bool wide)
    {
        int op = insn.OpCode & 0xf0;
        bool fromRegister = (insn.OpCode & 0x08) != 0;
        if (op == 0xd0) // byte swap: the source bit picks the target byte order
        {
            if (wide)
                throw new EbpfMachineFault(pc, "bswap in ALU64 is not used by a filter");
            ulong v = Read(pc, insn.Destination);
            bool toBigEndian = fromRegister;
            ulong swapped = insn.Immediate switch
            {
                16 => toBigEndian ? BinaryPrimitives.ReverseEndianness((ushort)v) : (ushort)v,
                32 => toBigEndian ? BinaryPrimitives.ReverseEndianness((uint)v) : (uint)v,
                64 => toBigEndian ? BinaryPrimitives.ReverseEndianness(v) : v,
                _ => throw new EbpfMachineFault(pc, $"byte swap width {insn.Immediate}"),
            };
            Write(insn.Destination, swapped);
            return;
        }
        ulong src = fromRegister ? Read(pc, insn.Source) : (ulong)(long)insn.Immediate;
        ulong dst = op == 0xb0 ? 0 : Read(pc, insn.Destination);
        if (op == 0x80 && fromRegister)
            throw new EbpfMachineFault(pc, "neg takes no source register");
        if (wide)
        {
            ulong result = op switch
            {
                0x00 => dst + src,
                0x10 => dst - src,
                0x20 => dst * src,
                0x30 => src == 0 ? 0 : dst / src,
                0x40 => dst | src,
                0x50 => dst & src,
                0x60 => dst << (int)(src & 63),
                0x70 => dst >> (int)(src & 63),
                0x80 => 0 - dst,
                0x90 => src == 0 ? dst : dst % src,
                0xa0 => dst ^ src,
                0xb0 => src,
                0xc0 => (ulong)((long)dst >> (int)(src & 63)),
                _ => throw new EbpfMachineFault(pc, $"alu64 operation 0x{op:x2}"),
            };
            Write(insn.Destination, result);
        }
        else
        {
            uint d = (uint)dst, s = (uint)src;
            uint result = op switch
            {
                0x00 => d + s,
                0x10 => d - s,
                0x20 => d * s,
                0x30 => s == 0 ? 0 : d / s,
                0x40 => d | s,
                0x50 => d & s,
                0x60 => d << (int)(s & 31),
                0x70 => d >> (int)(s & 31),
                0x80 => 0 - d,
                0x90 => s == 0 ? d : d % s,
                0xa0 => d ^ s,
                0xb0 => s,
                0xc0 => (uint)((int)d >> (int)(s & 31)),
                _ => throw new EbpfMachineFault(pc, $"alu operation 0x{op:x2}"),
            };
            Write(insn.Destination, result); // 32-bit results zero the upper half
        }
    }

    private bool Branch(int pc, EbpfInstruction insn, bool wide)
    {
        int op = insn.OpCode & 0xf0;
        if (op == 0x00)
        {
            if (!wide)
                throw new EbpfMachineFault(pc, "gotol is not used by a filter");
            return true;
        }
        bool fromRegister = (insn.OpCode & 0x08) != 0;
        ulong dst = Read(pc, insn.Destination);
        ulong src = fromRegister ? Read(pc, insn.Source) : (ulong)(long)insn.Immediate;
        if (!wide)
        {
            dst = (uint)dst;
            src = (uint)src;
        }
        long sd = wide ? (long)dst : (int)(uint)dst, ss = wide ? (long)src : (int)(uint)src;
        return op switch
        {
            0x10 => dst == src,
            0x20 => dst > src,
            0x30 => dst >= src,
            0x40 => (dst & src) != 0,
            0x50 => dst != src,
            0x60 => sd > ss,
            0x70 => sd >= ss,
            0xa0 => dst < src,
            0xb0 => dst <= src,
            0xc0 => sd < ss,
            0xd0 => sd <= ss,
            _ => throw new EbpfMachineFault(pc, $"jump operation 0x{op:x2}"),
        };
    }
}
