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
        for (; use != 0; use &= use - 1)
        {
            int atom = BitSet.LowestMember(use);
            if (mine[atom] != theirs[atom])
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
        bool sense = edge < _n; // the true edge
        int pred = PredOf(edge);
        int code = _code[pred];
        if (_code[child] != code)
            return None;
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
    /// <remarks>
    /// libpcap tries the edge's dominators in increasing edge id order and starts over from the new
    /// successor after each move. The dominators are the edge itself and those of the block it
    /// leaves, as they were at the start of the pass.
    /// </remarks>
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
        int dominators = pred * words;
        int edgeWord = edge / BitSet.BitsPerWord;
        uint edgeBit = 1u << (edge % BitSet.BitsPerWord);
    restart:
        int child = SuccOf(edge);
        if (_jt[child] == None)
            return; // bypassed to a return: no test to fold (and its values are not kept)
        // FoldEdge needs the dominating edge's test to be the successor's test on the same A;
        // checking that first spares the call for the many dominators that differ.
        int childCode = _code[child];
        uint childA = ValueOf(child, Atoms.A);
        for (int i = 0; i < words; i++)
        {
            uint word = _entryEdgeDominators[dominators + i];
            if (i == edgeWord)
                word |= edgeBit;
            while (word != 0)
            {
                int bit = BitSet.LowestMember(word);
                word &= word - 1;
                int dominator = i * BitSet.BitsPerWord + bit;
                int from = PredOf(dominator);
                if (_code[from] == childCode && ValueOf(from, Atoms.A) == childA)
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
        SetJf(pull, SuccOf(diff));
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
        SetJt(pull, SuccOf(diff));
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
                    SetJt(pred, pull);
                else
                    SetJf(pred, pull);
            }
        }
        else
        {
            SetSucc(diff, pull);
        }
    }
}
