using System.Buffers.Binary;
using System.Security.Cryptography;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests.Offline;

/// <summary>
/// tcpdump's printing and output options that change what is printed or written (-T, -N, -M, --print, -z,
/// -Z, -m, -f with a file, --fp-type), each compared with tcpdump on the same capture.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PrintingOptionTests
{
    private const long Epoch = 1_700_000_000_000_000_000L;

    /// <summary>Ethernet/IPv4 with <paramref name="protocol"/>'s payload, checksum right.</summary>
    private static byte[] Ip4Frame(byte protocol, byte[] payload, byte[] source, byte[] destination, byte ttl = 64)
    {
        var frame = new byte[14 + 20 + payload.Length];
        frame.AsSpan(0, 6).Fill(0x02);
        frame.AsSpan(6, 6).Fill(0x04);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        Span<byte> ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + payload.Length));
        ip[8] = ttl;
        ip[9] = protocol;
        source.CopyTo(ip[12..]);
        destination.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..20]));
        payload.CopyTo(ip[20..]);
        return frame;
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int k = 0; k + 1 < data.Length; k += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[k..]);
        if (data.Length % 2 == 1) sum += (uint)data[^1] << 8;
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    private static byte[] Udp(ushort sport, ushort dport, byte[] data)
    {
        var udp = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(udp, sport);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        data.CopyTo(udp, 8);
        return udp;
    }

    private static readonly byte[] A = [192, 0, 2, 1], B = [192, 0, 2, 2], C = [198, 51, 100, 9];

    private static void WritePcap(string path, IEnumerable<byte[]> frames)
    {
        using var w = CaptureWriter.Create(path, new CaptureWriterOptions { Format = CaptureFileFormat.Pcap });
        w.AddInterface(new InterfaceDescription { LinkType = LinkTypeValues.Ethernet, SnapLength = 262144 });
        int i = 0;
        foreach (byte[] f in frames)
            w.WritePacket(0, PacketTimestamp.FromUnixNanoseconds(Epoch + i++ * 1_000_000L), f);
    }

    /// <summary>Datagrams on ports that name no protocol, whose payloads are RTP, vat, DNS, VXLAN and PTP.</summary>
    private static List<byte[]> ForcedTypeFrames()
    {
        var frames = new List<byte[]>();
        // RTP v2: marker, payload type 0, sequence 4660, time stamp 100000, SSRC; 160 bytes of audio.
        byte[] rtp = new byte[12 + 160];
        rtp[0] = 0x80; rtp[1] = 0x80;
        BinaryPrimitives.WriteUInt16BigEndian(rtp.AsSpan(2), 4660);
        BinaryPrimitives.WriteUInt32BigEndian(rtp.AsSpan(4), 100000);
        BinaryPrimitives.WriteUInt32BigEndian(rtp.AsSpan(8), 0xdeadbeef);
        frames.Add(Ip4Frame(17, Udp(40000, 40002, rtp), A, B));
        // RTP with an extension header and H.261 content (type 31).
        byte[] rtpExt = new byte[12 + 8 + 8];
        rtpExt[0] = 0x90; rtpExt[1] = 31;
        BinaryPrimitives.WriteUInt16BigEndian(rtpExt.AsSpan(2), 7);
        BinaryPrimitives.WriteUInt16BigEndian(rtpExt.AsSpan(12 + 2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(rtpExt.AsSpan(20), 0x12345678);
        frames.Add(Ip4Frame(17, Udp(40000, 40002, rtpExt), A, B));
        frames.Add(Ip4Frame(17, Udp(40000, 40002, [0x80, 0x00, 0x00]), A, B));
        // vat: flags, conference 7, time stamp.
        byte[] vat = new byte[8 + 40];
        BinaryPrimitives.WriteUInt32BigEndian(vat, 0x0383_0007);
        BinaryPrimitives.WriteUInt32BigEndian(vat.AsSpan(4), 123456);
        frames.Add(Ip4Frame(17, Udp(3456, 3457, vat), A, B));
        // A DNS query for example.com on port 5000.
        byte[] dns = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 3, (byte)'c', (byte)'o', (byte)'m', 0, 0, 1, 0, 1];
        frames.Add(Ip4Frame(17, Udp(5000, 5001, dns), A, C));
        // VXLAN (VNI 42) carrying an Ethernet/IPv4/UDP frame, on port 9999.
        byte[] inner = Ip4Frame(17, Udp(7, 9, [1, 2, 3, 4]), C, A);
        byte[] vxlan = new byte[8 + inner.Length];
        vxlan[0] = 0x08;
        vxlan[6] = 42;
        inner.CopyTo(vxlan, 8);
        frames.Add(Ip4Frame(17, Udp(9999, 9999, vxlan), A, B));
        // CARP (IP protocol 112): version 2 advertisement, vhid 5, advskew 10, counter.
        byte[] carp = new byte[36];
        carp[0] = 0x21; carp[1] = 5; carp[2] = 10; carp[3] = 7; carp[5] = 1;
        BinaryPrimitives.WriteUInt64BigEndian(carp.AsSpan(8), 99);
        BinaryPrimitives.WriteUInt16BigEndian(carp.AsSpan(6), Checksum(carp));
        frames.Add(Ip4Frame(112, carp, A, [224, 0, 0, 18], ttl: 255));
        return frames;
    }

    [Theory]
    [InlineData("rtp", "")]
    [InlineData("rtp", "-v")]
    [InlineData("RTP", "")]
    [InlineData("vat", "")]
    [InlineData("domain", "")]
    [InlineData("vxlan", "")]
    [InlineData("carp", "")]
    [InlineData("carp", "-v")]
    public void Forced_packet_type_prints_as_tcpdump(string type, string verbose)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        WritePcap(dir["t.pcap"], ForcedTypeFrames());
        string[] args = verbose.Length > 0 ? ["-n", "-T", type, verbose, "-r", dir["t.pcap"]] : ["-n", "-T", type, "-r", dir["t.pcap"]];
        ProcessResult tcpdump = Tcpdump.Run(args);
        ProcessResult kdt = Kdt.Run(["capture", .. args]);
        Assert.Equal(0, tcpdump.ExitCode);
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
        Assert.Equal(0, kdt.ExitCode);
    }

    [Fact]
    public void Forced_packet_type_the_printer_summarises_says_which()
    {
        using var dir = new TempDir();
        WritePcap(dir["t.pcap"], ForcedTypeFrames().Take(1));
        ProcessResult kdt = Kdt.Run("capture", "-n", "-T", "snmp", "-r", dir["t.pcap"]);
        Assert.Equal(0, kdt.ExitCode);
        Assert.Contains("192.0.2.1.40000 > 192.0.2.2.40002: SNMP, length 172", kdt.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_packet_type_is_refused_as_tcpdump_refuses_it()
    {
        Tcpdump.RequireInstalled();
        ProcessResult tcpdump = Tcpdump.Run(["-T", "bogus", "-r", "/nonexistent"]);
        ProcessResult kdt = Kdt.Run("capture", "-T", "bogus", "-r", "/nonexistent");
        Assert.NotEqual(0, kdt.ExitCode);
        Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
    }

    [Fact]
    public void Host_names_without_domains_match_tcpdump_under_a_hosts_file_of_our_own()
    {
        Tcpdump.RequireInstalled();
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("a private /etc/hosts needs a mount namespace: run the tests as root");
        using var dir = new TempDir();
        WritePcap(dir["t.pcap"], ForcedTypeFrames().Take(1).Concat([Ip4Frame(17, Udp(53, 1024, [0, 1, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0]), C, A)]));
        File.WriteAllText(dir["hosts"], "192.0.2.1 alpha.example.org alpha\n192.0.2.2 beta.example.org\n198.51.100.9 gamma\n");
        foreach (string numericFlags in new[] { "-N", "-Nq" })
        {
            ProcessResult both = Tool.Shell(
                $"unshare -m bash -c 'mount --bind {dir["hosts"]} /etc/hosts && {Tcpdump.Location} {numericFlags} -r {dir["t.pcap"]} 2>/dev/null; echo ===; \"$KDT\" capture {numericFlags} -r {dir["t.pcap"]} 2>/dev/null'");
            Assert.True(both.ExitCode == 0, both.ToString());
            string[] halves = both.Stdout.Split("===\n");
            Assert.Contains("alpha.40000 > beta.40002", halves[0], StringComparison.Ordinal);
            Assert.Equal(halves[0], halves[1]);
        }
    }

    [Fact]
    public void Print_while_writing_prints_what_reading_prints_and_writes_the_same_packets()
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        WritePcap(dir["t.pcap"], ForcedTypeFrames());
        ProcessResult tcpdump = Tcpdump.Run(["-Z", "root", "-n", "--print", "-r", dir["t.pcap"], "-w", dir["tcpdump.pcap"]]);
        ProcessResult kdt = Kdt.Run("capture", "-n", "--print", "-r", dir["t.pcap"], "-w", dir["kdt.pcap"]);
        Assert.Equal(0, kdt.ExitCode);
        Assert.NotEmpty(tcpdump.Stdout);
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
        Captures.AssertSamePackets(Captures.Read(dir["tcpdump.pcap"]), Captures.Read(dir["kdt.pcap"]), "--print -w");
    }

    [Fact]
    public void Post_rotate_command_gets_each_file_rotation_closed_as_tcpdump_hands_them_over()
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        Synthetic.WriteUdpPcap(dir["in.pcap"], 2500, 1000);
        string script = dir["record"];
        File.WriteAllText(script, "#!/bin/sh\necho \"$(basename \"$1\") $(stat -c %s \"$1\")\" >> \"$(dirname \"$1\")/../z.log\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string[] logs = new string[2];
        int k = 0;
        foreach (string who in new[] { "tcpdump", "kdt" })
        {
            string outDir = dir[who];
            Directory.CreateDirectory(Path.Combine(outDir, "files"));
            string[] args = ["-r", dir["in.pcap"], "-w", Path.Combine(outDir, "files", "out.pcap"), "-C", "1", "-z", script];
            ProcessResult run = who == "tcpdump" ? Tcpdump.Run(["-Z", "root", .. args]) : Kdt.Run(["capture", "--pcap", .. args]);
            Assert.True(run.ExitCode == 0, run.ToString());
            // -z's command runs in the background: wait for the two closed files (out.pcap, out.pcap1).
            string log = Path.Combine(outDir, "z.log");
            for (int i = 0; i < 200 && (!File.Exists(log) || File.ReadAllLines(log).Length < 2); i++)
                Thread.Sleep(50);
            Thread.Sleep(200);
            logs[k++] = File.Exists(log) ? string.Join('\n', File.ReadAllLines(log).Order(StringComparer.Ordinal)) : "";
            Assert.Equal(3, Directory.GetFiles(Path.Combine(outDir, "files")).Length);
        }
        // The same two files (name and size when closed), never the last one, which is closed at the end.
        Assert.Equal(2, logs[0].Split('\n').Length);
        Assert.Equal(logs[0], logs[1]);
    }

    [Fact]
    public void Relinquish_creates_the_output_as_that_user_and_refuses_unknown_users_as_tcpdump()
    {
        Tcpdump.RequireInstalled();
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("-Z changes user, which needs root: run the tests as root");
        using var dir = new TempDir();
        // The output is created after the switch: the directory must let "nobody" create files (mode 1777).
        File.SetUnixFileMode(dir.Path, (UnixFileMode)0x3ff);
        WritePcap(dir["t.pcap"], ForcedTypeFrames());
        ProcessResult tcpdump = Tcpdump.Run(["-Z", "nobody", "-r", dir["t.pcap"], "-w", dir["tcpdump.pcap"]]);
        ProcessResult kdt = Kdt.Run("capture", "-Z", "nobody", "-r", dir["t.pcap"], "-w", dir["kdt.pcap"]);
        Assert.True(kdt.ExitCode == 0, kdt.ToString());
        Assert.Equal(Owner(dir["tcpdump.pcap"]), Owner(dir["kdt.pcap"]));
        Assert.Equal("nobody", Owner(dir["kdt.pcap"]));

        ProcessResult tcpdumpBad = Tcpdump.Run(["-Z", "kdt-no-such-user", "-r", dir["t.pcap"], "-w", dir["x.pcap"]]);
        ProcessResult kdtBad = Kdt.Run("capture", "-Z", "kdt-no-such-user", "-r", dir["t.pcap"], "-w", dir["y.pcap"]);
        Assert.NotEqual(0, kdtBad.ExitCode);
        string expected = tcpdumpBad.Stderr.Split('\n').Single(l => l.Contains("Couldn't find user", StringComparison.Ordinal));
        Assert.Contains(expected.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdtBad.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-i", "tp_btf/net_dev_queue")]
    [InlineData("--pid", "1")]
    public void Relinquish_with_kernel_taps_is_refused_in_one_line(string option, string value)
    {
        ProcessResult kdt = Kdt.Run("capture", "-Z", "nobody", option, value, "-c", "1");
        Assert.NotEqual(0, kdt.ExitCode);
        Assert.Equal("kdt: -Z nobody: kernel taps read their BPF maps until the capture ends, which needs CAP_BPF that user lacks; leave out -Z (kdt's capture files are created mode 0600)\n", kdt.Stderr);
    }

    private static string Owner(string path)
    {
        ProcessResult stat = ProcessRunner.Run("stat", ["-c", "%U", path], TimeSpan.FromSeconds(10));
        return stat.Stdout.Trim();
    }

    [Fact]
    public void Mib_module_option_is_ignored_with_tcpdumps_words()
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        WritePcap(dir["t.pcap"], ForcedTypeFrames());
        ProcessResult tcpdump = Tcpdump.Run(["-n", "-m", "IF-MIB", "-r", dir["t.pcap"]]);
        ProcessResult kdt = Kdt.Run("capture", "-n", "-m", "IF-MIB", "-r", dir["t.pcap"]);
        Assert.Equal(0, kdt.ExitCode);
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
        Assert.Equal(tcpdump.Stderr.Split('\n')[0].Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr.Split('\n')[0]);
    }

    [Theory]
    [InlineData("-f", "-r")]
    public void Foreign_flag_with_a_file_is_refused_as_tcpdump_refuses_it(string flag, string read)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        WritePcap(dir["t.pcap"], ForcedTypeFrames());
        ProcessResult tcpdump = Tcpdump.Run([flag, read, dir["t.pcap"]]);
        ProcessResult kdt = Kdt.Run("capture", flag, read, dir["t.pcap"]);
        Assert.NotEqual(0, kdt.ExitCode);
        Assert.Equal(tcpdump.Stderr.Replace("tcpdump: ", "kdt: ", StringComparison.Ordinal), kdt.Stderr);
    }

    /// <summary>ESP (transport mode) carrying <paramref name="inner"/> as protocol <paramref name="nextHeader"/>, CBC-encrypted.</summary>
    private static byte[] Esp(uint spi, uint seq, byte nextHeader, byte[] inner, SymmetricAlgorithm cipher, int icvLength)
    {
        int block = cipher.BlockSize / 8;
        int padLength = (block - (inner.Length + 2) % block) % block;
        var plain = new byte[inner.Length + padLength + 2];
        inner.CopyTo(plain, 0);
        for (int i = 0; i < padLength; i++) plain[inner.Length + i] = (byte)(i + 1);
        plain[^2] = (byte)padLength;
        plain[^1] = nextHeader;
        byte[] iv = new byte[block];
        for (int i = 0; i < block; i++) iv[i] = (byte)(0xa0 + i + seq);
        byte[] ct = cipher.EncryptCbc(plain, iv, PaddingMode.None);
        var esp = new byte[8 + iv.Length + ct.Length + icvLength];
        BinaryPrimitives.WriteUInt32BigEndian(esp, spi);
        BinaryPrimitives.WriteUInt32BigEndian(esp.AsSpan(4), seq);
        iv.CopyTo(esp, 8);
        ct.CopyTo(esp, 8 + iv.Length);
        esp.AsSpan(8 + iv.Length + ct.Length).Fill(0x5a);
        return esp;
    }

    private static readonly byte[] AesKey = Convert.FromHexString("00112233445566778899aabbccddeeff");
    private static readonly byte[] DesKey = Convert.FromHexString("0123456789abcdeffedcba987654321000112233445566ff");

#pragma warning disable CA5350, CA5351 // The test makes 3DES traffic for tcpdump to decrypt.
    private static List<byte[]> EspFrames()
    {
        using var aes = Aes.Create();
        aes.Key = AesKey;
        using var des3 = TripleDES.Create();
        des3.Key = DesKey;
        byte[] echo = [8, 0, 0, 0, 0x12, 0x34, 0, 1, .. "ping through esp"u8];
        BinaryPrimitives.WriteUInt16BigEndian(echo.AsSpan(2), Checksum(echo));
        return
        [
            Ip4Frame(50, Esp(0x1000, 1, 17, Udp(4500, 53, [0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, (byte)'k', (byte)'d', (byte)'t', 0, 0, 1, 0, 1]), aes, 12), A, B),
            Ip4Frame(50, Esp(0x1000, 2, 1, echo, aes, 12), A, B),
            Ip4Frame(50, Esp(0x2000, 1, 17, Udp(1000, 2000, [1, 2, 3, 4, 5]), des3, 0), B, A),
            // No association names this one: only the default entry, if any, decrypts it.
            Ip4Frame(50, Esp(0x3000, 9, 17, Udp(7, 7, [9, 9]), aes, 12), A, C),
        ];
    }
#pragma warning restore CA5350, CA5351

    [Theory]
    [InlineData("0x1000@192.0.2.2 aes128-cbc-hmac96:0x00112233445566778899aabbccddeeff,0x2000@192.0.2.1 3des-cbc:0x0123456789abcdeffedcba987654321000112233445566ff")]
    [InlineData("aes128-cbc-hmac96:0x00112233445566778899aabbccddeeff")]
    [InlineData("0x1000@192.0.2.2 aes128-cbc-hmac96:0x00112233445566778899aabbccddeeaa")]
    [InlineData("4096@192.0.2.2 aes128-hmac96:0x00112233445566778899aabbccddeeff")]
    public void Esp_is_decrypted_and_printed_as_tcpdump_decrypts_it(string secrets)
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        WritePcap(dir["esp.pcap"], EspFrames());
        foreach (string verbose in new[] { "", "-v" })
        {
            string[] args = verbose.Length > 0 ? ["-n", verbose, "-E", secrets, "-r", dir["esp.pcap"]] : ["-n", "-E", secrets, "-r", dir["esp.pcap"]];
            ProcessResult tcpdump = Tcpdump.Run(args);
            ProcessResult kdt = Kdt.Run(["capture", .. args]);
            Assert.Equal(0, kdt.ExitCode);
            Assert.Equal(tcpdump.Stdout, kdt.Stdout);
        }
    }

    [Fact]
    public void Esp_secrets_come_from_a_file_as_tcpdump_reads_them()
    {
        Tcpdump.RequireInstalled();
        using var dir = new TempDir();
        WritePcap(dir["esp.pcap"], EspFrames());
        File.WriteAllText(dir["sa"], "# kdt test\n0x1000@192.0.2.2 aes128-cbc-hmac96:0x00112233445566778899aabbccddeeff\n\n0x2000@192.0.2.1 3des-cbc:0x0123456789abcdeffedcba987654321000112233445566ff\n");
        string[] args = ["-n", "-E", "file " + dir["sa"], "-r", dir["esp.pcap"]];
        // tcpdump reads the file at the first ESP packet, after it became its own user: -Z root keeps it able to.
        ProcessResult tcpdump = Tcpdump.Run(["-Z", "root", .. args]);
        ProcessResult kdt = Kdt.Run(["capture", .. args]);
        Assert.Equal(0, kdt.ExitCode);
        Assert.True(kdt.Stdout.Contains("length 68: 4500 > 53: 43981+ A? kdt. (21)", StringComparison.Ordinal), $"{kdt}\n{tcpdump}");
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
    }

    [Fact]
    public void Floating_point_check_prints_what_tcpdump_prints()
    {
        Tcpdump.RequireInstalled();
        ProcessResult tcpdump = Tcpdump.Run(["--fp-type"]);
        ProcessResult kdt = Kdt.Run("capture", "--fp-type");
        Assert.Equal(0, kdt.ExitCode);
        Assert.Equal(tcpdump.Stdout, kdt.Stdout);
    }

    [Theory]
    [InlineData("-b", "BGP")]
    [InlineData("-u", "NFS")]
    [InlineData("-H", "mesh")]
    public void Options_for_protocols_the_printer_summarises_say_so_and_print_as_without_them(string option, string protocol)
    {
        using var dir = new TempDir();
        WritePcap(dir["t.pcap"], ForcedTypeFrames());
        string[] args = ["-n", option, "-r", dir["t.pcap"]];
        ProcessResult with = Kdt.Run(["capture", .. args]);
        ProcessResult without = Kdt.Run("capture", "-n", "-r", dir["t.pcap"]);
        Assert.Equal(0, with.ExitCode);
        Assert.Equal(without.Stdout, with.Stdout);
        Assert.Contains($"kdt: {option} ", with.Stderr, StringComparison.Ordinal);
        Assert.Contains(protocol, with.Stderr.Split('\n')[0], StringComparison.Ordinal);
    }
}
