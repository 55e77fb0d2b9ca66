namespace KdtCapture.Bpf.Btf;

/// <summary>Shell-style globs over UTF-8 names: <c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[a-z]</c>, <c>[!x]</c>.</summary>
public static class BtfGlob
{
    public static bool HasWildcards(string pattern) => pattern.AsSpan().IndexOfAny('*', '?', '[') >= 0;

    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text)
    {
        // Iterative matcher with one backtrack point for the last '*': linear for ordinary patterns.
        int p = 0, t = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length)
            {
                byte c = pattern[p];
                if (c == '*')
                {
                    starP = ++p;
                    starT = t;
                    continue;
                }
                if (c == '?')
                {
                    p++;
                    t++;
                    continue;
                }
                if (c == '[' && TryMatchClass(pattern, p, text[t], out int after, out bool matched))
                {
                    if (matched)
                    {
                        p = after;
                        t++;
                        continue;
                    }
                }
                else if (c == text[t])
                {
                    p++;
                    t++;
                    continue;
                }
            }
            if (starP < 0)
                return false;
            p = starP;
            t = ++starT;
        }
        while (p < pattern.Length && pattern[p] == '*')
            p++;
        return p == pattern.Length;
    }

    /// <summary>Matches a bracket expression at <paramref name="start"/>; false when it is not one (no closing ']').</summary>
    private static bool TryMatchClass(ReadOnlySpan<byte> pattern, int start, byte c, out int after, out bool matched)
    {
        int i = start + 1;
        bool negate = i < pattern.Length && (pattern[i] == '!' || pattern[i] == '^');
        if (negate)
            i++;
        matched = false;
        bool first = true;
        while (i < pattern.Length && (pattern[i] != ']' || first))
        {
            first = false;
            byte lo = pattern[i];
            if (i + 2 < pattern.Length && pattern[i + 1] == '-' && pattern[i + 2] != ']')
            {
                if (c >= lo && c <= pattern[i + 2])
                    matched = true;
                i += 3;
            }
            else
            {
                if (c == lo)
                    matched = true;
                i++;
            }
        }
        if (i >= pattern.Length)
        {
            after = start;
            return false;
        }
        after = i + 1;
        matched ^= negate;
        return true;
    }
}
