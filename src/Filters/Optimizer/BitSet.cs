using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// Operations on fixed-size bit sets stored as 32-bit words (dominator and edge-dominator sets).
/// The sets are passed by reference to their first word; callers guarantee that
/// <c>words</c> words lie behind each, a multiple of <see cref="VectorWords(int)"/>'s unit.
/// </summary>
internal static class BitSet
{
    public const int BitsPerWord = 32;

    /// <summary>Words needed for <paramref name="count"/> members; like libpcap, always one more than strictly needed.</summary>
    public static int WordsFor(int count) => count / BitsPerWord + 1;

    /// <summary><paramref name="words"/> rounded up to whole 128-bit vectors.</summary>
    public static int VectorWords(int words) => (words + 3) & ~3;

    /// <summary>Intersects the sets <paramref name="first"/> and <paramref name="second"/> with <paramref name="source"/>.</summary>
    public static void IntersectBoth(ref uint source, ref uint first, ref uint second, int words)
    {
        for (nuint i = 0; i < (nuint)words; i += 4)
        {
            var w = Vector128.LoadUnsafe(ref source, i);
            (Vector128.LoadUnsafe(ref first, i) & w).StoreUnsafe(ref first, i);
            (Vector128.LoadUnsafe(ref second, i) & w).StoreUnsafe(ref second, i);
        }
    }

    /// <summary>Intersects <paramref name="target"/> with <paramref name="source"/> plus <paramref name="member"/>.</summary>
    public static void IntersectWithInsert(ref uint target, ref uint source, int words, int member)
    {
        int word = member / BitsPerWord;
        uint keep = Unsafe.Add(ref target, word) & (Unsafe.Add(ref source, word) | (1u << member));
        for (nuint i = 0; i < (nuint)words; i += 4)
            (Vector128.LoadUnsafe(ref target, i) & Vector128.LoadUnsafe(ref source, i)).StoreUnsafe(ref target, i);
        Unsafe.Add(ref target, word) = keep;
    }

    /// <summary>Index of the lowest member of a non-empty word.</summary>
    public static int LowestMember(uint word) => BitOperations.TrailingZeroCount(word);
}
