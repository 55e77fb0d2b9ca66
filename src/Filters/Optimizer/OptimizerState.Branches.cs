using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

// Work between blocks: jump threading and the or/and pull-ups.
internal sealed partial class OptimizerState
{
    /// <summary>
    /// True if some atom the successor leaves for its own successors holds a value there different
    /// from the one <paramref name="b"/> leaves: skipping the successor would change it.
    /// </summary>
    private bool UseConflict(int b, int succ)
    {
        uint use = _outUse[succ];
        if (use == 0)
            return false;
        ReadOnlySpan<uint> mine = ValuesOf(b);
        ReadOnlySpan<uint> theirs = ValuesOf(succ);
        for (int atom = 0; atom < mine.Length && atom < theirs.Length; atom++)
        {
            if (Atoms.Contains(use, atom) && mine[atom] != theirs[atom])
                return true;
        }
        return false;
    }

    /// <summary>
    /// If <paramref name="child"/> repeats the test of the dominating edge <paramref name="edge"/>
    /// on the same values, its outcome is known on that edge: the successor it then goes to, else None.
    /// </summary>
    private int FoldEdge(int child, int edge)
    {
        int code = _edgeCode[edge];
        bool sense = code >= 0;
        if (!sense)
            code = -code; // the false edge

        if (_code[child] != code)
            return None;
        int pred = PredOf(edge);
        if (ValueOf(child, Atoms.A) != ValueOf(pred, Atoms.A))
            return None;
        if (_oval[child] == _oval[pred])
            return sense ? _jt[child] : _jf[child];
        // Came down the true edge of "A == constant": A is that constant, and distinct constants
        // have distinct value numbers, so a test against another constant fails.
        if (sense && code == (Jmp | Jeq | K))
            return _jf[child];
        return None;
    }

    /// <summary>Moves an edge past successors whose outcome is already known (libpcap's opt_j).</summary>
    private void ThreadJump(int edge)
    {
        int succ = SuccOf(edge);
        if (_jt[succ] == None)
            return; // goes to a return

        int pred = PredOf(edge);
        if (_jt[succ] == _jf[succ])
        {
            // The successor goes to the same place either way: bypass it if no value it leaves matters.
            if (!UseConflict(pred, _jt[succ]))
            {
                NoteChange();
                SetSucc(edge, _jt[succ]);
            }
        }

        int words = _edgeWords;
        int dominators = edge * words;
    restart:
        // FoldEdge needs the dominating edge's test to be the successor's test on the same A;
        // checking that first spares the call for the many dominators that differ.
        int child = SuccOf(edge);
        int childCode = _code[child];
        uint childA = ValueOf(child, Atoms.A);
        for (int i = 0; i < words; i++)
        {
            uint word = _edgeDominators[dominators + i];
            while (word != 0)
            {
                int bit = BitSet.LowestMember(word);
                word &= word - 1;
                int dominator = i * BitSet.BitsPerWord + bit;
                int code = _edgeCode[dominator];
                if ((code == childCode || code == -childCode) && ValueOf(PredOf(dominator), Atoms.A) == childA)
                {
                    int target = FoldEdge(child, dominator);
                    if (target != None && !UseConflict(pred, target))
                    {
                        NoteBranchMovement();
                        SetSucc(edge, target);
                        if (_jt[target] != None)
                            goto restart; // look again from the new successor
                        return;
                    }
                }
            }
        }
    }

    /// <summary>
    /// "A or B" where a later test in B's false chain tests A's value again: pull that test up the
    /// chain (libpcap's or_pullup). Edge ids stand for the jt/jf pointers being rewritten.
    /// </summary>
    private void PullUpOr(int b)
    {
        int first = _inHead[b];
        if (first == None)
            return;

        // Every predecessor must leave the same A.
        uint val = ValueOf(PredOf(first), Atoms.A);
        for (int e = _inNext[first]; e != None; e = _inNext[e])
        {
            if (val != ValueOf(PredOf(e), Atoms.A))
                return;
        }

        int firstPred = PredOf(first);
        int diff = _jt[firstPred] == b ? firstPred : _n + firstPred;
        int jtOfB = _jt[b];

        // Down the false chain while the tests share b's true target, b dominates them, and they
        // test the same A: find the first that tests another value.
        bool atTop = true;
        for (;;)
        {
            int d = SuccOf(diff);
            if (d == None || _jt[d] != jtOfB || !Dominates(b, d))
                return;
            if (ValueOf(d, Atoms.A) != val)
                break;
            diff = _n + d;
            atTop = false;
        }

        // Further down, find one that tests the original value again.
        int same = _n + SuccOf(diff);
        for (;;)
        {
            int sm = SuccOf(same);
            if (sm == None || _jt[sm] != jtOfB || !Dominates(b, sm))
                return;
            if (ValueOf(sm, Atoms.A) == val)
                break;
            same = _n + sm;
        }

        int pull = SuccOf(same);
        SetSucc(same, _jf[pull]);
        _jf[pull] = SuccOf(diff);
        RedirectToPulled(b, diff, pull, atTop);
        NoteBranchMovement();
    }

    /// <summary>The mirror image of <see cref="PullUpOr"/> for "A and B", along true chains.</summary>
    private void PullUpAnd(int b)
    {
        int first = _inHead[b];
        if (first == None)
            return;

        uint val = ValueOf(PredOf(first), Atoms.A);
        for (int e = _inNext[first]; e != None; e = _inNext[e])
        {
            if (val != ValueOf(PredOf(e), Atoms.A))
                return;
        }

        int firstPred = PredOf(first);
        int diff = _jt[firstPred] == b ? firstPred : _n + firstPred;
        int jfOfB = _jf[b];

        bool atTop = true;
        for (;;)
        {
            int d = SuccOf(diff);
            if (d == None || _jf[d] != jfOfB || !Dominates(b, d))
                return;
            if (ValueOf(d, Atoms.A) != val)
                break;
            diff = d;
            atTop = false;
        }

        int same = SuccOf(diff);
        for (;;)
        {
            int sm = SuccOf(same);
            if (sm == None || _jf[sm] != jfOfB || !Dominates(b, sm))
                return;
            if (ValueOf(sm, Atoms.A) == val)
                break;
            same = sm;
        }

        int pull = SuccOf(same);
        SetSucc(same, _jt[pull]);
        _jt[pull] = SuccOf(diff);
        RedirectToPulled(b, diff, pull, atTop);
        NoteBranchMovement();
    }

    /// <summary>
    /// At the top of the chain every predecessor of <paramref name="b"/> must now go to the pulled-up
    /// block; inside the chain only the one pointer above it changes.
    /// </summary>
    private void RedirectToPulled(int b, int diff, int pull, bool atTop)
    {
        if (atTop)
        {
            for (int e = _inHead[b]; e != None; e = _inNext[e])
            {
                int pred = PredOf(e);
                if (_jt[pred] == b)
                    _jt[pred] = pull;
                else
                    _jf[pred] = pull;
            }
        }
        else
        {
            SetSucc(diff, pull);
        }
    }
}
