using System.Text;

namespace KdtCapture.Bpf.Btf;

/// <summary>
/// A struct or union as pahole shows it: every member with its byte offset and size (bit
/// offset for bitfields), anonymous aggregates expanded in place with offsets from the
/// outermost start, holes and trailing padding called out, cacheline boundaries marked, and
/// a summary of size, cachelines and members.
/// </summary>
public sealed class BtfLayoutPrinter(Btf btf)
{
    public const int CachelineSize = 64;
    private const int CommentColumn = 56;

    private readonly BtfCFormatter _names = new(btf) { InlineAnonymous = false };
    private readonly StringBuilder _out = new();

    public string Render(BtfType type)
    {
        var t = type.Kind == BtfKind.Typedef ? type.ResolveTypedefs() : type;
        if (t.Kind is not (BtfKind.Struct or BtfKind.Union))
            throw new ArgumentException($"{type} is not a struct or union", nameof(type));
        _out.Clear();
        _out.Append(t.Kind == BtfKind.Struct ? "struct " : "union ").Append(t.IsAnonymous ? "{...}" : t.Name).Append(" {\n");
        var stats = new Stats();
        EmitMembers(t, 0, 1, stats);
        _out.Append('\n');
        long size = t.Size;
        long cachelines = (size + CachelineSize - 1) / CachelineSize;
        _out.Append($"\t/* size: {size}, cachelines: {cachelines}, members: {t.Members.Count} */\n");
        if (stats.Holes > 0 || stats.BitHoles > 0)
        {
            _out.Append($"\t/* sum members: {stats.MemberBytes}");
            if (stats.Holes > 0)
                _out.Append($", holes: {stats.Holes}, sum holes: {stats.HoleBytes}");
            _out.Append(" */\n");
            if (stats.BitHoles > 0)
                _out.Append($"\t/* sum bitfield members: {stats.BitfieldBits} bits, bit holes: {stats.BitHoles}, sum bit holes: {stats.BitHoleBits} bits */\n");
        }
        if (stats.Padding > 0)
            _out.Append($"\t/* padding: {stats.Padding} */\n");
        if (size % CachelineSize != 0)
            _out.Append($"\t/* last cacheline: {size % CachelineSize} bytes */\n");
        _out.Append("};\n");
        return _out.ToString();
    }

    private sealed class Stats
    {
        public long MemberBytes, BitfieldBits, Holes, HoleBytes, BitHoles, BitHoleBits, Padding;
    }

    /// <summary>Members of an aggregate starting at <paramref name="baseBits"/> from the outermost one.</summary>
    private void EmitMembers(BtfType aggregate, long baseBits, int level, Stats? stats)
    {
        bool isStruct = aggregate.Kind == BtfKind.Struct;
        long endBits = 0; // end of the previous member, relative to this aggregate
        bool afterBitfield = false;
        long unitBits = 0;
        foreach (var m in aggregate.Members)
        {
            long start = m.BitOffset;
            long memberBytes = m.Type.SizeOf();
            if (isStruct && start > endBits)
            {
                // After a bitfield, the rest of its storage unit is a bit hole; past the unit, bytes.
                long unitEnd = afterBitfield && unitBits > 0 ? (endBits + unitBits - 1) / unitBits * unitBits : endBits;
                if (unitEnd > endBits && unitEnd < start)
                {
                    EmitHole(unitEnd - endBits, endBits, true, level, stats, blankAfter: false);
                    EmitHole(start - unitEnd, unitEnd, false, level, stats, blankBefore: false);
                }
                else
                {
                    EmitHole(start - endBits, endBits, afterBitfield, level, stats);
                }
            }
            afterBitfield = m.BitfieldSize != 0;
            unitBits = memberBytes * 8;
            if (stats is not null)
            {
                if (m.BitfieldSize != 0)
                    stats.BitfieldBits += m.BitfieldSize;
                else
                    stats.MemberBytes += memberBytes;
            }
            if (level == 1)
                EmitCachelineBoundary(baseBits + endBits, baseBits + start);

            var resolved = m.Type.SkipQualifiers();
            // An anonymous type is written out in place, named member or not (pahole does the
            // same: 6.1's sk_buff has "struct { ... } headers;" from struct_group, holes and all).
            if (resolved.Kind is BtfKind.Struct or BtfKind.Union && resolved.IsAnonymous)
            {
                Indent(level);
                _out.Append(resolved.Kind == BtfKind.Struct ? "struct {\n" : "union {\n");
                EmitMembers(resolved, baseBits + start, level + 1, null);
                Indent(level);
                Pad(m.IsAnonymous ? "};" : $"}} {m.Name};", level);
                Comment((baseBits + start) / 8, memberBytes);
            }
            else
            {
                string decl = _names.Declaration(m.Type, m.IsAnonymous ? "" : m.Name);
                (string typePart, string namePart) = Split(decl, m.IsAnonymous ? "" : m.Name);
                Indent(level);
                int typeWidth = Math.Max(0, 26 - 8 * (level - 1));
                string field = typePart.PadRight(typeWidth) + " " + namePart;
                if (m.BitfieldSize != 0)
                    field += ":" + m.BitfieldSize;
                Pad(field + ";", level);
                if (m.BitfieldSize != 0)
                {
                    long absolute = baseBits + start;
                    long storageBits = memberBytes * 8;
                    long unitStart = storageBits == 0 ? absolute : absolute / storageBits * storageBits;
                    _out.Append($"/* {unitStart / 8,5}:{absolute - unitStart,2} {memberBytes,2} */\n");
                }
                else
                {
                    Comment((baseBits + start) / 8, memberBytes);
                }
            }
            long end = start + (m.BitfieldSize != 0 ? m.BitfieldSize : memberBytes * 8);
            endBits = isStruct ? end : Math.Max(endBits, end);
        }
        if (stats is not null && isStruct)
            stats.Padding = Math.Max(0, (aggregate.Size * 8 - endBits) / 8);
    }

    /// <summary>A gap after a bitfield is counted in bits (the unit may still have room), otherwise in bytes.</summary>
    private void EmitHole(long bits, long from, bool afterBitfield, int level, Stats? stats, bool blankBefore = true, bool blankAfter = true)
    {
        if (blankBefore)
            _out.Append('\n');
        Indent(level);
        if (!afterBitfield && bits % 8 == 0 && from % 8 == 0)
        {
            _out.Append($"/* XXX {bits / 8} byte{(bits == 8 ? "" : "s")} hole, try to pack */\n");
            if (stats is not null)
            {
                stats.Holes++;
                stats.HoleBytes += bits / 8;
            }
        }
        else
        {
            _out.Append($"/* XXX {bits} bit{(bits == 1 ? "" : "s")} hole, try to pack */\n");
            if (stats is not null)
            {
                stats.BitHoles++;
                stats.BitHoleBits += bits;
            }
        }
        if (blankAfter)
            _out.Append('\n');
    }

    private void EmitCachelineBoundary(long fromBits, long toBits)
    {
        long from = fromBits / 8, to = toBits / 8;
        long boundary = (from + CachelineSize - 1) / CachelineSize * CachelineSize;
        if (from == 0 || boundary > to || to == 0)
            return;
        if (boundary == from && fromBits % 8 == 0 && (from % CachelineSize) != 0)
            return;
        long line = to / CachelineSize;
        long after = to % CachelineSize;
        _out.Append($"\t/* --- cacheline {line} boundary ({line * CachelineSize} bytes)");
        _out.Append(after == 0 ? " --- */\n" : $" was {after} bytes ago --- */\n");
    }

    /// <summary>pahole's split: pointer stars stay with the type; function pointers and arrays go with the name.</summary>
    private static (string Type, string Name) Split(string declaration, string name)
    {
        if (name.Length == 0)
            return (declaration, "");
        int functionPointer = declaration.IndexOf("(*", StringComparison.Ordinal);
        if (functionPointer >= 0)
            return (declaration[..functionPointer].TrimEnd(), declaration[functionPointer..]);
        int at = declaration.LastIndexOf(name, StringComparison.Ordinal);
        while (at > 0 && declaration[at - 1] is not (' ' or '*'))
            at = declaration.LastIndexOf(name, at - 1, StringComparison.Ordinal);
        if (at < 0)
            return (declaration, "");
        return (declaration[..at].TrimEnd(), declaration[at..]);
    }

    private void Indent(int level) => _out.Append('\t', level);

    /// <summary>Pads the current line (tabs count as 8 columns) to the comment column.</summary>
    private void Pad(string text, int level)
    {
        _out.Append(text);
        int column = level * 8 + text.Length;
        _out.Append(' ', column < CommentColumn ? CommentColumn - column + 1 : 1);
    }

    private void Comment(long offset, long size) => _out.Append($"/* {offset,5} {size,5} */\n");
}
