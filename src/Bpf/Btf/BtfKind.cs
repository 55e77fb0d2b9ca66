namespace KdtCapture.Bpf.Btf;

/// <summary>The kind of a BTF type record (the kernel's BTF_KIND_*; the numbers are the ABI).</summary>
public enum BtfKind : byte
{
    /// <summary>Type id 0: <c>void</c>. No record in the blob carries this kind.</summary>
    Void = 0,
    Int = 1,
    Pointer = 2,
    Array = 3,
    Struct = 4,
    Union = 5,
    Enum = 6,
    /// <summary>A forward declaration: <c>struct x;</c> or <c>union x;</c>.</summary>
    Forward = 7,
    Typedef = 8,
    Volatile = 9,
    Const = 10,
    Restrict = 11,
    /// <summary>A function (name, linkage) whose type is a <see cref="FunctionProto"/>.</summary>
    Function = 12,
    FunctionProto = 13,
    /// <summary>A variable, listed by a <see cref="DataSection"/>.</summary>
    Variable = 14,
    DataSection = 15,
    Float = 16,
    DeclTag = 17,
    TypeTag = 18,
    Enum64 = 19,
}

/// <summary>The encoding bits of an integer type (BTF_INT_SIGNED/CHAR/BOOL).</summary>
[Flags]
public enum BtfIntEncoding : byte
{
    None = 0,
    Signed = 1,
    Char = 2,
    Bool = 4,
}

/// <summary>A function's linkage, stored in the vlen field of its record.</summary>
public enum BtfFunctionLinkage
{
    Static = 0,
    Global = 1,
    Extern = 2,
}

/// <summary>A variable's linkage.</summary>
public enum BtfVariableLinkage
{
    Static = 0,
    GlobalAllocated = 1,
    GlobalExtern = 2,
}

public static class BtfKindNames
{
    /// <summary>The kernel's and bpftool's spelling of a kind: "STRUCT", "FUNC_PROTO", ...</summary>
    public static string ToKernelName(this BtfKind kind) => kind switch
    {
        BtfKind.Void => "UNKNOWN",
        BtfKind.Int => "INT",
        BtfKind.Pointer => "PTR",
        BtfKind.Array => "ARRAY",
        BtfKind.Struct => "STRUCT",
        BtfKind.Union => "UNION",
        BtfKind.Enum => "ENUM",
        BtfKind.Forward => "FWD",
        BtfKind.Typedef => "TYPEDEF",
        BtfKind.Volatile => "VOLATILE",
        BtfKind.Const => "CONST",
        BtfKind.Restrict => "RESTRICT",
        BtfKind.Function => "FUNC",
        BtfKind.FunctionProto => "FUNC_PROTO",
        BtfKind.Variable => "VAR",
        BtfKind.DataSection => "DATASEC",
        BtfKind.Float => "FLOAT",
        BtfKind.DeclTag => "DECL_TAG",
        BtfKind.TypeTag => "TYPE_TAG",
        BtfKind.Enum64 => "ENUM64",
        _ => "UNKNOWN",
    };

    /// <summary>How many bytes follow the 12-byte common header of a record of this kind.</summary>
    internal static int TrailerSize(BtfKind kind, int vlen) => kind switch
    {
        BtfKind.Int => 4,
        BtfKind.Array => 12,
        BtfKind.Struct or BtfKind.Union => 12 * vlen,
        BtfKind.Enum => 8 * vlen,
        BtfKind.FunctionProto => 8 * vlen,
        BtfKind.Variable => 4,
        BtfKind.DataSection => 12 * vlen,
        BtfKind.DeclTag => 4,
        BtfKind.Enum64 => 12 * vlen,
        _ => 0,
    };
}
