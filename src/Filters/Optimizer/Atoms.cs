using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// The "atoms" of data-flow analysis: scratch words M[0..15], then A and X. Sets of atoms fit in one
/// <see cref="uint"/>.
/// </summary>
internal static class Atoms
{
    /// <summary>A deleted statement; linearization skips it.</summary>
    public const int Nop = -1;

    public const int A = MemWords;
    public const int X = MemWords + 1;
    /// <summary>Both A and X (a use by an ALU or jump operation with an X operand).</summary>
    public const int AX = Block.Atoms;
    public const int None = -1;

    /// <summary>In the tables: the scratch word named by the statement's k.</summary>
    private const sbyte MemoryWordK = Block.Atoms + 1;

    // What each opcode reads and writes, computed once (the data-flow passes ask for every statement).
    private static readonly sbyte[] UsedByOpcode = BuildTable(UsedByClass);
    private static readonly sbyte[] DefinedByOpcode = BuildTable(DefinedByClass);

    public static uint Mask(int atom) => 1u << atom;

    public static bool Contains(uint set, int atom) => (set & (1u << atom)) != 0;

    /// <summary>The atom a statement reads, <see cref="AX"/> for both registers, <see cref="None"/> for none.</summary>
    public static int Used(int code, uint k)
    {
        int atom = (uint)code < 256 ? UsedByOpcode[code] : code == Nop ? None : UsedByClass(code);
        return atom == MemoryWordK ? (int)k : atom;
    }

    /// <summary>The set of atoms a statement reads.</summary>
    public static uint UseMask(int code, uint k)
    {
        int atom = Used(code, k);
        if (atom == AX)
            return Mask(A) | Mask(X);
        return atom >= 0 ? Mask(atom) : 0;
    }

    /// <summary>The atom a statement writes, or <see cref="None"/>; a statement never writes two.</summary>
    public static int Defined(int code, uint k)
    {
        int atom = (uint)code < 256 ? DefinedByOpcode[code] : code == Nop ? None : DefinedByClass(code);
        return atom == MemoryWordK ? (int)k : atom;
    }

    private static sbyte[] BuildTable(Func<int, sbyte> atomOf)
    {
        var table = new sbyte[256];
        for (int code = 0; code < table.Length; code++)
            table[code] = atomOf(code);
        return table;
    }

    private static sbyte UsedByClass(int code) => Class(code) switch
    {
        Ret => RVal(code) == Cbpf.Cbpf.A ? (sbyte)A : RVal(code) == Cbpf.Cbpf.X ? (sbyte)X : (sbyte)None,
        Ld or Ldx => Mode(code) == Ind ? (sbyte)X : Mode(code) == Mem ? MemoryWordK : (sbyte)None,
        St => A,
        Stx => X,
        Jmp or Alu => Src(code) == Cbpf.Cbpf.X ? (sbyte)AX : (sbyte)A,
        _ => MiscOp(code) == Txa ? (sbyte)X : (sbyte)A, // misc
    };

    private static sbyte DefinedByClass(int code) => Class(code) switch
    {
        Ld or Alu => A,
        Ldx => X,
        St or Stx => MemoryWordK,
        Misc => MiscOp(code) == Tax ? (sbyte)X : (sbyte)A,
        _ => None,
    };
}

/// <summary>A value number per atom (a block's values on entry or exit), held on the stack.</summary>
[InlineArray(Block.Atoms)]
internal struct AtomValues
{
    private uint _element0;

    // The helpers below work on the first 16 atoms as two 256-bit vectors (four 128-bit ones
    // where AVX2 is missing, as for a Native AOT build for the baseline x64), then on A and X.

    /// <summary>Copies the values at <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void Copy(ref uint source, ref uint destination)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256.LoadUnsafe(ref source).StoreUnsafe(ref destination);
            Vector256.LoadUnsafe(ref source, 8).StoreUnsafe(ref destination, 8);
            Unsafe.Add(ref destination, 16) = Unsafe.Add(ref source, 16);
            Unsafe.Add(ref destination, 17) = Unsafe.Add(ref source, 17);
            return;
        }
        Vector128.LoadUnsafe(ref source).StoreUnsafe(ref destination);
        Vector128.LoadUnsafe(ref source, 4).StoreUnsafe(ref destination, 4);
        Vector128.LoadUnsafe(ref source, 8).StoreUnsafe(ref destination, 8);
        Vector128.LoadUnsafe(ref source, 12).StoreUnsafe(ref destination, 12);
        Unsafe.Add(ref destination, 16) = Unsafe.Add(ref source, 16);
        Unsafe.Add(ref destination, 17) = Unsafe.Add(ref source, 17);
    }

    public static bool Equal(ref uint x, ref uint y) => Vector256.IsHardwareAccelerated
        ? ((Vector256.LoadUnsafe(ref x) ^ Vector256.LoadUnsafe(ref y))
           | (Vector256.LoadUnsafe(ref x, 8) ^ Vector256.LoadUnsafe(ref y, 8))) == Vector256<uint>.Zero
          && Unsafe.Add(ref x, 16) == Unsafe.Add(ref y, 16)
          && Unsafe.Add(ref x, 17) == Unsafe.Add(ref y, 17)
        : ((Vector128.LoadUnsafe(ref x) ^ Vector128.LoadUnsafe(ref y))
         | (Vector128.LoadUnsafe(ref x, 4) ^ Vector128.LoadUnsafe(ref y, 4))
         | (Vector128.LoadUnsafe(ref x, 8) ^ Vector128.LoadUnsafe(ref y, 8))
         | (Vector128.LoadUnsafe(ref x, 12) ^ Vector128.LoadUnsafe(ref y, 12))) == Vector128<uint>.Zero
        && Unsafe.Add(ref x, 16) == Unsafe.Add(ref y, 16)
        && Unsafe.Add(ref x, 17) == Unsafe.Add(ref y, 17);

    /// <summary>Makes every value of <paramref name="into"/> that differs in <paramref name="other"/> unknown (0).</summary>
    public static void Meet(ref uint into, ref uint other)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            var low = Vector256.LoadUnsafe(ref into);
            (low & Vector256.Equals(low, Vector256.LoadUnsafe(ref other))).StoreUnsafe(ref into);
            var high = Vector256.LoadUnsafe(ref into, 8);
            (high & Vector256.Equals(high, Vector256.LoadUnsafe(ref other, 8))).StoreUnsafe(ref into, 8);
        }
        else
        {
            for (nuint i = 0; i < 16; i += 4)
            {
                var a = Vector128.LoadUnsafe(ref into, i);
                (a & Vector128.Equals(a, Vector128.LoadUnsafe(ref other, i))).StoreUnsafe(ref into, i);
            }
        }
        if (Unsafe.Add(ref into, 16) != Unsafe.Add(ref other, 16))
            Unsafe.Add(ref into, 16) = 0;
        if (Unsafe.Add(ref into, 17) != Unsafe.Add(ref other, 17))
            Unsafe.Add(ref into, 17) = 0;
    }
}

/// <summary>A statement slot per atom, held on the stack.</summary>
[InlineArray(Block.Atoms)]
internal struct AtomSlots
{
    private int _element0;
}
