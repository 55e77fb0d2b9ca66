namespace KdtCapture.Filters.Tests.Syntax;

/// <summary>
/// A small regular-expression matcher over position sets, written from the flex definitions of the scanner's address and number
/// patterns: the oracle for AddressScanner. It finds the longest match at the start of the input (what flex does, and what a
/// backtracking regex engine does not).
/// </summary>
internal abstract class Pattern
{
    /// <summary>From the positions set in <paramref name="from"/>, marks in <paramref name="to"/> every position a match can end at.</summary>
    public abstract void Step(ReadOnlySpan<char> s, ReadOnlySpan<bool> from, Span<bool> to);

    /// <summary>Length of the longest match at the start of <paramref name="s"/>, 0 when none.</summary>
    /// <summary>Addresses and numbers only use these characters: the run of them that a match can cover.</summary>
    public static int RunLength(ReadOnlySpan<char> s)
    {
        int n = 0;
        while (n < s.Length && (char.IsAsciiHexDigit(s[n]) || s[n] is '.' or ':' or '-' or 'x' or 'X' or '$'))
            n++;
        return n;
    }

    public int LongestMatch(ReadOnlySpan<char> s)
    {
        int n = RunLength(s);
        if (n == 0)
            return 0;
        s = s[..n];
        Span<bool> from = n < 256 ? stackalloc bool[n + 1] : new bool[n + 1];
        Span<bool> to = n < 256 ? stackalloc bool[n + 1] : new bool[n + 1];
        from.Clear();
        to.Clear();
        from[0] = true;
        Step(s, from, to);
        for (int i = n; i > 0; i--)
        {
            if (to[i])
                return i;
        }
        return 0;
    }

    public static Pattern Class(Func<char, bool> predicate) => new ClassPattern(predicate);
    public static Pattern Lit(string text) => new LiteralPattern(text);
    public static Pattern Seq(params Pattern[] parts) => new SeqPattern(parts);
    public static Pattern Alt(params Pattern[] choices) => new AltPattern(choices);
    public static Pattern Repeat(Pattern p, int min, int max) => new RepeatPattern(p, min, max);

    private sealed class ClassPattern(Func<char, bool> predicate) : Pattern
    {
        public override void Step(ReadOnlySpan<char> s, ReadOnlySpan<bool> from, Span<bool> to)
        {
            for (int i = 0; i < s.Length; i++)
            {
                if (from[i] && predicate(s[i]))
                    to[i + 1] = true;
            }
        }
    }

    private sealed class LiteralPattern(string text) : Pattern
    {
        public override void Step(ReadOnlySpan<char> s, ReadOnlySpan<bool> from, Span<bool> to)
        {
            for (int i = 0; i + text.Length <= s.Length; i++)
            {
                if (from[i] && s.Slice(i, text.Length).SequenceEqual(text))
                    to[i + text.Length] = true;
            }
        }
    }

    private sealed class SeqPattern(Pattern[] parts) : Pattern
    {
        public override void Step(ReadOnlySpan<char> s, ReadOnlySpan<bool> from, Span<bool> to)
        {
            int n = s.Length + 1;
            Span<bool> a = n <= 256 ? stackalloc bool[n] : new bool[n];
            Span<bool> b = n <= 256 ? stackalloc bool[n] : new bool[n];
            from.CopyTo(a);
            foreach (var part in parts)
            {
                b.Clear();
                part.Step(s, a, b);
                if (!b.Contains(true))
                    return;
                b.CopyTo(a);
            }
            for (int i = 0; i < n; i++)
            {
                if (a[i])
                    to[i] = true;
            }
        }
    }

    private sealed class AltPattern(Pattern[] choices) : Pattern
    {
        public override void Step(ReadOnlySpan<char> s, ReadOnlySpan<bool> from, Span<bool> to)
        {
            foreach (var choice in choices)
                choice.Step(s, from, to);
        }
    }

    private sealed class RepeatPattern(Pattern p, int min, int max) : Pattern
    {
        public override void Step(ReadOnlySpan<char> s, ReadOnlySpan<bool> from, Span<bool> to)
        {
            int n = s.Length + 1;
            Span<bool> cur = n <= 256 ? stackalloc bool[n] : new bool[n];
            Span<bool> next = n <= 256 ? stackalloc bool[n] : new bool[n];
            from.CopyTo(cur);
            for (int count = 0; ; count++)
            {
                if (count >= min)
                {
                    for (int i = 0; i < n; i++)
                    {
                        if (cur[i])
                            to[i] = true;
                    }
                }
                if (count == max)
                    return;
                next.Clear();
                p.Step(s, cur, next);
                if (!next.Contains(true))
                    return;
                next.CopyTo(cur);
            }
        }
    }
}

/// <summary>The scanner's patterns for numbers and addresses.</summary>
internal static class PatternOracle
{
    private static readonly Pattern Hex = Pattern.Class(char.IsAsciiHexDigit);
    private static readonly Pattern Digit = Pattern.Class(char.IsAsciiDigit);

    /// <summary>N: decimal digits, or 0x/0X and hex digits.</summary>
    public static readonly Pattern Number = Pattern.Alt(
        Pattern.Repeat(Digit, 1, int.MaxValue),
        Pattern.Seq(Pattern.Alt(Pattern.Lit("0X"), Pattern.Lit("0x")), Pattern.Repeat(Hex, 1, int.MaxValue)));

    private static readonly Pattern B = Pattern.Repeat(Hex, 1, 2);
    private static readonly Pattern B2 = Pattern.Repeat(Hex, 4, 4);
    private static readonly Pattern W = Pattern.Repeat(Hex, 1, 4);
    private static readonly Pattern Dot = Pattern.Lit(".");
    private static readonly Pattern Colon = Pattern.Lit(":");

    /// <summary>$ and one or two hex digits: an ARCnet address.</summary>
    public static readonly Pattern Aid = Pattern.Seq(Pattern.Lit("$"), B);

    /// <summary>Dotted numbers with 2 to 4 parts.</summary>
    public static readonly Pattern Hid = Pattern.Alt(
        Pattern.Seq(Number, Dot, Number),
        Pattern.Seq(Number, Dot, Number, Dot, Number),
        Pattern.Seq(Number, Dot, Number, Dot, Number, Dot, Number));

    /// <summary>Six bytes separated by ':', '-' or '.', three 16-bit groups separated by '.', or 12 hex digits.</summary>
    public static readonly Pattern Mac = Pattern.Alt(
        SixBytes(":"), SixBytes("-"), SixBytes("."),
        Pattern.Seq(B2, Dot, B2, Dot, B2),
        Pattern.Seq(B2, B2, B2));

    /// <summary>Colon-separated hex bytes that end in ':' — reported as a bogus Ethernet address.</summary>
    public static readonly Pattern BogusMac = Pattern.Seq(
        B, Pattern.Repeat(Colon, 1, int.MaxValue),
        Pattern.Repeat(Pattern.Seq(B, Pattern.Repeat(Colon, 1, int.MaxValue)), 1, int.MaxValue));

    /// <summary>IPv6 addresses: eight groups, or fewer around one "::", optionally ending in dotted IPv4.</summary>
    public static readonly Pattern V6 = BuildV6();

    private static Pattern SixBytes(string sep)
    {
        var s = Pattern.Lit(sep);
        return Pattern.Seq(B, s, B, s, B, s, B, s, B, s, B);
    }

    private static Pattern Groups(int count)
    {
        // count groups of W separated by ':'; zero groups is the empty sequence.
        var parts = new List<Pattern>();
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
                parts.Add(Colon);
            parts.Add(W);
        }
        return Pattern.Seq(parts.ToArray());
    }

    private static Pattern BuildV6()
    {
        var v4 = Pattern.Seq(Number, Dot, Number, Dot, Number, Dot, Number);
        var choices = new List<Pattern> { Groups(8) };
        // "::" with t groups in all, i of them before it.
        for (int t = 7; t >= 0; t--)
        {
            for (int i = 0; i <= t; i++)
                choices.Add(Pattern.Seq(Groups(i), Pattern.Lit("::"), Groups(t - i)));
        }
        // Six groups and an IPv4 tail, or up to five around "::" and an IPv4 tail.
        choices.Add(Pattern.Seq(Groups(6), Colon, v4));
        for (int t = 5; t >= 0; t--)
        {
            for (int i = 0; i <= t; i++)
            {
                choices.Add(t - i > 0
                    ? Pattern.Seq(Groups(i), Pattern.Lit("::"), Groups(t - i), Colon, v4)
                    : Pattern.Seq(Groups(i), Pattern.Lit("::"), v4));
            }
        }
        return Pattern.Alt(choices.ToArray());
    }
}
