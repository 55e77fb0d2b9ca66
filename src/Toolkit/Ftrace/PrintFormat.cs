using System.Globalization;
using System.Text;
using KdtCapture.Bpf.Symbols;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>
/// An event's "print fmt": a printf format and C expressions over REC-&gt;field, evaluated per
/// record as the kernel's TP_printk would (casts, arithmetic, ?:, __get_str, __print_flags,
/// __print_symbolic, __print_hex). What cannot be parsed is reported by <see cref="IsParsed"/>;
/// the report then prints the raw fields, as trace-cmd does.
/// </summary>
public sealed class PrintFormat
{
    private readonly List<Spec> _specs;
    private readonly List<Expr> _args;

    public bool IsParsed { get; }

    private PrintFormat(List<Spec> specs, List<Expr> args, bool parsed)
    {
        _specs = specs;
        _args = args;
        IsParsed = parsed;
    }

    public static PrintFormat Parse(string text)
    {
        try
        {
            var lexer = new Lexer(text);
            var format = lexer.Next();
            if (format.Kind != TokenKind.String)
                return new PrintFormat([], [], false);
            var args = new List<Expr>();
            var parser = new Parser(lexer);
            while (parser.Peek.Kind == TokenKind.Punct && parser.Peek.Text == ",")
            {
                parser.Take();
                args.Add(parser.Expression());
            }
            if (parser.Peek.Kind != TokenKind.End)
                return new PrintFormat([], [], false);
            var specs = ParseSpecs(format.Text);
            int needed = 0;
            foreach (var s in specs)
            {
                if (s.Conversion != '\0')
                    needed += 1 + (s.StarWidth ? 1 : 0) + (s.StarPrecision ? 1 : 0);
            }
            return new PrintFormat(specs, args, needed == args.Count);
        }
        catch (FormatException)
        {
            return new PrintFormat([], [], false);
        }
    }

    /// <summary>Formats <paramref name="record"/> (the event's bytes, common fields first).</summary>
    /// <exception cref="FormatException">An expression this evaluator does not know.</exception>
    /// <param name="strings">Kernel string constants by address (printk_formats), for %s of a const char * field.</param>
    public void Format(StringBuilder output, EventFormat format, ReadOnlySpan<byte> record, KernelSymbols? symbols, IReadOnlyDictionary<ulong, string>? strings = null)
    {
        var context = new Context(format, record.ToArray(), symbols) { Strings = strings };
        int arg = 0;
        foreach (var spec in _specs)
        {
            if (spec.Conversion == '\0')
            {
                output.Append(spec.Literal);
                continue;
            }
            int width = spec.Width, precision = spec.Precision;
            if (spec.StarWidth)
                width = (int)_args[arg++].Evaluate(context).Int;
            if (spec.StarPrecision)
                precision = (int)_args[arg++].Evaluate(context).Int;
            var value = _args[arg++].Evaluate(context);
            FormatOne(output, spec, width, precision, value, context);
        }
    }

    private static void FormatOne(StringBuilder output, Spec spec, int width, int precision, Value value, Context context)
    {
        string body;
        bool numeric = true;
        long v = value.Int;
        bool wide = spec.Length >= 1;
        switch (spec.Conversion)
        {
            case 's':
                body = value.Str ?? (value.Bytes is not null ? Encoding.UTF8.GetString(value.Bytes)
                    : context.Strings is not null && context.Strings.TryGetValue((ulong)v, out var constant) ? constant
                    : string.Create(CultureInfo.InvariantCulture, $"0x{(ulong)v:x}"));
                if (precision >= 0 && body.Length > precision)
                    body = body[..precision];
                numeric = false;
                break;
            case 'c':
                body = ((char)(byte)v).ToString();
                numeric = false;
                break;
            case 'd' or 'i':
                body = (wide ? v : (int)v).ToString(CultureInfo.InvariantCulture);
                if (spec.Plus && !body.StartsWith('-'))
                    body = "+" + body;
                break;
            case 'u':
                body = (wide ? (ulong)v : (uint)v).ToString(CultureInfo.InvariantCulture);
                break;
            case 'x' or 'X':
                body = (wide ? ((ulong)v).ToString("x", CultureInfo.InvariantCulture) : ((uint)v).ToString("x", CultureInfo.InvariantCulture));
                if (precision > body.Length)
                    body = body.PadLeft(precision, '0');
                if (spec.Conversion == 'X')
                    body = body.ToUpperInvariant();
                if (spec.Alternate && v != 0)
                    body = (spec.Conversion == 'X' ? "0X" : "0x") + body;
                break;
            case 'o':
                body = Convert.ToString(wide ? v : (uint)v, 8);
                break;
            case 'p':
                body = Pointer(spec.PointerKind, value, context);
                numeric = spec.PointerKind == '\0';
                break;
            default:
                body = "";
                break;
        }
        if (width > body.Length)
        {
            if (spec.Left)
                body = body.PadRight(width);
            else if (spec.Zero && numeric && precision < 0)
            {
                int sign = body.StartsWith('-') || body.StartsWith('+') ? 1 : body.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? 2 : 0;
                body = body[..sign] + new string('0', width - body.Length) + body[sign..];
            }
            else
                body = body.PadLeft(width);
        }
        output.Append(body);
    }

    private static string Pointer(char kind, Value value, Context context)
    {
        switch (kind)
        {
            case 's' or 'S' or 'F' or 'f' or 'B':
                if (context.Symbols?.TryResolve((ulong)value.Int, out string name, out ulong offset) == true)
                    return kind is 's' or 'f' ? name : offset == 0 ? name : string.Create(CultureInfo.InvariantCulture, $"{name}+0x{offset:x}");
                return string.Create(CultureInfo.InvariantCulture, $"0x{(ulong)value.Int:x}");
            case 'M' or 'm' when value.Bytes is { Length: >= 6 } mac:
                return string.Join(kind == 'M' ? ":" : "", mac[..6].Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
            case 'I' or 'i' when value.Bytes is { Length: 4 } ip4:
                return string.Join('.', ip4.Select(b => b.ToString(CultureInfo.InvariantCulture)));
            case 'I' or 'i' when value.Bytes is { Length: 16 } ip6:
                return new System.Net.IPAddress(ip6).ToString();
            default:
                // libtraceevent prints a null pointer as glibc's printf does.
                return value.Int == 0 ? "(nil)" : string.Create(CultureInfo.InvariantCulture, $"0x{(ulong)value.Int:x}");
        }
    }

    private sealed record Spec(string Literal, char Conversion, bool Left, bool Zero, bool Plus, bool Alternate, int Width, bool StarWidth, int Precision, bool StarPrecision, int Length, char PointerKind);

    private static List<Spec> ParseSpecs(string format)
    {
        var specs = new List<Spec>();
        var literal = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%')
            {
                literal.Append(c);
                continue;
            }
            if (i + 1 < format.Length && format[i + 1] == '%')
            {
                literal.Append('%');
                i++;
                continue;
            }
            if (literal.Length > 0)
            {
                specs.Add(new Spec(literal.ToString(), '\0', false, false, false, false, -1, false, -1, false, 0, '\0'));
                literal.Clear();
            }
            i++;
            bool left = false, zero = false, plus = false, alt = false;
            for (; i < format.Length && "-0+ #".Contains(format[i]); i++)
            {
                switch (format[i])
                {
                    case '-': left = true; break;
                    case '0': zero = true; break;
                    case '+': plus = true; break;
                    case '#': alt = true; break;
                }
            }
            int width = -1, precision = -1;
            bool starWidth = false, starPrecision = false;
            if (i < format.Length && format[i] == '*')
            {
                starWidth = true;
                i++;
            }
            else
                width = Digits(format, ref i);
            if (i < format.Length && format[i] == '.')
            {
                i++;
                if (i < format.Length && format[i] == '*')
                {
                    starPrecision = true;
                    i++;
                }
                else
                    precision = Math.Max(0, Digits(format, ref i));
            }
            int length = 0;
            for (; i < format.Length && "hlzLqjt".Contains(format[i]); i++)
            {
                if (format[i] is 'l' or 'z' or 'L' or 'q' or 'j' or 't')
                    length++;
            }
            if (i >= format.Length)
                throw new FormatException("format ends inside a conversion");
            char conversion = format[i];
            char pointerKind = '\0';
            if (conversion == 'p' && i + 1 < format.Length && char.IsAsciiLetter(format[i + 1]))
            {
                pointerKind = format[++i];
                // %pI4, %pI6c, %pISpc: the kind's modifiers are part of the conversion.
                while (i + 1 < format.Length && (char.IsAsciiDigit(format[i + 1]) || (pointerKind is 'I' or 'i' && format[i + 1] is 'S' or 'p' or 'c')))
                    i++;
            }
            if (conversion == 'p')
                length = 2;
            specs.Add(new Spec("", conversion, left, zero, plus, alt, width, starWidth, precision, starPrecision, length, pointerKind));
        }
        if (literal.Length > 0)
            specs.Add(new Spec(literal.ToString(), '\0', false, false, false, false, -1, false, -1, false, 0, '\0'));
        return specs;
    }

    private static int Digits(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
            i++;
        return i == start ? -1 : int.Parse(s.AsSpan(start, i - start), CultureInfo.InvariantCulture);
    }

    // ---- expressions ----

    private readonly record struct Value(long Int, string? Str = null, byte[]? Bytes = null, bool Unsigned = false);

    private sealed class Context(EventFormat format, byte[] record, KernelSymbols? symbols)
    {
        public EventFormat Format { get; } = format;
        public byte[] Record { get; } = record;
        public KernelSymbols? Symbols { get; } = symbols;
        public IReadOnlyDictionary<ulong, string>? Strings { get; init; }
    }

    private abstract class Expr
    {
        public abstract Value Evaluate(Context context);
    }

    private sealed class Constant(Value value) : Expr
    {
        public Value Value { get; } = value;
        public override Value Evaluate(Context context) => Value;
    }

    /// <summary>An identifier that names no field: a kernel symbol or enum the format file left unresolved; 0, as libtraceevent takes it.</summary>
    private sealed class Unknown(string name) : Expr
    {
        public string Name { get; } = name;
        public override Value Evaluate(Context context) => new(0);
    }

    private sealed class Index(FieldRef array, Expr index) : Expr
    {
        public override Value Evaluate(Context context)
        {
            var field = context.Format.Field(array.Name) ?? throw new FormatException($"no field {array.Name}");
            var bytes = field.Bytes(context.Record);
            int size = field.ElementSize;
            long i = index.Evaluate(context).Int;
            if (i < 0 || (i + 1) * size > bytes.Length)
                return new Value(0);
            var element = bytes.Slice((int)i * size, size);
            return new Value(size switch
            {
                1 => element[0],
                2 => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(element),
                4 => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(element),
                _ => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(element),
            });
        }
    }

    private sealed class FieldRef(string name) : Expr
    {
        public string Name { get; } = name;

        public override Value Evaluate(Context context)
        {
            var field = context.Format.Field(Name) ?? throw new FormatException($"no field {Name}");
            if (field.IsString && (field.IsArray || field.IsDataLoc || field.IsRelLoc))
                return new Value(0, field.Text(context.Record));
            if (field.IsArray || field.IsDataLoc || field.IsRelLoc)
                return new Value(0, null, field.Bytes(context.Record).ToArray());
            return new Value(field.Integer(context.Record), Unsigned: !field.Signed && field.Size == 8);
        }
    }

    private sealed class Cast(int size, bool signed, Expr operand) : Expr
    {
        public override Value Evaluate(Context context)
        {
            var v = operand.Evaluate(context);
            if (v.Str is not null || v.Bytes is not null)
                return v;
            long x = v.Int;
            x = size switch
            {
                1 => signed ? (sbyte)x : (byte)x,
                2 => signed ? (short)x : (ushort)x,
                4 => signed ? (int)x : (uint)x,
                _ => x,
            };
            return new Value(x, Unsigned: !signed && size == 8);
        }
    }

    private sealed class Unary(string op, Expr operand) : Expr
    {
        public override Value Evaluate(Context context)
        {
            var value = operand.Evaluate(context);
            long x = value.Int;
            return new Value(op switch
            {
                "-" => -x,
                "!" => x == 0 ? 1 : 0,
                "~" => ~x,
                _ => x,
            }, Unsigned: value.Unsigned && op != "!");
        }
    }

    private sealed class Binary(string op, Expr left, Expr right) : Expr
    {
        public override Value Evaluate(Context context)
        {
            if (op == "&&")
                return new Value(left.Evaluate(context).Int != 0 && right.Evaluate(context).Int != 0 ? 1 : 0);
            if (op == "||")
                return new Value(left.Evaluate(context).Int != 0 || right.Evaluate(context).Int != 0 ? 1 : 0);
            var l = left.Evaluate(context);
            var r = right.Evaluate(context);
            long a = l.Int, b = r.Int;
            // C's usual conversions: an unsigned 64-bit operand makes the comparison and division unsigned.
            bool unsigned = l.Unsigned || r.Unsigned;
            ulong ua = (ulong)a, ub = (ulong)b;
            long result = op switch
            {
                "+" => a + b,
                "-" => a - b,
                "*" => a * b,
                "/" => b == 0 ? 0 : unsigned ? (long)(ua / ub) : a / b,
                "%" => b == 0 ? 0 : unsigned ? (long)(ua % ub) : a % b,
                "&" => a & b,
                "|" => a | b,
                "^" => a ^ b,
                "<<" => a << (int)b,
                ">>" => l.Unsigned || a >= 0 ? (long)(ua >> (int)b) : a >> (int)b,
                "==" => a == b ? 1 : 0,
                "!=" => a != b ? 1 : 0,
                "<" => (unsigned ? ua < ub : a < b) ? 1 : 0,
                ">" => (unsigned ? ua > ub : a > b) ? 1 : 0,
                "<=" => (unsigned ? ua <= ub : a <= b) ? 1 : 0,
                ">=" => (unsigned ? ua >= ub : a >= b) ? 1 : 0,
                _ => throw new FormatException($"operator {op}"),
            };
            bool comparison = op is "==" or "!=" or "<" or ">" or "<=" or ">=";
            return new Value(result, Unsigned: unsigned && !comparison);
        }
    }

    private sealed class Conditional(Expr test, Expr then, Expr otherwise) : Expr
    {
        public override Value Evaluate(Context context) => test.Evaluate(context).Int != 0 ? then.Evaluate(context) : otherwise.Evaluate(context);
    }

    private sealed class Pairs(List<(Expr Key, string Name)> items) : Expr
    {
        public List<(Expr Key, string Name)> Items { get; } = items;
        public override Value Evaluate(Context context) => throw new FormatException("a { value, name } list outside __print_flags/__print_symbolic");
    }

    private sealed class Call(string name, List<Expr> args) : Expr
    {
        public override Value Evaluate(Context context)
        {
            switch (name)
            {
                case "__builtin_expect" or "likely" or "unlikely":
                    return args[0].Evaluate(context);
                case "__get_str" or "__get_rel_str" or "__get_dynamic_array" or "__get_rel_dynamic_array" or "__get_sockaddr" or "__get_bitmask" or "__get_cpumask":
                    return args[0].Evaluate(context);
                case "__get_dynamic_array_len" or "__get_rel_dynamic_array_len":
                {
                    var field = args[0] is FieldRef f ? context.Format.Field(f.Name) : null;
                    return new Value(field is null ? 0 : field.Bytes(context.Record).Length);
                }
                case "__print_symbolic":
                {
                    long v = args[0].Evaluate(context).Int;
                    for (int i = 1; i < args.Count; i++)
                    {
                        if (args[i] is Pairs p)
                        {
                            foreach (var (key, text) in p.Items)
                            {
                                if (key is not Unknown && key.Evaluate(context).Int == v)
                                    return new Value(0, text);
                            }
                        }
                    }
                    return new Value(0, string.Create(CultureInfo.InvariantCulture, $"0x{v:x}"));
                }
                case "__print_flags":
                {
                    long v = args[0].Evaluate(context).Int;
                    string delimiter = args[1].Evaluate(context).Str ?? "|";
                    var sb = new StringBuilder();
                    // libtraceevent's rules: an unresolved name counts as -1, which only a zero
                    // value prints (the first such); a zero key never prints.
                    bool zeroPrinted = false;
                    for (int i = 2; i < args.Count && (v != 0 || !zeroPrinted); i++)
                    {
                        if (args[i] is not Pairs p)
                            continue;
                        foreach (var (key, text) in p.Items)
                        {
                            long k = key is Unknown ? -1 : key.Evaluate(context).Int;
                            if (v == 0 && k < 0)
                            {
                                sb.Append(text);
                                zeroPrinted = true;
                                break;
                            }
                            if (k > 0 && (v & k) == k)
                            {
                                if (sb.Length > 0)
                                    sb.Append(delimiter);
                                sb.Append(text);
                                v &= ~k;
                            }
                        }
                        if (v == 0)
                            break;
                    }
                    if (v != 0)
                    {
                        if (sb.Length > 0)
                            sb.Append(delimiter);
                        sb.Append(CultureInfo.InvariantCulture, $"0x{v:x}");
                    }
                    return new Value(0, sb.ToString());
                }
                case "__print_hex" or "__print_hex_str":
                {
                    var bytes = args[0].Evaluate(context).Bytes ?? [];
                    int length = (int)Math.Min(bytes.Length, args.Count > 1 ? args[1].Evaluate(context).Int : bytes.Length);
                    string sep = name == "__print_hex" ? " " : "";
                    return new Value(0, string.Join(sep, bytes.Take(length).Select(b => b.ToString("x2", CultureInfo.InvariantCulture))));
                }
                default:
                    throw new FormatException($"function {name}");
            }
        }
    }

    private enum TokenKind
    {
        End,
        Number,
        String,
        Char,
        Identifier,
        Punct,
    }

    private readonly record struct Token(TokenKind Kind, string Text, long Number = 0, string Raw = "");

    private sealed class Lexer(string text)
    {
        private int _position;

        public Token Next()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
                _position++;
            if (_position >= text.Length)
                return new Token(TokenKind.End, "");
            char c = text[_position];
            if (c == '"')
            {
                var sb = new StringBuilder();
                // Adjacent literals concatenate, as in C.
                while (_position < text.Length && text[_position] == '"')
                {
                    _position++;
                    while (_position < text.Length && text[_position] != '"')
                    {
                        char d = text[_position++];
                        if (d == '\\' && _position < text.Length)
                            sb.Append(Escape(text[_position++]));
                        else
                            sb.Append(d);
                    }
                    _position++;
                    int save = _position;
                    while (_position < text.Length && char.IsWhiteSpace(text[_position]))
                        _position++;
                    if (_position >= text.Length || text[_position] != '"')
                        _position = save;
                }
                return new Token(TokenKind.String, sb.ToString());
            }
            if (c == '\'')
            {
                _position++;
                char d = text[_position++];
                if (d == '\\')
                    d = Escape(text[_position++]);
                _position++;
                return new Token(TokenKind.Number, d.ToString(), d);
            }
            if (char.IsAsciiDigit(c))
            {
                int start = _position;
                while (_position < text.Length && (char.IsAsciiLetterOrDigit(text[_position])))
                    _position++;
                string raw = text[start.._position];
                string word = raw.TrimEnd('u', 'U', 'l', 'L');
                long n = word.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    ? (long)ulong.Parse(word.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                    : word.Length > 1 && word[0] == '0' ? Convert.ToInt64(word, 8) : (long)ulong.Parse(word, CultureInfo.InvariantCulture);
                return new Token(TokenKind.Number, word, n, raw);
            }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = _position;
                while (_position < text.Length && (char.IsAsciiLetterOrDigit(text[_position]) || text[_position] == '_'))
                    _position++;
                return new Token(TokenKind.Identifier, text[start.._position]);
            }
            foreach (var op in (ReadOnlySpan<string>)["->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||"])
            {
                if (string.CompareOrdinal(text, _position, op, 0, 2) == 0)
                {
                    _position += 2;
                    return new Token(TokenKind.Punct, op);
                }
            }
            _position++;
            return new Token(TokenKind.Punct, c.ToString());
        }

        private static char Escape(char c) => c switch
        {
            'n' => '\n',
            't' => '\t',
            '0' => '\0',
            _ => c,
        };
    }

    private sealed class Parser(Lexer lexer)
    {
        private Token _peek = lexer.Next();
        private Token _after;
        private bool _hasAfter;
        private bool _insideAccessor;

        public Token Peek => _peek;

        public Token Take()
        {
            var t = _peek;
            if (_hasAfter)
            {
                _peek = _after;
                _hasAfter = false;
            }
            else
                _peek = lexer.Next();
            return t;
        }

        private Token PeekSecond()
        {
            if (!_hasAfter)
            {
                _after = lexer.Next();
                _hasAfter = true;
            }
            return _after;
        }

        private bool IsPunct(string p) => _peek.Kind == TokenKind.Punct && _peek.Text == p;

        private void Expect(string p)
        {
            if (!IsPunct(p))
                throw new FormatException($"expected {p}");
            Take();
        }

        public Expr Expression()
        {
            var test = Binary(0);
            if (!IsPunct("?"))
                return test;
            Take();
            var then = Expression();
            Expect(":");
            var otherwise = Expression();
            return new Conditional(test, then, otherwise);
        }

        private static readonly string[][] s_levels =
        [
            ["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">="], ["<<", ">>"], ["+", "-"], ["*", "/", "%"],
        ];

        private Expr Binary(int level)
        {
            if (level == s_levels.Length)
                return Unary();
            var left = Binary(level + 1);
            while (_peek.Kind == TokenKind.Punct && Array.IndexOf(s_levels[level], _peek.Text) >= 0)
            {
                string op = Take().Text;
                left = new Binary(op, left, Binary(level + 1));
            }
            return left;
        }

        private Expr Unary()
        {
            if (_peek.Kind == TokenKind.Punct && _peek.Text is "-" or "!" or "~" or "+")
            {
                string op = Take().Text;
                return new Unary(op, Unary());
            }
            if (IsPunct("(") && PeekSecond() is { Kind: TokenKind.Identifier } second && IsTypeWord(second.Text))
            {
                Take();
                var words = new List<string>();
                while (!IsPunct(")"))
                {
                    if (_peek.Kind == TokenKind.End)
                        throw new FormatException("unclosed cast");
                    words.Add(Take().Text);
                }
                Take();
                var (size, signed) = CastType(words);
                return new Cast(size, signed, Unary());
            }
            return Postfix();
        }

        private Expr Postfix()
        {
            var t = Take();
            switch (t.Kind)
            {
                case TokenKind.Number:
                    return new Constant(new Value(t.Number, Unsigned: t.Text.Length > 0 && t.Text != t.Raw && t.Raw.Contains('u', StringComparison.OrdinalIgnoreCase) && t.Raw.Contains('l', StringComparison.OrdinalIgnoreCase)));
                case TokenKind.String:
                    return new Constant(new Value(0, t.Text));
                case TokenKind.Punct when t.Text == "(":
                {
                    var inner = Expression();
                    Expect(")");
                    return inner;
                }
                case TokenKind.Punct when t.Text == "{":
                {
                    var items = new List<(Expr, string)>();
                    while (!IsPunct("}"))
                    {
                        var key = Expression();
                        Expect(",");
                        var name = Take();
                        if (name.Kind != TokenKind.String)
                            throw new FormatException("expected a name in { value, name }");
                        items.Add((key, name.Text));
                        Expect("}");
                        if (IsPunct(","))
                        {
                            Take();
                            Expect("{");
                        }
                        else
                            break;
                    }
                    return new Pairs(items);
                }
                case TokenKind.Identifier when t.Text == "REC":
                {
                    Expect("->");
                    var field = new FieldRef(Take().Text);
                    if (!IsPunct("["))
                        return field;
                    Take();
                    var index = Expression();
                    Expect("]");
                    return new Index(field, index);
                }
                case TokenKind.Identifier when IsPunct("("):
                {
                    Take();
                    var args = new List<Expr>();
                    bool outer = _insideAccessor;
                    _insideAccessor = t.Text.StartsWith("__get_", StringComparison.Ordinal);
                    while (!IsPunct(")"))
                    {
                        args.Add(Argument());
                        if (IsPunct(","))
                            Take();
                        else if (!IsPunct(")"))
                            throw new FormatException("expected , or )");
                    }
                    Take();
                    _insideAccessor = outer;
                    return new Call(t.Text, args);
                }
                case TokenKind.Identifier:
                    // A bare identifier names a field inside __get_str(name) and friends; otherwise
                    // it is a kernel symbol or enum the format file left unresolved.
                    return _insideAccessor ? new FieldRef(t.Text) : new Unknown(t.Text);
                default:
                    throw new FormatException($"unexpected '{t.Text}'");
            }
        }

        private Expr Argument()
        {
            if (!IsPunct("{"))
                return Expression();
            // { v, "a" }, { w, "b" }, ... as one list argument; a { 0, NULL } entry ends it.
            var items = new List<(Expr, string)>();
            while (IsPunct("{"))
            {
                Take();
                var key = Expression();
                Expect(",");
                if (_peek.Kind == TokenKind.String)
                    items.Add((key, Take().Text));
                else
                    Expression();
                Expect("}");
                if (IsPunct(",") && PeekSecond() is { Kind: TokenKind.Punct, Text: "{" })
                    Take();
                else
                    break;
            }
            return new Pairs(items);
        }

        private static bool IsTypeWord(string w) => w is "unsigned" or "signed" or "int" or "long" or "short" or "char" or "bool" or "const" or "struct" or "void"
            or "u8" or "u16" or "u32" or "u64" or "s8" or "s16" or "s32" or "s64" or "__u8" or "__u16" or "__u32" or "__u64" or "__s8" or "__s16" or "__s32" or "__s64"
            || w.EndsWith("_t", StringComparison.Ordinal);

        private static (int Size, bool Signed) CastType(List<string> words)
        {
            if (words.Contains("*"))
                return (8, false);
            bool unsigned = words.Contains("unsigned");
            int longs = words.Count(w => w == "long");
            if (longs > 0)
                return (8, !unsigned);
            if (words.Contains("short"))
                return (2, !unsigned);
            if (words.Contains("char"))
                return (1, !unsigned);
            if (words.Contains("bool"))
                return (1, false);
            foreach (var w in words)
            {
                string t = w.TrimStart('_');
                if (t.Length >= 2 && (t[0] == 'u' || t[0] == 's') && int.TryParse(t.AsSpan(1), out int bits) && bits is 8 or 16 or 32 or 64)
                    return (bits / 8, t[0] == 's');
                if (w is "size_t" or "uintptr_t" or "u64_t")
                    return (8, false);
                if (w is "ssize_t" or "loff_t" or "ktime_t" or "time64_t")
                    return (8, true);
                if (w is "pid_t" or "gid_t" or "uid_t" or "int")
                    return (4, w != "gid_t" && w != "uid_t");
            }
            return (4, !unsigned);
        }
    }
}
