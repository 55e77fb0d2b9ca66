using KdtCapture.Filters.CodeGen;
using KdtCapture.Filters.Icode;

namespace KdtCapture.Filters.Syntax;

/// <summary>
/// The value a grammar symbol carries on the parser's stack. It stands for the union libpcap's
/// grammar uses; fields are separate here, and copies carry them all, as a union copy does.
/// </summary>
internal struct SemanticValue
{
    /// <summary>A number (NUM, and the int-valued symbols: qualifiers, relations, operators).</summary>
    public uint H;
    /// <summary>A string token (ID, HID, HID6, EID, AID); null when the lexer reported it as bad.</summary>
    public string? S;
    public Arth? A;
    /// <summary>The code of an expression.</summary>
    public Block? B;
    /// <summary>The qualifiers that carry over to the next identifier.</summary>
    public Qual Q;
    public int AtmFieldType;
    public int Mtp3FieldType;

    public int I
    {
        readonly get => (int)H;
        set => H = (uint)value;
    }
}
