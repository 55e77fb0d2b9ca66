using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace KdtCapture.PcapNg.Tests;

/// <summary>What we write, tshark, capinfos and tcpdump read: same packet count, timestamps,
/// lengths and bytes.</summary>
public sealed partial class OracleTests
{
    [GeneratedRegex(@"Number of packets:\s*(\d+)")]
    private static partial Regex CapinfosCount();

    [GeneratedRegex(@"^(\d+) packets?\s*$", RegexOptions.Multiline)]
    private static partial Regex TcpdumpCount();

    private static long Capinfos(string path)
    {
        Tools.Result r = Tools.Run("capinfos", "-M", "-c", path);
        Assert.True(r.ExitCode == 0, $"capinfos failed on {path}: {r.Stderr}");
        return long.Parse(CapinfosCount().Match(r.Stdout).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static long TcpdumpCountOf(string path)
    {
        Tools.Result r = Tools.Run("tcpdump", "-r", path, "--count");
        Assert.True(r.ExitCode == 0, $"tcpdump failed on {path}: {r.Stderr}");
        return long.Parse(TcpdumpCount().Match(r.Stdout + r.Stderr).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static List<CapturePacket> ReadAll(string path, out IReadOnlyList<InterfaceDescription> interfaces)
    {
        using var r = CaptureReader.Open(path);
        var list = r.ReadAllPackets().ToList();
        Assert.Null(r.Truncation);
        interfaces = r.Interfaces.ToList();
        return list;
    }

    /// <summary>A rich pcapng: four interfaces of three link types and four resolutions,
    /// comments, flags, packet ids, NRB, DSB, statistics at close.</summary>
    private static List<Samples.Packet> WriteRich(string path, bool bigEndian, CaptureCompression? compression = null)
    {
        List<InterfaceDescription> ifs = Samples.Interfaces(mixedLinkTypes: true);
        List<Samples.Packet> packets = Samples.Packets(ifs.Count, 200);
        using var w = (PcapNgWriter)CaptureWriter.Create(path, new CaptureWriterOptions
        {
            Format = CaptureFileFormat.PcapNg,
            Compression = compression,
            BigEndian = bigEndian,
            CloseStatistics = (i, _) => new InterfaceStatistics
            {
                Timestamp = PacketTimestamp.FromUnixNanoseconds(1_800_000_000_000_000_000L),
                Received = 1000UL + (ulong)i, OsDropped = 3, InterfaceDropped = 0, FilterAccepted = 50, Delivered = 50,
            },
        });
        w.WriteDecryptionSecrets(new DecryptionSecretsBlock { SecretsType = DecryptionSecretsBlock.TlsKeyLog, Data = "CLIENT_RANDOM 00 11\n"u8.ToArray() });
        w.WriteNameResolution(new NameResolutionBlock { Records = [NameResolutionRecord.IPv4(IPAddress.Parse("10.0.0.1"), "host.example")] });
        Samples.Write(w, ifs, packets);
        return packets;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tshark_and_capinfos_read_our_pcapng(bool bigEndian)
    {
        Tools.SkipUnless("tshark");
        Tools.SkipUnless("capinfos");
        using var dir = new TempDir();
        string path = dir.File("rich.pcapng");
        List<Samples.Packet> packets = WriteRich(path, bigEndian);

        Assert.Equal(packets.Count, Capinfos(path));

        Tools.Result t = Tools.Run("tshark", "-r", path, "-T", "fields", "-E", "separator=|",
            "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.interface_id", "-e", "frame.comment");
        Assert.True(t.ExitCode == 0, t.Stderr);
        string[] lines = t.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(packets.Count, lines.Length);
        for (int i = 0; i < packets.Count; i++)
        {
            Samples.Packet p = packets[i];
            string expected = $"{Samples.Epoch9(p.Timestamp)}|{p.OriginalLength}|{p.Data.Length}|{p.Interface}|{p.Comment}";
            Assert.Equal(expected, lines[i]);
        }

        // Bytes: let tshark rewrite the file, then compare what it wrote with what we wrote.
        string copy = dir.File("tshark-copy.pcapng");
        Tools.Result c = Tools.Run("tshark", "-r", path, "-w", copy);
        Assert.True(c.ExitCode == 0, c.Stderr);
        List<CapturePacket> back = ReadAll(copy, out var ifs);
        Assert.Equal(4, ifs.Count);
        Assert.Equal(packets.Select(p => Convert.ToHexString(p.Data)), back.Select(p => Convert.ToHexString(p.Data.Span)));
        Assert.Equal(packets.Select(p => p.Comment), back.Select(p => p.Comment));
        Assert.Equal(packets.Select(p => p.Flags), back.Select(p => p.Flags));
    }

    [Theory]
    [InlineData("le.pcapng", false)]
    [InlineData("be.pcapng", true)]
    [InlineData("le.pcap", false)]
    [InlineData("be.pcap", true)]
    public void Tcpdump_reads_our_single_link_type_files(string name, bool bigEndian)
    {
        Tools.SkipUnless("tcpdump");
        using var dir = new TempDir();
        string path = dir.File(name);
        // libpcap reads pcapng only when all interfaces share one link type.
        List<InterfaceDescription> ifs = Samples.Interfaces(mixedLinkTypes: false);
        List<Samples.Packet> packets = Samples.Packets(ifs.Count, 300);
        using (var w = CaptureWriter.Create(path, new CaptureWriterOptions { BigEndian = bigEndian }))
        {
            Samples.Write(w, ifs, packets);
        }
        Assert.Equal(packets.Count, TcpdumpCountOf(path));

        // libpcap rewrites it as nanosecond pcap; our reader then checks bytes, lengths, times.
        string copy = dir.File("tcpdump-copy.pcap");
        Tools.Result r = Tools.Run("tcpdump", "-r", path, "-w", copy, "--time-stamp-precision=nano");
        Assert.True(r.ExitCode == 0, r.Stderr);
        List<CapturePacket> back = ReadAll(copy, out _);
        Assert.Equal(packets.Count, back.Count);
        for (int i = 0; i < packets.Count; i++)
        {
            Assert.Equal(Convert.ToHexString(packets[i].Data), Convert.ToHexString(back[i].Data.Span));
            Assert.Equal(packets[i].OriginalLength, back[i].OriginalLength);
            Assert.Equal(Samples.Epoch9(packets[i].Timestamp), Samples.Epoch9(back[i].Timestamp));
        }
    }

    [Fact]
    public void Capinfos_and_tshark_read_our_pcap_in_both_precisions()
    {
        Tools.SkipUnless("capinfos");
        Tools.SkipUnless("tshark");
        using var dir = new TempDir();
        foreach (bool nano in new[] { false, true })
        {
            string path = dir.File(nano ? "ns.pcap" : "us.pcap");
            var ifs = new List<InterfaceDescription> { new() { LinkType = LinkTypeValues.Ethernet, SnapLength = 262144, TimestampResolution = TimestampResolution.Microseconds } };
            List<Samples.Packet> packets = Samples.Packets(1, 100)
                .Select(p => p with { Timestamp = PacketTimestamp.FromUnixNanoseconds(p.Timestamp.ToUnixNanoseconds() / 1000 * 1000) }).ToList();
            using (var w = CaptureWriter.Create(path, new CaptureWriterOptions { PcapNanoseconds = nano })) Samples.Write(w, ifs, packets);
            Assert.Equal(packets.Count, Capinfos(path));
            Tools.Result t = Tools.Run("tshark", "-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len");
            Assert.Equal(packets.Select(p => $"{Samples.Epoch9(p.Timestamp)}\t{p.OriginalLength}"), t.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    [Fact]
    public void Lz4_output_decompresses_with_lz4_and_tshark_reads_it()
    {
        Tools.SkipUnless("lz4");
        Tools.SkipUnless("tshark");
        using var dir = new TempDir();
        string path = dir.File("rich.pcapng.lz4");
        List<Samples.Packet> packets = WriteRich(path, bigEndian: false);
        using (var f = File.OpenRead(path))
        {
            Span<byte> magic = stackalloc byte[4];
            f.ReadExactly(magic);
            Assert.Equal(new byte[] { 0x04, 0x22, 0x4d, 0x18 }, magic.ToArray());
        }
        string plain = dir.File("rich.pcapng");
        Tools.Result d = Tools.Run("lz4", "-d", "-f", "-q", path, plain);
        Assert.True(d.ExitCode == 0, d.Stderr);
        Tools.Result t = Tools.Run("tshark", "-r", plain, "-T", "fields", "-e", "frame.time_epoch");
        Assert.True(t.ExitCode == 0, t.Stderr);
        Assert.Equal(packets.Select(p => Samples.Epoch9(p.Timestamp)), t.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // And we read the compressed file directly, by content.
        using var r = CaptureReader.Open(path);
        Assert.Equal(CaptureCompression.Lz4, r.Compression);
        Assert.Equal(packets.Count, r.ReadAllPackets().Count());
    }

    [Fact]
    public void We_read_files_tshark_and_tcpdump_compress_or_convert()
    {
        Tools.SkipUnless("tshark");
        Tools.SkipUnless("lz4");
        using var dir = new TempDir();
        string path = dir.File("rich.pcapng");
        List<Samples.Packet> packets = WriteRich(path, bigEndian: true);
        string gz = dir.File("x.gz");
        Tools.Result g = Tools.Run("editcap", "-F", "pcapng", "--compress", "gzip", path, gz);
        if (g.ExitCode != 0)
        {
            // editcap 4.0 may lack --compress; gzip the file ourselves then.
            using var input = File.OpenRead(path);
            using var output = new System.IO.Compression.GZipStream(File.Create(gz), System.IO.Compression.CompressionLevel.Fastest);
            input.CopyTo(output);
        }
        string lz = dir.File("x.lz4");
        Assert.Equal(0, Tools.Run("lz4", "-f", "-q", path, lz).ExitCode);
        foreach ((string file, CaptureCompression kind) in new[] { (gz, CaptureCompression.Gzip), (lz, CaptureCompression.Lz4) })
        {
            // Through a non-seekable pipe-like stream, as stdin would be.
            using var s = new NonSeekableStream(File.OpenRead(file));
            using var r = CaptureReader.Open(s);
            Assert.Equal(kind, r.Compression);
            Assert.Equal(packets.Select(p => Samples.Epoch9(p.Timestamp)), r.ReadAllPackets().Select(p => Samples.Epoch9(p.Timestamp)));
        }
    }
}

/// <summary>A read-only stream that refuses to seek and returns short reads, like a pipe.</summary>
internal sealed class NonSeekableStream(Stream inner) : Stream
{
    private int _n;
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1 + (_n++ * 7919) % 65536));
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
