namespace KdtCapture.Filters.Syntax;

/// <summary>
/// Longest matches of the scanner's number and address patterns at the start of the input
/// (flex semantics), written out by hand because the scanner runs them on every token that
/// starts with a hex digit. The test project checks them against a regular-expression oracle
/// built from libpcap's flex definitions.
/// </summary>
internal static class AddressScanner
{
    /// <summary>The run of characters that numbers and addresses are made of.</summary>
    public static int RunLength(ReadOnlySpan<char> s)
    {
        int n = 0;
        while (n < s.Length && (char.IsAsciiHexDigit(s[n]) || s[n] is '.' or ':' or '-' or 'x' or 'X' or '$'))
            n++;
        return n;
    }

    /// <summary>N: decimal digits, or 0x/0X followed by at least one hex digit.</summary>
    public static int Number(ReadOnlySpan<char> s)
    {
        int digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits]))
            digits++;
        if (s.Length >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && char.IsAsciiHexDigit(s[2]))
        {
            int hex = 3;
            while (hex < s.Length && char.IsAsciiHexDigit(s[hex]))
                hex++;
            return Math.Max(hex, digits);
        }
        return digits;
    }

    /// <summary>"$" and one or two hex digits (ARCnet).</summary>
    public static int Aid(ReadOnlySpan<char> s)
    {
        if (s.Length < 2 || s[0] != '$' || !char.IsAsciiHexDigit(s[1]))
            return 0;
        return s.Length >= 3 && char.IsAsciiHexDigit(s[2]) ? 3 : 2;
    }

    /// <summary>Dotted numbers, two to four parts.</summary>
    public static int Hid(ReadOnlySpan<char> s)
    {
        int pos = Number(s);
        if (pos == 0)
            return 0;
        int best = 0;
        for (int parts = 1; parts < 4; parts++)
        {
            if (pos >= s.Length || s[pos] != '.')
                break;
            int n = Number(s[(pos + 1)..]);
            if (n == 0)
                break;
            pos += 1 + n;
            best = pos;
        }
        return best;
    }

    /// <summary>One or two hex digits followed by <paramref name="sep"/>: the digits' count, 0 when not.</summary>
    private static int ByteBefore(ReadOnlySpan<char> s, int i, char sep)
    {
        if (i + 2 < s.Length && char.IsAsciiHexDigit(s[i]) && char.IsAsciiHexDigit(s[i + 1]) && s[i + 2] == sep)
            return 2;
        if (i + 1 < s.Length && char.IsAsciiHexDigit(s[i]) && s[i + 1] == sep)
            return 1;
        return 0;
    }

    private static int SixBytes(ReadOnlySpan<char> s, char sep)
    {
        int pos = 0;
        for (int i = 0; i < 5; i++)
        {
            int b = ByteBefore(s, pos, sep);
            if (b == 0)
                return 0;
            pos += b + 1;
        }
        if (pos >= s.Length || !char.IsAsciiHexDigit(s[pos]))
            return 0;
        pos++;
        if (pos < s.Length && char.IsAsciiHexDigit(s[pos]))
            pos++;
        return pos;
    }

    private static bool HexRun(ReadOnlySpan<char> s, int start, int count)
    {
        if (start + count > s.Length)
            return false;
        for (int i = start; i < start + count; i++)
        {
            if (!char.IsAsciiHexDigit(s[i]))
                return false;
        }
        return true;
    }

    /// <summary>MAC addresses: six bytes with ':', '-' or '.', three dotted 16-bit groups, or twelve hex digits.</summary>
    public static int Mac(ReadOnlySpan<char> s)
    {
        int best = Math.Max(SixBytes(s, ':'), Math.Max(SixBytes(s, '-'), SixBytes(s, '.')));
        if (HexRun(s, 0, 4) && s.Length >= 14 && s[4] == '.' && HexRun(s, 5, 4) && s[9] == '.' && HexRun(s, 10, 4))
            best = Math.Max(best, 14);
        if (HexRun(s, 0, 12))
            best = Math.Max(best, 12);
        return best;
    }

    /// <summary>Hex bytes each followed by colons, at least two of them: reported as a bogus Ethernet address.</summary>
    public static int BogusMac(ReadOnlySpan<char> s)
    {
        int pos = 0, groups = 0, best = 0;
        while (true)
        {
            int b = ByteBefore(s, pos, ':');
            if (b == 0)
                return best;
            pos += b;
            while (pos < s.Length && s[pos] == ':')
                pos++;
            if (++groups >= 2)
                best = pos;
        }
    }

    /// <summary>IPv6 addresses: the longest prefix that is eight groups, or fewer around one "::", with an optional dotted IPv4 tail.</summary>
    public static int V6(ReadOnlySpan<char> s)
    {
        int run = RunLength(s);
        s = s[..run];
        // Eight groups need seven colons, six groups and an IPv4 tail six; anything shorter needs
        // "::". Prefixes have no more colons than the whole run, so this rules them all out at once.
        int colons = s.Count(':');
        if (colons < 6 || (colons == 6 && !s.Contains('.')))
        {
            if (s.IndexOf("::") < 0)
                return 0;
        }
        for (int len = run; len >= 2; len--)
        {
            if (IsV6(s[..len]))
                return len;
        }
        return 0;
    }

    private static bool IsV6(ReadOnlySpan<char> t)
    {
        int dc = t.IndexOf("::");
        if (dc < 0)
        {
            if (!Groups(t, allowV4Tail: true, out int count, out bool v4))
                return false;
            return v4 ? count == 6 : count == 8;
        }
        var left = t[..dc];
        var right = t[(dc + 2)..];
        if (right.Length > 0 && right[0] == ':')
            return false; // ":::" or a second "::"
        if (right.IndexOf("::") >= 0)
            return false;
        int leftCount = 0;
        if (left.Length > 0 && !Groups(left, allowV4Tail: false, out leftCount, out _))
            return false;
        int rightCount = 0;
        bool tail = false;
        if (right.Length > 0 && !Groups(right, allowV4Tail: true, out rightCount, out tail))
            return false;
        return leftCount + rightCount <= (tail ? 5 : 7);
    }

    /// <summary>W(:W)* with an optional final dotted IPv4 item; counts the W groups.</summary>
    private static bool Groups(ReadOnlySpan<char> t, bool allowV4Tail, out int count, out bool v4Tail)
    {
        count = 0;
        v4Tail = false;
        while (true)
        {
            int colon = t.IndexOf(':');
            var item = colon < 0 ? t : t[..colon];
            if (colon < 0 && allowV4Tail && item.Contains('.'))
            {
                if (!IsDottedQuad(item))
                    return false;
                v4Tail = true;
                return true;
            }
            if (item.Length is < 1 or > 4)
                return false;
            foreach (char c in item)
            {
                if (!char.IsAsciiHexDigit(c))
                    return false;
            }
            count++;
            if (colon < 0)
                return true;
            t = t[(colon + 1)..];
        }
    }

    private static bool IsDottedQuad(ReadOnlySpan<char> item)
    {
        int pos = 0;
        for (int part = 0; part < 4; part++)
        {
            if (part > 0)
            {
                if (pos >= item.Length || item[pos] != '.')
                    return false;
                pos++;
            }
            int n = Number(item[pos..]);
            if (n == 0)
                return false;
            pos += n;
        }
        return pos == item.Length;
    }
}
