using System.Globalization;
using System.Text.RegularExpressions;
using KdtCapture.Bpf.Elf;
using KdtCapture.Bpf.Tests.Objects;

namespace KdtCapture.Bpf.Tests.Elf;

/// <summary>Our ELF reader against llvm-readobj on every object we build.</summary>
public sealed partial class ElfFileTests
{
    public static TheoryData<string> ObjectNames()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in TestObjects.All())
            data.Add(name);
        return data;
    }

    private static byte[] BytesOf(string name)
    {
        foreach (var (n, bytes) in TestObjects.All())
            if (n == name)
                return bytes;
        throw new ArgumentException(name);
    }

    [Theory]
    [MemberData(nameof(ObjectNames))]
    public void Sections_symbols_and_relocations_match_llvm_readobj(string name)
    {
        TestObjects.RequireTool("llvm-readobj");
        var bytes = BytesOf(name);
        var elf = ElfFile.Parse(bytes);
        string text = TestObjects.Run("llvm-readobj", "--sections", "--symbols", "--relocations", TestObjects.FileOf(name, bytes));

        var sections = SectionRegex().Matches(text);
        Assert.Equal(sections.Count, elf.Sections.Count);
        foreach (Match m in sections)
        {
            var s = elf.Sections[int.Parse(m.Groups["index"].Value, CultureInfo.InvariantCulture)];
            Assert.Equal(m.Groups["name"].Value.Trim(), s.Name);
            Assert.Equal(Hex(m.Groups["type"].Value), (ulong)s.Type);
            Assert.Equal(Hex(m.Groups["flags"].Value), (ulong)s.Flags);
            Assert.Equal(Hex(m.Groups["offset"].Value), s.Offset);
            Assert.Equal(ulong.Parse(m.Groups["size"].Value, CultureInfo.InvariantCulture), s.Size);
            Assert.Equal(int.Parse(m.Groups["link"].Value, CultureInfo.InvariantCulture), s.Link);
            Assert.Equal(int.Parse(m.Groups["info"].Value, CultureInfo.InvariantCulture), s.Info);
        }

        var symbols = SymbolRegex().Matches(text);
        Assert.Equal(symbols.Count, elf.Symbols.Count);
        for (int i = 0; i < symbols.Count; i++)
        {
            var m = symbols[i];
            var s = elf.Symbols[i];
            string expectedName = m.Groups["name"].Value.Trim();
            Assert.Equal(expectedName, s.Type == ElfSymbolType.Section && s.Name == "" ? elf.Sections[s.SectionIndex].Name : s.Name);
            Assert.Equal(Hex(m.Groups["value"].Value), s.Value);
            Assert.Equal(ulong.Parse(m.Groups["size"].Value, CultureInfo.InvariantCulture), s.Size);
            Assert.Equal(Hex(m.Groups["binding"].Value), (ulong)s.Binding);
            Assert.Equal(Hex(m.Groups["type"].Value), (ulong)s.Type);
            string section = m.Groups["section"].Value;
            var shndx = SectionIndexRegex().Match(section);
            if (shndx.Success)
                Assert.Equal((int)Hex(shndx.Groups[1].Value), s.SectionIndex);
        }

        // Relocations: per relocation section, offset, type and the symbol's name (a section symbol shows its section).
        int relocationCount = 0;
        foreach (Match block in RelocationBlockRegex().Matches(text))
        {
            var rel = elf.Sections[int.Parse(block.Groups["index"].Value, CultureInfo.InvariantCulture)];
            var ours = elf.RelocationsFor(rel.Info);
            var lines = RelocationLineRegex().Matches(block.Groups["body"].Value);
            int start = 0;
            // Several REL sections could target one section; ours are concatenated in file order.
            foreach (var other in elf.Sections)
                if (other.Type == ElfSectionType.Relocations && other.Info == rel.Info && other.Index < rel.Index)
                    start += (int)(other.Size / 16);
            for (int i = 0; i < lines.Count; i++)
            {
                var r = ours[start + i];
                Assert.Equal(Hex(lines[i].Groups["offset"].Value), r.Offset);
                Assert.Equal("R_BPF_" + RelocationName(r.Type), lines[i].Groups["type"].Value);
                var symbol = elf.Symbols[r.SymbolIndex];
                string symbolName = symbol.Type == ElfSymbolType.Section ? elf.Sections[symbol.SectionIndex].Name : symbol.Name;
                Assert.Equal(lines[i].Groups["symbol"].Value, symbolName);
                relocationCount++;
            }
        }
        int total = 0;
        foreach (var (_, list) in elf.AllRelocations)
            total += list.Length;
        Assert.Equal(relocationCount, total);
        Assert.True(relocationCount > 0, "every object we build has relocations");
    }

    private static string RelocationName(BpfRelocationType type) => type switch
    {
        BpfRelocationType.Imm64 => "64_64",
        BpfRelocationType.Abs64 => "64_ABS64",
        BpfRelocationType.Abs32 => "64_ABS32",
        BpfRelocationType.Node64 => "64_NODYLD32",
        BpfRelocationType.Call32 => "64_32",
        _ => type.ToString(),
    };

    private static ulong Hex(string s) => ulong.Parse(s.StartsWith("0x", StringComparison.Ordinal) ? s[2..] : s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [Fact]
    public void Rejects_what_is_not_a_bpf_object()
    {
        Assert.Contains("not an ELF file", Assert.Throws<ElfFormatException>(() => ElfFile.Parse(new byte[100])).Message);
        var bytes = (byte[])TestObjects.Bytes("sections").Clone();
        bytes[18] = 62; // EM_X86_64
        Assert.Contains("is not BPF", Assert.Throws<ElfFormatException>(() => ElfFile.Parse(bytes)).Message);
        var big = (byte[])TestObjects.Bytes("sections").Clone();
        big[5] = 2;
        Assert.Contains("little-endian", Assert.Throws<ElfFormatException>(() => ElfFile.Parse(big)).Message);
    }

    [Fact]
    public void Every_truncation_raises_only_ElfFormatException()
    {
        var bytes = TestObjects.Bytes("skb_fields");
        for (int length = 0; length < bytes.Length; length += 7)
        {
            try
            {
                ElfFile.Parse(bytes.AsMemory(0, length));
            }
            catch (ElfFormatException)
            {
            }
        }
    }

    [GeneratedRegex(@"Section \{\s*Index: (?<index>\d+)\s*Name: (?<name>[^\n]*?) \(\d+\)\s*Type: \S+ \((?<type>0x[0-9A-Fa-f]+)\)\s*Flags \[ \((?<flags>0x[0-9A-Fa-f]+)\)[^\]]*\]\s*Address: \S+\s*Offset: (?<offset>0x[0-9A-Fa-f]+)\s*Size: (?<size>\d+)\s*Link: (?<link>\d+)\s*Info: (?<info>\d+)")]
    private static partial Regex SectionRegex();

    [GeneratedRegex(@"Symbol \{\s*Name: (?<name>[^\n]*?) \(\d+\)\s*Value: (?<value>0x[0-9A-Fa-f]+)\s*Size: (?<size>\d+)\s*Binding: \S+ \((?<binding>0x[0-9A-Fa-f]+)\)\s*Type: \S+ \((?<type>0x[0-9A-Fa-f]+)\)\s*Other: [^\n]*\s*Section: (?<section>[^\n]*)")]
    private static partial Regex SymbolRegex();

    [GeneratedRegex(@"\((0x[0-9A-Fa-f]+)\)\s*$")]
    private static partial Regex SectionIndexRegex();

    [GeneratedRegex(@"Section \((?<index>\d+)\) \S+ \{(?<body>[^}]*)\}")]
    private static partial Regex RelocationBlockRegex();

    [GeneratedRegex(@"(?<offset>0x[0-9A-Fa-f]+) (?<type>R_BPF_\w+) (?<symbol>\S+)")]
    private static partial Regex RelocationLineRegex();
}
