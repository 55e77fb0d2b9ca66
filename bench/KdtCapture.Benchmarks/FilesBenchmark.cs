using System.Buffers.Binary;
using System.Diagnostics;

namespace KdtCapture.Benchmarks;

/// <summary>
/// Part 5, files: whole command runs of the published kdt against tcpdump on the same generated
/// capture file (written once under .build/bench/files): filter-and-write
/// (<c>-r big.pcap -w out 'tcp port 80'</c>, the judged ratio), a plain read (<c>--count</c>, MB/s)
/// and LZ4 writing (rate and compression ratio). Runs are interleaved (order alternating) and
/// timed from spawn to exit with output to files and stdout/stderr to /dev/null.
/// </summary>
internal static class FilesBenchmark
{
    public const string Expression = "tcp port 80";

    public sealed record Result(
        StartupBenchmark.Command KdtFilter, StartupBenchmark.Command TcpdumpFilter,
        StartupBenchmark.Command KdtRead, StartupBenchmark.Command TcpdumpRead,
        StartupBenchmark.Command KdtLz4, long FileBytes, long Lz4Bytes, long PcapngBytes, long Selected, long Packets);

    /// <summary>The capture file for <paramref name="capture"/>, written as classic pcap (µs) unless it exists already.</summary>
    public static string EnsureCaptureFile(string repository, SyntheticCapture capture, ulong fingerprint, TextWriter log)
    {
        string dir = Path.Combine(repository, ".build", "bench", "files");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"big-{capture.Count}-{fingerprint:x16}.pcap");
        long expected = 24 + 16L * capture.Count + capture.TotalBytes;
        if (File.Exists(path) && new FileInfo(path).Length == expected)
        {
            log.WriteLine($"   capture file: {Relative(repository, path)} (kept from an earlier run)");
            return path;
        }
        string partial = path + ".partial";
        using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> header = stackalloc byte[24];
            BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b2c3d4);
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 262144);
            BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1);
            file.Write(header);
            Span<byte> record = stackalloc byte[16];
            long micros = 1_700_000_000L * 1_000_000;
            for (int i = 0; i < capture.Count; i++)
            {
                // A packet every 7 µs on average, as on a busy link.
                micros += 1 + (i * 2654435761u >> 29);
                int length = capture.Lengths[i];
                BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(micros / 1_000_000));
                BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(micros % 1_000_000));
                BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)length);
                BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)length);
                file.Write(record);
                file.Write(capture.Data.AsSpan(capture.Offsets[i], length));
            }
        }
        File.Move(partial, path, overwrite: true);
        log.WriteLine($"   capture file: {Relative(repository, path)} written ({expected / 1e6:F0} MB)");
        return path;
    }

    public static Result Run(string kdt, string tcpdump, string big, string repository, int rounds, TextWriter log)
    {
        string dir = Path.Combine(repository, ".build", "bench", "files");
        string kdtOut = Path.Combine(dir, "out-kdt.pcapng");
        string tcpdumpOut = Path.Combine(dir, "out-tcpdump.pcap");
        string lz4Out = Path.Combine(dir, "out-kdt.pcapng.lz4");
        string pcapngOut = Path.Combine(dir, "out-all.pcapng");

        // tcpdump run as root would switch to the "tcpdump" user before writing; -Z root keeps it
        // able to write where kdt writes.
        string[] z = Environment.IsPrivilegedProcess ? ["-Z", "root"] : [];
        var kdtFilter = new StartupBenchmark.Command($"kdt -r big -w out.pcapng '{Expression}'", kdt, ["capture", "-r", big, "-w", kdtOut, Expression]);
        var tcpdumpFilter = new StartupBenchmark.Command($"tcpdump -r big -w out.pcap '{Expression}'", tcpdump, [.. z, "-r", big, "-w", tcpdumpOut, Expression]);
        var kdtRead = new StartupBenchmark.Command("kdt --count -r big", kdt, ["capture", "--count", "-r", big]);
        var tcpdumpRead = new StartupBenchmark.Command("tcpdump --count -r big", tcpdump, ["--count", "-r", big]);
        var kdtLz4 = new StartupBenchmark.Command("kdt -r big -w out.pcapng.lz4", kdt, ["capture", "-r", big, "-w", lz4Out]);
        var kdtPcapng = new StartupBenchmark.Command("kdt -r big -w out.pcapng", kdt, ["capture", "-r", big, "-w", pcapngOut]);

        // The same answers first: kdt selects what tcpdump selects and counts what it counts.
        var (e1, kdtCount, _) = StartupBenchmark.RunOnce(kdtRead);
        var (e2, tcpdumpCount, _) = StartupBenchmark.RunOnce(tcpdumpRead);
        var (e3, _, _) = StartupBenchmark.RunOnce(kdtFilter);
        var (e4, _, _) = StartupBenchmark.RunOnce(tcpdumpFilter);
        var (e5, _, _) = StartupBenchmark.RunOnce(kdtPcapng);
        if (e1 != 0 || e2 != 0 || e3 != 0 || e4 != 0 || e5 != 0)
            throw new InvalidOperationException($"file commands failed (exits {e1} {e2} {e3} {e4} {e5})");
        if (kdtCount != tcpdumpCount)
            throw new InvalidOperationException($"kdt --count says '{kdtCount.Trim()}', tcpdump '{tcpdumpCount.Trim()}'");
        var (_, selectedKdt, _) = StartupBenchmark.RunOnce(new("", kdt, ["capture", "--count", "-r", kdtOut]));
        var (_, selectedTcpdump, _) = StartupBenchmark.RunOnce(new("", tcpdump, ["--count", "-r", tcpdumpOut]));
        if (selectedKdt != selectedTcpdump)
            throw new InvalidOperationException($"kdt wrote {selectedKdt.Trim()}, tcpdump {selectedTcpdump.Trim()} for '{Expression}'");
        log.WriteLine($"   same answers: both count {tcpdumpCount.Trim()}; both select {selectedTcpdump.Trim()} for '{Expression}'");
        log.Flush();

        StartupBenchmark.Measure([kdtFilter, tcpdumpFilter, kdtRead, tcpdumpRead, kdtLz4], rounds, warmups: 1);
        return new Result(kdtFilter, tcpdumpFilter, kdtRead, tcpdumpRead, kdtLz4,
            new FileInfo(big).Length, new FileInfo(lz4Out).Length, new FileInfo(pcapngOut).Length,
            long.Parse(selectedKdt.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(kdtCount.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string Relative(string repository, string path) => Path.GetRelativePath(repository, path);
}
