namespace KdtCapture.Filters.CodeGen;

/// <summary>
/// Numeric IPv6 addresses, accepted exactly as the C library's inet_pton(AF_INET6) accepts them —
/// which is what getaddrinfo does with a numeric host, where libpcap asks it. Parsing here avoids
/// a trip through the resolver for every IPv6 literal in a filter.
/// </summary>
internal static class Ipv6Literal
{
    public static bool TryParse(ReadOnlySpan<char> src, Span<byte> dst)
    {
        Span<byte> tmp = stackalloc byte[16];
        tmp.Clear();
        int tp = 0;
        int colonp = -1;
        int i = 0;

        if (src.Length == 0)
            return false;
        // A leading "::" needs both colons.
        if (src[0] == ':')
        {
            i = 1;
            if (i == src.Length || src[i] != ':')
                return false;
        }

        int curtok = i;
        int digits = 0;
        uint val = 0;
        while (i < src.Length)
        {
            char ch = src[i++];
            int digit = char.IsAsciiHexDigit(ch) ? (ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10) : -1;
            if (digit >= 0)
            {
                if (digits == 4)
                    return false;
                val = (val << 4) | (uint)digit;
                if (val > 0xffff)
                    return false;
                digits++;
                continue;
            }
            if (ch == ':')
            {
                curtok = i;
                if (digits == 0)
                {
                    if (colonp >= 0)
                        return false;
                    colonp = tp;
                    continue;
                }
                if (i == src.Length)
                    return false;
                if (tp + 2 > 16)
                    return false;
                tmp[tp++] = (byte)(val >> 8);
                tmp[tp++] = (byte)val;
                digits = 0;
                val = 0;
                continue;
            }
            if (ch == '.' && tp + 4 <= 16 && TryParseV4(src[curtok..], tmp.Slice(tp, 4)))
            {
                tp += 4;
                digits = 0;
                break;
            }
            return false;
        }
        if (digits > 0)
        {
            if (tp + 2 > 16)
                return false;
            tmp[tp++] = (byte)(val >> 8);
            tmp[tp++] = (byte)val;
        }
        if (colonp >= 0)
        {
            // "::" stands for the zero groups needed to make 16 bytes; it may not stand for none.
            if (tp == 16)
                return false;
            int n = tp - colonp;
            tmp.Slice(colonp, n).CopyTo(tmp.Slice(16 - n, n));
            tmp.Slice(colonp, 16 - n - colonp).Clear();
            tp = 16;
        }
        if (tp != 16)
            return false;
        tmp.CopyTo(dst);
        return true;
    }

    /// <summary>inet_pton(AF_INET): four decimal octets, no leading zeros, each at most 255, nothing after.</summary>
    private static bool TryParseV4(ReadOnlySpan<char> src, Span<byte> dst)
    {
        Span<byte> tmp = stackalloc byte[4];
        tmp.Clear();
        int tp = 0;
        bool sawDigit = false;
        int octets = 0;
        foreach (char ch in src)
        {
            if (ch is >= '0' and <= '9')
            {
                uint value = (uint)(tmp[tp] * 10 + (ch - '0'));
                if (sawDigit && tmp[tp] == 0)
                    return false;
                if (value > 255)
                    return false;
                tmp[tp] = (byte)value;
                if (!sawDigit)
                {
                    if (++octets > 4)
                        return false;
                    sawDigit = true;
                }
            }
            else if (ch == '.' && sawDigit)
            {
                if (octets == 4)
                    return false;
                tmp[++tp] = 0;
                sawDigit = false;
            }
            else
            {
                return false;
            }
        }
        if (octets < 4)
            return false;
        tmp.CopyTo(dst);
        return true;
    }
}
