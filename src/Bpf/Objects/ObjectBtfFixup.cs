using System.Buffers.Binary;
using System.Text;
using KdtCapture.Bpf.Elf;

namespace KdtCapture.Bpf.Objects;

/// <summary>
/// What clang leaves for the loader in an object's .BTF: DATASEC sizes and variable offsets are
/// 0, because only the linker knows them. We take them from the ELF section sizes and the
/// variables' symbols, and order each DATASEC's variables by offset as the kernel requires.
/// Works on a copy of the raw blob before it is parsed.
/// </summary>
internal static class ObjectBtfFixup
{
    private const int RecordHeader = 12;

    public static byte[] Apply(ReadOnlySpan<byte> raw, ElfFile elf)
    {
        var blob = raw.ToArray();
        if (blob.Length < 24 || BinaryPrimitives.ReadUInt16LittleEndian(blob) != 0xEB9F)
            throw new ElfFormatException(".BTF: not a little-endian BTF blob");
        int hdrLen = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4));
        int typeOff = hdrLen + (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(8));
        int typeLen = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(12));
        int strOff = hdrLen + (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(16));
        int strLen = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(20));
        if (typeOff < 0 || strOff < 0 || (long)typeOff + typeLen > blob.Length || (long)strOff + strLen > blob.Length)
            throw new ElfFormatException(".BTF: its sections run past the end");

        // Record offsets by id (1-based), so that a DATASEC's VAR entries can be named.
        var offsets = new List<int> { -1 };
        for (int at = typeOff, end = typeOff + typeLen; at < end;)
        {
            if (end - at < RecordHeader)
                throw new ElfFormatException(".BTF: a type record is cut short");
            offsets.Add(at);
            at += RecordHeader + ExtraSize(blob, at);
        }

        string Name(int recordOffset)
        {
            uint nameOff = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(recordOffset));
            if (nameOff >= strLen)
                throw new ElfFormatException($".BTF: name offset {nameOff} is past the strings");
            var s = blob.AsSpan(strOff + (int)nameOff, strLen - (int)nameOff);
            return Encoding.UTF8.GetString(s[..s.IndexOf((byte)0)]);
        }

        for (int id = 1; id < offsets.Count; id++)
        {
            int at = offsets[id];
            uint info = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(at + 4));
            if (((info >> 24) & 0x1f) != 15) // DATASEC
                continue;
            string sectionName = Name(at);
            var section = elf.FindSection(sectionName);
            if (section is null)
                continue; // e.g. extern sections (.kconfig/.ksyms) have no ELF section; nothing to fix
            BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(at + 8), checked((uint)section.Size));
            int vlen = (int)(info & 0xffff);
            var entries = new (uint Type, uint Offset, uint Size)[vlen];
            for (int i = 0; i < vlen; i++)
            {
                var e = blob.AsSpan(at + RecordHeader + i * 12);
                uint varId = BinaryPrimitives.ReadUInt32LittleEndian(e);
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
                if (varId == 0 || varId >= offsets.Count)
                    throw new ElfFormatException($".BTF: DATASEC '{sectionName}' names type {varId}, which does not exist");
                string varName = Name(offsets[(int)varId]);
                var symbol = FindSymbol(elf, section.Index, varName)
                    ?? throw new ElfFormatException($".BTF: variable '{varName}' of '{sectionName}' has no ELF symbol");
                entries[i] = (varId, checked((uint)symbol.Value), size);
            }
            Array.Sort(entries, static (a, b) => a.Offset.CompareTo(b.Offset));
            for (int i = 0; i < vlen; i++)
            {
                var e = blob.AsSpan(at + RecordHeader + i * 12);
                BinaryPrimitives.WriteUInt32LittleEndian(e, entries[i].Type);
                BinaryPrimitives.WriteUInt32LittleEndian(e[4..], entries[i].Offset);
                BinaryPrimitives.WriteUInt32LittleEndian(e[8..], entries[i].Size);
            }
        }
        return blob;
    }

    private static ElfSymbol? FindSymbol(ElfFile elf, int sectionIndex, string name)
    {
        foreach (var s in elf.Symbols)
            if (s.SectionIndex == sectionIndex && s.Name == name && s.Type is ElfSymbolType.Object or ElfSymbolType.None)
                return s;
        return null;
    }

    /// <summary>Bytes after the 12-byte header of a record, by kind (include/uapi/linux/btf.h).</summary>
    private static int ExtraSize(byte[] blob, int at)
    {
        uint info = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(at + 4));
        int vlen = (int)(info & 0xffff);
        return ((info >> 24) & 0x1f) switch
        {
            1 => 4,                     // INT
            3 => 12,                    // ARRAY
            4 or 5 => 12 * vlen,        // STRUCT, UNION
            6 => 8 * vlen,              // ENUM
            13 => 8 * vlen,             // FUNC_PROTO
            14 => 4,                    // VAR
            15 => 12 * vlen,            // DATASEC
            17 => 4,                    // DECL_TAG
            19 => 12 * vlen,            // ENUM64
            2 or 7 or 8 or 9 or 10 or 11 or 12 or 16 or 18 => 0,
            var k => throw new ElfFormatException($".BTF: unknown type kind {k}"),
        };
    }
}
