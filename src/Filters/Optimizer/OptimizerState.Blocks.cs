using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

// Work inside blocks: symbolic evaluation with constant folding, peephole rules, dead stores.
internal sealed partial class OptimizerState
{
    /// <summary>One pass over all blocks (top level first), then, unless statements are being optimized, branch moves.</summary>
    private void OptimizeBlocks(bool doStatements)
    {
        _values.Reset();
        int maxLevel = Root.Level;

        FindInEdges();
        for (int level = maxLevel; level >= 0; level--)
        {
            for (Block? b = _levels[level]; b is not null; b = b.Link)
                OptimizeBlock(b, doStatements);
        }

        // Moving branches once statements are being optimized cannot make a difference any more.
        if (doStatements)
            return;

        for (int level = 1; level <= maxLevel; level++)
        {
            for (Block? b = _levels[level]; b is not null; b = b.Link)
            {
                ThreadJump(b.Et);
                ThreadJump(b.Ef);
            }
        }

        FindInEdges();
        for (int level = 1; level <= maxLevel; level++)
        {
            for (Block? b = _levels[level]; b is not null; b = b.Link)
            {
                PullUpOr(b);
                PullUpAnd(b);
            }
        }
    }

    private void OptimizeBlock(Block b, bool doStatements)
    {
        uint[] val = b.Val;
        Edge? p = b.InEdges;
        if (p is null)
        {
            // No predecessors: nothing is known on entry.
            Array.Clear(val);
        }
        else
        {
            // Values agreed on by every predecessor are known on entry; the others are unknown.
            p.Pred!.Val.AsSpan().CopyTo(val);
            for (Edge? q = p.Next; q is not null; q = q.Next)
                KeepAgreedValues(val, q.Pred!.Val);
        }

        uint aval = val[Atoms.A];
        uint xval = val[Atoms.X];
        for (Slist? s = b.Stmts; s is not null; s = s.Next)
            OptimizeStatement(s.S, val, doStatements);

        // A block that changes nothing anyone uses (A and X keep known values), or that returns,
        // needs no statements: the machine has no side effects.
        if (doStatements &&
            ((b.OutUse == 0 &&
              aval != ValueNumbering.Unknown && val[Atoms.A] == aval &&
              xval != ValueNumbering.Unknown && val[Atoms.X] == xval) ||
             Class(b.S.Code) == Ret))
        {
            if (b.Stmts is not null)
            {
                b.Stmts = null;
                NoteChange();
            }
        }
        else
        {
            Peephole(b);
            EliminateDeadStores(b);
        }

        // What the branch compares with, for jump threading.
        b.Oval = (int)(Src(b.S.Code) == K ? _values.Constant(b.S.K) : val[Atoms.X]);
        b.Et.Code = b.S.Code;
        b.Ef.Code = -b.S.Code;
    }

    private static void KeepAgreedValues(uint[] val, uint[] other)
    {
        Span<uint> mine = val.AsSpan(0, Block.Atoms);
        ReadOnlySpan<uint> theirs = other.AsSpan(0, Block.Atoms);
        for (int i = 0; i < mine.Length; i++)
        {
            if (mine[i] != theirs[i])
                mine[i] = ValueNumbering.Unknown;
        }
    }

    /// <summary>
    /// Evaluates one statement symbolically, updating the values it defines; when
    /// <paramref name="alter"/> is set, also simplifies it (folds constants, drops redundant loads).
    /// </summary>
    private void OptimizeStatement(Stmt s, uint[] val, bool alter)
    {
        uint v;
        switch (s.Code)
        {
            case Ld | Abs | W:
            case Ld | Abs | H:
            case Ld | Abs | B:
                v = _values.Lookup(s.Code, s.K, 0);
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Ld | Ind | W:
            case Ld | Ind | H:
            case Ld | Ind | B:
                v = val[Atoms.X];
                if (alter && _values.IsConstant(v))
                {
                    // X is known: the indexed load is an absolute one.
                    s.Code = Ld | Abs | Size(s.Code);
                    s.K += _values.ConstantOf(v);
                    v = _values.Lookup(s.Code, s.K, 0);
                    NoteChange();
                }
                else
                {
                    v = _values.Lookup(s.Code, s.K, v);
                }
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Ld | Len:
                v = _values.Lookup(s.Code, 0, 0);
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Ld | Imm:
                v = _values.Constant(s.K);
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Ldx | Imm:
                v = _values.Constant(s.K);
                Store(s, ref val[Atoms.X], v, alter);
                break;

            case Ldx | Msh | B:
                v = _values.Lookup(s.Code, s.K, 0);
                Store(s, ref val[Atoms.X], v, alter);
                break;

            case Alu | Neg:
                if (alter && _values.IsConstant(val[Atoms.A]))
                {
                    // Unsigned negation, as BPF engines do it. (libpcap counts this as no change.)
                    s.Code = Ld | Imm;
                    s.K = 0u - _values.ConstantOf(val[Atoms.A]);
                    val[Atoms.A] = _values.Constant(s.K);
                }
                else
                {
                    val[Atoms.A] = _values.Lookup(s.Code, val[Atoms.A], 0);
                }
                break;

            case Alu | Add | K:
            case Alu | Sub | K:
            case Alu | Mul | K:
            case Alu | Div | K:
            case Alu | Mod | K:
            case Alu | And | K:
            case Alu | Or | K:
            case Alu | Xor | K:
            case Alu | Lsh | K:
            case Alu | Rsh | K:
                OptimizeAluConstant(s, val, alter);
                break;

            case Alu | Add | X:
            case Alu | Sub | X:
            case Alu | Mul | X:
            case Alu | Div | X:
            case Alu | Mod | X:
            case Alu | And | X:
            case Alu | Or | X:
            case Alu | Xor | X:
            case Alu | Lsh | X:
            case Alu | Rsh | X:
                OptimizeAluIndex(s, val, alter);
                break;

            case Misc | Txa:
                Store(s, ref val[Atoms.A], val[Atoms.X], alter);
                break;

            case Ld | Mem:
                v = val[s.K];
                if (alter && _values.IsConstant(v))
                {
                    s.Code = Ld | Imm;
                    s.K = _values.ConstantOf(v);
                    NoteChange();
                }
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Misc | Tax:
                Store(s, ref val[Atoms.X], val[Atoms.A], alter);
                break;

            case Ldx | Mem:
                v = val[s.K];
                if (alter && _values.IsConstant(v))
                {
                    s.Code = Ldx | Imm;
                    s.K = _values.ConstantOf(v);
                    NoteChange();
                }
                Store(s, ref val[Atoms.X], v, alter);
                break;

            case St:
                Store(s, ref val[s.K], val[Atoms.A], alter);
                break;

            case Stx:
                Store(s, ref val[s.K], val[Atoms.X], alter);
                break;

            // Everything else (deleted statements, jumps inside a statement list) has no value to track.
        }
    }

    private void OptimizeAluConstant(Stmt s, uint[] val, bool alter)
    {
        int op = Op(s.Code);
        if (alter)
        {
            if (s.K == 0)
            {
                // "sub #0" stays: the code generator may rely on it later. (libpcap counts none of
                // these rewrites as a change.)
                if (op is Add or Lsh or Rsh or Or or Xor)
                {
                    s.Code = Atoms.Nop;
                    return;
                }
                if (op is Mul or And)
                {
                    s.Code = Ld | Imm;
                    val[Atoms.A] = _values.Constant(s.K);
                    return;
                }
                if (op == Div)
                    throw new FilterCompileException("division by zero");
                if (op == Mod)
                    throw new FilterCompileException("modulus by zero");
            }
            if (_values.IsConstant(val[Atoms.A]))
            {
                FoldConstants(s, val[Atoms.A], _values.Constant(s.K));
                val[Atoms.A] = _values.Constant(s.K);
                return;
            }
        }
        val[Atoms.A] = _values.Lookup(s.Code, val[Atoms.A], _values.Constant(s.K));
    }

    private void OptimizeAluIndex(Stmt s, uint[] val, bool alter)
    {
        int op = Op(s.Code);
        if (alter && _values.IsConstant(val[Atoms.X]))
        {
            if (_values.IsConstant(val[Atoms.A]))
            {
                FoldConstants(s, val[Atoms.A], val[Atoms.X]);
                val[Atoms.A] = _values.Constant(s.K);
            }
            else
            {
                // X is known: use it as an immediate operand.
                s.Code = Alu | K | op;
                s.K = _values.ConstantOf(val[Atoms.X]);
                if ((op == Lsh || op == Rsh) && s.K > 31)
                    throw new FilterCompileException("shift by more than 31 bits");
                NoteChange();
                val[Atoms.A] = _values.Lookup(s.Code, val[Atoms.A], _values.Constant(s.K));
            }
            return;
        }

        // An operation on an accumulator known to be 0 may simplify, opening further optimizations.
        if (alter && _values.IsConstant(val[Atoms.A]) && _values.ConstantOf(val[Atoms.A]) == 0)
        {
            if (op is Add or Or or Xor)
            {
                s.Code = Misc | Txa;
                Store(s, ref val[Atoms.A], val[Atoms.X], alter);
                return;
            }
            if (op is Mul or Div or Mod or And or Lsh or Rsh)
            {
                s.Code = Ld | Imm;
                s.K = 0;
                Store(s, ref val[Atoms.A], _values.Constant(s.K), alter);
                return;
            }
        }
        val[Atoms.A] = _values.Lookup(s.Code, val[Atoms.A], val[Atoms.X]);
    }

    /// <summary>Records a statement's result; a statement that reloads the value already there is deleted.</summary>
    private static void Store(Stmt s, ref uint slot, uint value, bool alter)
    {
        if (alter && value != ValueNumbering.Unknown && slot == value)
            s.Code = Atoms.Nop;
        else
            slot = value;
    }

    /// <summary>Replaces a binary operation on two constants by a load of its result.</summary>
    private void FoldConstants(Stmt s, uint v0, uint v1)
    {
        uint a = _values.ConstantOf(v0);
        uint b = _values.ConstantOf(v1);
        switch (Op(s.Code))
        {
            case Add: a += b; break;
            case Sub: a -= b; break;
            case Mul: a *= b; break;
            case Div:
                if (b == 0)
                    throw new FilterCompileException("division by zero");
                a /= b;
                break;
            case Mod:
                if (b == 0)
                    throw new FilterCompileException("modulus by zero");
                a %= b;
                break;
            case And: a &= b; break;
            case Or: a |= b; break;
            case Xor: a ^= b; break;
            // Shifts by 32 or more shift every bit out (C leaves them undefined).
            case Lsh: a = b < 32 ? a << (int)b : 0; break;
            case Rsh: a = b < 32 ? a >> (int)b : 0; break;
            default: throw new InvalidOperationException($"cannot fold opcode 0x{s.Code:x}");
        }
        s.K = a;
        s.Code = Ld | Imm;
        NoteChange();
    }

    /// <summary>The first statement at or after <paramref name="s"/> that is not deleted.</summary>
    private static Slist? NextLive(Slist? s)
    {
        while (s is not null && s.S.Code == Atoms.Nop)
            s = s.Next;
        return s;
    }

    /// <summary>Peephole rules on a block's statements and its branch (libpcap's opt_peep).</summary>
    private void Peephole(Block b)
    {
        Slist? s = b.Stmts;
        if (s is null)
            return; // libpcap skips the branch rules too for blocks without statements.

        // Note: "last" starts at the list head even when that is deleted, as in libpcap.
        Slist last = s;
        for (Slist? next; ; s = next)
        {
            s = NextLive(s);
            if (s is null)
                break;
            next = NextLive(s.Next);
            if (next is null)
                break;
            last = next;

            // st M[k]; ldx M[k]  ->  st M[k]; tax
            if (s.S.Code == St && next.S.Code == (Ldx | Mem) && s.S.K == next.S.K)
            {
                NoteChange();
                next.S.Code = Misc | Tax;
            }

            // ld #k; tax  ->  ldx #k; txa
            if (s.S.Code == (Ld | Imm) && next.S.Code == (Misc | Tax))
            {
                s.S.Code = Ldx | Imm;
                next.S.Code = Misc | Txa;
                NoteChange();
            }

            // ld #k; [ldxms]; add x; tax; ld[x+n]  ->  [ldxms]; ld[x+n+k]  (tcp[k], udp[k] with constant k),
            // allowed only when X is not used after the block, since X changes.
            if (s.S.Code == (Ld | Imm))
            {
                if (Atoms.Contains(b.OutUse, Atoms.X))
                    continue;
                Slist? add = next.S.Code != (Ldx | Msh | B) ? next : NextLive(next.Next);
                if (add is null || add.S.Code != (Alu | Add | X))
                    continue;
                Slist? tax = NextLive(add.Next);
                if (tax is null || tax.S.Code != (Misc | Tax))
                    continue;
                Slist? load = NextLive(tax.Next);
                if (load is null || Class(load.S.Code) != Ld || Mode(load.S.Code) != Ind)
                    continue;
                load.S.K += s.S.K;
                s.S.Code = Atoms.Nop;
                add.S.Code = Atoms.Nop;
                tax.S.Code = Atoms.Nop;
                NoteChange();
            }
        }

        // Equality tests against a constant whose A is not needed afterwards can absorb the
        // arithmetic just before them.
        if (b.S.Code == (Jmp | Jeq | K) && !Atoms.Contains(b.OutUse, Atoms.A))
        {
            if (last.S.Code == (Alu | Sub | X))
            {
                uint xv = b.Val[Atoms.X];
                if (_values.IsConstant(xv))
                {
                    // sub x; jeq #y  ->  jeq #(y + x)
                    b.S.K += _values.ConstantOf(xv);
                    last.S.Code = Atoms.Nop;
                    NoteChange();
                }
                else if (b.S.K == 0)
                {
                    // sub x; jeq #0  ->  jeq x
                    last.S.Code = Atoms.Nop;
                    b.S.Code = Jmp | Jeq | X;
                    NoteChange();
                }
            }
            else if (last.S.Code == (Alu | Sub | K))
            {
                // sub #x; jeq #y  ->  jeq #(y + x)
                last.S.Code = Atoms.Nop;
                b.S.K += last.S.K;
                NoteChange();
            }
            else if (last.S.Code == (Alu | And | K) && b.S.K == 0)
            {
                // and #k; jeq #0  ->  jset #k with the branches swapped
                b.S.K = last.S.K;
                b.S.Code = Jmp | K | Jset;
                last.S.Code = Atoms.Nop;
                NoteChange();
                (b.Jt, b.Jf) = (b.Jf, b.Jt);
            }
        }

        // jset #0 never branches; jset #0xffffffff always does.
        if (b.S.Code == (Jmp | K | Jset))
        {
            if (b.S.K == 0)
                b.Jt = b.Jf;
            if (b.S.K == 0xffffffff)
                b.Jf = b.Jt;
        }

        // A comparison with X, where X is known, is a comparison with a constant.
        uint val = b.Val[Atoms.X];
        if (_values.IsConstant(val) && Src(b.S.Code) == X)
        {
            b.S.Code &= ~X;
            b.S.K = _values.ConstantOf(val);
        }

        // A comparison of a known A with a constant has a known outcome.
        val = b.Val[Atoms.A];
        if (_values.IsConstant(val) && Src(b.S.Code) == K)
        {
            uint v = _values.ConstantOf(val);
            bool taken = Op(b.S.Code) switch
            {
                Jeq => v == b.S.K,
                Jgt => v > b.S.K,
                Jge => v >= b.S.K,
                Jset => (v & b.S.K) != 0,
                _ => throw new InvalidOperationException($"unexpected branch opcode 0x{b.S.Code:x}"),
            };
            if (b.Jf != b.Jt)
                NoteChange();
            if (taken)
                b.Jf = b.Jt;
            else
                b.Jt = b.Jf;
        }
    }

    /// <summary>Deletes stores whose value is overwritten, in the block or by the time anyone reads it.</summary>
    private void EliminateDeadStores(Block b)
    {
        // last[atom] is meaningful only for the atoms in "pending". (A stack buffer: storing
        // references there needs no GC write barrier.)
        var last = new DefinitionsByAtom();
        uint pending = 0;
        for (Slist? s = b.Stmts; s is not null; s = s.Next)
            pending = TrackDefinition(s.S, ref last, pending);
        pending = TrackDefinition(b.S, ref last, pending);

        for (uint unread = pending & ~b.OutUse; unread != 0; unread &= unread - 1)
        {
            last[BitSet.LowestMember(unread)]!.Code = Atoms.Nop;
            NoteChange();
        }
    }

    /// <summary>A definition nobody read before the next definition of the same atom is dead.</summary>
    private uint TrackDefinition(Stmt s, ref DefinitionsByAtom last, uint pending)
    {
        int atom = Atoms.Used(s);
        if (atom >= 0)
            pending &= atom == Atoms.AX ? ~(Atoms.Mask(Atoms.X) | Atoms.Mask(Atoms.A)) : ~Atoms.Mask(atom);
        atom = Atoms.Defined(s);
        if (atom >= 0)
        {
            if (Atoms.Contains(pending, atom))
            {
                NoteChange();
                last[atom]!.Code = Atoms.Nop;
            }
            last[atom] = s;
            pending |= Atoms.Mask(atom);
        }
        return pending;
    }

    /// <summary>The latest definition of each atom, for dead-store elimination.</summary>
    [System.Runtime.CompilerServices.InlineArray(Block.Atoms)]
    private struct DefinitionsByAtom
    {
        private Stmt? _first;
    }
}
