namespace KdtCapture.PcapNg.Tests;

/// <summary>
/// The pcapng rules for programs that rewrite captures (CopyBlock, WritePacket of a read packet),
/// checked block by block on the conformance corpus, both byte orders and files of several
/// sections: custom blocks and options marked copyable are kept byte for byte, the "do not
/// copy" ones (block 0x40000BAD, options 19372/19373) are dropped, and data whose byte order
/// cannot be converted (unknown blocks and options) goes only into a section of its own order.
/// </summary>
public sealed class CopyRulesTests
{
    public static TheoryData<string> Files() => new(Corpora.ConformanceFiles());

    private static List<PcapNgBlock> Read(Stream s)
    {
        using var reader = Assert.IsType<PcapNgReader>(CaptureReader.Open(s));
        var blocks = reader.ReadAllBlocks().ToList();
        Assert.Null(reader.Truncation);
        return blocks;
    }

    private static List<PcapNgBlock> Read(string file)
    {
        using var f = File.OpenRead(Path.Combine(Corpora.Require("pcapng-conformance"), file));
        return Read(f);
    }

    private static List<PcapNgBlock> Copy(IEnumerable<PcapNgBlock> blocks, Func<SectionHeader, SectionHeader>? section = null)
    {
        var ms = new MemoryStream();
        using (var w = new PcapNgWriter(ms, new CaptureWriterOptions { LeaveOpen = true }))
        {
            foreach (PcapNgBlock b in blocks)
                w.CopyBlock(b is SectionHeader shb && section is not null ? section(shb) : b);
        }
        ms.Position = 0;
        return Read(ms);
    }

    private static string Customs(PcapNgBlock b) =>
        string.Join(" ", b.CustomOptions.Select(c => $"{c.PrivateEnterpriseNumber}/{c.IsText}/{c.IsCopyable}/{Convert.ToHexString(c.Data.Span)}"));

    [Theory]
    [MemberData(nameof(Files))]
    public void Copies_keep_copyable_custom_data_and_drop_do_not_copy(string file)
    {
        List<PcapNgBlock> original = Read(file);
        List<PcapNgBlock> copy = Copy(original);

        List<PcapNgBlock> kept = original.Where(b => b is not CustomBlock { IsCopyable: false }).ToList();
        Assert.Equal(kept.Count, copy.Count);
        Assert.DoesNotContain(copy, b => b is CustomBlock { IsCopyable: false });
        for (int i = 0; i < kept.Count; i++)
        {
            PcapNgBlock source = kept[i], to = copy[i];
            // Not only "equivalent once do-not-copy options are ignored": the copy has none of them,
            // and every copyable one, in order.
            var expected = source with { CustomOptions = source.CustomOptions.Where(c => c.IsCopyable).ToList() };
            Assert.Equal(Customs(expected), Customs(to));
            Assert.All(to.CustomOptions, c => Assert.True(c.IsCopyable));
            BlockComparer.AssertEquivalent(source, to, copying: true, $"{file} block {i}");
            if (source is CustomBlock cb)
                Assert.Equal(Convert.ToHexString(cb.Data.Span), Convert.ToHexString(((CustomBlock)to).Data.Span));
        }
    }

    /// <summary>The corpus really has what the rules are about, in both byte orders, so the
    /// per-file checks above are not vacuous.</summary>
    [Theory]
    [InlineData("output_le")]
    [InlineData("output_be")]
    public void Corpus_has_copyable_and_do_not_copy_custom_data(string byteOrder)
    {
        Corpora.Require("pcapng-conformance");
        var all = Corpora.ConformanceFiles().Where(f => f.StartsWith(byteOrder, StringComparison.Ordinal)).SelectMany(Read).ToList();
        Assert.Contains(all, b => b is CustomBlock { IsCopyable: true });
        Assert.Contains(all, b => b is CustomBlock { IsCopyable: false });
        Assert.Contains(all, b => b.CustomOptions.Any(c => c.IsCopyable));
        Assert.Contains(all, b => b.CustomOptions.Any(c => !c.IsCopyable));
        Assert.Contains(all, b => b is EnhancedPacketBlock && b.CustomOptions.Count > 0);
        Assert.True(all.Count(b => b is SectionHeader) > Corpora.ConformanceFiles().Count(f => f.StartsWith(byteOrder, StringComparison.Ordinal)),
            "no file with several sections");
    }

    /// <summary>Rewriting every section in the other byte order keeps every block and option
    /// the library understands (numbers converted), keeps copyable custom options (their
    /// enterprise number converted, their data opaque), and drops only unknown blocks and
    /// options, whose bytes cannot be converted.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void Copying_into_the_other_byte_order_keeps_what_can_be_converted(string file)
    {
        List<PcapNgBlock> original = Read(file);
        List<PcapNgBlock> copy = Copy(original, shb => shb with { IsBigEndian = !shb.IsBigEndian });

        List<PcapNgBlock> expected = original
            .Where(b => b is not CustomBlock { IsCopyable: false } and not UnknownBlock)
            .Select(b => b is SectionHeader shb ? shb with { IsBigEndian = !shb.IsBigEndian, UnknownOptions = [] } : b with { UnknownOptions = [] })
            .ToList();
        Assert.Equal(expected.Count, copy.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            BlockComparer.AssertEquivalent(expected[i], copy[i], copying: true, $"{file} block {i}");
            Assert.Empty(copy[i].UnknownOptions);
            Assert.All(copy[i].CustomOptions, c => Assert.True(c.IsCopyable));
        }
        Assert.All(copy.OfType<SectionHeader>().Zip(original.OfType<SectionHeader>()), p => Assert.NotEqual(p.Second.IsBigEndian, p.First.IsBigEndian));
    }

    /// <summary>The packet API's copy (WritePacket of a read packet) follows the same rules for
    /// packet options: copyable custom options kept, do-not-copy ones dropped.</summary>
    [Theory]
    [MemberData(nameof(Files))]
    public void Rewriting_packets_keeps_copyable_packet_options(string file)
    {
        string path = Path.Combine(Corpora.Require("pcapng-conformance"), file);
        var ms = new MemoryStream();
        var expected = new List<string>();
        using (var reader = CaptureReader.Open(path))
        using (var w = CaptureWriter.Create(ms, new CaptureWriterOptions { LeaveOpen = true }))
        {
            int added = 0;
            while (reader.TryReadPacket(out CapturePacket p))
            {
                for (; added < reader.Interfaces.Count; added++)
                    w.AddInterface(reader.Interfaces[added]);
                w.WritePacket(in p);
                expected.Add(Describe(p, onlyCopyable: true));
            }
            if (expected.Count == 0)
                return;
        }
        ms.Position = 0;
        var got = new List<string>();
        using (var reader = CaptureReader.Open(ms))
        {
            while (reader.TryReadPacket(out CapturePacket p))
            {
                got.Add(Describe(p, onlyCopyable: false));
                Assert.All(p.Options.GetCustomOptions(), c => Assert.True(c.IsCopyable));
            }
        }
        Assert.Equal(expected, got);
    }

    private static string Describe(CapturePacket p, bool onlyCopyable)
    {
        string customs = string.Join(" ", p.Options.GetCustomOptions().Where(c => c.IsCopyable || !onlyCopyable)
            .Select(c => $"{c.PrivateEnterpriseNumber}/{Convert.ToHexString(c.Data.Span)}"));
        return $"if={p.InterfaceIndex} ts={p.Timestamp.ToUnixUnits(TimestampResolution.Decimal(19))} len={p.OriginalLength} " +
            $"data={Convert.ToHexString(p.Data.Span)} comments={string.Join("|", p.Options.GetComments())} flags={p.Flags} " +
            $"drop={p.Options.DropCount} id={p.Options.PacketId} q={p.Options.Queue} customs={customs}";
    }
}

/// <summary>Unknown blocks and options, whose bytes the library cannot convert, built by hand
/// (the conformance corpus has few): copied into a section of their own byte order, dropped
/// from one of the other.</summary>
public sealed class UnknownDataCopyTests
{
    private static List<PcapNgBlock> Source(bool big)
    {
        var ms = new MemoryStream();
        using (var w = new PcapNgWriter(ms, new CaptureWriterOptions { LeaveOpen = true, BigEndian = big }))
        {
            w.WriteBlock(new SectionHeader { IsBigEndian = big, UserApplication = "test", UnknownOptions = [new PcapNgOption(77, new byte[] { 1, 2, 3, 4 }, big)] });
            w.WriteBlock(new InterfaceDescription
            {
                LinkType = LinkTypeValues.Ethernet, SnapLength = 65535, Name = "eth0",
                UnknownOptions = [new PcapNgOption(200, new byte[] { 0xAA, 0xBB, 0xCC }, big)],
                CustomOptions = [new CustomOption(32473, new byte[] { 9, 8, 7 }, IsText: false, IsCopyable: true),
                                 new CustomOption(32473, new byte[] { 6, 5 }, IsText: false, IsCopyable: false)],
            });
            w.WriteBlock(new UnknownBlock(0x00000FAB) { Body = new byte[] { 0, 1, 2, 3, 4, 5, 6, 7 }, IsBigEndian = big });
            w.WriteBlock(new EnhancedPacketBlock
            {
                InterfaceId = 0, Timestamp = PacketTimestamp.FromUnixNanoseconds(1_700_000_000_000_001_000), Data = Samples.Frame(1, 60), OriginalLength = 60,
                UnknownOptions = [new PcapNgOption(99, new byte[] { 0x10, 0x20 }, big)],
                Comments = ["kept"],
            });
        }
        ms.Position = 0;
        using var reader = Assert.IsType<PcapNgReader>(CaptureReader.Open(ms));
        return reader.ReadAllBlocks().ToList();
    }

    private static List<PcapNgBlock> Copy(List<PcapNgBlock> blocks, bool toBig)
    {
        var ms = new MemoryStream();
        using (var w = new PcapNgWriter(ms, new CaptureWriterOptions { LeaveOpen = true }))
        {
            foreach (PcapNgBlock b in blocks)
                w.CopyBlock(b is SectionHeader shb ? shb with { IsBigEndian = toBig } : b);
        }
        ms.Position = 0;
        using var reader = Assert.IsType<PcapNgReader>(CaptureReader.Open(ms));
        return reader.ReadAllBlocks().ToList();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Same_byte_order_keeps_unknown_data(bool big)
    {
        List<PcapNgBlock> source = Source(big);
        Assert.Equal(4, source.Count);
        Assert.IsType<UnknownBlock>(source[2]);
        Assert.Single(source[1].UnknownOptions);
        List<PcapNgBlock> copy = Copy(source, big);
        Assert.Equal(source.Count, copy.Count);
        for (int i = 0; i < source.Count; i++)
            BlockComparer.AssertEquivalent(source[i], copy[i], copying: true, $"block {i}");
        Assert.Equal([77], copy[0].UnknownOptions.Select(o => (int)o.Code));
        Assert.Equal([200], copy[1].UnknownOptions.Select(o => (int)o.Code));
        Assert.Equal([99], copy[3].UnknownOptions.Select(o => (int)o.Code));
        Assert.Equal("090807", Convert.ToHexString(Assert.Single(copy[1].CustomOptions).Data.Span));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Other_byte_order_drops_unknown_data_only(bool big)
    {
        List<PcapNgBlock> source = Source(big);
        List<PcapNgBlock> copy = Copy(source, !big);
        Assert.Equal(["SectionHeader", "InterfaceDescription", "EnhancedPacketBlock"], copy.Select(b => b.GetType().Name));
        Assert.All(copy, b => Assert.Empty(b.UnknownOptions));
        Assert.Equal(!big, ((SectionHeader)copy[0]).IsBigEndian);
        // What can be converted is: names, link type, the packet, its comment, the copyable custom option.
        BlockComparer.AssertEquivalent(source[1] with { UnknownOptions = [] }, copy[1], copying: true, "interface");
        BlockComparer.AssertEquivalent(source[3] with { UnknownOptions = [] }, copy[2], copying: true, "packet");
        Assert.Single(copy[1].CustomOptions);
    }
}

/// <summary>
/// Packet options passed on as bytes (a live capture's frames, <see cref="PacketWriteOptions.Copied"/>
/// alone) in the section's byte order are written as they are; lists that the copy rules change or
/// that are not well formed are encoded again. Either way tshark must read the same comment,
/// flags and packet id, and every EPB's options must end with exactly one opt_endofopt.
/// </summary>
public sealed class CopiedPacketOptionsTests
{
    private static byte[] Option(ushort code, ReadOnlySpan<byte> value, bool big, byte pad = 0)
    {
        var o = new byte[4 + ((value.Length + 3) & ~3)];
        if (big)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(o, code);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(o.AsSpan(2), (ushort)value.Length);
        }
        else
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(o, code);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(o.AsSpan(2), (ushort)value.Length);
        }
        value.CopyTo(o.AsSpan(4));
        o.AsSpan(4 + value.Length).Fill(pad);
        return o;
    }

    private static byte[] Number(ulong v, int size, bool big)
    {
        var b = new byte[size];
        for (int i = 0; i < size; i++)
            b[big ? size - 1 - i : i] = (byte)(v >> (8 * i));
        return b;
    }

    /// <summary>(name, option bytes, big-endian) — the comment, flags and packet id each list holds.</summary>
    public static TheoryData<string, bool> Lists() => new()
    {
        { "ended", false }, { "ended", true }, { "unended", false }, { "bad-padding", false },
        { "do-not-copy", false }, { "after-end", false }, { "truncated", false }, { "other-order", false },
    };

    private static byte[] Build(string kind, bool big)
    {
        bool optionsBig = kind == "other-order" ? !big : big;
        byte[] comment = Option(1, "net_dev_queue udp_flood[42] tid=42 cpu=1 len=106 x"u8, optionsBig, pad: kind == "bad-padding" ? (byte)0xEE : (byte)0);
        byte[] flags = Option(2, Number(2, 4, optionsBig), optionsBig);
        byte[] id = Option(5, Number(0xffff888004a3c000, 8, optionsBig), optionsBig);
        byte[] end = Option(0, [], optionsBig);
        byte[] noCopy = Option(CustomOption.CodeNoCopyBinary, [0, 0, 0x7e, 0xd9, 1, 2], optionsBig);
        byte[] junk = Option(1, "not a comment"u8, optionsBig);
        return kind switch
        {
            "unended" => [.. comment, .. flags, .. id],
            "do-not-copy" => [.. comment, .. noCopy, .. flags, .. id, .. end],
            "after-end" => [.. comment, .. flags, .. id, .. end, .. junk],
            "truncated" => [.. comment, .. flags, .. id, 5, 0],
            _ => [.. comment, .. flags, .. id, .. end],
        };
    }

    [Theory]
    [MemberData(nameof(Lists))]
    public void Tshark_reads_the_comment_flags_and_id_of_copied_options(string kind, bool big)
    {
        Tools.SkipUnless("tshark");
        using var dir = new TempDir();
        string path = dir.File($"{kind}.pcapng");
        bool optionsBig = kind == "other-order" ? !big : big;
        byte[] frame = Samples.Frame(1, 60);
        using (var w = CaptureWriter.Create(path, new CaptureWriterOptions { BigEndian = big }))
        {
            w.AddInterface(new InterfaceDescription { LinkType = LinkTypeValues.Ethernet, SnapLength = 262144, Name = "tap" });
            for (int i = 0; i < 3; i++)
                w.WritePacket(0, PacketTimestamp.FromUnixNanoseconds(1_700_000_000_000_000_000 + i), frame, 60,
                    new PacketWriteOptions { Copied = new PacketOptions(Build(kind, big), optionsBig) });
        }

        Tools.Result t = Tools.Run("tshark", "-r", path, "-T", "fields", "-E", "separator=|",
            "-e", "frame.comment", "-e", "frame.packet_flags_direction", "-e", "frame.packet_id");
        Assert.True(t.ExitCode == 0, t.Stderr);
        Assert.Equal(string.Concat(Enumerable.Repeat($"net_dev_queue udp_flood[42] tid=42 cpu=1 len=106 x|0x00000002|{0xffff888004a3c000UL}\n", 3)), t.Stdout);

        // Our reader: the options end with one opt_endofopt, nothing after it, no do-not-copy option.
        using var reader = CaptureReader.Open(path);
        int packets = 0;
        while (reader.TryReadPacket(out CapturePacket p))
        {
            packets++;
            ReadOnlySpan<byte> raw = p.Options.Raw.Span;
            Assert.True(raw.Length >= 4 && raw[^4..].SequenceEqual(new byte[4]), Convert.ToHexString(raw));
            Assert.Equal(["net_dev_queue udp_flood[42] tid=42 cpu=1 len=106 x"], p.Options.GetComments());
            Assert.Empty(p.Options.GetCustomOptions());
            Assert.Equal(0xffff888004a3c000UL, p.Options.PacketId);
            Assert.Equal(PacketDirection.Outbound, PacketFlags.GetDirection(p.Flags ?? 0));
        }
        Assert.Equal(3, packets);
    }
}
