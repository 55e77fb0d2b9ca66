using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

// The final steps: merging equal blocks and skipping a root that does not branch.
internal sealed partial class OptimizerState
{
    /// <summary>
    /// Merges equal blocks: afterwards no two reachable blocks have the same branch, successors
    /// and live statements (libpcap's intern_blocks).
    /// </summary>
    /// <remarks>
    /// libpcap compares all pairs of live blocks, redirects branches to the highest-numbered equal
    /// block, and repeats until nothing moves, which takes one round per level of merging. Its
    /// fixed point is the graph in which equal sub-graphs are shared, unique up to which of
    /// several equal blocks represents them, and equal blocks print identically. So one pass
    /// from the returns upwards, giving each block the representative of its equals once its
    /// successors have theirs, ends in the same program. Equal blocks have equal successors and
    /// hence the same level, so only blocks of one level are compared.
    /// </remarks>
    public void InternBlocks()
    {
        EnsureLevels();
        EnsureLength(ref _representative, _n);
        Node[] nodes = _nodes;
        int[] representative = _representative;
        for (int level = 0; level <= nodes[_root].Level; level++)
        {
            _distinct.Clear();
            _byContent?.Clear();
            for (int b = _levelHead[level]; b != None; b = nodes[b].LevelNext)
            {
                ref Node node = ref nodes[b];
                if (node.Jt != None)
                {
                    SetJt(ref node, representative[node.Jt]);
                    SetJf(ref node, representative[node.Jf]);
                }
                representative[b] = Intern(b);
            }
        }
        _distinct.Clear();
        _byContent?.Clear();
    }

    /// <summary>The representative of each block once its level has been interned.</summary>
    private int[] _representative = [];

    /// <summary>Up to this many distinct blocks in a level, comparing with each is cheaper than hashing.</summary>
    private const int LinearInternLimit = 16;

    /// <summary>The distinct blocks of the level being interned.</summary>
    private readonly List<int> _distinct = [];
    private Dictionary<int, int>? _byContent;

    /// <summary>The first block of this level seen equal to <paramref name="b"/>, or <paramref name="b"/> itself.</summary>
    private int Intern(int b)
    {
        if (_distinct.Count < LinearInternLimit)
        {
            foreach (int d in _distinct)
            {
                if (AreEqual(d, b))
                    return d;
            }
            _distinct.Add(b);
            if (_distinct.Count == LinearInternLimit)
            {
                _byContent ??= new Dictionary<int, int>(new BlockContent(this));
                foreach (int d in _distinct)
                    _byContent[d] = d;
            }
            return b;
        }
        if (_byContent!.TryGetValue(b, out int equal))
            return equal;
        _byContent.Add(b, b);
        return b;
    }

    /// <summary>Same branch, same successors, and the same live statements.</summary>
    private bool AreEqual(int b0, int b1)
    {
        ref Node n0 = ref _nodes[b0];
        ref Node n1 = ref _nodes[b1];
        if (n0.Code != n1.Code || n0.K != n1.K || n0.Jt != n1.Jt || n0.Jf != n1.Jf)
            return false;
        StmtSlot[] stmts = _stmts;
        int x = n0.First, xEnd = n0.End;
        int y = n1.First, yEnd = n1.End;
        for (;;)
        {
            x = NextLive(stmts, x, xEnd);
            y = NextLive(stmts, y, yEnd);
            if (x == xEnd || y == yEnd)
                return x == xEnd && y == yEnd;
            if (stmts[x].Code != stmts[y].Code || stmts[x].K != stmts[y].K)
                return false;
            x++;
            y++;
        }
    }

    /// <summary>Block equality for interning (<see cref="AreEqual"/>) with a hash consistent with it.</summary>
    private sealed class BlockContent(OptimizerState state) : IEqualityComparer<int>
    {
        public bool Equals(int x, int y) => x == y || state.AreEqual(x, y);

        public int GetHashCode(int b)
        {
            var hash = new HashCode();
            ref Node node = ref state._nodes[b];
            hash.Add(node.Code);
            hash.Add(node.K);
            hash.Add(node.Jt);
            hash.Add(node.Jf);
            StmtSlot[] stmts = state._stmts;
            for (int s = node.First; s < node.End; s++)
            {
                if (stmts[s].Code == Atoms.Nop)
                    continue;
                hash.Add(stmts[s].Code);
                hash.Add(stmts[s].K);
            }
            return hash.ToHashCode();
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
