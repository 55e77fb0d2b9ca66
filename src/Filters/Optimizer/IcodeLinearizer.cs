using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// Lays a block graph out as a flat cBPF program exactly as libpcap's icode_to_fcode does: blocks
/// in depth-first order from the root (a block, then what its true branch leads to, then what its
/// false branch leads to), each block's live statements then its branch. A branch too far for an
/// 8-bit offset gets a following <c>ja</c>, and the layout starts over.
/// </summary>
internal static class IcodeLinearizer
{
    private const int MaxShortJump = 255;

    /// <exception cref="FilterCompileException">A jump inside a statement list has no valid target (libpcap's text).</exception>
    public static CbpfInstruction[] ToInstructions(IcodeGraph ic)
    {
        ArgumentNullException.ThrowIfNull(ic);
        Block root = ic.Root ?? throw new ArgumentException("the graph has no root", nameof(ic));
        // One layout (its buffers) per thread, reused by the next compilation.
        Layout layout = t_layout ?? new Layout();
        t_layout = null;
        layout.Graph = ic;
        try
        {
            for (;;)
            {
                ic.UnmarkAll();
                int n = layout.CountInstructions(root);
                var program = new CbpfInstruction[n];
                ic.UnmarkAll();
                if (layout.TryEmit(root, program))
                    return program;
            }
        }
        finally
        {
            layout.Release();
            t_layout = layout;
        }
    }

    [ThreadStatic]
    private static Layout? t_layout;

    private sealed class Layout
    {
        private readonly Walk _walk = new();
        private Slist?[] _cells = new Slist?[16];
        private IcodeGraph _ic = null!;

        public IcodeGraph Graph
        {
            set => _ic = value;
        }

        public void Release()
        {
            _walk.Clear();
            Array.Clear(_cells);
            _ic = null!;
        }

        /// <summary>Instructions of the reachable blocks, including the long jumps already known to be needed.</summary>
        public int CountInstructions(Block root)
        {
            int n = 0;
            _walk.Clear();
            _walk.Push(root);
            while (_walk.TryPop(out Block? b))
            {
                if (b is null || _ic.IsMarked(b))
                    continue;
                _ic.Mark(b);
                int live = LiveLength(b.Stmts, out b.LocalJumps);
                b.LiveStatements = live;
                n += live + 1 + (int)b.LongJt + (int)b.LongJf;
                _walk.Push(b.Jf);
                _walk.Push(b.Jt);
            }
            return n;
        }

        /// <summary>
        /// Fills the program from its end backwards in post-order (false branch walked first). False
        /// when some branch turned out to need a long jump: it is marked, and the caller starts over.
        /// </summary>
        /// <remarks>
        /// libpcap stops at the first such branch; marking all of them in one layout ends in the same
        /// marks, because this layout's offsets all follow from the marks it started with and a jump
        /// too long for them stays too long with more marks.
        /// </remarks>
        public bool TryEmit(Block root, CbpfInstruction[] program)
        {
            int tail = program.Length;
            bool complete = true;
            _walk.Clear();
            _walk.Push(root);
            while (_walk.Count > 0)
            {
                Block? b = _walk.Top;
                switch (_walk.TopStage)
                {
                    case 0:
                        if (b is null || _ic.IsMarked(b))
                        {
                            _walk.Pop();
                            break;
                        }
                        _ic.Mark(b);
                        _walk.TopStage = 1;
                        _walk.Push(b.Jf);
                        break;
                    case 1:
                        _walk.TopStage = 2;
                        _walk.Push(b!.Jt);
                        break;
                    default:
                        _walk.Pop();
                        if (!EmitBlock(b!, program, ref tail))
                            complete = false;
                        break;
                }
            }
            return complete;
        }

        private bool EmitBlock(Block p, CbpfInstruction[] program, ref int tail)
        {
            // Counted by CountInstructions just before, for the same blocks.
            int slen = p.LiveStatements;
            tail -= slen + 1 + (int)p.LongJt + (int)p.LongJf;
            int dst = tail;
            p.Offset = dst;

            bool hasLocalJumps = p.LocalJumps;
            if (hasLocalJumps)
                IndexCells(p.Stmts, slen);

            int off = 0;
            for (Slist? src = p.Stmts; src is not null; src = src.Next)
            {
                Stmt s = src.S;
                if (s.Code == Atoms.Nop)
                    continue;
                byte jt = 0, jf = 0;
                // Conditional jumps inside a list (protochain and friends) point at list cells;
                // libpcap leaves the one just before the last statement alone.
                if (hasLocalJumps && Class(s.Code) == Jmp && s.Code != (Jmp | Ja) && off != slen - 2)
                    ResolveLocalJump(s, slen, off, out jt, out jf);
                program[dst + off] = new CbpfInstruction((ushort)s.Code, jt, jf, s.K);
                off++;
            }
            if (hasLocalJumps)
                Array.Clear(_cells, 0, slen);

            int branch = dst + slen;
            if (p.Jt is null)
            {
                program[branch] = new CbpfInstruction((ushort)p.S.Code, 0, 0, p.S.K);
                return true;
            }

            // A branch too far for 8 bits goes through a "ja" right after it, in slots counted in
            // before; the first time one is found too far, only the mark is set.
            bool fits = true;
            byte extraJumps = 0;
            byte jumpTrue = 0, jumpFalse = 0;
            uint distance = (uint)(p.Jt.Offset - branch - 1);
            if (distance <= MaxShortJump)
            {
                jumpTrue = (byte)distance;
            }
            else if (p.LongJt == 0)
            {
                p.LongJt++;
                fits = false;
            }
            else
            {
                jumpTrue = extraJumps++;
                program[branch + extraJumps] = CbpfInstruction.Stmt(Jmp | Ja, distance - extraJumps);
            }

            distance = (uint)(p.Jf!.Offset - branch - 1);
            if (distance <= MaxShortJump)
            {
                jumpFalse = (byte)distance;
            }
            else if (p.LongJf == 0)
            {
                p.LongJf++;
                fits = false;
            }
            else if (fits)
            {
                // With two long jumps, the false branch goes to the second.
                jumpFalse = extraJumps++;
                program[branch + extraJumps] = CbpfInstruction.Stmt(Jmp | Ja, distance - extraJumps);
            }

            program[branch] = new CbpfInstruction((ushort)p.S.Code, jumpTrue, jumpFalse, p.S.K);
            return fits;
        }

        /// <summary>
        /// libpcap's table of the list's first <paramref name="slen"/> cells, deleted ones included
        /// (while jump offsets count live statements only), for a list with a conditional jump.
        /// </summary>
        private void IndexCells(Slist? list, int slen)
        {
            if (_cells.Length < slen)
                _cells = new Slist?[Math.Max(slen, _cells.Length * 2)];
            Slist? s = list;
            for (int i = 0; i < slen && s is not null; i++, s = s.Next)
                _cells[i] = s;
        }

        private void ResolveLocalJump(Stmt s, int slen, int off, out byte jt, out byte jf)
        {
            jt = jf = 0;
            if (s.Jt is null || s.Jf is null)
                throw LocalJumpError("no jmp destination", off);
            bool foundTrue = false, foundFalse = false;
            for (int i = 0; i < slen; i++)
            {
                if (_cells[i] == s.Jt)
                {
                    if (foundTrue)
                        throw LocalJumpError("multiple matches", off);
                    jt = RelativeOffset(i, off);
                    foundTrue = true;
                }
                if (_cells[i] == s.Jf)
                {
                    if (foundFalse)
                        throw LocalJumpError("multiple matches", off);
                    jf = RelativeOffset(i, off);
                    foundFalse = true;
                }
            }
            if (!foundTrue || !foundFalse)
                throw LocalJumpError("no destination found", off);
        }

        /// <summary>Offset from the jump at <paramref name="off"/> to cell <paramref name="i"/>; backwards counts as out of range.</summary>
        private static byte RelativeOffset(int i, int off)
        {
            uint distance = (uint)(i - off - 1);
            if (distance > MaxShortJump)
                throw LocalJumpError("out-of-range jump", off);
            return (byte)distance;
        }

        private static FilterCompileException LocalJumpError(string what, int off) =>
            new($"{what} for block-local relative jump: off={off}");

        /// <summary>Live statements of a list, and whether one is a conditional jump (protochain's lists).</summary>
        private static int LiveLength(Slist? s, out bool localJumps)
        {
            int n = 0;
            bool jumps = false;
            for (; s is not null; s = s.Next)
            {
                int code = s.S.Code;
                if (code != Atoms.Nop)
                {
                    n++;
                    jumps |= Class(code) == Jmp && code != (Jmp | Ja);
                }
            }
            localJumps = jumps;
            return n;
        }
    }
}
