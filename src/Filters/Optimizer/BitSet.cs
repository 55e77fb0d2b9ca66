using System.Numerics;

namespace KdtCapture.Filters.Optimizer;

/// <summary>Operations on fixed-size bit sets stored as 32-bit words (dominator and edge-dominator sets).</summary>
internal static class BitSet
{
    public const int BitsPerWord = 32;

    /// <summary>Words needed for <paramref name="count"/> members; like libpcap, always one more than strictly needed.</summary>
    public static int WordsFor(int count) => count / BitsPerWord + 1;

    public static bool Contains(ReadOnlySpan<uint> set, uint member) =>
        (set[(int)(member / BitsPerWord)] & (1u << (int)(member % BitsPerWord))) != 0;

    public static void Insert(Span<uint> set, uint member) =>
        set[(int)(member / BitsPerWord)] |= 1u << (int)(member % BitsPerWord);

    public static void IntersectWith(Span<uint> set, ReadOnlySpan<uint> other)
    {
        for (int i = 0; i < set.Length; i++)
            set[i] &= other[i];
    }

    /// <summary>Index of the lowest member of a non-empty word.</summary>
    public static int LowestMember(uint word) => BitOperations.TrailingZeroCount(word);
}
