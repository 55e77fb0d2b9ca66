namespace KdtCapture.Bpf.Asm;

/// <summary>
/// Replaces a range of instructions (typically a stub subprogram) with other instructions, fixing
/// every jump, BPF-to-BPF call and callback reference that crosses the range. The replacement's own
/// jumps are relative and stay as they are; nothing may jump into the middle of the replaced range.
/// </summary>
public static class BpfSplice
{
    /// <summary>The spliced program and how old instruction indexes map to new ones.</summary>
    public readonly record struct Result(BpfInstruction[] Instructions, int Start, int OldLength, int NewLength)
    {
        /// <summary>Where an instruction outside the replaced range moved to (for func/line info).</summary>
        public int MapIndex(int oldIndex) =>
            oldIndex < Start ? oldIndex
            : oldIndex >= Start + OldLength ? oldIndex + NewLength - OldLength
            : throw new ArgumentOutOfRangeException(nameof(oldIndex), $"instruction {oldIndex} was replaced");
    }

    /// <summary>Replaces <paramref name="length"/> slots at <paramref name="start"/> with <paramref name="replacement"/>.</summary>
    public static Result Replace(ReadOnlySpan<BpfInstruction> program, int start, int length, ReadOnlySpan<BpfInstruction> replacement)
    {
        if (start < 0 || length < 0 || start + length > program.Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"splice range {start}+{length} is outside a {program.Length}-instruction program");
        bool[] secondSlots = SecondSlots(program);
        if ((start < program.Length && secondSlots[start]) || (start + length < program.Length && secondSlots[start + length]))
            throw new ArgumentException($"splice range {start}+{length} would cut a 16-byte load in half", nameof(start));

        int delta = replacement.Length - length;
        var output = new BpfInstruction[program.Length + delta];
        int end = start + length;
        for (int i = 0; i < program.Length; i++)
        {
            if (i >= start && i < end)
                continue;
            int newIndex = i < start ? i : i + delta;
            var instruction = program[i];
            output[newIndex] = secondSlots[i] ? instruction : Retarget(instruction, i, newIndex, start, end, delta);
        }
        replacement.CopyTo(output.AsSpan(start));
        return new Result(output, start, length, replacement.Length);
    }

    /// <summary>
    /// Replaces the subprogram starting at <paramref name="subprogramStart"/> (up to the next
    /// subprogram, found from the calls and callback references in the program, or the end).
    /// </summary>
    public static Result ReplaceSubprogram(ReadOnlySpan<BpfInstruction> program, int subprogramStart, ReadOnlySpan<BpfInstruction> replacement)
    {
        var starts = SubprogramStarts(program);
        if (!starts.Contains(subprogramStart))
            throw new ArgumentException($"no subprogram starts at instruction {subprogramStart} (nothing calls it)", nameof(subprogramStart));
        int end = program.Length;
        foreach (int s in starts)
        {
            if (s > subprogramStart && s < end)
                end = s;
        }
        return Replace(program, subprogramStart, end - subprogramStart, replacement);
    }

    /// <summary>Entry points: 0 and every target of a BPF-to-BPF call or callback reference.</summary>
    public static SortedSet<int> SubprogramStarts(ReadOnlySpan<BpfInstruction> program)
    {
        var starts = new SortedSet<int> { 0 };
        bool[] secondSlots = SecondSlots(program);
        for (int i = 0; i < program.Length; i++)
        {
            var instruction = program[i];
            if (secondSlots[i])
                continue;
            if (instruction.IsSubprogramCall || instruction.IsFunctionReference)
                starts.Add(i + 1 + instruction.Immediate);
        }
        return starts;
    }

    private static BpfInstruction Retarget(BpfInstruction instruction, int oldIndex, int newIndex, int start, int end, int delta)
    {
        bool usesOffset = instruction.IsJump;
        bool usesImmediate = instruction.IsSubprogramCall || instruction.IsFunctionReference || instruction.IsLongJump;
        if (!usesOffset && !usesImmediate)
            return instruction;
        int relative = usesOffset ? instruction.Offset : instruction.Immediate;
        int oldTarget = oldIndex + 1 + relative;
        if (oldTarget > start && oldTarget < end)
            throw new InvalidOperationException($"instruction {oldIndex} jumps into the middle of the replaced range {start}..{end - 1}");
        // A target at the range's start now means the replacement's first instruction; with an
        // empty range (an insertion) it keeps following the instruction that was there.
        int newTarget = oldTarget < start || (oldTarget == start && end > start) ? oldTarget : oldTarget + delta;
        int newRelative = newTarget - (newIndex + 1);
        if (usesOffset)
        {
            if (newRelative is < short.MinValue or > short.MaxValue)
                throw new InvalidOperationException($"instruction {oldIndex}: jump offset {newRelative} no longer fits 16 bits after the splice");
            return instruction with { Offset = (short)newRelative };
        }
        return instruction with { Immediate = newRelative };
    }

    /// <summary>Marks the second halves of 16-byte loads.</summary>
    internal static bool[] SecondSlots(ReadOnlySpan<BpfInstruction> program)
    {
        var second = new bool[program.Length];
        for (int i = 0; i < program.Length; i++)
        {
            if (program[i].IsLoadImm64 && i + 1 < program.Length)
                second[++i] = true;
        }
        return second;
    }
}
