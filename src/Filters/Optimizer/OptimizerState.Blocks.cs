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
        Node[] nodes = _nodes;
        int maxLevel = nodes[_root].Level;

        FindInEdges();
        for (int level = maxLevel; level >= 0; level--)
        {
            for (int b = _levelHead[level]; b != None; b = nodes[b].LevelNext)
                OptimizeBlock(b, doStatements);
        }

        // Moving branches once statements are being optimized cannot make a difference any more.
        if (doStatements)
            return;

        for (int level = 1; level <= maxLevel; level++)
        {
            for (int b = _levelHead[level]; b != None; b = nodes[b].LevelNext)
            {
                ThreadJump(b);
                ThreadJump(_n + b);
            }
        }

        FindInEdges();
        for (int level = 1; level <= maxLevel; level++)
        {
            for (int b = _levelHead[level]; b != None; b = nodes[b].LevelNext)
            {
                PullUpOr(b);
                PullUpAnd(b);
            }
        }
    }

    private void OptimizeBlock(int b, bool doStatements)
    {
        ref Node node = ref _nodes[b];

        // A return without statements has nothing to simplify, and what libpcap computes for it
        // here (entry values merged from every predecessor, the value its branch compares with)
        // is never read: returns have no successors, use nothing afterwards, and never match a
        // jump's opcode. Skipping them spares merging long or-chains into the shared returns on
        // every pass.
        if (node.Jt == None && node.First == node.End)
            return;

        // Values agreed on by every predecessor are known on entry; the others are unknown. No
        // predecessors: nothing is known.
        Unsafe.SkipInit(out AtomValues val);
        MergeEntryValues(node.InHead, ref val);

        // A block whose last optimization changed nothing changes nothing again and ends with the
        // same values, as long as it starts from the same values with the same atoms live after
        // it, in a pass of a kind it was stable in (and with the same successors, where its
        // peephole rules read them). Value numbers are never reused, so equal numbers still mean
        // equal values, and the values it left are still right.
        int mode = doStatements ? MemoStatements : MemoBranches;
        ref uint lastEntry = ref _entry[b * Block.Atoms];
        int jt0 = node.Jt, jf0 = node.Jf;
        int memo = node.Memo;
        if ((memo & mode) != 0 && node.MemoOutUse == node.OutUse
            && ((memo & MemoSuccessors) == 0 || (node.MemoJt == jt0 && node.MemoJf == jf0))
            && AtomValues.Equal(ref val[0], ref lastEntry))
        {
            return;
        }
        AtomValues.Copy(ref val[0], ref lastEntry);
        _edited = false;
        _alterable = false;

        uint aval = val[Atoms.A];
        uint xval = val[Atoms.X];
        for (int s = node.First, end = node.End; s < end; s++)
            OptimizeStatement(ref _stmts[s], ref val, doStatements);
        AtomValues.Copy(ref val[0], ref _val[b * Block.Atoms]);

        // A block that changes nothing anyone uses (A and X keep known values), or that returns,
        // needs no statements: the machine has no side effects.
        bool needless = (node.OutUse == 0 &&
                         aval != ValueNumbering.Unknown && val[Atoms.A] == aval &&
                         xval != ValueNumbering.Unknown && val[Atoms.X] == xval) ||
                        Class(node.Code) == Ret;
        if (!needless)
        {
            Peephole(ref node, b);
            EliminateDeadStores(ref node);
        }
        else if (!doStatements)
        {
            if (node.First != node.End)
                _alterable = true; // the statement passes will drop them
            Peephole(ref node, b);
            EliminateDeadStores(ref node);
        }
        else if (node.First != node.End)
        {
            node.End = node.First;
            node.Dropped = true;
            _edited = true;
            NoteChange();
        }

        // What the branch compares with, for jump threading.
        node.Oval = Src(node.Code) == K ? _values.Constant(node.K) : val[Atoms.X];

        // Only this method changes a block's statements or branch: refresh what the next pass's
        // use-def analysis reads about the block now rather than recompute it for every block.
        if (_edited)
        {
            ComputeLocalUseDef(ref node);
            node.Memo = 0;
        }
        else if (node.Jt != jt0 || node.Jf != jf0)
        {
            node.Memo = 0;
        }
        else
        {
            // Stable. Without statement changes it is stable with them too, unless a rule that
            // only the statement passes apply would have fired. Its successors matter only to the
            // peephole rules that decide the branch (jset #0 or #-1, a known A against a constant).
            memo = doStatements ? MemoStatements : _alterable ? MemoBranches : MemoBranches | MemoStatements;
            if ((node.Code == (Jmp | K | Jset) && (node.K == 0 || node.K == 0xffffffff))
                || (Src(node.Code) == K && _values.IsConstant(val[Atoms.A])))
            {
                memo |= MemoSuccessors;
                node.MemoJt = jt0;
                node.MemoJf = jf0;
            }
            node.Memo = (byte)memo;
            node.MemoOutUse = node.OutUse;
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

    /// <summary>Meet of the exit values of the predecessors on an in-edge list (libpcap merges into b->val).</summary>
    private void MergeEntryValues(int edge, ref AtomValues entry)
    {
        if (edge == None)
        {
            entry = default;
            return;
        }
        uint[] values = _val;
        int[] inNext = _inNext;
        AtomValues.Copy(ref values[PredOf(edge) * Block.Atoms], ref entry[0]);
        for (edge = inNext[edge]; edge != None; edge = inNext[edge])
            AtomValues.Meet(ref entry[0], ref values[PredOf(edge) * Block.Atoms]);
    }

    /// <summary>
    /// Evaluates statement <paramref name="st"/> symbolically, updating the values it defines; when
    /// <paramref name="alter"/> is set, also simplifies it (folds constants, drops redundant loads).
    /// </summary>
    private void OptimizeStatement(ref StmtSlot st, ref AtomValues val, bool alter)
    {
        int code = st.Code;
        uint k = st.K;
        uint v;
        switch (code)
        {
            case Ld | Abs | W:
            case Ld | Abs | H:
            case Ld | Abs | B:
                v = _values.Lookup(code, k, 0);
                Store(ref st, ref val[Atoms.A], v, alter);
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
                    SetStatement(ref st, absolute, offset);
                    v = _values.Lookup(absolute, offset, 0);
                    NoteChange();
                }
                else
                {
                    v = _values.Lookup(code, k, v);
                }
                Store(ref st, ref val[Atoms.A], v, alter);
                break;

            case Ld | Len:
                v = _values.Lookup(code, 0, 0);
                Store(ref st, ref val[Atoms.A], v, alter);
                break;

            case Ld | Imm:
                v = _values.Constant(k);
                Store(ref st, ref val[Atoms.A], v, alter);
                break;

            case Ldx | Imm:
                v = _values.Constant(k);
                Store(ref st, ref val[Atoms.X], v, alter);
                break;

            case Ldx | Msh | B:
                v = _values.Lookup(code, k, 0);
                Store(ref st, ref val[Atoms.X], v, alter);
                break;

            case Alu | Neg:
                if (_values.IsConstant(val[Atoms.A]) && Alter(alter))
                {
                    // Unsigned negation, as BPF engines do it. (libpcap counts this as no change.)
                    uint negated = 0u - _values.ConstantOf(val[Atoms.A]);
                    SetStatement(ref st, Ld | Imm, negated);
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
                OptimizeAluConstant(ref st, ref val, alter);
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
                OptimizeAluIndex(ref st, ref val, alter);
                break;

            case Misc | Txa:
                Store(ref st, ref val[Atoms.A], val[Atoms.X], alter);
                break;

            case Ld | Mem:
                v = val[(int)k];
                if (_values.IsConstant(v) && Alter(alter))
                {
                    SetStatement(ref st, Ld | Imm, _values.ConstantOf(v));
                    NoteChange();
                }
                Store(ref st, ref val[Atoms.A], v, alter);
                break;

            case Misc | Tax:
                Store(ref st, ref val[Atoms.X], val[Atoms.A], alter);
                break;

            case Ldx | Mem:
                v = val[(int)k];
                if (_values.IsConstant(v) && Alter(alter))
                {
                    SetStatement(ref st, Ldx | Imm, _values.ConstantOf(v));
                    NoteChange();
                }
                Store(ref st, ref val[Atoms.X], v, alter);
                break;

            case St:
                Store(ref st, ref val[(int)k], val[Atoms.A], alter);
                break;

            case Stx:
                Store(ref st, ref val[(int)k], val[Atoms.X], alter);
                break;

            // Everything else (deleted statements, jumps inside a statement list) has no value to track.
        }
    }

    private void OptimizeAluConstant(ref StmtSlot st, ref AtomValues val, bool alter)
    {
        int op = Op(st.Code);
        uint k = st.K;
        if (((k == 0 && op != Sub) || _values.IsConstant(val[Atoms.A])) && Alter(alter))
        {
            if (k == 0)
            {
                // "sub #0" stays: the code generator may rely on it later. (libpcap counts none of
                // these rewrites as a change.)
                if (op is Add or Lsh or Rsh or Or or Xor)
                {
                    SetCode(ref st, Atoms.Nop);
                    return;
                }
                if (op is Mul or And)
                {
                    SetCode(ref st, Ld | Imm);
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
                FoldConstants(ref st, val[Atoms.A], _values.Constant(k));
                val[Atoms.A] = _values.Constant(st.K);
                return;
            }
        }
        val[Atoms.A] = _values.Lookup(st.Code, val[Atoms.A], _values.Constant(k));
    }

    private void OptimizeAluIndex(ref StmtSlot st, ref AtomValues val, bool alter)
    {
        int op = Op(st.Code);
        if (_values.IsConstant(val[Atoms.X]) && Alter(alter))
        {
            if (_values.IsConstant(val[Atoms.A]))
            {
                FoldConstants(ref st, val[Atoms.A], val[Atoms.X]);
                val[Atoms.A] = _values.Constant(st.K);
            }
            else
            {
                // X is known: use it as an immediate operand.
                uint k = _values.ConstantOf(val[Atoms.X]);
                SetStatement(ref st, Alu | K | op, k);
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
                SetCode(ref st, Misc | Txa);
                Store(ref st, ref val[Atoms.A], val[Atoms.X], alter);
                return;
            }
            if (op is Mul or Div or Mod or And or Lsh or Rsh)
            {
                SetStatement(ref st, Ld | Imm, 0);
                Store(ref st, ref val[Atoms.A], _values.Constant(0), alter);
                return;
            }
        }
        val[Atoms.A] = _values.Lookup(st.Code, val[Atoms.A], val[Atoms.X]);
    }

    /// <summary>Rewrites a statement of the block being optimized.</summary>
    private void SetStatement(ref StmtSlot st, int code, uint k)
    {
        st.Code = code;
        st.K = k;
        _edited = true;
    }

    /// <summary>Rewrites the opcode of a statement; <see cref="Atoms.Nop"/> deletes it.</summary>
    private void SetCode(ref StmtSlot st, int code)
    {
        st.Code = code;
        _edited = true;
    }

    /// <summary>Rewrites the branch of the block being optimized.</summary>
    private void SetBranch(ref Node node, int code, uint k)
    {
        node.Code = code;
        node.K = k;
        _edited = true;
    }

    /// <summary>Records a statement's result; a statement that reloads the value already there is deleted.</summary>
    private void Store(ref StmtSlot st, ref uint slot, uint value, bool alter)
    {
        if (value != ValueNumbering.Unknown && slot == value && Alter(alter))
            SetCode(ref st, Atoms.Nop);
        else
            slot = value;
    }

    /// <summary>Replaces a binary operation on two constants by a load of its result.</summary>
    private void FoldConstants(ref StmtSlot st, uint v0, uint v1)
    {
        uint a = _values.ConstantOf(v0);
        uint b = _values.ConstantOf(v1);
        switch (Op(st.Code))
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
            default: throw new InvalidOperationException($"cannot fold opcode 0x{st.Code:x}");
        }
        SetStatement(ref st, Ld | Imm, a);
        NoteChange();
    }

    /// <summary>The first statement slot at or after <paramref name="s"/> that is not deleted, or <paramref name="end"/>.</summary>
    private static int NextLive(StmtSlot[] stmts, int s, int end)
    {
        while (s < end && stmts[s].Code == Atoms.Nop)
            s++;
        return s;
    }

    /// <summary>Peephole rules on a block's statements and its branch (libpcap's opt_peep).</summary>
    private void Peephole(ref Node node, int b)
    {
        StmtSlot[] stmts = _stmts;
        int s = node.First;
        int end = node.End;
        if (s == end)
            return; // libpcap skips the branch rules too for blocks without statements.

        // Note: "last" starts at the list head even when that is deleted, as in libpcap.
        int last = s;
        for (int next; ; s = next)
        {
            s = NextLive(stmts, s, end);
            if (s == end)
                break;
            next = NextLive(stmts, s + 1, end);
            if (next == end)
                break;
            last = next;
            ref StmtSlot first = ref stmts[s];
            ref StmtSlot second = ref stmts[next];

            // st M[k]; ldx M[k]  ->  st M[k]; tax
            if (first.Code == St && second.Code == (Ldx | Mem) && first.K == second.K)
            {
                NoteChange();
                SetCode(ref second, Misc | Tax);
            }

            // ld #k; tax  ->  ldx #k; txa
            if (first.Code == (Ld | Imm) && second.Code == (Misc | Tax))
            {
                SetCode(ref first, Ldx | Imm);
                SetCode(ref second, Misc | Txa);
                NoteChange();
            }

            // ld #k; [ldxms]; add x; tax; ld[x+n]  ->  [ldxms]; ld[x+n+k]  (tcp[k], udp[k] with constant k),
            // allowed only when X is not used after the block, since X changes.
            if (first.Code == (Ld | Imm))
            {
                if (Atoms.Contains(node.OutUse, Atoms.X))
                    continue;
                int add = second.Code != (Ldx | Msh | B) ? next : NextLive(stmts, next + 1, end);
                if (add == end || stmts[add].Code != (Alu | Add | X))
                    continue;
                int tax = NextLive(stmts, add + 1, end);
                if (tax == end || stmts[tax].Code != (Misc | Tax))
                    continue;
                int load = NextLive(stmts, tax + 1, end);
                if (load == end || Class(stmts[load].Code) != Ld || Mode(stmts[load].Code) != Ind)
                    continue;
                SetStatement(ref stmts[load], stmts[load].Code, stmts[load].K + first.K);
                SetCode(ref first, Atoms.Nop);
                SetCode(ref stmts[add], Atoms.Nop);
                SetCode(ref stmts[tax], Atoms.Nop);
                NoteChange();
            }
        }

        // Equality tests against a constant whose A is not needed afterwards can absorb the
        // arithmetic just before them.
        ref StmtSlot lastStmt = ref stmts[last];
        if (node.Code == (Jmp | Jeq | K) && !Atoms.Contains(node.OutUse, Atoms.A))
        {
            if (lastStmt.Code == (Alu | Sub | X))
            {
                uint xv = ValueOf(b, Atoms.X);
                if (_values.IsConstant(xv))
                {
                    // sub x; jeq #y  ->  jeq #(y + x)
                    SetBranch(ref node, node.Code, node.K + _values.ConstantOf(xv));
                    SetCode(ref lastStmt, Atoms.Nop);
                    NoteChange();
                }
                else if (node.K == 0)
                {
                    // sub x; jeq #0  ->  jeq x
                    SetCode(ref lastStmt, Atoms.Nop);
                    SetBranch(ref node, Jmp | Jeq | X, node.K);
                    NoteChange();
                }
            }
            else if (lastStmt.Code == (Alu | Sub | K))
            {
                // sub #x; jeq #y  ->  jeq #(y + x)
                SetCode(ref lastStmt, Atoms.Nop);
                SetBranch(ref node, node.Code, node.K + lastStmt.K);
                NoteChange();
            }
            else if (lastStmt.Code == (Alu | And | K) && node.K == 0)
            {
                // and #k; jeq #0  ->  jset #k with the branches swapped
                SetBranch(ref node, Jmp | K | Jset, lastStmt.K);
                SetCode(ref lastStmt, Atoms.Nop);
                NoteChange();
                int jt = node.Jt;
                SetJt(ref node, node.Jf);
                SetJf(ref node, jt);
            }
        }

        // jset #0 never branches; jset #0xffffffff always does.
        if (node.Code == (Jmp | K | Jset))
        {
            if (node.K == 0)
                SetJt(ref node, node.Jf);
            if (node.K == 0xffffffff)
                SetJf(ref node, node.Jt);
        }

        // A comparison with X, where X is known, is a comparison with a constant.
        uint val = ValueOf(b, Atoms.X);
        if (_values.IsConstant(val) && Src(node.Code) == X)
        {
            SetBranch(ref node, node.Code & ~X, _values.ConstantOf(val));
        }

        // A comparison of a known A with a constant has a known outcome.
        val = ValueOf(b, Atoms.A);
        if (_values.IsConstant(val) && Src(node.Code) == K)
        {
            uint v = _values.ConstantOf(val);
            bool taken = Op(node.Code) switch
            {
                Jeq => v == node.K,
                Jgt => v > node.K,
                Jge => v >= node.K,
                Jset => (v & node.K) != 0,
                _ => throw new InvalidOperationException($"unexpected branch opcode 0x{node.Code:x}"),
            };
            if (node.Jf != node.Jt)
                NoteChange();
            if (taken)
                SetJf(ref node, node.Jt);
            else
                SetJt(ref node, node.Jf);
        }
    }

    /// <summary>Deletes stores whose value is overwritten, in the block or by the time anyone reads it.</summary>
    private void EliminateDeadStores(ref Node node)
    {
        // last[atom] (a statement slot) is meaningful only for the atoms in "pending": defined in
        // the block and not read since.
        Unsafe.SkipInit(out AtomSlots last);
        StmtSlot[] stmts = _stmts;
        uint pending = 0;
        for (int s = node.First, end = node.End; s < end; s++)
        {
            int code = stmts[s].Code;
            if (code == Atoms.Nop)
                continue;
            uint k = stmts[s].K;
            pending &= ~Atoms.UseMask(code, k);
            int atom = Atoms.Defined(code, k);
            if (atom >= 0)
            {
                // A definition nobody read before the next definition of the same atom is dead.
                if (Atoms.Contains(pending, atom))
                {
                    NoteChange();
                    SetCode(ref stmts[last[atom]], Atoms.Nop);
                }
                last[atom] = s;
                pending |= Atoms.Mask(atom);
            }
        }
        // The branch reads, and defines nothing.
        pending &= ~Atoms.UseMask(node.Code, node.K);

        for (uint unread = pending & ~node.OutUse; unread != 0; unread &= unread - 1)
        {
            SetCode(ref stmts[last[BitSet.LowestMember(unread)]], Atoms.Nop);
            NoteChange();
        }
    }
}
