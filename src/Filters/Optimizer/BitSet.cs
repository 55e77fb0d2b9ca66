using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KdtCapture.Filters.Optimizer;

/// <summary>Operations on fixed-size bit sets stored as 32-bit words (dominator and edge-dominator sets).</summary>
internal static class BitSet
{
    public const int BitsPerWord = 32;

    /// <summary>Words needed for <paramref name="count"/> members; like libpcap, always one more than strictly needed.</summary>
    public static int WordsFor(int count) => count / BitsPerWord + 1;

    public static void Insert(Span<uint> set, uint member) =>
        set[(int)(member / BitsPerWord)] |= 1u << (int)(member % BitsPerWord);

    /// <summary>Intersects the sets at word offsets <paramref name="first"/> and <paramref name="second"/> of <paramref name="sets"/> with the one at <paramref name="with"/>.</summary>
    public static void IntersectBoth(uint[] sets, int first, int second, int with, int words)
    {
        // One pass for both successors' sets; the offsets were checked by the caller's spans.
        ReadOnlySpan<uint> source = sets.AsSpan(with, words);
        Span<uint> a = sets.AsSpan(first, words);
        Span<uint> b = sets.AsSpan(second, words);
        ref uint pa = ref MemoryMarshal.GetReference(a);
        ref uint pb = ref MemoryMarshal.GetReference(b);
        for (int i = 0; i < source.Length; i++)
        {
            uint w = source[i];
            Unsafe.Add(ref pa, i) &= w;
            Unsafe.Add(ref pb, i) &= w;
        }
    }

    /// <summary>
    /// Intersects the set at word offset <paramref name="target"/> of <paramref name="sets"/> with the
    /// one at <paramref name="with"/> plus <paramref name="member"/>.
    /// </summary>
    public static void IntersectWithInsert(uint[] sets, int target, int with, int words, int member)
    {
        ReadOnlySpan<uint> source = sets.AsSpan(with, words);
        Span<uint> t = sets.AsSpan(target, words);
        int word = member / BitsPerWord;
        uint keep = t[word] & (source[word] | (1u << (member % BitsPerWord)));
        ref uint pt = ref MemoryMarshal.GetReference(t);
        for (int i = 0; i < source.Length; i++)
            Unsafe.Add(ref pt, i) &= source[i];
        t[word] = keep;
    }

    /// <summary>Index of the lowest member of a non-empty word.</summary>
    public static int LowestMember(uint word) => BitOperations.TrailingZeroCount(word);
}
