using System.Buffers.Binary;
using KdtCapture.Bpf.Btf;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Bpf.Elf;

/// <summary>A func_info record: the instruction (byte offset in its ELF section) where a function starts, and its BTF FUNC id.</summary>
public readonly record struct BtfFuncInfo(uint InstructionOffset, int TypeId);

/// <summary>A line_info record: an instruction's source file, line and column (string offsets in .BTF).</summary>
public readonly record struct BtfLineInfo(uint InstructionOffset, uint FileNameOffset, uint LineOffset, uint LineAndColumn)
{
    public int Line => (int)(LineAndColumn >> 10);

    public int Column => (int)(LineAndColumn & 0x3ff);
}

/// <summary>CO-RE relocation kinds (enum bpf_core_relo_kind).</summary>
public enum CoReRelocationKind : uint
{
    FieldByteOffset = 0,
    FieldByteSize = 1,
    FieldExists = 2,
    FieldSigned = 3,
    FieldLShiftU64 = 4,
    FieldRShiftU64 = 5,
    TypeIdLocal = 6,
    TypeIdTarget = 7,
    TypeExists = 8,
    TypeSize = 9,
    EnumValueExists = 10,
    EnumValue = 11,
    TypeMatches = 12,
}

/// <summary>A bpf_core_relo record: the instruction, the local root type, the access string ("0:1:2") and what to compute.</summary>
public readonly record struct CoReRelocationRecord(uint InstructionOffset, int TypeId, uint AccessStringOffset, CoReRelocationKind Kind);

/// <summary>The records of one ELF section in .BTF.ext.</summary>
public sealed record BtfExtSection<T>(string SectionName, T[] Records);

/// <summary>
/// The .BTF.ext section clang writes next to .BTF: per ELF section, func_info, line_info and
/// CO-RE relocation records. Instruction offsets are bytes from the section start, as in the
/// object; the loader turns them into instruction indices of the final program.
/// </summary>
public sealed class BtfExtInfo
{
    private const ushort Magic = 0xEB9F;
    private const int MinimumHeaderSize = 24;
    private const int CoReHeaderSize = 32;

    public IReadOnlyList<BtfExtSection<BtfFuncInfo>> FuncInfos { get; private init; } = [];

    public IReadOnlyList<BtfExtSection<BtfLineInfo>> LineInfos { get; private init; } = [];

    public IReadOnlyList<BtfExtSection<CoReRelocationRecord>> CoReRelocations { get; private init; } = [];

    /// <summary>Record sizes as written (the kernel wants func_info/line_info records of the size it knows).</summary>
    public int FuncInfoRecordSize { get; private init; }

    public int LineInfoRecordSize { get; private init; }

    public static BtfExtInfo Empty { get; } = new();

    /// <summary>Parses .BTF.ext; section names are strings of <paramref name="btf"/> (the object's .BTF).</summary>
    public static BtfExtInfo Parse(ReadOnlySpan<byte> data, BtfData btf)
    {
        if (data.Length < MinimumHeaderSize)
            throw new ElfFormatException($".BTF.ext: {data.Length} bytes is too short for its header");
        if (BinaryPrimitives.ReadUInt16LittleEndian(data) != Magic)
            throw new ElfFormatException(".BTF.ext: bad magic (not little-endian BTF.ext)");
        if (data[2] != 1)
            throw new ElfFormatException($".BTF.ext: version {data[2]} is not supported (only 1)");
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (headerLength < MinimumHeaderSize || headerLength > data.Length)
            throw new ElfFormatException($".BTF.ext: header length {headerLength} is out of range");
        var body = data[(int)headerLength..];
        uint funcOff = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
        uint funcLen = BinaryPrimitives.ReadUInt32LittleEndian(data[12..]);
        uint lineOff = BinaryPrimitives.ReadUInt32LittleEndian(data[16..]);
        uint lineLen = BinaryPrimitives.ReadUInt32LittleEndian(data[20..]);
        uint coreOff = 0, coreLen = 0;
        if (headerLength >= CoReHeaderSize)
        {
            coreOff = BinaryPrimitives.ReadUInt32LittleEndian(data[24..]);
            coreLen = BinaryPrimitives.ReadUInt32LittleEndian(data[28..]);
        }

        var funcs = ReadSections(body, funcOff, funcLen, "func_info", 8, btf, out int funcSize,
            static r => new BtfFuncInfo(U32(r, 0), checked((int)U32(r, 4))));
        var lines = ReadSections(body, lineOff, lineLen, "line_info", 16, btf, out int lineSize,
            static r => new BtfLineInfo(U32(r, 0), U32(r, 4), U32(r, 8), U32(r, 12)));
        var relos = ReadSections(body, coreOff, coreLen, "CO-RE relocation", 16, btf, out _,
            static r => new CoReRelocationRecord(U32(r, 0), checked((int)U32(r, 4)), U32(r, 8), (CoReRelocationKind)U32(r, 12)));
        return new BtfExtInfo
        {
            FuncInfos = funcs,
            LineInfos = lines,
            CoReRelocations = relos,
            FuncInfoRecordSize = funcSize,
            LineInfoRecordSize = lineSize,
        };
    }

    private delegate T RecordReader<T>(ReadOnlySpan<byte> record);

    private static List<BtfExtSection<T>> ReadSections<T>(ReadOnlySpan<byte> body, uint offset, uint length, string what,
        int minimumRecordSize, BtfData btf, out int recordSize, RecordReader<T> read)
    {
        var result = new List<BtfExtSection<T>>();
        recordSize = 0;
        if (length == 0)
            return result;
        if ((ulong)offset + length > (ulong)body.Length)
            throw new ElfFormatException($".BTF.ext: {what} ({offset}+{length}) runs past the section end");
        var part = body.Slice((int)offset, (int)length);
        if (part.Length < 4)
            throw new ElfFormatException($".BTF.ext: {what} has no record size");
        recordSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(part);
        if (recordSize < minimumRecordSize || (recordSize & 3) != 0)
            throw new ElfFormatException($".BTF.ext: {what} record size {recordSize} is invalid");
        int at = 4;
        while (at < part.Length)
        {
            if (part.Length - at < 8)
                throw new ElfFormatException($".BTF.ext: {what} section header at {at} is cut short");
            uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(part[at..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(part[(at + 4)..]);
            at += 8;
            if (count == 0 || (ulong)count * (ulong)recordSize > (ulong)(part.Length - at))
                throw new ElfFormatException($".BTF.ext: {what} section at {at - 8} claims {count} records, more than remain");
            string name = SectionName(btf, nameOffset, what);
            var records = new T[count];
            for (int i = 0; i < records.Length; i++)
            {
                records[i] = read(part.Slice(at, recordSize));
                at += recordSize;
            }
            result.Add(new BtfExtSection<T>(name, records));
        }
        return result;
    }

    private static string SectionName(BtfData btf, uint offset, string what)
    {
        try
        {
            return btf.GetString(offset);
        }
        catch (Exception e) when (e is BtfFormatException or ArgumentOutOfRangeException or InvalidOperationException)
        {
            throw new ElfFormatException($".BTF.ext: {what} section name offset {offset} is not a .BTF string");
        }
    }

    private static uint U32(ReadOnlySpan<byte> r, int at) => BinaryPrimitives.ReadUInt32LittleEndian(r[at..]);

    /// <summary>The records for one ELF section, or an empty array.</summary>
    public static T[] For<T>(IReadOnlyList<BtfExtSection<T>> sections, string sectionName)
    {
        foreach (var s in sections)
            if (s.SectionName == sectionName)
                return s.Records;
        return [];
    }
}
