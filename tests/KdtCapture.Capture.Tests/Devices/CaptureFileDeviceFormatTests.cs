using System.Diagnostics;
using System.Text;
using KdtCapture.Capture.Devices;
using KdtCapture.Filters;
using KdtCapture.Testing;
using SharpPcap;
using SharpPcap.LibPcap;

namespace KdtCapture.Capture.Tests.Devices;

/// <summary>
/// Files libpcap cannot read, read correctly: pcapng with interfaces of different link types or
/// snap lengths and several sections of both byte orders (the conformance corpus, checked with
/// tshark), and gzip/LZ4-compressed captures (checked against SharpPcap on the plain file).
/// </summary>
public sealed class CaptureFileDeviceFormatTests
{
    [Fact]
    public void ConformanceFilesReadAsLibpcapOrTsharkReadsThem()
    {
        TsharkRecords.RequireTshark();
        var failures = new StringBuilder();
        int beyondLibpcap = 0, multiLink = 0;
        foreach (string file in DeviceCorpora.ConformanceFiles())
        {
            string name = Path.GetRelativePath(DeviceCorpora.Require("pcapng-conformance"), file);
            DeviceRun libpcap = DeviceRun.Read(new CaptureFileReaderDevice(file), TimestampResolution.Nanosecond);
            DeviceRun ours = DeviceRun.Read(new CaptureFileDevice(file), TimestampResolution.Nanosecond);
            if (libpcap.OpenError is not null || libpcap.End == GetPacketStatus.NoRemainingPackets)
            {
                // libpcap reads it (or refuses it at open, e.g. no interface at all): exactly as SharpPcap.
                int unused = 0;
                if (CaptureFileDeviceCorpusTests.Compare(file, TimestampResolution.Nanosecond, libpcap, ours, ref unused) is { } why)
                    failures.AppendLine($"{name}: {why}");
                continue;
            }

            // libpcap stops with an error ("an interface has a type 0 different from the type of the
            // first interface"): what it read before must agree, and the whole file must match tshark.
            beyondLibpcap++;
            if (ours.End != GetPacketStatus.NoRemainingPackets || ours.LastError != "")
            {
                failures.AppendLine($"{name}: ours {ours}, expected the whole file");
                continue;
            }
            if (!ours.Packets.Take(libpcap.Packets.Count).SequenceEqual(libpcap.Packets))
                failures.AppendLine($"{name}: the {libpcap.Packets.Count} packets libpcap read before '{libpcap.LastError}' differ");
            List<TsharkRecords.Record> expected = TsharkRecords.Read(file);
            if (expected.Count != ours.Packets.Count)
            {
                failures.AppendLine($"{name}: tshark {expected.Count} packets, ours {ours.Packets.Count}");
                continue;
            }
            if (ours.Packets.Select(p => p.LinkLayer).Distinct().Count() > 1)
                multiLink++;
            for (int i = 0; i < expected.Count; i++)
            {
                TsharkRecords.Record t = expected[i];
                PacketSeen o = ours.Packets[i];
                bool timeOk = t.Time.Length == 0 ? o.Timeval == 0 : o.TimevalText == t.Time + "s";
                if (!timeOk || o.CaptureLength != t.CaptureLength || o.PacketLength != t.PacketLength
                    || o.LinkLayer != TsharkRecords.LinkLayerOf(t.Encapsulation) || o.Digest != t.Digest)
                {
                    failures.AppendLine($"{name} packet {i}: tshark {t.Time} cap={t.CaptureLength} len={t.PacketLength} encap={t.Encapsulation} {t.Digest}; ours {o}");
                    break;
                }
            }
        }
        Assert.True(failures.Length == 0, failures.ToString());
        Assert.True(beyondLibpcap >= 10 && multiLink >= 4, $"{beyondLibpcap} files beyond libpcap, {multiLink} with several link types: the corpus should have more");
    }

    /// <summary>On a file of several link types each packet is filtered by the program libpcap
    /// compiles for its own link type and its section's byte order (BSD loopback headers are in
    /// the writer's byte order); the expected verdicts come from libpcap's bpf_filter, with the
    /// program compiled on a one-interface pcap file of that link type and byte order.</summary>
    [Theory]
    [InlineData("ip")]
    [InlineData("udp port 67 or udp port 68")]
    [InlineData("len > 300")]
    [InlineData("ether broadcast")]
    public void MultiLinkFilesAreFilteredPerInterfaceLinkType(string expression)
    {
        Assert.SkipUnless(LibPcapOracle.IsAvailable, "needs libpcap (libpcap0.8)");
        string dir = Directory.CreateTempSubdirectory("kdt-device-").FullName;
        try
        {
            int checkedFiles = 0;
            foreach (string file in DeviceCorpora.ConformanceFiles())
            {
                var all = new List<(PacketSeen Seen, byte[] Data)>();
                using (var device = new CaptureFileDevice(file))
                {
                    try
                    {
                        device.Open();
                    }
                    catch (PcapException)
                    {
                        continue; // no interfaces: nothing to filter
                    }
                    while (device.GetNextPacket(out PacketCapture e) == GetPacketStatus.PacketRead)
                        all.Add((PacketSeen.From(e), e.Data.ToArray()));
                }
                if (all.Select(p => p.Seen.LinkLayer).Distinct().Count() < 2)
                    continue;
                checkedFiles++;
                List<bool> bigEndian = SectionByteOrders(file);
                Assert.Equal(all.Count, bigEndian.Count);

                var expected = new List<PacketSeen>();
                string? error = null;
                for (int i = 0; i < all.Count; i++)
                {
                    var (seen, data) = all[i];
                    string standIn = StandInPcap(dir, (int)seen.LinkLayer, bigEndian[i]);
                    var compiled = LibPcapOracle.CompileForFile(standIn, expression, netmask: 0);
                    if (!compiled.Succeeded)
                    {
                        error ??= compiled.Error;
                        continue;
                    }
                    if (LibPcapOracle.Filter(compiled.Instructions, data, seen.PacketLength) != 0)
                        expected.Add(seen);
                }

                using var filtered = new CaptureFileDevice(file);
                filtered.Open();
                try
                {
                    filtered.Filter = expression;
                }
                catch (PcapException e)
                {
                    // Refused at assignment when it fails for a link type already seen: libpcap's text.
                    Assert.Equal(error, e.Message);
                    continue;
                }
                var got = new List<PacketSeen>();
                GetPacketStatus status;
                while ((status = filtered.GetNextPacket(out PacketCapture e)) == GetPacketStatus.PacketRead)
                    got.Add(PacketSeen.From(e));
                if (error is null)
                {
                    Assert.Equal(GetPacketStatus.NoRemainingPackets, status);
                    Assert.Equal(expected, got);
                }
                else
                {
                    // A link type met later that the expression cannot be compiled for ends the read with an error.
                    Assert.Equal(GetPacketStatus.Error, status);
                    Assert.EndsWith(error, filtered.LastError);
                }
            }
            Assert.True(checkedFiles >= 4, $"only {checkedFiles} files with several link types");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Per packet, whether its section is big-endian (the conformance files mix both).</summary>
    private static List<bool> SectionByteOrders(string file)
    {
        var list = new List<bool>();
        using var reader = (KdtCapture.PcapNg.PcapNgReader)KdtCapture.PcapNg.CaptureReader.Open(file);
        while (reader.TryReadPacket(out _))
            list.Add(reader.Section.IsBigEndian);
        return list;
    }

    /// <summary>An empty pcap file with one link type in one byte order, for libpcap to compile on.</summary>
    private static string StandInPcap(string dir, int dlt, bool bigEndian)
    {
        string path = Path.Combine(dir, $"standin-{dlt}-{(bigEndian ? "be" : "le")}.pcap");
        if (File.Exists(path))
            return path;
        var header = new byte[24];
        void Put32(int at, uint v)
        {
            if (bigEndian) System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(at), v);
            else System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(at), v);
        }
        Put32(0, 0xa1b2c3d4);
        Put32(4, bigEndian ? 0x00020004u : 0x00040002u); // version 2.4 (two 16-bit fields)
        Put32(16, 262144);
        Put32(20, (uint)KdtCapture.PcapNg.LinkTypeValues.FromLinuxDlt(dlt));
        File.WriteAllBytes(path, header);
        return path;
    }

    /// <summary>gzip and LZ4 (frame format, as the lz4 tool writes) around pcap and pcapng: read
    /// as SharpPcap reads the plain file (libpcap cannot read the compressed one at all).</summary>
    [Theory]
    [InlineData("gzip")]
    [InlineData("lz4")]
    public void CompressedCapturesReadAsThePlainFile(string tool)
    {
        string toolPath = "/usr/bin/" + tool;
        Assert.SkipUnless(File.Exists(toolPath), $"needs {tool}");
        string dir = Directory.CreateTempSubdirectory("kdt-device-").FullName;
        try
        {
            var failures = new StringBuilder();
            string[] captures = DeviceCorpora.TcpdumpCaptures();
            int compared = 0;
            for (int i = 0; i < captures.Length; i += 9)
            {
                string plain = captures[i];
                string packed = Path.Combine(dir, Path.GetFileName(plain) + (tool == "gzip" ? ".gz" : ".lz4"));
                Compress(toolPath, plain, packed);
                DeviceRun libpcap = DeviceRun.Read(new CaptureFileReaderDevice(plain), TimestampResolution.Nanosecond);
                DeviceRun ours = DeviceRun.Read(new CaptureFileDevice(packed), TimestampResolution.Nanosecond);
                Assert.NotNull(DeviceRun.Read(new CaptureFileReaderDevice(packed)).OpenError); // libpcap cannot
                int unused = 0;
                if (CaptureFileDeviceCorpusTests.Compare(plain, TimestampResolution.Nanosecond, libpcap, ours, ref unused) is { } why)
                    failures.AppendLine($"{Path.GetFileName(packed)}: {why}");
                compared++;
            }
            foreach (string plain in DeviceCorpora.ConformanceFiles())
            {
                // Compare with the plain file through our device (checked against tshark above).
                string packed = Path.Combine(dir, Path.GetFileName(Path.GetDirectoryName(plain))! + "-" + Path.GetFileName(plain) + ".z");
                Compress(toolPath, plain, packed);
                DeviceRun a = DeviceRun.Read(new CaptureFileDevice(plain), TimestampResolution.Nanosecond);
                DeviceRun b = DeviceRun.Read(new CaptureFileDevice(packed), TimestampResolution.Nanosecond);
                if (a.OpenError != b.OpenError || !a.Packets.SequenceEqual(b.Packets) || a.End != b.End)
                    failures.AppendLine($"{packed}: plain {a}, compressed {b}");
                compared++;
            }
            Assert.True(failures.Length == 0, failures.ToString());
            Assert.True(compared > 100, $"only {compared} files compared");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Compress(string tool, string input, string output)
    {
        var psi = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardError = true };
        foreach (string a in new[] { "-q", "-c", input })
            psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        using var p = Process.Start(psi)!;
        using (var file = File.Create(output))
            p.StandardOutput.BaseStream.CopyTo(file);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {input}: {p.StandardError.ReadToEnd()}");
    }
}
