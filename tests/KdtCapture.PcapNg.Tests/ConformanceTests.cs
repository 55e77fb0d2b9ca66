using System.Text.RegularExpressions;

namespace KdtCapture.PcapNg.Tests;

/// <summary>The pcapng conformance corpus (both byte orders): block sequences as each .txt
/// names them, and read → write → read round trips.</summary>
public sealed partial class ConformanceTests
{
    public static TheoryData<string> Files() => new(Corpora.ConformanceFiles());

    private static string Abbrev(PcapNgBlock b) => b switch
    {
        SectionHeader => "SHB",
        InterfaceDescription => "IDB",
        EnhancedPacketBlock => "EPB",
        SimplePacketBlock => "SPB",
        ObsoletePacketBlock => "PB",
        NameResolutionBlock => "NRB",
        InterfaceStatisticsBlock => "ISB",
        DecryptionSecretsBlock => "DSB",
        CustomBlock { IsCopyable: true } => "CB",
        CustomBlock => "DCB",
        _ => "UNKNOWN",
    };

    [GeneratedRegex(@"Block sequence:\s*(.*)")]
    private static partial Regex SequenceLine();

    private static List<string> ExpectedSequence(string pcapng)
    {
        string txt = File.ReadAllText(Path.ChangeExtension(pcapng, ".txt"));
        Match m = SequenceLine().Match(txt);
        Assert.True(m.Success, "no block sequence in " + pcapng);
        return m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    private static List<PcapNgBlock> ReadBlocks(Stream s)
    {
        using var reader = Assert.IsType<PcapNgReader>(CaptureReader.Open(s));
        var blocks = reader.ReadAllBlocks().ToList();
        Assert.Null(reader.Truncation);
        return blocks;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Reads_the_block_sequence_the_txt_names(string file)
    {
        string path = Path.Combine(Corpora.Require("pcapng-conformance"), file);
        using var f = File.OpenRead(path);
        List<PcapNgBlock> blocks = ReadBlocks(f);
        Assert.Equal(ExpectedSequence(path), blocks.Select(Abbrev).ToList());
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Packet_api_returns_every_packet_block(string file)
    {
        string path = Path.Combine(Corpora.Require("pcapng-conformance"), file);
        int expected = ExpectedSequence(path).Count(b => b is "EPB" or "SPB" or "PB");
        using var reader = CaptureReader.Open(path);
        int n = 0;
        while (reader.TryReadPacket(out _)) n++;
        Assert.Equal(expected, n);
        Assert.Null(reader.Truncation);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Round_trip_keeps_blocks_and_options(string file)
    {
        string path = Path.Combine(Corpora.Require("pcapng-conformance"), file);
        List<PcapNgBlock> original;
        using (var f = File.OpenRead(path)) original = ReadBlocks(f);

        var ms = new MemoryStream();
        using (var w = new PcapNgWriter(ms, new CaptureWriterOptions { LeaveOpen = true }))
        {
            foreach (PcapNgBlock b in original) w.CopyBlock(b);
        }
        ms.Position = 0;
        List<PcapNgBlock> copy = ReadBlocks(ms);

        // The copy rules drop "do not copy" custom blocks and options.
        List<PcapNgBlock> expected = original.Where(b => b is not CustomBlock { IsCopyable: false }).ToList();
        Assert.Equal(expected.Select(Abbrev), copy.Select(Abbrev));
        for (int i = 0; i < expected.Count; i++)
        {
            BlockComparer.AssertEquivalent(expected[i], copy[i], copying: true, $"{file} block {i}");
        }
    }
}
