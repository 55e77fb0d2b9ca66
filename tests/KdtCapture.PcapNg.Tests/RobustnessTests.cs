using System.Diagnostics;
using System.IO.Compression;

namespace KdtCapture.PcapNg.Tests;

/// <summary>Cut-short files read up to the last whole record; damaged files fail with our typed
/// exceptions only, quickly and in bounded memory.</summary>
public sealed class RobustnessTests
{
    private static byte[] WriteSample(CaptureFileFormat format, CaptureCompression compression, int packets, out List<long> boundaries)
    {
        var ms = new MemoryStream();
        boundaries = [];
        using (var w = CaptureWriter.Create(ms, new CaptureWriterOptions { Format = format, Compression = compression, LeaveOpen = true }))
        {
            List<InterfaceDescription> ifs = Samples.Interfaces(mixedLinkTypes: format == CaptureFileFormat.PcapNg);
            foreach (InterfaceDescription d in format == CaptureFileFormat.PcapNg ? ifs : ifs.Take(1)) w.AddInterface(d);
            int n = format == CaptureFileFormat.PcapNg ? ifs.Count : 1;
            foreach (Samples.Packet p in Samples.Packets(n, packets))
            {
                w.Flush();
                boundaries.Add(w.BytesWritten);
                w.WritePacket(p.Interface, p.Timestamp, p.Data, p.OriginalLength, new PacketWriteOptions { Comment = p.Comment });
            }
            w.Flush();
            boundaries.Add(w.BytesWritten);
        }
        return ms.ToArray();
    }

    private static (int Packets, string? Truncation) ReadCount(byte[] bytes, int length)
    {
        using var r = CaptureReader.Open(new MemoryStream(bytes, 0, length, writable: false));
        int n = 0;
        while (r.TryReadPacket(out _)) n++;
        return (n, r.Truncation);
    }

    [Theory]
    [InlineData(CaptureFileFormat.PcapNg)]
    [InlineData(CaptureFileFormat.Pcap)]
    public void A_file_cut_anywhere_reads_up_to_its_last_whole_record(CaptureFileFormat format)
    {
        byte[] bytes = WriteSample(format, CaptureCompression.None, 60, out List<long> boundaries);
        long headerEnd = boundaries[0];
        for (int cut = (int)headerEnd; cut <= bytes.Length; cut++)
        {
            (int n, string? truncation) = ReadCount(bytes, cut);
            int whole = boundaries.Count(b => b <= cut) - 1;
            Assert.Equal(whole, n);
            Assert.Equal(boundaries.Contains(cut), truncation is null);
        }
    }

    [Fact]
    public void Truncation_throws_when_asked_to()
    {
        byte[] bytes = WriteSample(CaptureFileFormat.PcapNg, CaptureCompression.None, 10, out _);
        using var r = CaptureReader.Open(new MemoryStream(bytes, 0, bytes.Length - 5), new CaptureReaderOptions { ThrowOnTruncation = true });
        int n = 0;
        var e = Assert.Throws<CaptureTruncatedException>(() => { while (r.TryReadPacket(out _)) n++; });
        Assert.Equal(9, n);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData(CaptureCompression.Lz4)]
    [InlineData(CaptureCompression.Gzip)]
    public void A_compressed_file_whose_writer_crashed_after_a_flush_reads_what_was_flushed(CaptureCompression compression)
    {
        using var dir = new TempDir();
        string path = dir.File("crash.pcapng" + (compression == CaptureCompression.Lz4 ? ".lz4" : ".gz"));
        List<InterfaceDescription> ifs = Samples.Interfaces(mixedLinkTypes: true);
        List<Samples.Packet> packets = Samples.Packets(ifs.Count, 500);
        var w = CaptureWriter.Create(path);
        Samples.Write(w, ifs, packets);
        w.Flush();
        // The process "dies" here: the file has no end mark. Read a copy of it as it is.
        byte[] snapshot = File.ReadAllBytes(path);
        w.Dispose();

        using var r = CaptureReader.Open(new MemoryStream(snapshot));
        Assert.Equal(packets.Count, r.ReadAllPackets().Count());

        // Cut inside the compressed data too: fewer packets, no exception.
        for (int cut = snapshot.Length - 1; cut > snapshot.Length / 2; cut -= snapshot.Length / 13)
        {
            try
            {
                (int n, _) = ReadCount(snapshot, cut);
                Assert.InRange(n, 0, packets.Count);
            }
            catch (CaptureFormatException)
            {
                // Damage inside a compressed block may be detected as such; typed, one line.
            }
        }
    }

    [Fact]
    public void Not_a_capture_file_is_a_typed_one_line_error()
    {
        var e = Assert.Throws<UnknownCaptureFormatException>(() => CaptureReader.Open(new MemoryStream("hello world\n"u8.ToArray())));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Throws<CaptureTruncatedException>(() => CaptureReader.Open(new MemoryStream([])));
        Assert.Throws<CaptureTruncatedException>(() => CaptureReader.Open(new MemoryStream([0xd4, 0xc3, 0xb2, 0xa1, 2, 0])));
    }

    private static List<byte[]> Seeds()
    {
        var seeds = new List<byte[]>();
        // Without the corpora the samples written below still seed the mutations.
        string? conformance = Corpora.Path_("pcapng-conformance");
        if (conformance is not null)
        {
            foreach (string f in Corpora.ConformanceFiles())
                seeds.Add(File.ReadAllBytes(Path.Combine(conformance, f)));
        }
        string? tcpdump = Corpora.Path_("tcpdump-tests");
        if (tcpdump is not null)
        {
            foreach (string f in Corpora.TcpdumpFiles())
            {
                byte[] b = File.ReadAllBytes(Path.Combine(tcpdump, f));
                if (b.Length <= 64 * 1024) seeds.Add(b);
            }
        }
        seeds.Add(WriteSample(CaptureFileFormat.PcapNg, CaptureCompression.None, 20, out _));
        seeds.Add(WriteSample(CaptureFileFormat.Pcap, CaptureCompression.None, 20, out _));
        seeds.Add(WriteSample(CaptureFileFormat.PcapNg, CaptureCompression.Lz4, 20, out _));
        seeds.Add(WriteSample(CaptureFileFormat.PcapNg, CaptureCompression.Gzip, 20, out _));
        seeds.Add(WriteSample(CaptureFileFormat.Pcap, CaptureCompression.Lz4, 20, out _));
        return seeds;
    }

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        byte[] b = (byte[])seed.Clone();
        int kind = rng.Next(6);
        int rounds = 1 + rng.Next(4);
        for (int r = 0; r < rounds && b.Length > 0; r++)
        {
            switch (kind)
            {
                case 0: // bit flips
                    b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1: // truncation
                    Array.Resize(ref b, rng.Next(b.Length));
                    break;
                case 2: // a length-like field damaged
                {
                    int at = rng.Next(Math.Max(1, b.Length - 4)) & ~3;
                    uint[] nasty = [0, 1, 4, 8, 11, 12, 13, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFF0, 0x00010000, 0x01000000, (uint)rng.Next()];
                    uint v = nasty[rng.Next(nasty.Length)];
                    if (at + 4 <= b.Length) BitConverter.TryWriteBytes(b.AsSpan(at), rng.Next(2) == 0 ? v : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v));
                    break;
                }
                case 3: // a byte set to an edge value
                    b[rng.Next(b.Length)] = (byte)(rng.Next(2) == 0 ? 0 : 0xFF);
                    break;
                case 4: // delete a run
                {
                    int at = rng.Next(b.Length), len = Math.Min(b.Length - at, 1 + rng.Next(16));
                    b = [.. b.AsSpan(0, at), .. b.AsSpan(at + len)];
                    break;
                }
                default: // duplicate a run
                {
                    int at = rng.Next(b.Length), len = Math.Min(b.Length - at, 1 + rng.Next(64));
                    b = [.. b.AsSpan(0, at + len), .. b.AsSpan(at, len), .. b.AsSpan(at + len)];
                    break;
                }
            }
        }
        return b;
    }

    /// <summary>Reads everything a reader offers, touching every lazily decoded option.</summary>
    private static void Exercise(byte[] input, bool blocks)
    {
        using var r = CaptureReader.Open(new MemoryStream(input, writable: false), new CaptureReaderOptions { BufferSize = 4096 });
        if (blocks && r is PcapNgReader ng)
        {
            while (ng.ReadBlock() is { } b) _ = b.Comments.Count;
            return;
        }
        while (r.TryReadPacket(out CapturePacket p))
        {
            PacketOptions o = p.Options;
            _ = o.Comment;
            _ = o.Flags;
            _ = o.DropCount;
            _ = o.PacketId;
            _ = o.ProcessThread;
            _ = o.GetHashes();
            _ = o.GetVerdicts();
            _ = o.GetCustomOptions();
            _ = p.Timestamp.ToString();
            _ = p.Timestamp.ToDateTimeOffset();
        }
    }

    [Fact]
    public void Fuzzed_corpus_files_raise_only_typed_errors()
    {
        List<byte[]> seeds = Seeds();
        int cases = int.TryParse(Environment.GetEnvironmentVariable("KDT_FUZZ_CASES"), out int c) ? c : 120_000;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("KDT_FUZZ_SEED"), out int s) ? s : 20241123;
        var rng = new Random(seed);
        var sw = Stopwatch.StartNew();
        long peak = 0;
        int typed = 0;
        for (int i = 0; i < cases; i++)
        {
            byte[] input = Mutate(seeds[rng.Next(seeds.Count)], rng);
            try
            {
                Exercise(input, blocks: (i & 1) == 1);
            }
            catch (CaptureFileException e)
            {
                typed++;
                if (e.Message.Contains('\n')) Assert.Fail($"case {i} (seed {seed}): multi-line message: {e.Message}");
            }
            catch (Exception e)
            {
                string file = Path.Combine(Path.GetTempPath(), $"kdt-fuzz-{seed}-{i}.bin");
                File.WriteAllBytes(file, input);
                Assert.Fail($"case {i} (seed {seed}, input saved to {file}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
            if ((i & 4095) == 0) peak = Math.Max(peak, GC.GetTotalMemory(false));
        }
        TestContext.Current.SendDiagnosticMessage($"fuzz: {cases} cases, {typed} typed errors, {sw.Elapsed.TotalSeconds:F1} s, peak heap {peak >> 20} MiB");
        Assert.True(sw.Elapsed < TimeSpan.FromMinutes(2), $"fuzzing took {sw.Elapsed}");
        Assert.True(peak < 1L << 30, $"heap reached {peak >> 20} MiB");
    }
}
