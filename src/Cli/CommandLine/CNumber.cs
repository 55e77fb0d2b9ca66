namespace KdtCapture.Cli.CommandLine;

/// <summary>C's number parsing, for options whose accepted spellings users know from tcpdump.</summary>
internal static class CNumber
{
    /// <summary>
    /// strtol(text, &amp;end, 0) with a 64-bit long: leading white space, a sign, then "0x" hex,
    /// leading-0 octal or decimal; saturates on overflow. <paramref name="end"/> is the index of
    /// the first character not used, 0 when there was no number at all.
    /// </summary>
    public static long StrToL(string text, out int end) => StrToL(text, 0, out end, out _);

    /// <summary>
    /// strtol(text, &amp;end, <paramref name="radix"/>) (radix 0: as C, from the prefix; 10: decimal
    /// only); <paramref name="overflow"/> is what C reports as ERANGE.
    /// </summary>
    public static long StrToL(string text, int radix, out int end, out bool overflow)
    {
        ArgumentNullException.ThrowIfNull(text);
        int pos = 0;
        while (pos < text.Length && IsCSpace(text[pos]))
            pos++;
        bool negative = false;
        if (pos < text.Length && (text[pos] == '+' || text[pos] == '-'))
        {
            negative = text[pos] == '-';
            pos++;
        }

        if (radix == 0)
        {
            radix = 10;
            if (pos + 2 < text.Length && text[pos] == '0' && (text[pos + 1] | 0x20) == 'x'
                && DigitValue(text[pos + 2]) is >= 0 and < 16)
            {
                radix = 16;
                pos += 2;
            }
            else if (pos < text.Length && text[pos] == '0')
            {
                radix = 8;
            }
        }

        int firstDigit = pos;
        // Accumulate the magnitude as a negative number so that long.MinValue fits.
        long value = 0;
        overflow = false;
        while (pos < text.Length)
        {
            int digit = DigitValue(text[pos]);
            if (digit < 0 || digit >= radix)
                break;
            if (!overflow)
            {
                if (value < (long.MinValue + digit) / radix)
                    overflow = true;
                else
                    value = value * radix - digit;
            }
            pos++;
        }

        if (pos == firstDigit)
        {
            end = 0;
            return 0;
        }
        end = pos;
        if (overflow)
            return negative ? long.MinValue : long.MaxValue;
        if (negative)
            return value;
        return value == long.MinValue ? long.MaxValue : -value;
    }

    /// <summary>atoi(3) as glibc has it: (int)strtol(text, NULL, 10), 0 when there is no number.</summary>
    public static int AToI(string text) => unchecked((int)StrToL(text, 10, out _, out _));

    private static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'z' => c - 'a' + 10,
        >= 'A' and <= 'Z' => c - 'A' + 10,
        _ => -1,
    };
}
