using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace KdtCapture.Bpf.Btf;

/// <summary>
/// A parsed BTF blob: /sys/kernel/btf/vmlinux, a module's split BTF on top of vmlinux, or the
/// .BTF section of an object file. Parsing only checks the blob and indexes where each type
/// record starts; records are decoded when asked for (<see cref="BtfType"/> is a view over the
/// shared buffer), and the name index is built on the first lookup by name.
/// </summary>
/// <remarks>
/// Type ids are global across a base and its split: a split blob's first type has id
/// <c>Base.TypeCount</c> and its string offsets continue after the base's string section, as
/// the kernel numbers module BTF. A big-endian blob is byte-swapped on parse, so
/// <see cref="RawBytes"/> is always in this machine's (little-endian) order, ready for BTF_LOAD.
/// </remarks>
public sealed class Btf
{
    public const ushort Magic = 0xEB9F;
    public const int HeaderSize = 24;
    internal const int RecordHeaderSize = 12;

    /// <summary>Where the running kernel publishes its own BTF.</summary>
    public const string KernelPath = "/sys/kernel/btf/vmlinux";

    private static readonly Lock s_kernelLock = new();
    private static Btf? s_kernel;

    private readonly byte[] _data;
    private readonly int _typesStart;
    private readonly int _typesLength;
    private readonly int _stringsStart;
    private readonly int _stringsLength;
    /// <summary>Absolute offset in <see cref="_data"/> of each local type's record, by (id - FirstLocalId).</summary>
    private readonly int[] _recordOffsets;
    private readonly string?[] _names;
    private BtfNameIndex? _nameIndex;

    private Btf(byte[] data, int typesStart, int typesLength, int stringsStart, int stringsLength, int[] recordOffsets, Btf? baseBtf)
    {
        _data = data;
        _typesStart = typesStart;
        _typesLength = typesLength;
        _stringsStart = stringsStart;
        _stringsLength = stringsLength;
        _recordOffsets = recordOffsets;
        _names = new string?[recordOffsets.Length];
        Base = baseBtf;
        FirstLocalId = baseBtf?.TypeCount ?? 1;
        FirstLocalStringOffset = baseBtf is null ? 0 : baseBtf.FirstLocalStringOffset + baseBtf._stringsLength;
    }

    /// <summary>The BTF this one is split on (vmlinux for a module), or null.</summary>
    public Btf? Base { get; }

    /// <summary>The id of the first type defined by this blob: 1, or the base's <see cref="TypeCount"/>.</summary>
    public int FirstLocalId { get; }

    /// <summary>Types defined by this blob itself (not counting void or the base's).</summary>
    public int LocalTypeCount => _recordOffsets.Length;

    /// <summary>One past the highest valid type id; id 0 (void) is always valid.</summary>
    public int TypeCount => FirstLocalId + _recordOffsets.Length;

    /// <summary>The string offset this blob's own string section starts at (0 unless split).</summary>
    public int FirstLocalStringOffset { get; }

    /// <summary>
    /// The blob as the kernel's BTF_LOAD wants it: header, types, strings, in native byte order.
    /// For a split blob only its own part (the kernel takes the base by fd).
    /// </summary>
    public ReadOnlyMemory<byte> RawBytes => _data;

    /// <summary>A copy of <see cref="RawBytes"/> to hand to the kernel or write to a file.</summary>
    public byte[] Marshal() => (byte[])_data.Clone();

    /// <summary>The running kernel's BTF, read once per process.</summary>
    public static Btf Kernel
    {
        get
        {
            lock (s_kernelLock)
                return s_kernel ??= Load(KernelPath);
        }
    }

    /// <summary>Reads a BTF file (vmlinux, a /sys/kernel/btf/MODULE, a raw dump); split when <paramref name="baseBtf"/> is given.</summary>
    public static Btf Load(string path, Btf? baseBtf = null)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BtfFormatException($"cannot read BTF from {path}: {e.Message}");
        }
        return ParseOwned(data, baseBtf, path);
    }

    /// <summary>Parses a copy of <paramref name="blob"/>; split on <paramref name="baseBtf"/> when given.</summary>
    public static Btf Parse(ReadOnlySpan<byte> blob, Btf? baseBtf = null) => ParseOwned(blob.ToArray(), baseBtf, "BTF");

    private static Btf ParseOwned(byte[] data, Btf? baseBtf, string what)
    {
        if (data.Length < HeaderSize)
            throw new BtfFormatException($"{what}: {data.Length} bytes is too short for a BTF header");
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(data);
        bool swap;
        if (magic == Magic)
            swap = false;
        else if (magic == BinaryPrimitives.ReverseEndianness(Magic))
            swap = true;
        else
            throw new BtfFormatException($"{what}: not BTF (magic 0x{magic:x4}, expected 0x{Magic:x4})");
        if (data[2] != 1)
            throw new BtfFormatException($"{what}: BTF version {data[2]} is not supported (only 1)");

        uint hdrLen = ReadHeaderWord(data, 4, swap);
        uint typeOff = ReadHeaderWord(data, 8, swap);
        uint typeLen = ReadHeaderWord(data, 12, swap);
        uint strOff = ReadHeaderWord(data, 16, swap);
        uint strLen = ReadHeaderWord(data, 20, swap);
        if (hdrLen < HeaderSize || hdrLen > data.Length)
            throw new BtfFormatException($"{what}: header length {hdrLen} is out of range");
        long typesStart = hdrLen + (long)typeOff, stringsStart = hdrLen + (long)strOff;
        if (typesStart + typeLen > data.Length || stringsStart + strLen > data.Length)
            throw new BtfFormatException($"{what}: type or string section runs past the end of the blob ({data.Length} bytes)");
        if ((typeOff & 3) != 0 || (typeLen & 3) != 0)
            throw new BtfFormatException($"{what}: type section is not 4-byte aligned");
        if (typesStart < stringsStart ? typesStart + typeLen > stringsStart : stringsStart + strLen > typesStart)
            throw new BtfFormatException($"{what}: type and string sections overlap");
        // A base's strings start with the empty name; every blob's strings end with a NUL.
        if (strLen == 0 ? baseBtf is null : (baseBtf is null && data[stringsStart] != 0) || data[stringsStart + strLen - 1] != 0)
            throw new BtfFormatException($"{what}: malformed string section");

        if (swap)
        {
            // Every field after the header is a 32-bit word, whatever the kind: swap them all.
            WriteHeaderWords(data, hdrLen, typeOff, typeLen, strOff, strLen);
            var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(data.AsSpan((int)typesStart, (int)typeLen));
            BinaryPrimitives.ReverseEndianness(words, words);
        }

        var offsets = IndexRecords(data, (int)typesStart, (int)typeLen, what);
        var btf = new Btf(data, (int)typesStart, (int)typeLen, (int)stringsStart, (int)strLen, offsets, baseBtf);
        btf.Validate(what);
        return btf;
    }

    private static uint ReadHeaderWord(byte[] data, int at, bool swap)
    {
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at));
        return swap ? BinaryPrimitives.ReverseEndianness(v) : v;
    }

    private static void WriteHeaderWords(byte[] data, uint hdrLen, uint typeOff, uint typeLen, uint strOff, uint strLen)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(data, Magic);
        var h = data.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], hdrLen);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], typeOff);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], typeLen);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], strOff);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], strLen);
    }

    /// <summary>One pass over the type section recording where each record starts.</summary>
    private static int[] IndexRecords(byte[] data, int start, int length, string what)
    {
        // Records are at least 12 bytes; count first so the index is one exact allocation.
        int end = start + length, count = 0;
        for (int at = start; at < end; count++)
            at = NextRecord(data, at, end, what);
        var offsets = new int[count];
        for (int i = 0, at = start; i < count; i++)
        {
            offsets[i] = at;
            at = NextRecord(data, at, end, what);
        }
        return offsets;
    }

    private static int NextRecord(byte[] data, int at, int end, string what)
    {
        if (end - at < RecordHeaderSize)
            throw new BtfFormatException($"{what}: type record at {at} is cut short");
        uint info = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 4));
        var kind = (BtfKind)((info >> 24) & 0x1f);
        if (kind is BtfKind.Void || kind > BtfKind.Enum64)
            throw new BtfFormatException($"{what}: type record at {at} has unknown kind {(int)kind}");
        int next = at + RecordHeaderSize + BtfKindNames.TrailerSize(kind, (int)(info & 0xffff));
        if (next > end)
            throw new BtfFormatException($"{what}: {kind.ToKernelName()} record at {at} runs past the type section");
        return next;
    }

    /// <summary>Checks every name offset and type reference once, so that views never read outside the blob.</summary>
    private void Validate(string what)
    {
        int count = TypeCount;
        for (int i = 0; i < _recordOffsets.Length; i++)
        {
            var t = new BtfType(this, FirstLocalId + i, _recordOffsets[i]);
            CheckString(t.NameOffset, t.Id, what);
            switch (t.Kind)
            {
                case BtfKind.Pointer or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                    or BtfKind.Function or BtfKind.FunctionProto or BtfKind.Variable or BtfKind.DeclTag or BtfKind.TypeTag:
                    CheckId(t.RawType, t.Id, what);
                    break;
                case BtfKind.Array:
                    var a = t.Array;
                    CheckId((uint)a.ElementTypeId, t.Id, what);
                    CheckId((uint)a.IndexTypeId, t.Id, what);
                    break;
                case BtfKind.Struct or BtfKind.Union:
                    foreach (var m in t.Members)
                    {
                        CheckString(m.NameOffset, t.Id, what);
                        CheckId((uint)m.TypeId, t.Id, what);
                    }
                    break;
                case BtfKind.Enum or BtfKind.Enum64:
                    foreach (var v in t.EnumValues)
                        CheckString(v.NameOffset, t.Id, what);
                    break;
                case BtfKind.DataSection:
                    foreach (var v in t.SectionVariables)
                        CheckId((uint)v.TypeId, t.Id, what);
                    break;
            }
            if (t.Kind == BtfKind.FunctionProto)
            {
                foreach (var p in t.Parameters)
                {
                    CheckString(p.NameOffset, t.Id, what);
                    CheckId((uint)p.TypeId, t.Id, what);
                }
            }
        }

        void CheckId(uint id, int owner, string w)
        {
            if (id >= (uint)count)
                throw new BtfFormatException($"{w}: type [{owner}] refers to type id {id}, past the last id {count - 1}");
        }
    }

    private void CheckString(uint offset, int owner, string what)
    {
        if (offset >= (uint)(FirstLocalStringOffset + _stringsLength))
            throw new BtfFormatException($"{what}: type [{owner}] has a name offset {offset} past the string section");
    }

    // ---- access ----------------------------------------------------------------------------

    /// <summary>The type with this id (0 is void); ids below <see cref="FirstLocalId"/> come from the base.</summary>
    public BtfType this[int id] => GetType(id);

    public BtfType GetType(int id)
    {
        int local = id - FirstLocalId;
        if ((uint)local < (uint)_recordOffsets.Length)
            return new BtfType(this, id, _recordOffsets[local]);
        if (id == 0)
            return new BtfType(this, 0, -1);
        if (Base is not null && (uint)id < (uint)FirstLocalId)
            return Base.GetType(id);
        throw new BtfFormatException($"type id {id} is out of range (0..{TypeCount - 1})");
    }

    public bool TryGetType(int id, out BtfType type)
    {
        if ((uint)id < (uint)TypeCount)
        {
            type = GetType(id);
            return true;
        }
        type = default;
        return false;
    }

    /// <summary>Every type, base ones included, in id order (void excluded).</summary>
    public BtfTypeRange Types => new(this, 1, TypeCount);

    /// <summary>The types this blob defines itself, in id order.</summary>
    public BtfTypeRange LocalTypes => new(this, FirstLocalId, TypeCount);

    internal ReadOnlySpan<byte> Data => _data;

    /// <summary>The NUL-terminated string at a BTF string offset, without the NUL.</summary>
    public ReadOnlySpan<byte> GetStringUtf8(uint offset)
    {
        long local = (long)offset - FirstLocalStringOffset;
        if (local < 0)
            return Base is null ? default : Base.GetStringUtf8(offset);
        if (local >= _stringsLength)
            throw new BtfFormatException($"string offset {offset} is past the string section");
        var s = _data.AsSpan(_stringsStart + (int)local, _stringsLength - (int)local);
        int nul = s.IndexOf((byte)0);
        return s[..nul];
    }

    public string GetString(uint offset)
    {
        var s = GetStringUtf8(offset);
        return s.IsEmpty ? "" : Encoding.UTF8.GetString(s);
    }

    /// <summary>Type names are asked for again and again (rendering, suggestions): decode each once.</summary>
    internal string GetTypeName(int id, uint nameOffset)
    {
        int local = id - FirstLocalId;
        if ((uint)local >= (uint)_names.Length)
            return GetString(nameOffset);
        return _names[local] ??= GetString(nameOffset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint ReadWord(int absoluteOffset) => BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(absoluteOffset));

    // ---- lookup by name --------------------------------------------------------------------

    internal BtfNameIndex NameIndex
    {
        get
        {
            var index = Volatile.Read(ref _nameIndex);
            if (index is null)
            {
                index = BtfNameIndex.Build(this, _recordOffsets, FirstLocalId);
                Interlocked.CompareExchange(ref _nameIndex, index, null);
                index = _nameIndex!;
            }
            return index;
        }
    }

    /// <summary>Ids of every type with this exact name (any kind), base first.</summary>
    public IReadOnlyList<int> FindAll(string name)
    {
        var result = new List<int>();
        Span<byte> buffer = name.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(name.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(name.Length)];
        var utf8 = buffer[..Encoding.UTF8.GetBytes(name, buffer)];
        CollectByName(utf8, result);
        return result;
    }

    private void CollectByName(ReadOnlySpan<byte> utf8, List<int> into)
    {
        Base?.CollectByName(utf8, into);
        NameIndex.Collect(this, utf8, into);
    }

    /// <summary>The first type with this name and kind (the kernel's btf__find_by_name_kind).</summary>
    public bool TryFind(string name, BtfKind kind, out BtfType type)
    {
        foreach (int id in FindAll(name))
        {
            var t = GetType(id);
            if (t.Kind == kind)
            {
                type = t;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>Like <see cref="TryFind"/> among this blob's own types only (a module's, not its base's).</summary>
    public bool TryFindLocal(string name, BtfKind kind, out BtfType type)
    {
        foreach (int id in FindAll(name))
        {
            if (id < FirstLocalId)
                continue;
            var t = GetType(id);
            if (t.Kind == kind)
            {
                type = t;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>Like <see cref="TryFind"/>, raising <see cref="BtfNotFoundException"/> with the nearest names when absent.</summary>
    public BtfType Find(string name, BtfKind kind)
    {
        if (TryFind(name, kind, out var type))
            return type;
        var near = BtfSuggestions.Nearest(this, name, kind);
        string hint = near.Count == 0 ? "" : $" (did you mean {string.Join(", ", near)}?)";
        throw new BtfNotFoundException($"no {KindWord(kind)} named '{name}' in BTF{hint}", near);
    }

    internal static string KindWord(BtfKind kind) => kind switch
    {
        BtfKind.Function => "kernel function",
        BtfKind.Struct => "struct",
        BtfKind.Union => "union",
        BtfKind.Enum or BtfKind.Enum64 => "enum",
        BtfKind.Typedef => "typedef",
        _ => kind.ToKernelName() + " type",
    };
}

/// <summary>A range of type ids, enumerated without allocation.</summary>
public readonly struct BtfTypeRange(Btf btf, int first, int end)
{
    public int Count => end - first;

    public Enumerator GetEnumerator() => new(btf, first, end);

    public struct Enumerator(Btf btf, int first, int end)
    {
        private int _id = first - 1;

        public bool MoveNext() => ++_id < end;

        public readonly BtfType Current => btf.GetType(_id);
    }
}
