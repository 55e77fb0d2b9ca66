using System.Buffers.Binary;
using System.Text;

namespace KdtCapture.Toolkit.Hotfix;

/// <summary>
/// Just enough of a 64-bit little-endian relocatable ELF file (a kernel module, .ko) to read its
/// sections, symbols and RELA relocations: what <see cref="PatchModule"/> needs to find .modinfo
/// and the livepatch structures. The file is read whole (modules are small) and never trusted:
/// every offset is checked, and a malformed file is a <see cref="HotfixException"/>.
/// </summary>
internal sealed class RelocatableElf
{
    public const ushort MachineX86_64 = 62, MachineAArch64 = 183;
    private const uint ShtSymtab = 2, ShtRela = 4, ShtNobits = 8;
    public const ulong ShfWrite = 1, ShfExecInstr = 4;

    internal readonly record struct Section(int Index, string Name, uint Type, ulong Flags, long Offset, long Size, uint Link, uint Info);

    internal readonly record struct Symbol(string Name, ulong Value, ulong Size, byte Type, int SectionIndex);

    /// <summary>A relocation in section <see cref="Target"/> at <see cref="Offset"/>, to symbol <see cref="SymbolIndex"/> + <see cref="Addend"/>.</summary>
    internal readonly record struct Relocation(int Target, ulong Offset, uint Type, int SymbolIndex, long Addend);

    private readonly byte[] _data;
    private readonly string _path;

    public ushort Machine { get; }
    public IReadOnlyList<Section> Sections { get; }
    public IReadOnlyList<Symbol> Symbols { get; }

    /// <summary>Relocations per target section index, sorted by offset.</summary>
    private readonly Dictionary<int, List<Relocation>> _relocations = [];

    public RelocatableElf(byte[] data, string path)
    {
        _data = data;
        _path = path;
        if (data.Length < 64 || data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
            throw Bad(IsCompressed(data) is { } how ? $"is {how}-compressed: decompress it first ({how} -d)" : "is not an ELF file (a kernel module is a .ko built by the kernel's Makefile)");
        if (data[4] != 2 || data[5] != 1)
            throw Bad("is not a 64-bit little-endian ELF file: kdt reads x86-64 and arm64 modules");
        if (U16(16) != 1)
            throw Bad("is not a relocatable ELF object (a .ko is ET_REL)");
        Machine = U16(18);
        long shoff = checked((long)U64(40));
        int shentsize = U16(58), shnum = U16(60), shstrndx = U16(62);
        if (shentsize < 64 || shnum == 0 || shoff < 0 || shoff + (long)shentsize * shnum > data.Length || shstrndx >= shnum)
            throw Bad("has a malformed section header table");

        var raw = new (uint Name, uint Type, ulong Flags, long Offset, long Size, uint Link, uint Info, long EntSize)[shnum];
        for (int i = 0; i < shnum; i++)
        {
            int h = checked((int)(shoff + (long)i * shentsize));
            raw[i] = (U32(h), U32(h + 4), U64(h + 8), checked((long)U64(h + 24)), checked((long)U64(h + 32)), U32(h + 40), U32(h + 44), checked((long)U64(h + 56)));
            if (raw[i].Type != ShtNobits && (raw[i].Offset < 0 || raw[i].Size < 0 || raw[i].Offset + raw[i].Size > data.Length))
                throw Bad($"has section {i} outside the file");
        }
        var names = raw[shstrndx];
        var sections = new Section[shnum];
        for (int i = 0; i < shnum; i++)
            sections[i] = new Section(i, CString(names.Offset, names.Size, raw[i].Name), raw[i].Type, raw[i].Flags, raw[i].Offset, raw[i].Type == ShtNobits ? 0 : raw[i].Size, raw[i].Link, raw[i].Info);
        Sections = sections;

        var symbols = new List<Symbol>();
        int symtab = Array.FindIndex(sections, s => s.Type == ShtSymtab);
        if (symtab >= 0)
        {
            var st = sections[symtab];
            if (st.Link >= shnum)
                throw Bad("has a symbol table without its string table");
            var strings = sections[st.Link];
            for (long at = st.Offset; at + 24 <= st.Offset + st.Size; at += 24)
            {
                int a = checked((int)at);
                symbols.Add(new Symbol(CString(strings.Offset, strings.Size, U32(a)), U64(a + 8), U64(a + 16), (byte)(data[a + 4] & 0xf), U16(a + 6)));
            }
        }
        Symbols = symbols;

        for (int i = 0; i < shnum; i++)
        {
            if (raw[i].Type != ShtRela || raw[i].Link != symtab || raw[i].Info >= shnum)
                continue;
            var list = new List<Relocation>((int)(raw[i].Size / 24));
            for (long at = raw[i].Offset; at + 24 <= raw[i].Offset + raw[i].Size; at += 24)
            {
                int a = checked((int)at);
                ulong info = U64(a + 8);
                int sym = (int)(info >> 32);
                if (sym >= symbols.Count)
                    throw Bad($"has a relocation in {sections[i].Name} to symbol {sym}, past the symbol table");
                list.Add(new Relocation((int)raw[i].Info, U64(a), (uint)info, sym, (long)U64(a + 16)));
            }
            list.Sort((x, y) => x.Offset.CompareTo(y.Offset));
            _relocations[(int)raw[i].Info] = list;
        }
    }

    public static RelocatableElf Read(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HotfixException($"cannot read {path}: {e.Message}");
        }
        return new RelocatableElf(data, path);
    }

    /// <summary>The relocation type that stores a symbol's 64-bit address (R_X86_64_64, R_AARCH64_ABS64).</summary>
    public uint Absolute64 => Machine switch
    {
        MachineX86_64 => 1,
        MachineAArch64 => 257,
        _ => throw Bad($"is for machine {Machine}: kdt decodes the livepatch data of x86-64 and arm64 modules"),
    };

    public Section? FindSection(string name)
    {
        foreach (var s in Sections)
        {
            if (s.Name == name)
                return s;
        }
        return null;
    }

    public ReadOnlySpan<byte> Contents(Section s) => _data.AsSpan(checked((int)s.Offset), checked((int)s.Size));

    public IReadOnlyList<Relocation> RelocationsOf(int section) => _relocations.TryGetValue(section, out var list) ? list : [];

    /// <summary>The relocation at exactly <paramref name="offset"/> in <paramref name="section"/>.</summary>
    public Relocation? RelocationAt(int section, ulong offset)
    {
        if (!_relocations.TryGetValue(section, out var list))
            return null;
        int lo = 0, hi = list.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (list[mid].Offset == offset)
                return list[mid];
            if (list[mid].Offset < offset)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return null;
    }

    /// <summary>Where an absolute relocation points: a section and an offset in it (symbol value + addend).</summary>
    public (int Section, ulong Offset)? TargetOf(Relocation r)
    {
        var s = Symbols[r.SymbolIndex];
        if (s.SectionIndex == 0 || s.SectionIndex >= Sections.Count)
            return null;
        return (s.SectionIndex, unchecked(s.Value + (ulong)r.Addend));
    }

    /// <summary>The NUL-terminated string at <paramref name="offset"/> of a section, or null when it runs off the section.</summary>
    public string? StringAt(int section, ulong offset)
    {
        var s = Sections[section];
        if (offset >= (ulong)s.Size)
            return null;
        var span = Contents(s)[(int)offset..];
        int end = span.IndexOf((byte)0);
        return end < 0 ? null : Encoding.UTF8.GetString(span[..end]);
    }

    public ulong? U64At(int section, ulong offset)
    {
        var s = Sections[section];
        if (offset + 8 > (ulong)s.Size)
            return null;
        return BinaryPrimitives.ReadUInt64LittleEndian(Contents(s)[(int)offset..]);
    }

    /// <summary>The sized symbol (object or function) of a section that covers <paramref name="offset"/>.</summary>
    public Symbol? SymbolCovering(int section, ulong offset)
    {
        foreach (var s in Symbols)
        {
            if (s.SectionIndex == section && s.Type is 1 or 2 && s.Size > 0 && s.Value <= offset && offset < s.Value + s.Size)
                return s;
        }
        return null;
    }

    /// <summary>The function symbol that starts at <paramref name="offset"/> of a section.</summary>
    public string? FunctionAt(int section, ulong offset)
    {
        foreach (var s in Symbols)
        {
            if (s.SectionIndex == section && s.Type == 2 && s.Value == offset)
                return s.Name;
        }
        return null;
    }

    /// <summary>The end of the data that starts at <paramref name="offset"/>: its symbol's end, else the next symbol's start, else the section's end.</summary>
    public ulong ExtentEnd(int section, ulong offset)
    {
        if (SymbolCovering(section, offset) is { } covering)
            return covering.Value + covering.Size;
        ulong end = (ulong)Sections[section].Size;
        foreach (var s in Symbols)
        {
            if (s.SectionIndex == section && s.Type is 1 or 2 && s.Value > offset && s.Value < end)
                end = s.Value;
        }
        return end;
    }

    private HotfixException Bad(string what) => new($"{_path} {what}");

    private static string? IsCompressed(byte[] d)
    {
        if (d.Length >= 6 && d[0] == 0xfd && d[1] == (byte)'7' && d[2] == (byte)'z' && d[3] == (byte)'X' && d[4] == (byte)'Z')
            return "xz";
        if (d.Length >= 4 && d[0] == 0x28 && d[1] == 0xb5 && d[2] == 0x2f && d[3] == 0xfd)
            return "zstd";
        if (d.Length >= 2 && d[0] == 0x1f && d[1] == 0x8b)
            return "gzip";
        return null;
    }

    private ushort U16(int at) => BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(at));
    private uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(at));
    private ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(_data.AsSpan(at));

    private string CString(long tableOffset, long tableSize, uint index)
    {
        if (index >= tableSize)
            throw Bad("has a name outside its string table");
        var span = _data.AsSpan(checked((int)(tableOffset + index)), checked((int)(tableSize - index)));
        int end = span.IndexOf((byte)0);
        if (end < 0)
            throw Bad("has an unterminated name in a string table");
        return Encoding.UTF8.GetString(span[..end]);
    }
}
