using KdtCapture.Filters.CodeGen;

namespace KdtCapture.Filters.Syntax;

/// <summary>
/// Splits a filter expression into tokens with the rules of libpcap's scanner: at each position
/// the longest match wins, and between matches of equal length the earlier rule (keywords
/// before numbers before addresses before names). Errors are reported libpcap's way: recorded
/// (the first one wins) and signalled by a bad token, so the parser decides when to stop.
/// </summary>
internal sealed class Lexer
{
    private readonly string _text;
    private readonly CodeGenerator _gen;
    private int _pos;

    /// <summary>The value of the last token that carried one; tokens without a value leave it as it was.</summary>
    public SemanticValue Value;

    public Lexer(string text, CodeGenerator gen)
    {
        _text = text;
        _gen = gen;
    }

    private enum Rule
    {
        None,
        Keyword,
        Whitespace,
        Punct,
        TwoCharOp,
        Aid,
        Mac,
        Number,
        Hid,
        Hid6,
        BogusMac,
        NamedNumber,
        Id,
        EscapedId,
        Other,
    }

    public TokenKind Next()
    {
        while (true)
        {
            if (_pos >= _text.Length)
                return TokenKind.End;

            var rest = _text.AsSpan(_pos);
            int bestLen = 0;
            Rule best = Rule.None;
            TokenKind keywordKind = TokenKind.End;
            uint namedValue = 0;

            void Consider(Rule rule, int len)
            {
                if (len > bestLen)
                {
                    bestLen = len;
                    best = rule;
                }
            }

            char c = rest[0];
            // Every reserved word and number name is also a possible ID, so one can only win
            // when it is the whole ID match ("hostname" is an ID, "host" a keyword).
            int idLen = IdLength(rest);
            if (idLen > 0 && Keywords.TryGetKeyword(rest[..idLen], out var kw))
            {
                Consider(Rule.Keyword, idLen);
                keywordKind = kw;
            }
            else if (rest.Length >= 2 && ((c == '&' && rest[1] == '&') || (c == '|' && rest[1] == '|')))
            {
                Consider(Rule.Keyword, 2);
                keywordKind = c == '&' ? TokenKind.And : TokenKind.Or;
            }
            if (c is ' ' or '\r' or '\n' or '\t')
                Consider(Rule.Whitespace, 1);
            if ("+-*/%:[]!<>()&|^=".Contains(c))
                Consider(Rule.Punct, 1);
            if (rest.Length >= 2 && (rest.StartsWith(">=") || rest.StartsWith("<=") || rest.StartsWith("!=") ||
                                     rest.StartsWith("==") || rest.StartsWith("<<") || rest.StartsWith(">>")))
                Consider(Rule.TwoCharOp, 2);
            if (c == '$' || char.IsAsciiHexDigit(c) || c == ':')
            {
                // Only run the address patterns that the characters ahead can possibly match.
                int run = AddressScanner.RunLength(rest);
                var ahead = rest[..run];
                bool colon = ahead.Contains(':');
                bool dot = ahead.Contains('.');
                if (c == '$')
                    Consider(Rule.Aid, AddressScanner.Aid(ahead));
                if (colon || dot || ahead.Contains('-') || run >= 12)
                    Consider(Rule.Mac, AddressScanner.Mac(ahead));
                if (char.IsAsciiDigit(c))
                {
                    Consider(Rule.Number, AddressScanner.Number(ahead));
                    if (dot)
                        Consider(Rule.Hid, AddressScanner.Hid(ahead));
                }
                if (colon)
                {
                    Consider(Rule.Hid6, AddressScanner.V6(ahead));
                    Consider(Rule.BogusMac, AddressScanner.BogusMac(ahead));
                }
            }
            if (idLen > bestLen && Keywords.TryGetNamedNumber(rest[..idLen], out uint named))
            {
                namedValue = named;
                Consider(Rule.NamedNumber, idLen);
            }
            Consider(Rule.Id, idLen);
            if (c == '\\')
                Consider(Rule.EscapedId, EscapedIdLength(rest));
            if (c != '\n')
                Consider(Rule.Other, 1);

            int start = _pos;
            _pos += bestLen;
            string Text() => _text.Substring(start, bestLen);

            switch (best)
            {
                case Rule.Whitespace:
                    continue;
                case Rule.Keyword:
                    return keywordKind;
                case Rule.Punct:
                    return PunctKind(c);
                case Rule.TwoCharOp:
                    return (c, rest[1]) switch
                    {
                        ('>', '=') => TokenKind.Geq,
                        ('<', '=') => TokenKind.Leq,
                        ('!', '=') => TokenKind.Neq,
                        ('=', '=') => TokenKind.Eq,
                        ('<', '<') => TokenKind.Lsh,
                        _ => TokenKind.Rsh,
                    };
                case Rule.Aid:
                    Value.S = Text();
                    return TokenKind.Aid;
                case Rule.Mac:
                    Value.S = Text();
                    return TokenKind.Eid;
                case Rule.Number:
                    return ScanNumber(rest[..bestLen]);
                case Rule.Hid:
                    Value.S = Text();
                    return TokenKind.Hid;
                case Rule.Hid6:
                {
                    string v6 = Text();
                    if (Ipv6Literal.TryParse(v6, stackalloc byte[16]))
                    {
                        Value.S = v6;
                    }
                    else
                    {
                        _gen.SetError($"bogus IPv6 address {v6}");
                        Value.S = null;
                    }
                    return TokenKind.Hid6;
                }
                case Rule.BogusMac:
                    _gen.SetError($"bogus ethernet address {Text()}");
                    Value.S = null;
                    return TokenKind.Eid;
                case Rule.NamedNumber:
                    Value.H = namedValue;
                    return TokenKind.Num;
                case Rule.Id:
                    Value.S = Text();
                    return TokenKind.Id;
                case Rule.EscapedId:
                    Value.S = _text.Substring(start + 1, bestLen - 1);
                    return TokenKind.Id;
                default:
                    return TokenKind.LexError;
            }
        }
    }

    private static TokenKind PunctKind(char c) => c switch
    {
        '+' => TokenKind.Plus,
        '-' => TokenKind.Minus,
        '*' => TokenKind.Star,
        '/' => TokenKind.Slash,
        '%' => TokenKind.Percent,
        ':' => TokenKind.Colon,
        '[' => TokenKind.LBracket,
        ']' => TokenKind.RBracket,
        '!' => TokenKind.Bang,
        '<' => TokenKind.Lt,
        '>' => TokenKind.Gt,
        '(' => TokenKind.LParen,
        ')' => TokenKind.RParen,
        '&' => TokenKind.Amp,
        '|' => TokenKind.Pipe,
        '^' => TokenKind.Caret,
        _ => TokenKind.Eq,
    };

    private static bool IsIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';

    /// <summary>[A-Za-z0-9]([-_.A-Za-z0-9]*[.A-Za-z0-9])?: the longest run not ending in '-' or '_'.</summary>
    internal static int IdLength(ReadOnlySpan<char> s)
    {
        if (s.Length == 0 || !char.IsAsciiLetterOrDigit(s[0]))
            return 0;
        int end = 1;
        while (end < s.Length && IsIdChar(s[end]))
            end++;
        while (end > 1 && s[end - 1] is '-' or '_')
            end--;
        return end;
    }

    /// <summary>A backslash and what follows up to white space, '!', '(' or ')'.</summary>
    private static int EscapedIdLength(ReadOnlySpan<char> s)
    {
        int end = 1;
        while (end < s.Length && s[end] is not (' ' or '!' or '(' or ')' or '\n' or '\t'))
            end++;
        return end > 1 ? end : 0;
    }

    /// <summary>A decimal, octal (leading 0) or hex (0x) number, with libpcap's overflow and digit checks.</summary>
    private TokenKind ScanNumber(ReadOnlySpan<char> text)
    {
        uint n = 0;
        if (text[0] == '0' && text.Length > 1 && (text[1] == 'x' || text[1] == 'X'))
        {
            for (int i = 2; i < text.Length; i++)
            {
                uint digit = (uint)(char.IsAsciiDigit(text[i]) ? text[i] - '0' : (char.ToLowerInvariant(text[i]) - 'a' + 10));
                if (n > 0xFFFFFFFU)
                {
                    _gen.SetError($"number {text} overflows 32 bits");
                    return TokenKind.LexError;
                }
                n = (n << 4) + digit;
            }
        }
        else if (text[0] == '0')
        {
            for (int i = 1; i < text.Length; i++)
            {
                uint digit = (uint)(text[i] - '0');
                if (digit > 7)
                {
                    _gen.SetError($"number {text} contains non-octal digit");
                    return TokenKind.LexError;
                }
                if (n > 0x1FFFFFFFU)
                {
                    _gen.SetError($"number {text} overflows 32 bits");
                    return TokenKind.LexError;
                }
                n = (n << 3) + digit;
            }
        }
        else
        {
            const uint cutoff = 0xFFFFFFFFU / 10U;
            const uint cutlim = 0xFFFFFFFFU % 10U;
            for (int i = 0; i < text.Length; i++)
            {
                uint digit = (uint)(text[i] - '0');
                if (n > cutoff || (n == cutoff && digit > cutlim))
                {
                    _gen.SetError($"number {text} overflows 32 bits");
                    return TokenKind.LexError;
                }
                n = n * 10 + digit;
            }
        }
        Value.H = n;
        return TokenKind.Num;
    }
}
