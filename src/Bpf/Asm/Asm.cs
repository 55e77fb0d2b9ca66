using static KdtCapture.Bpf.Asm.BpfOpCode;

namespace KdtCapture.Bpf.Asm;

/// <summary>
/// Instruction constructors named after what they do (<c>Asm.Mov64(R1, 0)</c>); the ones that need
/// a label (jumps, subprogram calls) are on <see cref="BpfAssembler"/>, and these take raw offsets.
/// </summary>
public static class Asm
{
    // ---- ALU ----
    public static BpfInstruction Alu64(byte operation, BpfRegister dst, int imm) => new((byte)(ClassAlu64 | SourceK | operation), dst, 0, 0, imm);
    public static BpfInstruction Alu64(byte operation, BpfRegister dst, BpfRegister src) => new((byte)(ClassAlu64 | SourceX | operation), dst, src, 0, 0);
    public static BpfInstruction Alu32(byte operation, BpfRegister dst, int imm) => new((byte)(ClassAlu | SourceK | operation), dst, 0, 0, imm);
    public static BpfInstruction Alu32(byte operation, BpfRegister dst, BpfRegister src) => new((byte)(ClassAlu | SourceX | operation), dst, src, 0, 0);

    public static BpfInstruction Mov64(BpfRegister dst, int imm) => Alu64(Mov, dst, imm);
    public static BpfInstruction Mov64(BpfRegister dst, BpfRegister src) => Alu64(Mov, dst, src);
    public static BpfInstruction Mov32(BpfRegister dst, int imm) => Alu32(Mov, dst, imm);
    public static BpfInstruction Mov32(BpfRegister dst, BpfRegister src) => Alu32(Mov, dst, src);
    public static BpfInstruction Add64(BpfRegister dst, int imm) => Alu64(Add, dst, imm);
    public static BpfInstruction Add64(BpfRegister dst, BpfRegister src) => Alu64(Add, dst, src);
    public static BpfInstruction Sub64(BpfRegister dst, int imm) => Alu64(Sub, dst, imm);
    public static BpfInstruction Sub64(BpfRegister dst, BpfRegister src) => Alu64(Sub, dst, src);
    public static BpfInstruction Mul64(BpfRegister dst, int imm) => Alu64(Mul, dst, imm);
    public static BpfInstruction And64(BpfRegister dst, int imm) => Alu64(And, dst, imm);
    public static BpfInstruction Or64(BpfRegister dst, int imm) => Alu64(Or, dst, imm);
    public static BpfInstruction Xor64(BpfRegister dst, BpfRegister src) => Alu64(Xor, dst, src);
    public static BpfInstruction Lsh64(BpfRegister dst, int imm) => Alu64(Lsh, dst, imm);
    public static BpfInstruction Rsh64(BpfRegister dst, int imm) => Alu64(Rsh, dst, imm);
    public static BpfInstruction Arsh64(BpfRegister dst, int imm) => Alu64(Arsh, dst, imm);
    public static BpfInstruction Neg64(BpfRegister dst) => new((byte)(ClassAlu64 | Neg), dst, 0, 0, 0);

    /// <summary>Byte swap of the low <paramref name="bits"/> (16/32/64) to big endian (network order).</summary>
    public static BpfInstruction ToBigEndian(BpfRegister dst, int bits) => new((byte)(ClassAlu | End | ToBe), dst, 0, 0, bits);
    public static BpfInstruction ToLittleEndian(BpfRegister dst, int bits) => new((byte)(ClassAlu | End | ToLe), dst, 0, 0, bits);

    // ---- memory ----
    /// <summary>dst = *(size *)(src + offset)</summary>
    public static BpfInstruction LoadMem(byte size, BpfRegister dst, BpfRegister src, short offset) => new((byte)(ClassLdx | ModeMem | size), dst, src, offset, 0);
    /// <summary>*(size *)(dst + offset) = src</summary>
    public static BpfInstruction StoreMem(byte size, BpfRegister dst, short offset, BpfRegister src) => new((byte)(ClassStx | ModeMem | size), dst, src, offset, 0);
    /// <summary>*(size *)(dst + offset) = imm</summary>
    public static BpfInstruction StoreImm(byte size, BpfRegister dst, short offset, int imm) => new((byte)(ClassSt | ModeMem | size), dst, 0, offset, imm);
    /// <summary>lock *(size *)(dst + offset) op= src, op one of AtomicAdd/Or/And/Xor, optionally | AtomicFetch.</summary>
    public static BpfInstruction Atomic(byte size, int operation, BpfRegister dst, short offset, BpfRegister src) => new((byte)(ClassStx | ModeAtomic | size), dst, src, offset, operation);
    public static BpfInstruction AtomicAdd64(BpfRegister dst, short offset, BpfRegister src) => Atomic(SizeDW, AtomicAdd, dst, offset, src);

    /// <summary>Legacy packet loads for socket filters: r0 = *(size *)skb[imm].</summary>
    public static BpfInstruction LoadAbsolute(byte size, int offset) => new((byte)(ClassLd | ModeAbs | size), 0, 0, 0, offset);
    /// <summary>r0 = *(size *)skb[src + imm].</summary>
    public static BpfInstruction LoadIndirect(byte size, BpfRegister src, int offset) => new((byte)(ClassLd | ModeInd | size), 0, src, 0, offset);

    // ---- 16-byte loads ----
    /// <summary>The two slots of dst = imm64.</summary>
    public static (BpfInstruction First, BpfInstruction Second) LoadImm64(BpfRegister dst, long value) =>
        LoadImm64(dst, BpfPseudoSource.None, (int)value, (int)(value >> 32));

    public static (BpfInstruction First, BpfInstruction Second) LoadImm64(BpfRegister dst, BpfPseudoSource kind, int low, int high) =>
        (new BpfInstruction((byte)(ClassLd | SizeDW | ModeImm), dst, (BpfRegister)kind, 0, low), new BpfInstruction(0, 0, 0, 0, high));

    /// <summary>dst = the map whose descriptor is <paramref name="mapFd"/> (BPF_PSEUDO_MAP_FD).</summary>
    public static (BpfInstruction First, BpfInstruction Second) LoadMapFd(BpfRegister dst, int mapFd) => LoadImm64(dst, BpfPseudoSource.MapFd, mapFd, 0);

    /// <summary>dst = address of byte <paramref name="offset"/> of the map's (single) value (global data).</summary>
    public static (BpfInstruction First, BpfInstruction Second) LoadMapValue(BpfRegister dst, int mapFd, int offset) => LoadImm64(dst, BpfPseudoSource.MapValue, mapFd, offset);

    // ---- control flow ----
    public static BpfInstruction Call(int helperId) => new((byte)(ClassJmp | BpfOpCode.Call), 0, 0, 0, helperId);

    /// <summary>Calls a helper by its kernel name ("bpf_ktime_get_ns" or "ktime_get_ns").</summary>
    public static BpfInstruction Call(string helperName)
    {
        int id = BpfHelper.IdOf(helperName);
        if (id < 0)
            throw new ArgumentException($"unknown BPF helper '{helperName}'", nameof(helperName));
        return Call(id);
    }

    /// <summary>BPF-to-BPF call; <paramref name="relative"/> is the target index minus (this index + 1).</summary>
    public static BpfInstruction CallSubprogram(int relative) => new((byte)(ClassJmp | BpfOpCode.Call), 0, (BpfRegister)BpfCallKind.Subprogram, 0, relative);

    /// <summary>Call of a kernel function by BTF id; <paramref name="moduleIndex"/> picks module BTF from fd_array (0 = vmlinux).</summary>
    public static BpfInstruction CallKfunc(int btfId, short moduleIndex = 0) => new((byte)(ClassJmp | BpfOpCode.Call), 0, (BpfRegister)BpfCallKind.Kfunc, moduleIndex, btfId);

    public static BpfInstruction Exit() => new((byte)(ClassJmp | BpfOpCode.Exit), 0, 0, 0, 0);

    public static BpfInstruction Ja(short offset) => new((byte)(ClassJmp | BpfOpCode.Ja), 0, 0, offset, 0);

    /// <summary>if dst op imm goto +offset (64-bit compare).</summary>
    public static BpfInstruction Jump(byte operation, BpfRegister dst, int imm, short offset) => new((byte)(ClassJmp | SourceK | operation), dst, 0, offset, imm);
    /// <summary>if dst op src goto +offset (64-bit compare).</summary>
    public static BpfInstruction Jump(byte operation, BpfRegister dst, BpfRegister src, short offset) => new((byte)(ClassJmp | SourceX | operation), dst, src, offset, 0);
    /// <summary>if wdst op imm goto +offset (32-bit compare).</summary>
    public static BpfInstruction Jump32(byte operation, BpfRegister dst, int imm, short offset) => new((byte)(ClassJmp32 | SourceK | operation), dst, 0, offset, imm);
    public static BpfInstruction Jump32(byte operation, BpfRegister dst, BpfRegister src, short offset) => new((byte)(ClassJmp32 | SourceX | operation), dst, src, offset, 0);
}
