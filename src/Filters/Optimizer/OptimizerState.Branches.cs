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
    private static bool UseConflict(Block b, Block succ)
    {
        uint use = succ.OutUse;
        if (use == 0)
            return false;
        for (int atom = 0; atom < Block.Atoms; atom++)
        {
            if (Atoms.Contains(use, atom) && b.Val[atom] != succ.Val[atom])
                return true;
        }
        return false;
    }

    /// <summary>
    /// If <paramref name="child"/> repeats the test of the dominating edge <paramref name="ep"/> on the
    /// same values, its outcome is known on that edge: the successor it then goes to, else null.
    /// </summary>
    private static Block? FoldEdge(Block child, Edge ep)
    {
        int code = ep.Code;
        bool sense = code >= 0;
        if (!sense)
            code = -code; // the false edge

        if (child.S.Code != code)
            return null;
        if (child.Val[Atoms.A] != ep.Pred!.Val[Atoms.A])
            return null;
        if (child.Oval == ep.Pred.Oval)
            return sense ? child.Jt : child.Jf;
        // Came down the true edge of "A == constant": A is that constant, and distinct constants
        // have distinct value numbers, so a test against another constant fails.
        if (sense && code == (Jmp | Jeq | K))
            return child.Jf;
        return null;
    }

    /// <summary>Moves an edge past successors whose outcome is already known (libpcap's opt_j).</summary>
    private void ThreadJump(Edge ep)
    {
        Block succ = ep.Succ!;
        if (succ.Jt is null)
            return; // goes to a return

        if (succ.Jt == succ.Jf)
        {
            // The successor goes to the same place either way: bypass it if no value it leaves matters.
            if (!UseConflict(ep.Pred!, succ.Jt))
            {
                NoteChange();
                ep.Succ = succ.Jt;
            }
        }

    restart:
        ReadOnlySpan<uint> edom = EdgeDominatorsOf(ep);
        for (int i = 0; i < edom.Length; i++)
        {
            uint word = edom[i];
            while (word != 0)
            {
                int bit = BitSet.LowestMember(word);
                word &= ~(1u << bit);
                Block? target = FoldEdge(ep.Succ!, _edges[i * BitSet.BitsPerWord + bit]);
                if (target is not null && !UseConflict(ep.Pred!, target))
                {
                    NoteBranchMovement();
                    ep.Succ = target;
                    if (target.Jt is not null)
                        goto restart; // look again from the new successor
                    return;
                }
            }
        }
    }

    /// <summary>
    /// "A or B" where a later test in B's false chain tests A's value again: pull that test up the
    /// chain (libpcap's or_pullup). <see cref="Edge"/>s stand for the jt/jf pointers being rewritten.
    /// </summary>
    private void PullUpOr(Block b)
    {
        Edge? ep = b.InEdges;
        if (ep is null)
            return;

        // Every predecessor must leave the same A.
        uint val = ep.Pred!.Val[Atoms.A];
        for (ep = ep.Next; ep is not null; ep = ep.Next)
        {
            if (val != ep.Pred!.Val[Atoms.A])
                return;
        }

        Block firstPred = b.InEdges!.Pred!;
        Edge diff = firstPred.Jt == b ? firstPred.Et : firstPred.Ef;

        // Down the false chain while the tests share b's true target, b dominates them, and they
        // test the same A: find the first that tests another value.
        bool atTop = true;
        for (;;)
        {
            Block? d = diff.Succ;
            if (d is null || d.Jt != b.Jt || !BitSet.Contains(DominatorsOf(d), b.Id))
                return;
            if (d.Val[Atoms.A] != val)
                break;
            diff = d.Ef;
            atTop = false;
        }

        // Further down, find one that tests the original value again.
        Edge same = diff.Succ!.Ef;
        for (;;)
        {
            Block? sm = same.Succ;
            if (sm is null || sm.Jt != b.Jt || !BitSet.Contains(DominatorsOf(sm), b.Id))
                return;
            if (sm.Val[Atoms.A] == val)
                break;
            same = sm.Ef;
        }

        Block pull = same.Succ!;
        same.Succ = pull.Jf;
        pull.Jf = diff.Succ;
        RedirectToPulled(b, diff, pull, atTop);
        NoteBranchMovement();
    }

    /// <summary>The mirror image of <see cref="PullUpOr"/> for "A and B", along true chains.</summary>
    private void PullUpAnd(Block b)
    {
        Edge? ep = b.InEdges;
        if (ep is null)
            return;

        uint val = ep.Pred!.Val[Atoms.A];
        for (ep = ep.Next; ep is not null; ep = ep.Next)
        {
            if (val != ep.Pred!.Val[Atoms.A])
                return;
        }

        Block firstPred = b.InEdges!.Pred!;
        Edge diff = firstPred.Jt == b ? firstPred.Et : firstPred.Ef;

        bool atTop = true;
        for (;;)
        {
            Block? d = diff.Succ;
            if (d is null || d.Jf != b.Jf || !BitSet.Contains(DominatorsOf(d), b.Id))
                return;
            if (d.Val[Atoms.A] != val)
                break;
            diff = d.Et;
            atTop = false;
        }

        Edge same = diff.Succ!.Et;
        for (;;)
        {
            Block? sm = same.Succ;
            if (sm is null || sm.Jf != b.Jf || !BitSet.Contains(DominatorsOf(sm), b.Id))
                return;
            if (sm.Val[Atoms.A] == val)
                break;
            same = sm.Et;
        }

        Block pull = same.Succ!;
        same.Succ = pull.Jt;
        pull.Jt = diff.Succ;
        RedirectToPulled(b, diff, pull, atTop);
        NoteBranchMovement();
    }

    /// <summary>
    /// At the top of the chain every predecessor of <paramref name="b"/> must now go to the pulled-up
    /// block; inside the chain only the one pointer above it changes.
    /// </summary>
    private static void RedirectToPulled(Block b, Edge diff, Block pull, bool atTop)
    {
        if (atTop)
        {
            for (Edge? ep = b.InEdges; ep is not null; ep = ep.Next)
            {
                Block pred = ep.Pred!;
                if (pred.Jt == b)
                    pred.Jt = pull;
                else
                    pred.Jf = pull;
            }
        }
        else
        {
            diff.Succ = pull;
        }
    }
}
