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

    /// <summary>One numbered value: how it was computed, and the next value in its hash chain.</summary>
    private struct Node
    {
        public int Code;
        public uint V0;
        public uint V1;
        public uint Next;
    }

    /// <summary>What is known of a value: whether it is a constant, and which.</summary>
    private struct Info
    {
        public bool IsConstant;
        public uint Constant;
    }

    // A bucket's head is valid only if stamped with the current pass, so that starting a pass
    // need not clear the table.
    private readonly uint[] _buckets = new uint[Modulus];
    private readonly uint[] _bucketStamps = new uint[Modulus];
    private uint _stamp = 1;
    // Indexed by value number (slot 0 stands for Unknown and is never a constant).
    private Node[] _nodes = [];
    private Info[] _info = [];
    private uint _last;

    /// <summary>Makes room for <paramref name="capacity"/> values per pass (more are still possible, only slower).</summary>
    public void EnsureCapacity(int capacity)
    {
        Reset(); // the table may hold the values of an earlier graph
        capacity++;
        if (_nodes.Length < capacity)
            Resize(Math.Max(capacity, 64));
    }

    /// <summary>Forgets every value (the start of each optimizer pass).</summary>
    public void Reset()
    {
        if (_last != 0)
            Array.Clear(_info, 0, (int)_last + 1);
        _last = 0;
        if (++_stamp == 0)
        {
            Array.Clear(_bucketStamps);
            _stamp = 1;
        }
    }

    /// <summary>Value numbers handed out so far, Unknown included.</summary>
    public int Count => (int)_last + 1;

    public bool IsConstant(uint value) => _info[value].IsConstant;

    public uint ConstantOf(uint value) => _info[value].Constant;

    /// <summary>The value number of an immediate constant.</summary>
    public uint Constant(uint k) => Lookup(Ld | Imm | W, k, 0);

    /// <summary>The number of the value computed by <paramref name="code"/> from <paramref name="v0"/> and <paramref name="v1"/>; new if never seen.</summary>
    public uint Lookup(int code, uint v0, uint v1)
    {
        uint hash = ((uint)code ^ (v0 << 4) ^ (v1 << 8)) % Modulus;
        Node[] nodes = _nodes;
        uint head = _bucketStamps[hash] == _stamp ? _buckets[hash] : Unknown;
        for (uint v = head; v != Unknown; v = nodes[v].Next)
        {
            ref Node node = ref nodes[v];
            if (node.Code == code && node.V0 == v0 && node.V1 == v1)
                return v;
        }

        uint value = ++_last;
        if (value >= nodes.Length)
            Resize(nodes.Length * 2); // libpcap's bound is three values per statement; never trust it blindly
        _nodes[value] = new Node { Code = code, V0 = v0, V1 = v1, Next = head };
        _buckets[hash] = value;
        _bucketStamps[hash] = _stamp;
        if (Mode(code) == Imm && (Class(code) == Ld || Class(code) == Ldx))
            _info[value] = new Info { IsConstant = true, Constant = v0 };
        return value;
    }

    private void Resize(int size)
    {
        Array.Resize(ref _nodes, size);
        Array.Resize(ref _info, size);
    }
}
