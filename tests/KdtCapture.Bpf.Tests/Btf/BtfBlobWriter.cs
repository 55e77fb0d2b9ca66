using System.Buffers.Binary;
using System.Text;
using KdtCapture.Bpf.Btf;

namespace KdtCapture.Bpf.Tests.Btf;

/// <summary>
/// Writes small BTF blobs word by word from the uapi layout (header, 12-byte records with their
/// trailers, NUL-separated strings), independently of the parser under test. Split blobs number
/// their types and strings after a base's.
/// </summary>
internal sealed class BtfBlobWriter
{
    private readonly List<uint> _types = [];
    private readonly MemoryStream _strings = new();
    private readonly int _firstId;
    private readonly uint _firstString;
    private int _count;

    public BtfBlobWriter(int firstId = 1, uint firstString = 0)
    {
        _firstId = firstId;
        _firstString = firstString;
        if (firstString == 0)
            _strings.WriteByte(0);
    }

    public static BtfBlobWriter SplitOn(Bpf.Btf.Btf baseBtf)
    {
        var header = baseBtf.RawBytes.Span;
        uint strLen = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        return new BtfBlobWriter(baseBtf.TypeCount, (uint)baseBtf.FirstLocalStringOffset + strLen);
    }

    public uint String(string s)
    {
        if (s.Length == 0)
            return 0;
        uint at = _firstString + (uint)_strings.Length;
        _strings.Write(Encoding.UTF8.GetBytes(s));
        _strings.WriteByte(0);
        return at;
    }

    public int Record(BtfKind kind, string name, int vlen, uint sizeOrType, bool kindFlag = false, params uint[] trailer)
    {
        _types.Add(String(name));
        _types.Add((uint)vlen | ((uint)kind << 24) | (kindFlag ? 0x8000_0000u : 0));
        _types.Add(sizeOrType);
        _types.AddRange(trailer);
        return _firstId + _count++;
    }

    public int Int(string name, uint size, uint encoding) => Record(BtfKind.Int, name, 0, size, false, (encoding << 24) | (size * 8));

    public int Pointer(int target) => Record(BtfKind.Pointer, "", 0, (uint)target);

    public int Struct(string name, uint size, params (string Name, int Type, uint BitOffset)[] members)
    {
        var trailer = new List<uint>();
        foreach (var (n, t, off) in members)
            trailer.AddRange([String(n), (uint)t, off]);
        return Record(BtfKind.Struct, name, members.Length, size, false, [.. trailer]);
    }

    public int FunctionProto(int returnType, params (string Name, int Type)[] parameters)
    {
        var trailer = new List<uint>();
        foreach (var (n, t) in parameters)
            trailer.AddRange([String(n), (uint)t]);
        return Record(BtfKind.FunctionProto, "", parameters.Length, (uint)returnType, false, [.. trailer]);
    }

    public int Function(string name, int proto, BtfFunctionLinkage linkage = BtfFunctionLinkage.Global) =>
        Record(BtfKind.Function, name, (int)linkage, (uint)proto);

    public byte[] ToArray(bool bigEndian = false)
    {
        var strings = _strings.ToArray();
        int typeLen = _types.Count * 4;
        var blob = new byte[24 + typeLen + strings.Length];
        void Put32(int at, uint v)
        {
            if (bigEndian)
                BinaryPrimitives.WriteUInt32BigEndian(blob.AsSpan(at), v);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(at), v);
        }
        if (bigEndian)
            BinaryPrimitives.WriteUInt16BigEndian(blob, 0xEB9F);
        else
            BinaryPrimitives.WriteUInt16LittleEndian(blob, 0xEB9F);
        blob[2] = 1;
        Put32(4, 24);
        Put32(8, 0);
        Put32(12, (uint)typeLen);
        Put32(16, (uint)typeLen);
        Put32(20, (uint)strings.Length);
        for (int i = 0; i < _types.Count; i++)
            Put32(24 + 4 * i, _types[i]);
        strings.CopyTo(blob, 24 + typeLen);
        return blob;
    }
}
