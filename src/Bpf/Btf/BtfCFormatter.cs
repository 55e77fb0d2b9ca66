using System.Text;

namespace KdtCapture.Bpf.Btf;

/// <summary>
/// Renders BTF types as C: declarations ("struct sk_buff *skb", function pointers, arrays),
/// function prototypes, and definitions of structs, unions, enums and typedefs laid out as
/// <c>bpftool btf dump ... format c</c> prints them (anonymous aggregates inline, explicit
/// padding where natural alignment would not reproduce the layout, packed attributes).
/// </summary>
/// <remarks>
/// The declarator algorithm is the one every BTF-to-C printer uses: push the chain of
/// pointers/qualifiers/arrays/prototypes down to the terminal type, then emit it back out,
/// parenthesising where C's precedence needs it. Names that collide in a whole-file dump get
/// no "___N" suffix here: this renders one type at a time.
/// </remarks>
public sealed class BtfCFormatter(Btf btf)
{
    private readonly StringBuilder _out = new();
    private readonly List<int> _stack = [];

    /// <summary>Anonymous structs/unions/enums used by value are written out in full (format c does); otherwise "struct {...}".</summary>
    public bool InlineAnonymous { get; init; } = true;

    /// <summary>
    /// Enums of 1 or 8 bytes get <c>__attribute__((mode(byte/word)))</c> so that a compiler gives
    /// them that size again (libbpf 1.2 and later print it; bpftool 7.1 does not).
    /// </summary>
    public bool EnumModeAttributes { get; init; } = true;

    /// <summary>"struct sk_buff *", "int (*)(struct sock *)", "char[16]".</summary>
    public string TypeName(BtfType type) => Declaration(type, "");

    /// <summary>A declaration of <paramref name="name"/> with this type: "struct sk_buff *skb", "u8 addr[6]".</summary>
    public string Declaration(BtfType type, string name)
    {
        _out.Clear();
        EmitDeclaration(type.Id, name, 0);
        return _out.ToString();
    }

    /// <summary>A FUNC as a C prototype: "int ip_output(struct net *net, struct sock *sk, struct sk_buff *skb)".</summary>
    public string Prototype(BtfType function)
    {
        if (function.Kind != BtfKind.Function)
            throw new ArgumentException($"{function} is not a FUNC", nameof(function));
        return Declaration(function.Prototype, function.Name);
    }

    /// <summary>The definition of a struct, union, enum, typedef or forward declaration, ending in ";\n".</summary>
    public string Definition(BtfType type)
    {
        _out.Clear();
        switch (type.Kind)
        {
            case BtfKind.Struct or BtfKind.Union:
                EmitStructDefinition(type, 0);
                break;
            case BtfKind.Enum or BtfKind.Enum64:
                EmitEnumDefinition(type, 0);
                break;
            case BtfKind.Typedef:
                _out.Append("typedef ");
                EmitDeclaration(type.TypeId, type.Name, 0);
                break;
            case BtfKind.Forward:
                _out.Append(type.IsForwardUnion ? "union " : "struct ").Append(type.Name);
                break;
            case BtfKind.Function:
                EmitDeclaration(type.TypeId, type.Name, 0);
                break;
            default:
                throw new ArgumentException($"{type} has no C definition", nameof(type));
        }
        _out.Append(";\n");
        return _out.ToString();
    }

    private BtfType T(int id) => btf.GetType(id);

    private void Indent(int level) => _out.Append('\t', level);

    private void EmitDeclaration(int id, string name, int level)
    {
        int frameStart = _stack.Count;
        for (int guard = 0; ; guard++)
        {
            if (guard > 256)
                throw new BtfFormatException($"type [{id}]: declaration chain does not end");
            _stack.Add(id);
            if (id == 0)
                break;
            var t = T(id);
            if (t.Kind is BtfKind.Pointer or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                or BtfKind.FunctionProto or BtfKind.TypeTag)
                id = t.TypeId;
            else if (t.Kind == BtfKind.Array)
                id = t.Array.ElementTypeId;
            else
                break;
        }
        int count = _stack.Count - frameStart;
        EmitChain(frameStart, ref count, name, level);
        _stack.RemoveRange(frameStart, _stack.Count - frameStart);
    }

    private int Top(int frame, int count) => _stack[frame + count - 1];

    private void EmitModifiers(int frame, ref int count)
    {
        while (count > 0)
        {
            var kind = T(Top(frame, count)).Kind;
            if (Top(frame, count) == 0)
                return;
            string? word = kind switch
            {
                BtfKind.Volatile => "volatile ",
                BtfKind.Const => "const ",
                BtfKind.Restrict => "restrict ",
                _ => null,
            };
            if (word is null)
                return;
            _out.Append(word);
            count--;
        }
    }

    private void DropModifiers(int frame, ref int count)
    {
        while (count > 0 && Top(frame, count) != 0 && T(Top(frame, count)).Kind is BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag)
            count--;
    }

    private void EmitName(string name, bool lastWasPointer)
    {
        if (name.Length > 0 && !lastWasPointer)
            _out.Append(' ');
        _out.Append(name);
    }

    private void EmitChain(int frame, ref int count, string name, int level)
    {
        bool lastWasPointer = true;
        while (count > 0)
        {
            int id = _stack[frame + --count];
            if (id == 0)
            {
                EmitModifiers(frame, ref count);
                _out.Append("void");
                lastWasPointer = false;
                continue;
            }
            var t = T(id);
            switch (t.Kind)
            {
                case BtfKind.Int or BtfKind.Float:
                    EmitModifiers(frame, ref count);
                    _out.Append(t.Name);
                    break;
                case BtfKind.Struct or BtfKind.Union:
                    EmitModifiers(frame, ref count);
                    if (t.IsAnonymous && InlineAnonymous)
                        EmitStructDefinition(t, level);
                    else
                        _out.Append(t.Kind == BtfKind.Struct ? "struct" : "union").Append(t.IsAnonymous ? " {...}" : " " + t.Name);
                    break;
                case BtfKind.Enum or BtfKind.Enum64:
                    EmitModifiers(frame, ref count);
                    if (t.IsAnonymous && InlineAnonymous)
                        EmitEnumDefinition(t, level);
                    else
                        _out.Append("enum ").Append(t.IsAnonymous ? "{...}" : t.Name);
                    break;
                case BtfKind.Forward:
                    EmitModifiers(frame, ref count);
                    _out.Append(t.IsForwardUnion ? "union " : "struct ").Append(t.Name);
                    break;
                case BtfKind.Typedef:
                    EmitModifiers(frame, ref count);
                    _out.Append(t.Name);
                    break;
                case BtfKind.Pointer:
                    _out.Append(lastWasPointer ? "*" : " *");
                    break;
                case BtfKind.Volatile:
                    _out.Append(" volatile");
                    break;
                case BtfKind.Const:
                    _out.Append(" const");
                    break;
                case BtfKind.Restrict:
                    _out.Append(" restrict");
                    break;
                case BtfKind.TypeTag:
                    EmitModifiers(frame, ref count);
                    _out.Append(" __attribute__((btf_type_tag(\"").Append(t.Name).Append("\")))");
                    break;
                case BtfKind.Array:
                {
                    // Qualifiers on arrays mean nothing in C (GCC emits them): drop them.
                    DropModifiers(frame, ref count);
                    uint elements = t.Array.Count;
                    if (count == 0)
                    {
                        EmitName(name, lastWasPointer);
                        _out.Append('[').Append(elements).Append(']');
                        return;
                    }
                    bool multiDimensional = T(Top(frame, count)).Kind == BtfKind.Array && Top(frame, count) != 0;
                    if (name.Length > 0 && !lastWasPointer)
                        _out.Append(' ');
                    if (!multiDimensional)
                        _out.Append('(');
                    EmitChain(frame, ref count, name, level);
                    if (!multiDimensional)
                        _out.Append(')');
                    _out.Append('[').Append(elements).Append(']');
                    return;
                }
                case BtfKind.FunctionProto:
                {
                    DropModifiers(frame, ref count);
                    if (count > 0)
                    {
                        _out.Append(" (");
                        EmitChain(frame, ref count, name, level);
                        _out.Append(')');
                    }
                    else
                    {
                        EmitName(name, lastWasPointer);
                    }
                    _out.Append('(');
                    var parameters = t.Parameters;
                    // No parameters, or clang's single void one: "f(void)", valid C, as format c prints it.
                    if (parameters.Count == 0 || (parameters.Count == 1 && parameters[0].TypeId == 0))
                    {
                        _out.Append("void)");
                        return;
                    }
                    for (int i = 0; i < parameters.Count; i++)
                    {
                        if (i > 0)
                            _out.Append(", ");
                        var p = parameters[i];
                        if (i == parameters.Count - 1 && p.TypeId == 0)
                        {
                            _out.Append("...");
                            break;
                        }
                        EmitDeclaration(p.TypeId, p.Name, level);
                    }
                    _out.Append(')');
                    return;
                }
                default:
                    // FUNC, VAR, DATASEC, DECL_TAG never sit inside a declarator.
                    _out.Append("/* ").Append(t.Kind.ToKernelName()).Append(' ').Append(t.Name).Append(" */");
                    return;
            }
            lastWasPointer = t.Kind == BtfKind.Pointer;
        }
        EmitName(name, lastWasPointer);
    }

    private void EmitStructDefinition(BtfType t, int level)
    {
        bool isStruct = t.Kind == BtfKind.Struct;
        int align = t.AlignOf();
        bool packed = isStruct && BtfLayout.IsPacked(t);
        _out.Append(isStruct ? "struct" : "union");
        if (!t.IsAnonymous)
            _out.Append(' ').Append(t.Name);
        _out.Append(" {");
        long offset = 0;
        bool previousBitfield = false;
        var members = t.Members;
        foreach (var m in members)
        {
            int bits = m.BitfieldSize;
            long memberOffset = m.BitOffset;
            int memberAlign = packed ? 1 : m.Type.AlignOf();
            bool inBitfield = previousBitfield && bits != 0;
            EmitBitPadding(offset, memberOffset, memberAlign, inBitfield, level + 1);
            _out.Append('\n');
            Indent(level + 1);
            EmitDeclaration(m.TypeId, m.Name, level + 1);
            if (bits != 0)
            {
                _out.Append(": ").Append(bits);
                offset = memberOffset + bits;
                previousBitfield = true;
            }
            else
            {
                offset = memberOffset + Math.Max(0, m.Type.SizeOf()) * 8;
                previousBitfield = false;
            }
            _out.Append(';');
        }
        if (isStruct)
            EmitBitPadding(offset, t.Size * 8L, align, false, level + 1);
        if (members.Count > 0 || t.Size > 0)
        {
            _out.Append('\n');
            Indent(level);
        }
        _out.Append('}');
        if (packed)
            _out.Append(" __attribute__((packed))");
    }

    private const long MaxPaddingBits = 1L << 20;

    private static readonly (string Name, int Bits)[] s_pads = [("long", 64), ("int", 32), ("short", 16), ("char", 8)];

    /// <summary>
    /// Fills a gap between members with unnamed bitfields so that a compiler reproduces the
    /// layout: align with the widest type that fits, then fill; "type: 0" forces alignment.
    /// </summary>
    private void EmitBitPadding(long current, long next, int nextAlign, bool inBitfield, int level)
    {
        if (current >= next)
            return;
        // Real kernel structs pad by at most a few pages; anything wider is a damaged blob, not a layout.
        if (next - current > MaxPaddingBits)
            throw new BtfFormatException($"a gap of {(next - current) / 8} bytes between members is not a plausible layout");
        string padType = "char";
        int padBits = 8;
        long aligned = current;
        foreach (var (n, b) in s_pads)
        {
            padType = n;
            padBits = b;
            aligned = RoundUp(current, b);
            if (aligned <= next)
                break;
        }
        if (aligned > current && aligned <= next)
        {
            if (inBitfield
                || (aligned == next && RoundUp(current, nextAlign * 8L) != aligned)
                || (aligned != next && next - aligned <= aligned - current))
            {
                _out.Append('\n');
                Indent(level);
                _out.Append(padType).Append(": ").Append(inBitfield ? aligned - current : 0).Append(';');
            }
            current = aligned;
        }
        while (current != next)
        {
            long bits = Math.Min(next - current, padBits);
            if (bits == padBits)
            {
                _out.Append('\n');
                Indent(level);
                _out.Append(padType).Append(": ").Append(padBits).Append(';');
                current += bits;
                continue;
            }
            for (int i = s_pads.Length - 1; i >= 0; i--)
            {
                if (s_pads[i].Bits < bits)
                    continue;
                padType = s_pads[i].Name;
                padBits = s_pads[i].Bits;
                _out.Append('\n');
                Indent(level);
                _out.Append(padType).Append(": ").Append(bits).Append(';');
                current += bits;
                break;
            }
        }
    }

    private static long RoundUp(long value, long to) => (value + to - 1) / to * to;

    private void EmitEnumDefinition(BtfType t, int level)
    {
        _out.Append("enum");
        if (!t.IsAnonymous)
            _out.Append(' ').Append(t.Name);
        var values = t.EnumValues;
        if (values.Count == 0)
            return;
        _out.Append(" {");
        bool signed = t.IsSignedEnum;
        bool is64 = t.Kind == BtfKind.Enum64;
        foreach (var v in values)
        {
            _out.Append('\n');
            Indent(level + 1);
            _out.Append(v.Name).Append(" = ");
            if (is64)
                _out.Append(signed ? $"{v.Value}LL" : $"{v.UnsignedValue}ULL");
            else
                _out.Append(signed ? ((int)v.Value).ToString() : ((uint)v.Value).ToString());
            _out.Append(',');
        }
        _out.Append('\n');
        Indent(level);
        _out.Append('}');
        if (!EnumModeAttributes)
            return;
        if (t.Size == 1)
        {
            _out.Append(" __attribute__((mode(byte)))");
        }
        else if (t.Size == 8)
        {
            // An 8-byte enum needs mode(word) unless one of its values already forces 64 bits.
            bool needsWord = true;
            if (is64)
            {
                foreach (var v in values)
                {
                    if ((v.UnsignedValue >> 32) != 0)
                    {
                        needsWord = false;
                        break;
                    }
                }
            }
            if (needsWord)
                _out.Append(" __attribute__((mode(word)))");
        }
    }
}
