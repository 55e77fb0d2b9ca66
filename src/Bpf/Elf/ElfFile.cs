using System.Buffers.Binary;
using System.Text;

namespace KdtCapture.Bpf.Elf;

/// <summary>
/// An ELF64 little-endian relocatable object as clang writes for <c>-target bpf</c>: section
/// headers, the symbol table and REL relocations. Reads from one buffer; every offset is
/// checked, so a damaged file raises <see cref="ElfFormatException"/> naming what is wrong.
/// </summary>
public sealed class ElfFile
{
    private const int HeaderSize = 64;
    private const int SectionHeaderSize = 64;
    private const int SymbolSize = 24;
    private const int RelSize = 16;
    private const ushort RelocatableType = 1; // ET_REL
    /// <summary>EM_BPF.</summary>
    public const ushort BpfMachine = 247;

    private readonly ReadOnlyMemory<byte> _image;
    private readonly ElfSection[] _sections;
    private readonly ElfSymbol[] _symbols;
    private readonly Dictionary<int, ElfRelocation[]> _relocationsByTarget = [];

    private ElfFile(ReadOnlyMemory<byte> image, ElfSection[] sections, ElfSymbol[] symbols)
    {
        _image = image;
        _sections = sections;
        _symbols = symbols;
    }

    /// <summary>The whole file.</summary>
    public ReadOnlyMemory<byte> Image => _image;

    /// <summary>All sections in header order (index 0 is the null section).</summary>
    public IReadOnlyList<ElfSection> Sections => _sections;

    /// <summary>The symbol table in order (index 0 is the null symbol); empty without .symtab.</summary>
    public IReadOnlyList<ElfSymbol> Symbols => _symbols;

    public ushort Machine { get; private init; }

    /// <summary>The first section with this name, or null.</summary>
    public ElfSection? FindSection(string name)
    {
        foreach (var s in _sections)
            if (s.Name == name)
                return s;
        return null;
    }

    /// <summary>Relocations that apply to section <paramref name="targetIndex"/>, in file order (empty if none).</summary>
    public IReadOnlyList<ElfRelocation> RelocationsFor(int targetIndex) =>
        _relocationsByTarget.TryGetValue(targetIndex, out var r) ? r : [];

    /// <summary>Sections that have relocations, with their relocations.</summary>
    public IEnumerable<KeyValuePair<int, ElfRelocation[]>> AllRelocations => _relocationsByTarget;

    public static ElfFile Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElfFormatException($"cannot read {path}: {e.Message}");
        }
        return Parse(bytes);
    }

    public static ElfFile Parse(ReadOnlyMemory<byte> image)
    {
        try
        {
            return ParseChecked(image);
        }
        catch (OverflowException)
        {
            // Every size and index is converted with checked arithmetic: too big means damaged.
            throw new ElfFormatException("a size, offset or index in the file is out of range");
        }
    }

    private static ElfFile ParseChecked(ReadOnlyMemory<byte> image)
    {
        var b = image.Span;
        if (b.Length < HeaderSize || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new ElfFormatException("not an ELF file (no \\x7fELF magic)");
        if (b[4] != 2)
            throw new ElfFormatException($"ELF class {b[4]} is not ELF64");
        if (b[5] != 1)
            throw new ElfFormatException("ELF data is not little-endian (BPF objects for this machine are)");
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(b[16..]);
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(b[18..]);
        if (type != RelocatableType)
            throw new ElfFormatException($"ELF type {type} is not a relocatable object (ET_REL)");
        if (machine != BpfMachine)
            throw new ElfFormatException($"ELF machine {machine} is not BPF ({BpfMachine})");
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(b[40..]);
        ushort shentsize = BinaryPrimitives.ReadUInt16LittleEndian(b[58..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(b[60..]);
        int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(b[62..]);
        if (shnum == 0 && shoff != 0)
        {
            // More than 0xff00 sections: the count lives in section 0's sh_size.
            CheckRange(b, shoff, SectionHeaderSize, "section header 0");
            shnum = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(b[((int)shoff + 32)..]));
        }
        if (shentsize != SectionHeaderSize)
            throw new ElfFormatException($"section header size {shentsize} is not {SectionHeaderSize}");
        CheckRange(b, shoff, (ulong)shnum * SectionHeaderSize, "section header table");
        if (shstrndx >= shnum)
            throw new ElfFormatException($"section name table index {shstrndx} is out of range ({shnum} sections)");

        var raw = new RawSection[shnum];
        for (int i = 0; i < shnum; i++)
        {
            var h = b.Slice((int)shoff + i * SectionHeaderSize, SectionHeaderSize);
            raw[i] = new RawSection(
                BinaryPrimitives.ReadUInt32LittleEndian(h),
                (ElfSectionType)BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
                (ElfSectionFlags)BinaryPrimitives.ReadUInt64LittleEndian(h[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[24..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[32..]),
                BinaryPrimitives.ReadUInt32LittleEndian(h[40..]),
                BinaryPrimitives.ReadUInt32LittleEndian(h[44..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[48..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[56..]));
            if (raw[i].Type != ElfSectionType.NoBits && raw[i].Type != ElfSectionType.Null)
                CheckRange(b, raw[i].Offset, raw[i].Size, $"section {i}");
        }

        var names = SectionBytes(image, raw[shstrndx]);
        var sections = new ElfSection[shnum];
        for (int i = 0; i < shnum; i++)
        {
            var r = raw[i];
            string name = ReadString(names.Span, r.NameOffset, $"name of section {i}");
            var data = r.Type is ElfSectionType.NoBits or ElfSectionType.Null ? ReadOnlyMemory<byte>.Empty : SectionBytes(image, r);
            sections[i] = new ElfSection(i, name, r.Type, r.Flags, r.Offset, r.Size, checked((int)r.Link), checked((int)r.Info),
                r.Alignment, r.EntrySize, data);
        }

        var symbols = ReadSymbols(sections);
        var file = new ElfFile(image, sections, symbols) { Machine = machine };
        foreach (var s in sections)
        {
            if (s.Type == ElfSectionType.RelocationsWithAddend)
                throw new ElfFormatException($"section {s.Name}: RELA relocations are not used by BPF objects");
            if (s.Type != ElfSectionType.Relocations)
                continue;
            if (s.Info <= 0 || s.Info >= shnum)
                throw new ElfFormatException($"relocation section {s.Name} applies to section {s.Info}, which does not exist");
            if (s.Data.Length % RelSize != 0)
                throw new ElfFormatException($"relocation section {s.Name}: size {s.Data.Length} is not a multiple of {RelSize}");
            var entries = new ElfRelocation[s.Data.Length / RelSize];
            var d = s.Data.Span;
            for (int i = 0; i < entries.Length; i++)
            {
                var e = d.Slice(i * RelSize, RelSize);
                ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(e);
                ulong info = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
                long symbol = (long)(info >> 32);
                if (symbol >= symbols.Length)
                    throw new ElfFormatException($"relocation {i} in {s.Name} names symbol {symbol}, past the symbol table ({symbols.Length})");
                entries[i] = new ElfRelocation(offset, (int)symbol, (BpfRelocationType)(uint)info);
            }
            if (file._relocationsByTarget.TryGetValue(s.Info, out var earlier))
                entries = [.. earlier, .. entries];
            file._relocationsByTarget[s.Info] = entries;
        }
        return file;
    }

    private static ElfSymbol[] ReadSymbols(ElfSection[] sections)
    {
        ElfSection? table = null;
        foreach (var s in sections)
        {
            if (s.Type != ElfSectionType.SymbolTable)
                continue;
            if (table is not null)
                throw new ElfFormatException("more than one symbol table");
            table = s;
        }
        if (table is null)
            return [];
        if (table.Link <= 0 || table.Link >= sections.Length || sections[table.Link].Type != ElfSectionType.StringTable)
            throw new ElfFormatException($"symbol table's string table (section {table.Link}) is missing");
        if (table.Data.Length % SymbolSize != 0)
            throw new ElfFormatException($"symbol table size {table.Data.Length} is not a multiple of {SymbolSize}");
        var strings = sections[table.Link].Data.Span;
        var d = table.Data.Span;
        var symbols = new ElfSymbol[d.Length / SymbolSize];
        for (int i = 0; i < symbols.Length; i++)
        {
            var e = d.Slice(i * SymbolSize, SymbolSize);
            uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(e);
            byte info = e[4];
            int shndx = BinaryPrimitives.ReadUInt16LittleEndian(e[6..]);
            if (shndx != ElfSymbol.UndefinedSection && shndx < 0xff00 && shndx >= sections.Length)
                throw new ElfFormatException($"symbol {i} is in section {shndx}, which does not exist");
            symbols[i] = new ElfSymbol(i, ReadString(strings, nameOffset, $"name of symbol {i}"),
                (ElfSymbolBinding)(info >> 4), (ElfSymbolType)(info & 0xf), (byte)(e[5] & 3), shndx,
                BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), BinaryPrimitives.ReadUInt64LittleEndian(e[16..]));
        }
        return symbols;
    }

    private static ReadOnlyMemory<byte> SectionBytes(ReadOnlyMemory<byte> image, RawSection r) =>
        image.Slice((int)r.Offset, (int)r.Size);

    private static void CheckRange(ReadOnlySpan<byte> b, ulong offset, ulong length, string what)
    {
        if (offset > (ulong)b.Length || length > (ulong)b.Length - offset)
            throw new ElfFormatException($"{what} (offset {offset}, {length} bytes) runs past the end of the file ({b.Length} bytes)");
    }

    private static string ReadString(ReadOnlySpan<byte> table, uint offset, string what)
    {
        if (offset >= table.Length)
        {
            if (offset == 0)
                return "";
            throw new ElfFormatException($"{what}: string offset {offset} is outside its string table ({table.Length} bytes)");
        }
        var rest = table[(int)offset..];
        int end = rest.IndexOf((byte)0);
        if (end < 0)
            throw new ElfFormatException($"{what}: string at {offset} is not NUL-terminated");
        return Encoding.UTF8.GetString(rest[..end]);
    }

    private readonly record struct RawSection(uint NameOffset, ElfSectionType Type, ElfSectionFlags Flags, ulong Offset, ulong Size,
        uint Link, uint Info, ulong Alignment, ulong EntrySize);
}
