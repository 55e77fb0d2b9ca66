using System.Runtime.CompilerServices;

namespace KdtCapture.Bpf.Btf;

/// <summary>
/// One BTF type: a view over its record in the shared buffer of the <see cref="Btf"/> that
/// defines it. Copying it copies three fields; every property decodes on access.
/// </summary>
public readonly struct BtfType : IEquatable<BtfType>
{
    private readonly Btf _btf;
    private readonly int _offset;

    internal BtfType(Btf btf, int id, int offset)
    {
        _btf = btf;
        Id = id;
        _offset = offset;
    }

    /// <summary>The BTF that defines this type (a base type seen through a split blob is the base's).</summary>
    public Btf Btf => _btf;

    public int Id { get; }

    public bool IsVoid => _offset < 0;

    private uint Info => IsVoid ? 0 : _btf.ReadWord(_offset + 4);

    public BtfKind Kind => (BtfKind)((Info >> 24) & 0x1f);

    /// <summary>The record's kind_flag: bitfield members, signed enums, forward unions.</summary>
    public bool KindFlag => (Info & 0x8000_0000u) != 0;

    /// <summary>The record's vlen: members, values, parameters, variables, or a function's linkage.</summary>
    public int Vlen => (int)(Info & 0xffff);

    public uint NameOffset => IsVoid ? 0 : _btf.ReadWord(_offset);

    public ReadOnlySpan<byte> NameUtf8 => IsVoid ? default : _btf.GetStringUtf8(NameOffset);

    /// <summary>The name, "" when anonymous (and for void).</summary>
    public string Name => IsVoid ? "" : _btf.GetTypeName(Id, NameOffset);

    public bool IsAnonymous => NameOffset == 0;

    /// <summary>The size/type word as stored.</summary>
    internal uint RawType => IsVoid ? 0 : _btf.ReadWord(_offset + 8);

    /// <summary>Bytes, for INT, STRUCT, UNION, ENUM, ENUM64, FLOAT and DATASEC.</summary>
    public uint Size => HasSize ? RawType : throw Wrong("has no size of its own");

    private bool HasSize => Kind is BtfKind.Int or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64
        or BtfKind.Float or BtfKind.DataSection;

    /// <summary>
    /// The type this one refers to: pointee, typedef'd or qualified type, a function's prototype,
    /// a prototype's return type, a variable's or tag's type.
    /// </summary>
    public int TypeId => Kind is BtfKind.Pointer or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
        or BtfKind.Function or BtfKind.FunctionProto or BtfKind.Variable or BtfKind.DeclTag or BtfKind.TypeTag
        ? (int)RawType
        : throw Wrong("refers to no other type");

    public BtfType Target => _btf.GetType(TypeId);

    // ---- INT -------------------------------------------------------------------------------

    private uint IntWord => Kind == BtfKind.Int ? _btf.ReadWord(_offset + Btf.RecordHeaderSize) : throw Wrong("is not an INT");

    public BtfIntEncoding IntEncoding => (BtfIntEncoding)((IntWord >> 24) & 0x0f);

    public int IntBitOffset => (int)((IntWord >> 16) & 0xff);

    public int IntBits => (int)(IntWord & 0xff);

    // ---- ARRAY -----------------------------------------------------------------------------

    public BtfArrayInfo Array
    {
        get
        {
            if (Kind != BtfKind.Array)
                throw Wrong("is not an ARRAY");
            int at = _offset + Btf.RecordHeaderSize;
            return new BtfArrayInfo((int)_btf.ReadWord(at), (int)_btf.ReadWord(at + 4), _btf.ReadWord(at + 8));
        }
    }

    // ---- STRUCT / UNION --------------------------------------------------------------------

    public BtfMemberList Members => Kind is BtfKind.Struct or BtfKind.Union
        ? new BtfMemberList(_btf, _offset + Btf.RecordHeaderSize, Vlen, KindFlag)
        : throw Wrong("has no members");

    // ---- ENUM / ENUM64 ---------------------------------------------------------------------

    public BtfEnumValueList EnumValues => Kind is BtfKind.Enum or BtfKind.Enum64
        ? new BtfEnumValueList(_btf, _offset + Btf.RecordHeaderSize, Vlen, Kind == BtfKind.Enum64, KindFlag)
        : throw Wrong("has no enum values");

    /// <summary>An enum whose values are signed (kind_flag).</summary>
    public bool IsSignedEnum => Kind is BtfKind.Enum or BtfKind.Enum64 ? KindFlag : throw Wrong("is not an enum");

    // ---- FWD -------------------------------------------------------------------------------

    public bool IsForwardUnion => Kind == BtfKind.Forward ? KindFlag : throw Wrong("is not a FWD");

    // ---- FUNC / FUNC_PROTO -----------------------------------------------------------------

    public BtfFunctionLinkage FunctionLinkage => Kind == BtfKind.Function ? (BtfFunctionLinkage)Vlen : throw Wrong("is not a FUNC");

    /// <summary>The prototype of a FUNC, or this type itself when it is a FUNC_PROTO.</summary>
    public BtfType Prototype => Kind switch
    {
        BtfKind.FunctionProto => this,
        BtfKind.Function => Target,
        _ => throw Wrong("is not a function"),
    };

    public BtfType ReturnType => Prototype.Target;

    /// <summary>Parameters of a FUNC_PROTO (or of a FUNC's prototype).</summary>
    public BtfParameterList Parameters
    {
        get
        {
            var proto = Prototype;
            return new BtfParameterList(proto._btf, proto._offset + Btf.RecordHeaderSize, proto.Vlen);
        }
    }

    /// <summary>A prototype whose last parameter is the unnamed void that stands for "...".</summary>
    public bool IsVariadic
    {
        get
        {
            var p = Parameters;
            return p.Count > 0 && p[p.Count - 1].TypeId == 0 && p[p.Count - 1].NameOffset == 0;
        }
    }

    // ---- VAR / DATASEC / DECL_TAG ----------------------------------------------------------

    public BtfVariableLinkage VariableLinkage => Kind == BtfKind.Variable
        ? (BtfVariableLinkage)_btf.ReadWord(_offset + Btf.RecordHeaderSize)
        : throw Wrong("is not a VAR");

    public BtfSectionVariableList SectionVariables => Kind == BtfKind.DataSection
        ? new BtfSectionVariableList(_btf, _offset + Btf.RecordHeaderSize, Vlen)
        : throw Wrong("is not a DATASEC");

    /// <summary>-1 when a DECL_TAG tags the type itself, else the member or parameter index.</summary>
    public int ComponentIndex => Kind == BtfKind.DeclTag ? (int)_btf.ReadWord(_offset + Btf.RecordHeaderSize) : throw Wrong("is not a DECL_TAG");

    // ---- resolution ------------------------------------------------------------------------

    public bool IsQualifier => Kind is BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag;

    /// <summary>This type with const/volatile/restrict and type tags peeled off.</summary>
    public BtfType SkipQualifiers()
    {
        var t = this;
        for (int guard = 0; t.IsQualifier; guard++)
        {
            if (guard > 64)
                throw new BtfFormatException($"type [{Id}]: qualifier chain does not end");
            t = t.Target;
        }
        return t;
    }

    /// <summary>This type with typedefs, qualifiers and type tags peeled off.</summary>
    public BtfType ResolveTypedefs()
    {
        var t = this;
        for (int guard = 0; t.IsQualifier || t.Kind == BtfKind.Typedef; guard++)
        {
            if (guard > 64)
                throw new BtfFormatException($"type [{Id}]: typedef chain does not end");
            t = t.Target;
        }
        return t;
    }

    /// <summary>A pointer (through typedefs and qualifiers) to a struct named <paramref name="structName"/>.</summary>
    public bool IsPointerToStruct(ReadOnlySpan<byte> structName)
    {
        var t = ResolveTypedefs();
        if (t.Kind != BtfKind.Pointer)
            return false;
        var pointee = t.Target.ResolveTypedefs();
        return (pointee.Kind == BtfKind.Struct || (pointee.Kind == BtfKind.Forward && !pointee.KindFlag))
            && pointee.NameUtf8.SequenceEqual(structName);
    }

    /// <summary>sizeof this type in bytes (pointers are 8: BTF here describes 64-bit kernels).</summary>
    public long SizeOf() => BtfLayout.SizeOf(this);

    /// <summary>_Alignof this type in bytes, computed as the compiler would (packed structs align to 1).</summary>
    public int AlignOf() => BtfLayout.AlignOf(this);

    public bool Equals(BtfType other) => ReferenceEquals(_btf, other._btf) && Id == other.Id;

    public override bool Equals(object? obj) => obj is BtfType other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(RuntimeHelpers.GetHashCode(_btf), Id);

    public static bool operator ==(BtfType left, BtfType right) => left.Equals(right);

    public static bool operator !=(BtfType left, BtfType right) => !left.Equals(right);

    /// <summary>"[id] KIND 'name'", for messages.</summary>
    public override string ToString() => _btf is null ? "(none)" : $"[{Id}] {Kind.ToKernelName()} '{(IsAnonymous ? "(anon)" : Name)}'";

    private InvalidOperationException Wrong(string what) => new($"type {this} {what}");
}

/// <summary>An ARRAY's element type, index type and element count.</summary>
public readonly record struct BtfArrayInfo(int ElementTypeId, int IndexTypeId, uint Count);
