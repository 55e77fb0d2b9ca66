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
        uint use = _nodes[succ].OutUse;
        if (use == 0)
            return false;
        ReadOnlySpan<uint> mine = _val.AsSpan(b * Block.Atoms, Block.Atoms);
        ReadOnlySpan<uint> theirs = _val.AsSpan(succ * Block.Atoms, Block.Atoms);
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
    /// (The caller has checked that the opcodes and the values of A are the same.)
    /// </summary>
    private int FoldEdge(ref Node child, int edge)
    {
        bool sense = edge < _n; // the true edge
        ref Node pred = ref _nodes[PredOf(edge)];
        if (child.Oval == pred.Oval)
            return sense ? child.Jt : child.Jf;
        // Came down the true edge of "A == constant": A is that constant, and distinct constants
        // have distinct value numbers, so a test against another constant fails.
        if (sense && pred.Code == (Jmp | Jeq | K))
            return child.Jf;
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
        Node[] nodes = _nodes;
        int succ = SuccOf(edge);
        ref Node s = ref nodes[succ];
        if (s.Jt == None)
            return; // goes to a return

        int pred = PredOf(edge);
        if (s.Jt == s.Jf)
        {
            // The successor goes to the same place either way: bypass it if no value it leaves matters.
            if (!UseConflict(pred, s.Jt))
            {
                NoteChange();
                SetSucc(edge, s.Jt);
            }
        }

        int words = _edgeWords;
        int dominators = pred * words;
        int edgeWord = edge >> 5;
        uint edgeBit = 1u << edge;
        uint[] edom = _entryEdgeDominators;
        uint[] values = _val;
    restart:
        int child = SuccOf(edge);
        ref Node c = ref nodes[child];
        if (c.Jt == None)
            return; // bypassed to a return: no test to fold (and its values are not kept)
        // FoldEdge needs the dominating edge's test to be the successor's test on the same A;
        // checking that first spares the call for the many dominators that differ.
        int childCode = c.Code;
        uint childA = values[child * Block.Atoms + Atoms.A];
        for (int i = 0; i < words; i++)
        {
            uint word = edom[dominators + i];
            if (i == edgeWord)
                word |= edgeBit;
            while (word != 0)
            {
                int dominator = (i << 5) + BitSet.LowestMember(word);
                word &= word - 1;
                int from = PredOf(dominator);
                if (nodes[from].Code == childCode && values[from * Block.Atoms + Atoms.A] == childA)
                {
                    int target = FoldEdge(ref c, dominator);
                    if (target != None && !UseConflict(pred, target))
                    {
                        NoteBranchMovement();
                        SetSucc(edge, target);
                        if (nodes[target].Jt != None)
                            goto restart; // look again from the new successor
                        return;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Whether every predecessor on the in-edge list from <paramref name="first"/> leaves the same A;
    /// that value in <paramref name="val"/>.
    /// </summary>
    private bool PredecessorsAgreeOnA(int first, out uint val)
    {
        int[] inNext = _inNext;
        uint[] values = _val;
        val = values[PredOf(first) * Block.Atoms + Atoms.A];
        for (int e = inNext[first]; e != None; e = inNext[e])
        {
            if (val != values[PredOf(e) * Block.Atoms + Atoms.A])
                return false;
        }
        return true;
    }

    /// <summary>
    /// "A or B" where a later test in B's false chain tests A's value again: pull that test up the
    /// chain (libpcap's or_pullup). Edge ids stand for the jt/jf pointers being rewritten.
    /// </summary>
    private void PullUpOr(int b)
    {
        Node[] nodes = _nodes;
        ref Node node = ref nodes[b];
        int first = node.InHead;
        if (first == None)
            return;
        int n = _n;
        int firstPred = PredOf(first);
        int jtOfB = node.Jt;
        ref Node predNode = ref nodes[firstPred];
        // Both walks below start with b's false successor when the first in-edge still leads to b
        // (it may not, after earlier pull-ups in this pass): it must share b's true target.
        if ((predNode.Jt == b || predNode.Jf == b) && nodes[node.Jf].Jt != jtOfB)
            return;

        // Every predecessor must leave the same A.
        if (!PredecessorsAgreeOnA(first, out uint val))
            return;

        int diff = predNode.Jt == b ? firstPred : n + firstPred;

        // Down the false chain while the tests share b's true target, b dominates them, and they
        // test the same A: find the first that tests another value.
        bool atTop = true;
        for (;;)
        {
            int d = SuccOf(diff);
            if (d == None || nodes[d].Jt != jtOfB || !Dominates(b, d))
                return;
            if (ValueOf(d, Atoms.A) != val)
                break;
            diff = n + d;
            atTop = false;
        }

        // Further down, find one that tests the original value again.
        int same = n + SuccOf(diff);
        for (;;)
        {
            int sm = SuccOf(same);
            if (sm == None || nodes[sm].Jt != jtOfB || !Dominates(b, sm))
                return;
            if (ValueOf(sm, Atoms.A) == val)
                break;
            same = n + sm;
        }

        int pull = SuccOf(same);
        SetSucc(same, nodes[pull].Jf);
        SetJf(ref nodes[pull], SuccOf(diff));
        RedirectToPulled(b, diff, pull, atTop);
        NoteBranchMovement();
    }

    /// <summary>The mirror image of <see cref="PullUpOr"/> for "A and B", along true chains.</summary>
    private void PullUpAnd(int b)
    {
        Node[] nodes = _nodes;
        ref Node node = ref nodes[b];
        int first = node.InHead;
        if (first == None)
            return;
        int n = _n;
        int firstPred = PredOf(first);
        int jfOfB = node.Jf;
        ref Node predNode = ref nodes[firstPred];
        if ((predNode.Jt == b || predNode.Jf == b) && nodes[node.Jt].Jf != jfOfB)
            return;

        if (!PredecessorsAgreeOnA(first, out uint val))
            return;

        int diff = predNode.Jt == b ? firstPred : n + firstPred;

        bool atTop = true;
        for (;;)
        {
            int d = SuccOf(diff);
            if (d == None || nodes[d].Jf != jfOfB || !Dominates(b, d))
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
            if (sm == None || nodes[sm].Jf != jfOfB || !Dominates(b, sm))
                return;
            if (ValueOf(sm, Atoms.A) == val)
                break;
            same = sm;
        }

        int pull = SuccOf(same);
        SetSucc(same, nodes[pull].Jt);
        SetJt(ref nodes[pull], SuccOf(diff));
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
            for (int e = _nodes[b].InHead; e != None; e = _inNext[e])
            {
                ref Node pred = ref _nodes[PredOf(e)];
                if (pred.Jt == b)
                    SetJt(ref pred, pull);
                else
                    SetJf(ref pred, pull);
            }
        }
        else
        {
            SetSucc(diff, pull);
        }
    }
}
