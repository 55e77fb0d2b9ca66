namespace KdtCapture.Bpf.Btf;

/// <summary>A struct or union member. Offsets are in bits from the start of the aggregate.</summary>
public readonly struct BtfMember
{
    private readonly Btf _btf;

    internal BtfMember(Btf btf, uint nameOffset, int typeId, uint offsetWord, bool bitfieldEncoding)
    {
        _btf = btf;
        NameOffset = nameOffset;
        TypeId = typeId;
        // With kind_flag set the word packs the bitfield size in its top 8 bits.
        BitOffset = bitfieldEncoding ? offsetWord & 0x00ff_ffff : offsetWord;
        BitfieldSize = bitfieldEncoding ? (int)(offsetWord >> 24) : 0;
    }

    public uint NameOffset { get; }

    public string Name => _btf.GetString(NameOffset);

    public ReadOnlySpan<byte> NameUtf8 => _btf.GetStringUtf8(NameOffset);

    public bool IsAnonymous => NameOffset == 0;

    public int TypeId { get; }

    public BtfType Type => _btf.GetType(TypeId);

    public uint BitOffset { get; }

    /// <summary>0 unless the member is a bitfield declared with a width (kind_flag encoding).</summary>
    public int BitfieldSize { get; }

    public uint ByteOffset => BitOffset / 8;
}

public readonly struct BtfMemberList
{
    private readonly Btf _btf;
    private readonly int _start;
    private readonly bool _bitfields;

    internal BtfMemberList(Btf btf, int start, int count, bool bitfields)
    {
        _btf = btf;
        _start = start;
        Count = count;
        _bitfields = bitfields;
    }

    public int Count { get; }

    public BtfMember this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            int at = _start + 12 * index;
            return new BtfMember(_btf, _btf.ReadWord(at), (int)_btf.ReadWord(at + 4), _btf.ReadWord(at + 8), _bitfields);
        }
    }

    public Enumerator GetEnumerator() => new(this);

    public struct Enumerator(BtfMemberList list)
    {
        private int _index = -1;

        public bool MoveNext() => ++_index < list.Count;

        public readonly BtfMember Current => list[_index];
    }
}

/// <summary>An ENUM or ENUM64 enumerator. <see cref="Value"/> is sign- or zero-extended by the enum's signedness.</summary>
public readonly struct BtfEnumValue(Btf btf, uint nameOffset, long value)
{
    public uint NameOffset { get; } = nameOffset;

    public string Name => btf.GetString(NameOffset);

    public ReadOnlySpan<byte> NameUtf8 => btf.GetStringUtf8(NameOffset);

    public long Value { get; } = value;

    public ulong UnsignedValue => (ulong)Value;
}

public readonly struct BtfEnumValueList
{
    private readonly Btf _btf;
    private readonly int _start;
    private readonly bool _is64;
    private readonly bool _signed;

    internal BtfEnumValueList(Btf btf, int start, int count, bool is64, bool signed)
    {
        _btf = btf;
        _start = start;
        Count = count;
        _is64 = is64;
        _signed = signed;
    }

    public int Count { get; }

    public BtfEnumValue this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            if (_is64)
            {
                int at = _start + 12 * index;
                ulong v = _btf.ReadWord(at + 4) | ((ulong)_btf.ReadWord(at + 8) << 32);
                return new BtfEnumValue(_btf, _btf.ReadWord(at), (long)v);
            }
            else
            {
                int at = _start + 8 * index;
                uint v = _btf.ReadWord(at + 4);
                return new BtfEnumValue(_btf, _btf.ReadWord(at), _signed ? (int)v : (long)v);
            }
        }
    }

    public Enumerator GetEnumerator() => new(this);

    public struct Enumerator(BtfEnumValueList list)
    {
        private int _index = -1;

        public bool MoveNext() => ++_index < list.Count;

        public readonly BtfEnumValue Current => list[_index];
    }
}

/// <summary>A function prototype's parameter. The last one of a variadic function has no name and type 0.</summary>
public readonly struct BtfParameter(Btf btf, uint nameOffset, int typeId)
{
    public uint NameOffset { get; } = nameOffset;

    public string Name => btf.GetString(NameOffset);

    public ReadOnlySpan<byte> NameUtf8 => btf.GetStringUtf8(NameOffset);

    public int TypeId { get; } = typeId;

    public BtfType Type => btf.GetType(TypeId);
}

public readonly struct BtfParameterList
{
    private readonly Btf _btf;
    private readonly int _start;

    internal BtfParameterList(Btf btf, int start, int count)
    {
        _btf = btf;
        _start = start;
        Count = count;
    }

    public int Count { get; }

    public BtfParameter this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            int at = _start + 8 * index;
            return new BtfParameter(_btf, _btf.ReadWord(at), (int)_btf.ReadWord(at + 4));
        }
    }

    public Enumerator GetEnumerator() => new(this);

    public struct Enumerator(BtfParameterList list)
    {
        private int _index = -1;

        public bool MoveNext() => ++_index < list.Count;

        public readonly BtfParameter Current => list[_index];
    }
}

/// <summary>A DATASEC entry: a VAR (or FUNC for externs) at a byte offset in the section.</summary>
public readonly struct BtfSectionVariable(Btf btf, int typeId, uint offset, uint size)
{
    public int TypeId { get; } = typeId;

    public BtfType Type => btf.GetType(TypeId);

    public uint Offset { get; } = offset;

    public uint Size { get; } = size;
}

public readonly struct BtfSectionVariableList
{
    private readonly Btf _btf;
    private readonly int _start;

    internal BtfSectionVariableList(Btf btf, int start, int count)
    {
        _btf = btf;
        _start = start;
        Count = count;
    }

    public int Count { get; }

    public BtfSectionVariable this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            int at = _start + 12 * index;
            return new BtfSectionVariable(_btf, (int)_btf.ReadWord(at), _btf.ReadWord(at + 4), _btf.ReadWord(at + 8));
        }
    }

    public Enumerator GetEnumerator() => new(this);

    public struct Enumerator(BtfSectionVariableList list)
    {
        private int _index = -1;

        public bool MoveNext() => ++_index < list.Count;

        public readonly BtfSectionVariable Current => list[_index];
    }
}
