using System.Globalization;

namespace KdtCapture.PcapNg.Tests;

/// <summary>Rotation names and splits files as tcpdump 4.99 does (-C, -G, -W), measured against
/// the installed tcpdump where it can be (size rotation) and against its rules otherwise.</summary>
public sealed class RotationTests
{
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }

    private static string MakeInput(TempDir dir, int count = 30000)
    {
        string path = dir.File("input.pcap");
        using var w = CaptureWriter.Create(path);
        int i0 = w.AddInterface(new InterfaceDescription { LinkType = 1, SnapLength = 262144 });
        for (int i = 0; i < count; i++)
        {
            byte[] data = Samples.Frame(i, 100 + i % 200);
            w.WritePacket(i0, PacketTimestamp.FromUnixSeconds(1_700_000_000 + i, (ulong)(i % 1_000_000), TimestampResolution.Microseconds), data);
        }
        return path;
    }

    private static Dictionary<string, string> Files(string dir, string prefix) =>
        Directory.GetFiles(dir, prefix + "*").ToDictionary(f => Path.GetFileName(f)!, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    [Theory]
    [InlineData(null)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(11)]
    public void Size_rotation_names_and_splits_files_like_tcpdump(int? fileCount)
    {
        Tools.SkipUnless("tcpdump");
        using var dir = new TempDir();
        string input = MakeInput(dir);
        var args = new List<string> { "-r", input, "-w", dir.File("tcp"), "-C", "1" };
        if (fileCount is int w) args.AddRange(["-W", w.ToString(CultureInfo.InvariantCulture)]);
        if (Environment.UserName == "root") args.AddRange(["-Z", "root"]); // else tcpdump drops to its own user
        Tools.Result r = Tools.Run("tcpdump", [.. args]);
        Assert.True(r.ExitCode == 0, r.Stderr);

        using (var reader = CaptureReader.Open(input))
        using (var writer = new RotatingCaptureWriter(dir.File("kdt"), new CaptureRotationOptions
        {
            FileSizeLimit = CaptureRotationOptions.FromMillions(1),
            FileCount = fileCount,
            WriterOptions = new CaptureWriterOptions { Format = CaptureFileFormat.Pcap },
        }))
        {
            writer.AddInterface(reader.Interfaces[0]);
            while (reader.TryReadPacket(out CapturePacket p)) writer.WritePacket(p);
        }

        Dictionary<string, string> theirs = Files(dir.Path, "tcp"), ours = Files(dir.Path, "kdt");
        Assert.Equal(theirs.Keys.Select(k => k[3..]).Order(), ours.Keys.Select(k => k[3..]).Order());
        foreach ((string name, string hash) in theirs) Assert.True(ours["kdt" + name[3..]] == hash, $"file {name} differs from tcpdump's");
        if (!OperatingSystem.IsWindows())
        {
            foreach (string f in Directory.GetFiles(dir.Path, "kdt*"))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f));
            }
        }
    }

    [Fact]
    public void Every_rotated_pcapng_file_is_complete_on_its_own()
    {
        using var dir = new TempDir();
        var closed = new List<string>();
        List<InterfaceDescription> ifs = Samples.Interfaces(mixedLinkTypes: true);
        List<Samples.Packet> packets = Samples.Packets(ifs.Count, 3000);
        using (var w = new RotatingCaptureWriter(dir.File("ring.pcapng"), new CaptureRotationOptions
        {
            FileSizeLimit = 200_000,
            WriterOptions = new CaptureWriterOptions { CloseStatistics = (i, _) => new InterfaceStatistics { Received = 7 } },
        }))
        {
            w.FileClosed += closed.Add;
            w.WriteDecryptionSecrets(new DecryptionSecretsBlock { SecretsType = DecryptionSecretsBlock.TlsKeyLog, Data = "x"u8.ToArray() });
            Samples.Write(w, ifs, packets);
        }
        string[] files = Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal).ToArray();
        Assert.True(files.Length > 3);
        Assert.Equal(files.Length, closed.Count);
        long total = 0;
        foreach (string f in files)
        {
            using var r = (PcapNgReader)CaptureReader.Open(f);
            total += r.ReadAllPackets().Count();
            Assert.Equal(ifs.Count, r.Interfaces.Count);
            Assert.Single(r.DecryptionSecrets);
            Assert.Equal(ifs.Count, r.Statistics.Count);
            Assert.Null(r.Truncation);
        }
        Assert.Equal(packets.Count, total);
    }

    [Fact]
    public void Time_rotation_expands_strftime_restarts_size_numbering_and_stops_at_the_file_count()
    {
        using var dir = new TempDir();
        var clock = new ManualClock(new DateTimeOffset(2024, 2, 29, 23, 59, 50, TimeSpan.Zero));
        var ifs = new[] { new InterfaceDescription { LinkType = 1 } };
        byte[] data = new byte[1000];
        var writer = new RotatingCaptureWriter(dir.File("cap-%Y%m%d-%H%M%S"), new CaptureRotationOptions
        {
            RotateSeconds = 10, Clock = clock, FileSizeLimit = 5000, FileCount = 12,
            WriterOptions = new CaptureWriterOptions { Format = CaptureFileFormat.Pcap },
        });
        using (writer)
        {
            writer.AddInterface(ifs[0]);
            for (int i = 0; i < 20; i++)
            {
                writer.WritePacket(0, PacketTimestamp.FromDateTimeOffset(clock.Now), data);
                clock.Now = clock.Now.AddSeconds(1.5);
            }
        }
        // Packets every 1.5 s from 23:59:50: time rotates at the first packet 10 whole seconds
        // after the file opened (00:00:00, 00:00:11); -C with -W 12 numbers files with two
        // digits, back to 00 whenever time opens a new file.
        Assert.Equal(
        [
            "cap-20240229-23595000", "cap-20240229-23595001",
            "cap-20240301-00000000", "cap-20240301-00000001",
            "cap-20240301-00001100", "cap-20240301-00001101",
        ], writer.OpenedPaths.Select(Path.GetFileName));

        // -G with -W alone: stop after W files.
        clock.Now = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var limited = new RotatingCaptureWriter(dir.File("g-%s"), new CaptureRotationOptions { RotateSeconds = 5, FileCount = 2, Clock = clock });
        using (limited)
        {
            limited.AddInterface(ifs[0]);
            for (int i = 0; i < 30 && !limited.LimitReached; i++)
            {
                limited.WritePacket(0, PacketTimestamp.FromDateTimeOffset(clock.Now), data);
                clock.Now = clock.Now.AddSeconds(1);
            }
        }
        Assert.True(limited.LimitReached);
        Assert.Equal(["g-1704067200", "g-1704067205"], limited.OpenedPaths.Select(Path.GetFileName));
        Assert.Equal(5, CaptureReader.Open(dir.File("g-1704067205")).ReadAllPackets().Count());
    }

    [Theory]
    [InlineData("%Y-%m-%d %H:%M:%S %j %a %A %b %B %e %C %y %D %F %T %R %u %w %U %W %V %G %g %I %l %k %p %s %%")]
    [InlineData("%c|%x|%X|%r|%h")]
    public void Strftime_matches_date(string format)
    {
        Tools.SkipUnless("date");
        foreach (long t in new long[] { 0, 951782400, 1_700_000_000, 1_704_067_199, 1_709_251_199, 1_735_603_200, 4_102_444_800 })
        {
            Tools.Result r = Tools.Run("date", "-u", "-d", "@" + t.ToString(CultureInfo.InvariantCulture), "+" + format);
            string ours = Internal.Strftime.Format(format, DateTimeOffset.FromUnixTimeSeconds(t));
            Assert.Equal(r.Stdout.TrimEnd('\n'), ours);
        }
    }
}
