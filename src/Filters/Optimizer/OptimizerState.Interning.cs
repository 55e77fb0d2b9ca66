using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

// The final steps: merging equal blocks and skipping a root that does not branch.
internal sealed partial class OptimizerState
{
    /// <summary>
    /// Makes every branch to a block go to the last (highest-numbered) live block equal to it, until
    /// no branch moves (libpcap's intern_blocks).
    /// </summary>
    /// <remarks>
    /// libpcap compares every pair of live blocks; equality is an equivalence, so a table of the
    /// blocks seen so far, walked from the highest number down, finds the same partner (the
    /// lowest-numbered equal block above) in linear time.
    /// </remarks>
    public void InternBlocks()
    {
        int n = _blockCount;
        Dictionary<Block, Block>? seen = null;
        if (n > SmallGraph)
        {
            EnsureLength(ref _blockHashes, n);
            seen = _internTable ??= new Dictionary<Block, Block>(new BlockEquality(this));
        }
        bool changed;
        do
        {
            changed = false;
            for (int i = 0; i < n; i++)
                _blocks[i].Link = null;
            MarkLiveBlocks();

            if (n <= SmallGraph)
                FindEqualBlocksPairwise(n);
            else
                FindEqualBlocksHashed(n, seen!);

            // Redirect every block's branches, the unreachable ones' too, as libpcap does.
            for (int i = 0; i < n; i++)
            {
                Block p = _blocks[i];
                if (p.Jt is null)
                    continue;
                if (p.Jt.Link is { } jt)
                {
                    changed = true;
                    p.Jt = jt;
                }
                if (p.Jf!.Link is { } jf)
                {
                    changed = true;
                    p.Jf = jf;
                }
            }
        }
        while (changed);
        seen?.Clear();
    }

    private int[] _blockHashes = [];
    private Dictionary<Block, Block>? _internTable;

    /// <summary>Up to this many blocks, comparing all pairs (as libpcap does) is cheaper than hashing.</summary>
    private const int SmallGraph = 24;

    private void FindEqualBlocksPairwise(int n)
    {
        for (int i = n - 2; i >= 0; i--)
        {
            Block bi = _blocks[i];
            if (!_ic.IsMarked(bi))
                continue;
            for (int j = i + 1; j < n; j++)
            {
                Block bj = _blocks[j];
                if (_ic.IsMarked(bj) && AreEqual(bi, bj))
                {
                    bi.Link = bj.Link ?? bj;
                    break;
                }
            }
        }
    }

    private void FindEqualBlocksHashed(int n, Dictionary<Block, Block> seen)
    {
        seen.Clear();
        for (int i = n - 1; i >= 0; i--)
        {
            Block b = _blocks[i];
            if (!_ic.IsMarked(b))
                continue;
            _blockHashes[i] = HashOf(b);
            if (seen.TryGetValue(b, out Block? equal))
                b.Link = equal.Link ?? equal;
            seen[b] = b;
        }
    }

    /// <summary>A hash consistent with <see cref="AreEqual"/>: branch, successors and live statements.</summary>
    private static int HashOf(Block b)
    {
        var hash = new HashCode();
        hash.Add(b.S.Code);
        hash.Add(b.S.K);
        hash.Add(b.Jt is null ? -1 : (int)b.Jt.Id);
        hash.Add(b.Jf is null ? -1 : (int)b.Jf.Id);
        for (Slist? s = b.Stmts; s is not null; s = s.Next)
        {
            if (s.S.Code == Atoms.Nop)
                continue;
            hash.Add(s.S.Code);
            hash.Add(s.S.K);
        }
        return hash.ToHashCode();
    }

    /// <summary>Block equality for interning, with hashes computed once per round (indexed by block id).</summary>
    private sealed class BlockEquality(OptimizerState state) : IEqualityComparer<Block>
    {
        public bool Equals(Block? x, Block? y) => x == y || (x is not null && y is not null && AreEqual(x, y));

        public int GetHashCode(Block b) => state._blockHashes[b.Id];
    }

    private void MarkLiveBlocks()
    {
        _ic.UnmarkAll();
        _walk.Clear();
        _walk.Push(Root);
        while (_walk.TryPop(out Block? b))
        {
            if (_ic.IsMarked(b!))
                continue;
            _ic.Mark(b!);
            if (Class(b!.S.Code) != Ret)
            {
                _walk.Push(b.Jf);
                _walk.Push(b.Jt);
            }
        }
    }

    /// <summary>Same branch, same successors, and the same live statements.</summary>
    private static bool AreEqual(Block b0, Block b1)
    {
        if (b0.S.Code != b1.S.Code || b0.S.K != b1.S.K || b0.Jt != b1.Jt || b0.Jf != b1.Jf)
            return false;
        Slist? x = b0.Stmts, y = b1.Stmts;
        for (;;)
        {
            x = NextLive(x);
            y = NextLive(y);
            if (x is null || y is null)
                return x is null && y is null;
            if (x.S.Code != y.S.Code || x.S.K != y.S.K)
                return false;
            x = x.Next;
            y = y.Next;
        }
    }

    /// <summary>
    /// While the root branches to the same block either way, that block becomes the root; the old
    /// root's statements go before the new root's (those of skipped blocks in between are lost, as
    /// in libpcap). A return needs no statements.
    /// </summary>
    public static void SkipJumplessRoot(IcodeGraph ic)
    {
        Block b = ic.Root!;
        Slist? s = b.Stmts;
        b.Stmts = null;
        while (Class(b.S.Code) == Jmp && b.Jt == b.Jf)
            b = b.Jt!;

        Slist? tail = b.Stmts;
        if (s is null)
        {
            // libpcap would dereference a null list here; keeping the new root's statements is the only sane reading.
            s = tail;
        }
        else if (tail is not null)
        {
            Slist end = s;
            while (end.Next is not null)
                end = end.Next;
            end.Next = tail;
        }
        b.Stmts = s;

        if (Class(b.S.Code) == Ret)
            b.Stmts = null;
        ic.Root = b;
    }
}
