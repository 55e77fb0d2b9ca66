namespace KdtCapture.Bpf.Btf;

/// <summary>Sizes and alignments as the C compiler laid the types out (64-bit: pointers are 8 bytes).</summary>
public static class BtfLayout
{
    public const int PointerSize = 8;

    public static long SizeOf(BtfType type)
    {
        long multiplier = 1;
        for (int guard = 0; guard < 256; guard++)
        {
            switch (type.Kind)
            {
                case BtfKind.Int or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64
                    or BtfKind.Float or BtfKind.DataSection:
                    return multiplier * type.Size;
                case BtfKind.Pointer:
                    return multiplier * PointerSize;
                case BtfKind.Typedef or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag
                    or BtfKind.Variable:
                    type = type.Target;
                    break;
                case BtfKind.Array:
                    var a = type.Array;
                    multiplier *= a.Count;
                    type = type.Btf.GetType(a.ElementTypeId);
                    break;
                default:
                    // void, functions, forward declarations: incomplete, no size.
                    return 0;
            }
        }
        throw new BtfFormatException($"type {type}: reference chain does not end");
    }

    public static int AlignOf(BtfType type) => AlignOf(type, 0);

    private static int AlignOf(BtfType type, int depth)
    {
        if (depth > 256)
            throw new BtfFormatException($"type {type}: nesting does not end");
        switch (type.Kind)
        {
            case BtfKind.Int or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Float:
                return (int)Math.Min(PointerSize, Math.Max(1u, type.Size));
            case BtfKind.Pointer:
                return PointerSize;
            case BtfKind.Typedef or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag:
                return AlignOf(type.Target, depth + 1);
            case BtfKind.Array:
                return AlignOf(type.Btf.GetType(type.Array.ElementTypeId), depth + 1);
            case BtfKind.Struct or BtfKind.Union:
                int max = 1;
                foreach (var m in type.Members)
                {
                    int align = AlignOf(m.Type, depth + 1);
                    max = Math.Max(max, align);
                    // A member off its natural alignment means the aggregate was packed.
                    if (m.BitfieldSize == 0 && m.BitOffset % (8u * (uint)align) != 0)
                        return 1;
                }
                return type.Size % (uint)max != 0 ? 1 : max;
            default:
                return 1;
        }
    }

    /// <summary>True when the compiler could only have produced this layout from a packed aggregate.</summary>
    public static bool IsPacked(BtfType type)
    {
        if (type.Kind is not (BtfKind.Struct or BtfKind.Union))
            return false;
        int max = 1;
        foreach (var m in type.Members)
        {
            int align = AlignOf(m.Type);
            max = Math.Max(max, align);
            if (m.BitfieldSize == 0 && m.BitOffset % (8u * (uint)align) != 0)
                return true;
        }
        return type.Size % (uint)max != 0;
    }
}
