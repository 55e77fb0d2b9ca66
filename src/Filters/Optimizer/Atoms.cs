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

    public static uint Mask(int atom) => 1u << atom;

    public static bool Contains(uint set, int atom) => (set & (1u << atom)) != 0;

    /// <summary>The atom a statement reads, <see cref="AX"/> for both registers, <see cref="None"/> for none.</summary>
    public static int Used(Stmt s)
    {
        int code = s.Code;
        if (code == Nop)
            return None;
        switch (Class(code))
        {
            case Ret:
                return RVal(code) == Cbpf.Cbpf.A ? A : RVal(code) == Cbpf.Cbpf.X ? X : None;
            case Ld:
            case Ldx:
                return Mode(code) == Ind ? X : Mode(code) == Mem ? (int)s.K : None;
            case St:
                return A;
            case Stx:
                return X;
            case Jmp:
            case Alu:
                return Src(code) == Cbpf.Cbpf.X ? AX : A;
            default: // misc
                return MiscOp(code) == Txa ? X : A;
        }
    }

    /// <summary>The atom a statement writes, or <see cref="None"/>; a statement never writes two.</summary>
    public static int Defined(Stmt s)
    {
        int code = s.Code;
        if (code == Nop)
            return None;
        return Class(code) switch
        {
            Ld or Alu => A,
            Ldx => X,
            St or Stx => (int)s.K,
            Misc => MiscOp(code) == Tax ? X : A,
            _ => None,
        };
    }
}
