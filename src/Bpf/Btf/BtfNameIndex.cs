using System.Buffers.Binary;

namespace KdtCapture.Bpf.Btf;

/// <summary>
/// Names → type ids for one blob, built once on the first lookup: a chained hash table over the
/// names' UTF-8 bytes in the string section, so building it decodes no string.
/// </summary>
internal sealed class BtfNameIndex
{
    private readonly int[] _buckets;   // hash & mask → local index + 1 (0 = empty)
    private readonly int[] _next;      // local index → next local index + 1 in the same bucket
    private readonly int[] _hashes;    // local index → full hash, to skip most byte comparisons
    private readonly int _mask;
    private readonly int _firstId;

    private BtfNameIndex(int[] buckets, int[] next, int[] hashes, int firstId)
    {
        _buckets = buckets;
        _next = next;
        _hashes = hashes;
        _mask = buckets.Length - 1;
        _firstId = firstId;
    }

    public static BtfNameIndex Build(Btf btf, int[] recordOffsets, int firstId)
    {
        int count = recordOffsets.Length;
        int size = 16;
        while (size < count * 2)
            size <<= 1;
        var buckets = new int[size];
        var next = new int[count];
        var hashes = new int[count];
        var data = btf.Data;
        // Insert in reverse so that each chain lists ids in ascending order.
        for (int i = count - 1; i >= 0; i--)
        {
            uint nameOff = BinaryPrimitives.ReadUInt32LittleEndian(data[recordOffsets[i]..]);
            if (nameOff == 0)
                continue;
            int h = Hash(btf.GetStringUtf8(nameOff));
            hashes[i] = h;
            int b = h & (size - 1);
            next[i] = buckets[b];
            buckets[b] = i + 1;
        }
        return new BtfNameIndex(buckets, next, hashes, firstId);
    }

    public void Collect(Btf btf, ReadOnlySpan<byte> name, List<int> into)
    {
        if (name.IsEmpty)
            return;
        int h = Hash(name);
        for (int e = _buckets[h & _mask]; e != 0; e = _next[e - 1])
        {
            int i = e - 1;
            if (_hashes[i] != h)
                continue;
            var t = btf.GetType(_firstId + i);
            if (t.NameUtf8.SequenceEqual(name))
                into.Add(t.Id);
        }
    }

    /// <summary>FNV-1a: short names, no need for more.</summary>
    private static int Hash(ReadOnlySpan<byte> s)
    {
        uint h = 2166136261;
        foreach (byte b in s)
            h = (h ^ b) * 16777619;
        return (int)h;
    }
}
