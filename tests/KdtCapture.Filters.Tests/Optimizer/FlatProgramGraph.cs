using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Tests.Optimizer;

/// <summary>
/// Rebuilds the block graph that libpcap linearized into an unoptimized (<c>-O</c>) program. In such
/// a program every block is laid out once, as its statements then its branch (plus a <c>ja</c> after
/// the branch for each target too far away), so the graph is exactly libpcap's icode — what its
/// optimizer would have been given.
/// </summary>
/// <remarks>
/// Jumps inside statement lists (protochain, geneve, 802.11 header lengths) look like branches in
/// flat code. They are told apart by where they lead: a branch must lead to the start of a block,
/// while a jump inside a list leads into its own list, which therefore extends past its target.
/// </remarks>
internal static class FlatProgramGraph
{
    public sealed record Rebuilt(IcodeGraph Graph, bool HasStatementJumps, int BlockCount);

    public static Rebuilt Rebuild(CbpfInstruction[] program)
    {
        int n = program.Length;
        if (n == 0)
            throw new ArgumentException("empty program", nameof(program));

        var isBranchCode = new bool[n];
        var isRet = new bool[n];
        var longJumps = new int[n];      // long-jump "ja"s following a branch
        var trueTarget = new int[n];     // through its long jump, if any
        var falseTarget = new int[n];
        var isLongJumpSlot = new bool[n];
        var inList = new bool[n];        // a jump inside a statement list

        for (int i = 0; i < n; i++)
        {
            CbpfInstruction ins = program[i];
            isRet[i] = Class(ins.Code) == Ret;
            if (Class(ins.Code) != Jmp)
                continue;
            if (ins.Code == (Jmp | Ja))
                continue;
            isBranchCode[i] = true;
            int extra = 0;
            trueTarget[i] = i + 1 + ins.Jt;
            falseTarget[i] = i + 1 + ins.Jf;
            if (ins.Jt == 0 && IsJa(program, i + 1))
            {
                trueTarget[i] = JaTarget(program, i + 1);
                isLongJumpSlot[i + 1] = true;
                extra = 1;
            }
            if (ins.Jf == extra && IsJa(program, i + 1 + extra))
            {
                falseTarget[i] = JaTarget(program, i + 1 + extra);
                isLongJumpSlot[i + 1 + extra] = true;
                extra++;
            }
            longJumps[i] = extra;
        }
        // Any other "ja" is a jump inside a statement list (branches never are unconditional).
        for (int i = 0; i < n; i++)
        {
            if (IsJa(program, i) && !isLongJumpSlot[i])
                inList[i] = true;
        }

        // Fixed point: branches whose targets are not block starts, and list ends that list jumps pass, are in lists.
        var isStart = new bool[n];
        for (bool changed = true; changed;)
        {
            changed = false;
            Array.Clear(isStart);
            isStart[0] = true;
            for (int i = 0; i < n; i++)
            {
                if (IsBlockEnd(i) && i + 1 + longJumps[i] < n)
                    isStart[i + 1 + longJumps[i]] = true;
            }

            for (int i = 0; i < n; i++)
            {
                if (isBranchCode[i] && !inList[i] && (!isStart[trueTarget[i]] || !isStart[falseTarget[i]]))
                {
                    inList[i] = true;
                    changed = true;
                }
            }
            if (changed)
                continue;

            for (int i = 0; i < n && !changed; i++)
            {
                if (!inList[i])
                    continue;
                int start = i;
                while (!isStart[start])
                    start--;
                int end = i;
                while (!IsBlockEnd(end))
                    end++;
                foreach (int t in ListJumpTargets(i))
                {
                    if (t >= end)
                    {
                        if (!isBranchCode[end])
                            throw new InvalidOperationException($"jump at {i} leads past the return at {end}");
                        inList[end] = true;
                        changed = true;
                    }
                    else if (t < start)
                    {
                        int previousEnd = start - 1;
                        while (isLongJumpSlot[previousEnd])
                            previousEnd--;
                        inList[previousEnd] = true;
                        changed = true;
                    }
                }
            }
        }

        // Blocks, then their statements and successors.
        var blockAt = new Block?[n];
        for (int start = 0; start < n;)
        {
            int end = start;
            while (!IsBlockEnd(end))
                end++;
            var b = new Block(program[end].Code);
            b.S.K = program[end].K;
            blockAt[start] = b;
            start = end + 1 + longJumps[end];
        }

        bool hasStatementJumps = false;
        int blocks = 0;
        var cells = new Slist?[n];
        for (int start = 0; start < n;)
        {
            Block b = blockAt[start]!;
            blocks++;
            int end = start;
            while (!IsBlockEnd(end))
                end++;
            Slist? tail = null;
            for (int i = start; i < end; i++)
            {
                var cell = new Slist(program[i].Code, program[i].K);
                cells[i] = cell;
                if (tail is null)
                    b.Stmts = cell;
                else
                    tail.Next = cell;
                tail = cell;
            }
            for (int i = start; i < end; i++)
            {
                if (isBranchCode[i])
                {
                    hasStatementJumps = true;
                    cells[i]!.S.Jt = cells[trueTarget[i]];
                    cells[i]!.S.Jf = cells[falseTarget[i]];
                }
                else if (inList[i])
                {
                    hasStatementJumps = true;
                }
            }
            if (isBranchCode[end])
            {
                b.Jt = blockAt[trueTarget[end]] ?? throw new InvalidOperationException($"branch at {end} leads into a block");
                b.Jf = blockAt[falseTarget[end]] ?? throw new InvalidOperationException($"branch at {end} leads into a block");
            }
            start = end + 1 + longJumps[end];
        }

        return new Rebuilt(new IcodeGraph { Root = blockAt[0] }, hasStatementJumps, blocks);

        bool IsBlockEnd(int i) => isRet[i] || (isBranchCode[i] && !inList[i]);

        IEnumerable<int> ListJumpTargets(int i)
        {
            if (isBranchCode[i])
            {
                yield return trueTarget[i];
                yield return falseTarget[i];
            }
            else
            {
                yield return JaTarget(program, i);
            }
        }
    }

    private static bool IsJa(CbpfInstruction[] program, int i) =>
        i < program.Length && program[i].Code == (Jmp | Ja);

    private static int JaTarget(CbpfInstruction[] program, int i) => i + 1 + (int)program[i].K;
}
