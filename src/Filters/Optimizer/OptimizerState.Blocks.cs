using System.Runtime.CompilerServices;
using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

// Work inside blocks: symbolic evaluation with constant folding, peephole rules, dead stores.
internal sealed partial class OptimizerState
{
    /// <summary>One pass over all blocks (top level first), then, unless statements are being optimized, branch moves.</summary>
    private void OptimizeBlocks(bool doStatements)
    {
        // The value table is not reset between passes (libpcap's is): numbers stand for the same
        // computations whenever they are made, so equal numbers still mean equal values, and the
        // values of blocks skipped as unchanged stay valid.
        int maxLevel = _level[_root];

        FindInEdges();
        for (int level = maxLevel; level >= 0; level--)
        {
            for (int b = _levelHead[level]; b != None; b = _levelNext[b])
                OptimizeBlock(b, doStatements);
        }

        // Moving branches once statements are being optimized cannot make a difference any more.
        if (doStatements)
            return;

        for (int level = 1; level <= maxLevel; level++)
        {
            for (int b = _levelHead[level]; b != None; b = _levelNext[b])
            {
                ThreadJump(b);
                ThreadJump(_n + b);
            }
        }

        FindInEdges();
        for (int level = 1; level <= maxLevel; level++)
        {
            for (int b = _levelHead[level]; b != None; b = _levelNext[b])
            {
                PullUpOr(b);
                PullUpAnd(b);
            }
        }
    }

    private void OptimizeBlock(int b, bool doStatements)
    {
        // A return without statements has nothing to simplify, and what libpcap computes for it
        // here (entry values merged from every predecessor, the value its branch compares with,
        // its edges' opcodes) is never read: returns have no successors, use nothing afterwards,
        // and never match a jump's opcode. Skipping them spares merging long or-chains into the
        // shared returns on every pass.
        if (IsReturn(b) && _first[b] == _end[b])
            return;

        // Values agreed on by every predecessor are known on entry; the others are unknown. No
        // predecessors: nothing is known.
        Unsafe.SkipInit(out AtomValues val);
        MergeEntryValues(b, ref val);
        int mode = doStatements ? MemoStatements : MemoBranches;
        ref uint lastEntry = ref _entry[b * Block.Atoms];
        int jt0 = _jt[b], jf0 = _jf[b];
        int memo = _memo[b];
        if ((memo & mode) != 0 && _memoOutUse[b] == _outUse[b]
            && ((memo & MemoSuccessors) == 0 || (_memoJt[b] == jt0 && _memoJf[b] == jf0))
            && AtomValues.Equal(ref val[0], ref lastEntry))
        {
            return; // as last time: no change, and the same values on exit
        }
        AtomValues.Copy(ref val[0], ref lastEntry);
        _edited = false;
        _alterable = false;

        uint aval = val[Atoms.A];
        uint xval = val[Atoms.X];
        for (int s = _first[b], end = _end[b]; s < end; s++)
            OptimizeStatement(s, ref val, doStatements);
        AtomValues.Copy(ref val[0], ref _val[b * Block.Atoms]);

        // A block that changes nothing anyone uses (A and X keep known values), or that returns,
        // needs no statements: the machine has no side effects.
        bool needless = (_outUse[b] == 0 &&
                         aval != ValueNumbering.Unknown && val[Atoms.A] == aval &&
                         xval != ValueNumbering.Unknown && val[Atoms.X] == xval) ||
                        Class(_code[b]) == Ret;
        if (needless && !doStatements && _first[b] != _end[b])
            _alterable = true; // the statement passes will drop them
        if (doStatements && needless)
        {
            if (_first[b] != _end[b])
            {
                _end[b] = _first[b];
                _dropped[b] = true;
                _edited = true;
                NoteChange();
            }
        }
        else
        {
            Peephole(b);
            EliminateDeadStores(b);
        }

        // What the branch compares with, for jump threading.
        _oval[b] = Src(_code[b]) == K ? _values.Constant(_k[b]) : val[Atoms.X];

        // Only this method changes a block's statements or branch: refresh what the next pass's
        // use-def analysis reads about the block now rather than recompute it for every block.
        if (_edited)
        {
            ComputeLocalUseDef(b);
            _memo[b] = 0;
        }
        else if (_jt[b] != jt0 || _jf[b] != jf0)
        {
            _memo[b] = 0;
        }
        else
        {
            // Stable. Without statement changes it is stable with them too, unless a rule that
            // only the statement passes apply would have fired. Its successors matter only to the
            // peephole rules that decide the branch (jset #0 or #-1, a known A against a constant).
            memo = doStatements ? MemoStatements : _alterable ? MemoBranches : MemoBranches | MemoStatements;
            if ((_code[b] == (Jmp | K | Jset) && (_k[b] == 0 || _k[b] == 0xffffffff))
                || (Src(_code[b]) == K && _values.IsConstant(val[Atoms.A])))
            {
                memo |= MemoSuccessors;
                _memoJt[b] = jt0;
                _memoJf[b] = jf0;
            }
            _memo[b] = (byte)memo;
            _memoOutUse[b] = _outUse[b];
        }
    }

    // _memo bits: stable in the branch passes, stable in the statement passes, depends on successors.
    private const int MemoBranches = 1;
    private const int MemoStatements = 2;
    private const int MemoSuccessors = 4;

    /// <summary>
    /// Under alter: true. Otherwise records that a rewrite only the statement passes make applies
    /// here (the block's stability then says nothing about those passes) and returns false.
    /// </summary>
    private bool Alter(bool alter)
    {
        if (alter)
            return true;
        _alterable = true;
        return false;
    }

    /// <summary>Meet of the exit values of <paramref name="b"/>'s predecessors (libpcap merges into b->val).</summary>
    private void MergeEntryValues(int b, ref AtomValues entry)
    {
        int edge = _inHead[b];
        if (edge == None)
        {
            entry = default;
            return;
        }
        uint[] values = _val;
        AtomValues.Copy(ref values[PredOf(edge) * Block.Atoms], ref entry[0]);
        for (edge = _inNext[edge]; edge != None; edge = _inNext[edge])
            AtomValues.Meet(ref entry[0], ref values[PredOf(edge) * Block.Atoms]);
    }

    /// <summary>
    /// Evaluates statement <paramref name="s"/> symbolically, updating the values it defines; when
    /// <paramref name="alter"/> is set, also simplifies it (folds constants, drops redundant loads).
    /// </summary>
    private void OptimizeStatement(int s, ref AtomValues val, bool alter)
    {
        int code = _stmtCode[s];
        uint k = _stmtK[s];
        uint v;
        switch (code)
        {
            case Ld | Abs | W:
            case Ld | Abs | H:
            case Ld | Abs | B:
                v = _values.Lookup(code, k, 0);
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Ld | Ind | W:
            case Ld | Ind | H:
            case Ld | Ind | B:
                v = val[Atoms.X];
                if (_values.IsConstant(v) && Alter(alter))
                {
                    // X is known: the indexed load is an absolute one.
                    int absolute = Ld | Abs | Size(code);
                    uint offset = k + _values.ConstantOf(v);
                    SetStatement(s, absolute, offset);
                    v = _values.Lookup(absolute, offset, 0);
                    NoteChange();
                }
                else
                {
                    v = _values.Lookup(code, k, v);
                }
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Ld | Len:
                v = _values.Lookup(code, 0, 0);
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Ld | Imm:
                v = _values.Constant(k);
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Ldx | Imm:
                v = _values.Constant(k);
                Store(s, ref val[Atoms.X], v, alter);
                break;

            case Ldx | Msh | B:
                v = _values.Lookup(code, k, 0);
                Store(s, ref val[Atoms.X], v, alter);
                break;

            case Alu | Neg:
                if (_values.IsConstant(val[Atoms.A]) && Alter(alter))
                {
                    // Unsigned negation, as BPF engines do it. (libpcap counts this as no change.)
                    uint negated = 0u - _values.ConstantOf(val[Atoms.A]);
                    SetStatement(s, Ld | Imm, negated);
                    val[Atoms.A] = _values.Constant(negated);
                }
                else
                {
                    val[Atoms.A] = _values.Lookup(code, val[Atoms.A], 0);
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
                OptimizeAluConstant(s, ref val, alter);
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
                OptimizeAluIndex(s, ref val, alter);
                break;

            case Misc | Txa:
                Store(s, ref val[Atoms.A], val[Atoms.X], alter);
                break;

            case Ld | Mem:
                v = val[(int)k];
                if (_values.IsConstant(v) && Alter(alter))
                {
                    SetStatement(s, Ld | Imm, _values.ConstantOf(v));
                    NoteChange();
                }
                Store(s, ref val[Atoms.A], v, alter);
                break;

            case Misc | Tax:
                Store(s, ref val[Atoms.X], val[Atoms.A], alter);
                break;

            case Ldx | Mem:
                v = val[(int)k];
                if (_values.IsConstant(v) && Alter(alter))
                {
                    SetStatement(s, Ldx | Imm, _values.ConstantOf(v));
                    NoteChange();
                }
                Store(s, ref val[Atoms.X], v, alter);
                break;

            case St:
                Store(s, ref val[(int)k], val[Atoms.A], alter);
                break;

            case Stx:
                Store(s, ref val[(int)k], val[Atoms.X], alter);
                break;

            // Everything else (deleted statements, jumps inside a statement list) has no value to track.
        }
    }

    private void OptimizeAluConstant(int s, ref AtomValues val, bool alter)
    {
        int op = Op(_stmtCode[s]);
        uint k = _stmtK[s];
        if (((k == 0 && op != Sub) || _values.IsConstant(val[Atoms.A])) && Alter(alter))
        {
            if (k == 0)
            {
                // "sub #0" stays: the code generator may rely on it later. (libpcap counts none of
                // these rewrites as a change.)
                if (op is Add or Lsh or Rsh or Or or Xor)
                {
                    SetCode(s, Atoms.Nop);
                    return;
                }
                if (op is Mul or And)
                {
                    SetCode(s, Ld | Imm);
                    val[Atoms.A] = _values.Constant(k);
                    return;
                }
                if (op == Div)
                    throw new FilterCompileException("division by zero");
                if (op == Mod)
                    throw new FilterCompileException("modulus by zero");
            }
            if (_values.IsConstant(val[Atoms.A]))
            {
                FoldConstants(s, val[Atoms.A], _values.Constant(k));
                val[Atoms.A] = _values.Constant(_stmtK[s]);
                return;
            }
        }
        val[Atoms.A] = _values.Lookup(_stmtCode[s], val[Atoms.A], _values.Constant(k));
    }

    private void OptimizeAluIndex(int s, ref AtomValues val, bool alter)
    {
        int op = Op(_stmtCode[s]);
        if (_values.IsConstant(val[Atoms.X]) && Alter(alter))
        {
            if (_values.IsConstant(val[Atoms.A]))
            {
                FoldConstants(s, val[Atoms.A], val[Atoms.X]);
                val[Atoms.A] = _values.Constant(_stmtK[s]);
            }
            else
            {
                // X is known: use it as an immediate operand.
                uint k = _values.ConstantOf(val[Atoms.X]);
                SetStatement(s, Alu | K | op, k);
                if ((op == Lsh || op == Rsh) && k > 31)
                    throw new FilterCompileException("shift by more than 31 bits");
                NoteChange();
                val[Atoms.A] = _values.Lookup(Alu | K | op, val[Atoms.A], _values.Constant(k));
            }
            return;
        }

        // An operation on an accumulator known to be 0 may simplify, opening further optimizations.
        if (_values.IsConstant(val[Atoms.A]) && _values.ConstantOf(val[Atoms.A]) == 0 && op != Sub && Alter(alter))
        {
            if (op is Add or Or or Xor)
            {
                SetCode(s, Misc | Txa);
                Store(s, ref val[Atoms.A], val[Atoms.X], alter);
                return;
            }
            if (op is Mul or Div or Mod or And or Lsh or Rsh)
            {
                SetStatement(s, Ld | Imm, 0);
                Store(s, ref val[Atoms.A], _values.Constant(0), alter);
                return;
            }
        }
        val[Atoms.A] = _values.Lookup(_stmtCode[s], val[Atoms.A], val[Atoms.X]);
    }

    /// <summary>Rewrites statement slot <paramref name="s"/> (of the block being optimized).</summary>
    private void SetStatement(int s, int code, uint k)
    {
        _stmtCode[s] = code;
        _stmtK[s] = k;
        _edited = true;
    }

    /// <summary>Rewrites the opcode of statement slot <paramref name="s"/>; <see cref="Atoms.Nop"/> deletes it.</summary>
    private void SetCode(int s, int code)
    {
        _stmtCode[s] = code;
        _edited = true;
    }

    /// <summary>Rewrites the branch of the block being optimized.</summary>
    private void SetBranch(int b, int code, uint k)
    {
        _code[b] = code;
        _k[b] = k;
        _edited = true;
    }

    /// <summary>Records a statement's result; a statement that reloads the value already there is deleted.</summary>
    private void Store(int s, ref uint slot, uint value, bool alter)
    {
        if (value != ValueNumbering.Unknown && slot == value && Alter(alter))
            SetCode(s, Atoms.Nop);
        else
            slot = value;
    }

    /// <summary>Replaces a binary operation on two constants by a load of its result.</summary>
    private void FoldConstants(int s, uint v0, uint v1)
    {
        uint a = _values.ConstantOf(v0);
        uint b = _values.ConstantOf(v1);
        switch (Op(_stmtCode[s]))
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
            default: throw new InvalidOperationException($"cannot fold opcode 0x{_stmtCode[s]:x}");
        }
        SetStatement(s, Ld | Imm, a);
        NoteChange();
    }

    /// <summary>The first statement slot at or after <paramref name="s"/> that is not deleted, or <paramref name="end"/>.</summary>
    private int NextLive(int s, int end)
    {
        while (s < end && _stmtCode[s] == Atoms.Nop)
            s++;
        return s;
    }

    /// <summary>Peephole rules on a block's statements and its branch (libpcap's opt_peep).</summary>
    private void Peephole(int b)
    {
        int s = _first[b];
        int end = _end[b];
        if (s == end)
            return; // libpcap skips the branch rules too for blocks without statements.

        // Note: "last" starts at the list head even when that is deleted, as in libpcap.
        int last = s;
        for (int next; ; s = next)
        {
            s = NextLive(s, end);
            if (s == end)
                break;
            next = NextLive(s + 1, end);
            if (next == end)
                break;
            last = next;

            // st M[k]; ldx M[k]  ->  st M[k]; tax
            if (_stmtCode[s] == St && _stmtCode[next] == (Ldx | Mem) && _stmtK[s] == _stmtK[next])
            {
                NoteChange();
                SetCode(next, Misc | Tax);
            }

            // ld #k; tax  ->  ldx #k; txa
            if (_stmtCode[s] == (Ld | Imm) && _stmtCode[next] == (Misc | Tax))
            {
                SetCode(s, Ldx | Imm);
                SetCode(next, Misc | Txa);
                NoteChange();
            }

            // ld #k; [ldxms]; add x; tax; ld[x+n]  ->  [ldxms]; ld[x+n+k]  (tcp[k], udp[k] with constant k),
            // allowed only when X is not used after the block, since X changes.
            if (_stmtCode[s] == (Ld | Imm))
            {
                if (Atoms.Contains(_outUse[b], Atoms.X))
                    continue;
                int add = _stmtCode[next] != (Ldx | Msh | B) ? next : NextLive(next + 1, end);
                if (add == end || _stmtCode[add] != (Alu | Add | X))
                    continue;
                int tax = NextLive(add + 1, end);
                if (tax == end || _stmtCode[tax] != (Misc | Tax))
                    continue;
                int load = NextLive(tax + 1, end);
                if (load == end || Class(_stmtCode[load]) != Ld || Mode(_stmtCode[load]) != Ind)
                    continue;
                SetStatement(load, _stmtCode[load], _stmtK[load] + _stmtK[s]);
                SetCode(s, Atoms.Nop);
                SetCode(add, Atoms.Nop);
                SetCode(tax, Atoms.Nop);
                NoteChange();
            }
        }

        // Equality tests against a constant whose A is not needed afterwards can absorb the
        // arithmetic just before them.
        if (_code[b] == (Jmp | Jeq | K) && !Atoms.Contains(_outUse[b], Atoms.A))
        {
            if (_stmtCode[last] == (Alu | Sub | X))
            {
                uint xv = ValueOf(b, Atoms.X);
                if (_values.IsConstant(xv))
                {
                    // sub x; jeq #y  ->  jeq #(y + x)
                    SetBranch(b, _code[b], _k[b] + _values.ConstantOf(xv));
                    SetCode(last, Atoms.Nop);
                    NoteChange();
                }
                else if (_k[b] == 0)
                {
                    // sub x; jeq #0  ->  jeq x
                    SetCode(last, Atoms.Nop);
                    SetBranch(b, Jmp | Jeq | X, _k[b]);
                    NoteChange();
                }
            }
            else if (_stmtCode[last] == (Alu | Sub | K))
            {
                // sub #x; jeq #y  ->  jeq #(y + x)
                SetCode(last, Atoms.Nop);
                SetBranch(b, _code[b], _k[b] + _stmtK[last]);
                NoteChange();
            }
            else if (_stmtCode[last] == (Alu | And | K) && _k[b] == 0)
            {
                // and #k; jeq #0  ->  jset #k with the branches swapped
                SetBranch(b, Jmp | K | Jset, _stmtK[last]);
                SetCode(last, Atoms.Nop);
                NoteChange();
                int jt = _jt[b];
                SetJt(b, _jf[b]);
                SetJf(b, jt);
            }
        }

        // jset #0 never branches; jset #0xffffffff always does.
        if (_code[b] == (Jmp | K | Jset))
        {
            if (_k[b] == 0)
                SetJt(b, _jf[b]);
            if (_k[b] == 0xffffffff)
                SetJf(b, _jt[b]);
        }

        // A comparison with X, where X is known, is a comparison with a constant.
        uint val = ValueOf(b, Atoms.X);
        if (_values.IsConstant(val) && Src(_code[b]) == X)
        {
            SetBranch(b, _code[b] & ~X, _values.ConstantOf(val));
        }

        // A comparison of a known A with a constant has a known outcome.
        val = ValueOf(b, Atoms.A);
        if (_values.IsConstant(val) && Src(_code[b]) == K)
        {
            uint v = _values.ConstantOf(val);
            bool taken = Op(_code[b]) switch
            {
                Jeq => v == _k[b],
                Jgt => v > _k[b],
                Jge => v >= _k[b],
                Jset => (v & _k[b]) != 0,
                _ => throw new InvalidOperationException($"unexpected branch opcode 0x{_code[b]:x}"),
            };
            if (_jf[b] != _jt[b])
                NoteChange();
            if (taken)
                SetJf(b, _jt[b]);
            else
                SetJt(b, _jf[b]);
        }
    }

    /// <summary>Deletes stores whose value is overwritten, in the block or by the time anyone reads it.</summary>
    private void EliminateDeadStores(int b)
    {
        // last[atom] (a statement slot) is meaningful only for the atoms in "pending".
        Unsafe.SkipInit(out AtomSlots lastSlots);
        Span<int> last = lastSlots;
        uint pending = 0;
        for (int s = _first[b]; s < _end[b]; s++)
            pending = TrackDefinition(s, _stmtCode[s], _stmtK[s], last, pending);
        // The branch reads, and defines nothing.
        int used = Atoms.Used(_code[b], _k[b]);
        if (used >= 0)
            pending &= used == Atoms.AX ? ~(Atoms.Mask(Atoms.X) | Atoms.Mask(Atoms.A)) : ~Atoms.Mask(used);

        for (uint unread = pending & ~_outUse[b]; unread != 0; unread &= unread - 1)
        {
            SetCode(last[BitSet.LowestMember(unread)], Atoms.Nop);
            NoteChange();
        }
    }

    /// <summary>A definition nobody read before the next definition of the same atom is dead.</summary>
    private uint TrackDefinition(int s, int code, uint k, Span<int> last, uint pending)
    {
        int atom = Atoms.Used(code, k);
        if (atom >= 0)
            pending &= atom == Atoms.AX ? ~(Atoms.Mask(Atoms.X) | Atoms.Mask(Atoms.A)) : ~Atoms.Mask(atom);
        atom = Atoms.Defined(code, k);
        if (atom >= 0)
        {
            if (Atoms.Contains(pending, atom))
            {
                NoteChange();
                SetCode(last[atom], Atoms.Nop);
            }
            last[atom] = s;
            pending |= Atoms.Mask(atom);
        }
        return pending;
    }
}
