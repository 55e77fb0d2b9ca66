using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// Value numbering (Cocke and Schwartz): every distinct (opcode, operand value, operand value)
/// gets a number, so equal numbers mean equal values. 0 means "unknown". Constants are the values
/// of immediate loads, and remember what they are.
/// </summary>
internal sealed class ValueNumbering
{
    /// <summary>libpcap's hash size; chains only speed up lookups, numbers depend on insertion order alone.</summary>
    private const int Modulus = 213;

    public const uint Unknown = 0;

    private readonly int[] _buckets = new int[Modulus];
    // Indexed by value number (slot 0 stands for Unknown and is never a constant).
    private int[] _code;
    private uint[] _v0;
    private uint[] _v1;
    private uint[] _nextInBucket;
    private bool[] _isConstant;
    private uint[] _constant;
    private uint _last;

    public ValueNumbering(int capacity)
    {
        capacity = Math.Max(capacity, 16) + 1;
        _code = new int[capacity];
        _v0 = new uint[capacity];
        _v1 = new uint[capacity];
        _nextInBucket = new uint[capacity];
        _isConstant = new bool[capacity];
        _constant = new uint[capacity];
    }

    /// <summary>Forgets every value (the start of each optimizer pass).</summary>
    public void Reset()
    {
        Array.Clear(_isConstant, 0, (int)_last + 1);
        Array.Clear(_buckets);
        _last = 0;
    }

    public bool IsConstant(uint value) => _isConstant[value];

    public uint ConstantOf(uint value) => _constant[value];

    /// <summary>The value number of an immediate constant.</summary>
    public uint Constant(uint k) => Lookup(Ld | Imm | W, k, 0);

    /// <summary>The number of the value computed by <paramref name="code"/> from <paramref name="v0"/> and <paramref name="v1"/>; new if never seen.</summary>
    public uint Lookup(int code, uint v0, uint v1)
    {
        uint hash = ((uint)code ^ (v0 << 4) ^ (v1 << 8)) % Modulus;
        for (uint v = (uint)_buckets[hash]; v != Unknown; v = _nextInBucket[v])
        {
            if (_code[v] == code && _v0[v] == v0 && _v1[v] == v1)
                return v;
        }

        uint value = ++_last;
        if (value >= _code.Length)
            Grow();
        _code[value] = code;
        _v0[value] = v0;
        _v1[value] = v1;
        _nextInBucket[value] = (uint)_buckets[hash];
        _buckets[hash] = (int)value;
        if (Mode(code) == Imm && (Class(code) == Ld || Class(code) == Ldx))
        {
            _isConstant[value] = true;
            _constant[value] = v0;
        }
        return value;
    }

    // libpcap sizes its table at three values per statement; growing keeps us safe if that bound is ever passed.
    private void Grow()
    {
        int size = _code.Length * 2;
        Array.Resize(ref _code, size);
        Array.Resize(ref _v0, size);
        Array.Resize(ref _v1, size);
        Array.Resize(ref _nextInBucket, size);
        Array.Resize(ref _isConstant, size);
        Array.Resize(ref _constant, size);
    }
}
