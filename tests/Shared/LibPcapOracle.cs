using System.Runtime.InteropServices;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;

namespace KdtCapture.Testing;

/// <summary>
/// The installed libpcap (Debian's libpcap0.8, 1.10.3: the library tcpdump -d runs), called in-process:
/// the oracle for compiled filters, their text, and filter verdicts on packets.
/// </summary>
public static unsafe partial class LibPcapOracle
{
    private const string Lib = "libpcap.so.0.8";
    private static readonly Lock CompileLock = new();

    [StructLayout(LayoutKind.Sequential)]
    private struct BpfProgram
    {
        public uint Length;
        public CbpfInstruction* Instructions;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PcapPacketHeader
    {
        public long Seconds;
        public long Microseconds;
        public uint CapturedLength;
        public uint WireLength;
    }

    [LibraryImport(Lib)] private static partial nint pcap_open_dead(int linktype, int snaplen);
    [LibraryImport(Lib)] private static partial void pcap_close(nint p);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int pcap_compile(nint p, BpfProgram* fp, string str, int optimize, uint netmask);
    [LibraryImport(Lib)] private static partial nint pcap_geterr(nint p);
    [LibraryImport(Lib)] private static partial void pcap_freecode(BpfProgram* fp);
    [LibraryImport(Lib)] private static partial nint bpf_image(CbpfInstruction* insn, int n);
    [LibraryImport(Lib)] private static partial uint bpf_filter(CbpfInstruction* pc, byte* pkt, uint wirelen, uint buflen);
    [LibraryImport(Lib)] private static partial int bpf_validate(CbpfInstruction* f, int len);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint pcap_open_offline(string fname, byte* errbuf);
    [LibraryImport(Lib)] private static partial int pcap_next_ex(nint p, PcapPacketHeader** header, byte** data);
    [LibraryImport(Lib)] private static partial int pcap_datalink(nint p);
    [LibraryImport(Lib)] private static partial nint pcap_lib_version();

    /// <summary>True when libpcap can be loaded here.</summary>
    public static bool IsAvailable
    {
        get
        {
            try
            {
                _ = pcap_lib_version();
                return true;
            }
            catch (DllNotFoundException)
            {
                return false;
            }
        }
    }

    public static string Version => Marshal.PtrToStringUTF8(pcap_lib_version()) ?? "";

    /// <summary>What libpcap's pcap_compile makes of an expression: the instructions, or its error text.</summary>
    public readonly record struct CompileResult(CbpfInstruction[]? Instructions, string? Error)
    {
        public bool Succeeded => Instructions is not null;
    }

    public static CompileResult Compile(string expression, LinkType linkType, bool optimize = true,
        int snaplen = 262144, uint netmask = 0xffffffff)
    {
        lock (CompileLock)
        {
            nint p = pcap_open_dead((int)linkType, snaplen);
            if (p == 0)
                throw new InvalidOperationException($"pcap_open_dead({linkType}) failed");
            try
            {
                BpfProgram prog = default;
                if (pcap_compile(p, &prog, expression, optimize ? 1 : 0, netmask) != 0)
                    return new CompileResult(null, Marshal.PtrToStringUTF8(pcap_geterr(p)) ?? "");
                var result = new CbpfInstruction[prog.Length];
                for (int i = 0; i < result.Length; i++)
                    result[i] = prog.Instructions[i];
                pcap_freecode(&prog);
                return new CompileResult(result, null);
            }
            finally
            {
                pcap_close(p);
            }
        }
    }

    /// <summary>libpcap's bpf_image text for one instruction (tcpdump -d prints one such line each).</summary>
    public static string Image(CbpfInstruction instruction, int index)
    {
        lock (CompileLock)
            return Marshal.PtrToStringUTF8(bpf_image(&instruction, index)) ?? "";
    }

    /// <summary>libpcap's reference interpreter (bpf_filter).</summary>
    public static uint Filter(ReadOnlySpan<CbpfInstruction> program, ReadOnlySpan<byte> packet, uint wireLength)
    {
        fixed (CbpfInstruction* pc = program)
        fixed (byte* pkt = packet)
            return bpf_filter(pc, pkt, wireLength, (uint)packet.Length);
    }

    /// <summary>libpcap's validator (bpf_validate): true when it accepts the program.</summary>
    public static bool Validate(ReadOnlySpan<CbpfInstruction> program)
    {
        fixed (CbpfInstruction* pc = program)
            return bpf_validate(pc, program.Length) != 0;
    }

    /// <summary>One packet of a capture file as libpcap reads it.</summary>
    public sealed record Packet(byte[] Data, uint WireLength);

    /// <summary>Reads a pcap/pcapng file with libpcap; null when libpcap cannot open it (the error is returned).</summary>
    public static (LinkType LinkType, List<Packet> Packets)? ReadFile(string path, out string? error)
    {
        byte* errbuf = stackalloc byte[512];
        nint p = pcap_open_offline(path, errbuf);
        if (p == 0)
        {
            error = Marshal.PtrToStringUTF8((nint)errbuf);
            return null;
        }
        try
        {
            var packets = new List<Packet>();
            var lt = (LinkType)pcap_datalink(p);
            PcapPacketHeader* hdr;
            byte* data;
            int rc;
            while ((rc = pcap_next_ex(p, &hdr, &data)) == 1)
                packets.Add(new Packet(new ReadOnlySpan<byte>(data, (int)hdr->CapturedLength).ToArray(), hdr->WireLength));
            error = rc == -1 ? Marshal.PtrToStringUTF8(pcap_geterr(p)) : null;
            return (lt, packets);
        }
        finally
        {
            pcap_close(p);
        }
    }
}

// Additions for the differential suites (tests/KdtCapture.Filters.Tests/Differential, tests/FilterDiff).
public static unsafe partial class LibPcapOracle
{
    [LibraryImport(Lib)] private static partial int pcap_snapshot(nint p);
    [LibraryImport(Lib)] private static partial int pcap_is_swapped(nint p);

    /// <summary>What libpcap says about a capture file's header: link type, snapshot length, and whether it was written in the other byte order.</summary>
    public readonly record struct FileInfo(LinkType LinkType, int Snaplen, bool Swapped);

    /// <summary>Opens a capture file as tcpdump -r does and reports its header; null (with libpcap's error) when it cannot.</summary>
    public static FileInfo? ReadFileInfo(string path, out string? error)
    {
        byte* errbuf = stackalloc byte[512];
        nint p = pcap_open_offline(path, errbuf);
        if (p == 0)
        {
            error = Marshal.PtrToStringUTF8((nint)errbuf);
            return null;
        }
        error = null;
        try
        {
            return new FileInfo((LinkType)pcap_datalink(p), pcap_snapshot(p), pcap_is_swapped(p) != 0);
        }
        finally
        {
            pcap_close(p);
        }
    }

    /// <summary>
    /// Compiles an expression on the handle of an opened capture file, as tcpdump -r FILE EXPR does: the file's link type
    /// and snapshot length, and libpcap's savefile rules (e.g. BSD loopback headers in the file's byte order).
    /// </summary>
    public static CompileResult CompileForFile(string path, string expression, bool optimize = true, uint netmask = TcpdumpNetmask)
    {
        byte* errbuf = stackalloc byte[512];
        lock (CompileLock)
        {
            nint p = pcap_open_offline(path, errbuf);
            if (p == 0)
                throw new IOException($"libpcap cannot open {path}: {Marshal.PtrToStringUTF8((nint)errbuf)}");
            try
            {
                BpfProgram prog = default;
                if (pcap_compile(p, &prog, expression, optimize ? 1 : 0, netmask) != 0)
                    return new CompileResult(null, Marshal.PtrToStringUTF8(pcap_geterr(p)) ?? "");
                var result = new CbpfInstruction[prog.Length];
                for (int i = 0; i < result.Length; i++)
                    result[i] = prog.Instructions[i];
                pcap_freecode(&prog);
                return new CompileResult(result, null);
            }
            finally
            {
                pcap_close(p);
            }
        }
    }

    /// <summary>
    /// The netmask tcpdump passes to pcap_compile when it only compiles (-d) or reads a file (-r):
    /// 0, not PCAP_NETMASK_UNKNOWN, so "ip broadcast" compiles there.
    /// </summary>
    public const uint TcpdumpNetmask = 0;

    /// <summary>
    /// The listing tcpdump prints for a program with -d (Readable), -dd (CArray) or -ddd (Decimal):
    /// libpcap's bpf_dump, with bpf_image for the -d lines. Every line ends in '\n'.
    /// </summary>
    public static string Dump(ReadOnlySpan<CbpfInstruction> program, CbpfDumpStyle style)
    {
        var sb = new System.Text.StringBuilder(program.Length * 40);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        switch (style)
        {
            case CbpfDumpStyle.Decimal:
                sb.Append(inv, $"{program.Length}\n");
                foreach (var i in program)
                    sb.Append(inv, $"{i.Code} {i.Jt} {i.Jf} {i.K}\n");
                break;
            case CbpfDumpStyle.CArray:
                foreach (var i in program)
                    sb.Append(inv, $"{{ 0x{i.Code:x}, {i.Jt}, {i.Jf}, 0x{i.K:x8} }},\n");
                break;
            case CbpfDumpStyle.Readable:
                for (int n = 0; n < program.Length; n++)
                    sb.Append(Image(program[n], n)).Append('\n');
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(style), style, null);
        }
        return sb.ToString();
    }
}

// Additions for the packet printer's differential suite (tests/KdtCapture.Capture.Tests/Printing, tests/PrintDiff).
public static unsafe partial class LibPcapOracle
{
    private const int PcapTstampPrecisionNano = 1;

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint pcap_open_offline_with_tstamp_precision(string fname, uint precision, byte* errbuf);

    /// <summary>One packet of a capture file with its time stamp, in nanoseconds since the epoch.</summary>
    public sealed record TimedPacket(byte[] Data, uint WireLength, long TimestampNanoseconds);

    /// <summary>
    /// Reads a pcap/pcapng file as tcpdump -r does, time stamps included (libpcap's nanosecond precision, so
    /// microsecond files come back scaled, not rounded); null when libpcap cannot open it (the error is returned).
    /// </summary>
    public static (LinkType LinkType, List<TimedPacket> Packets)? ReadFileWithTimestamps(string path, out string? error)
    {
        byte* errbuf = stackalloc byte[512];
        nint p = pcap_open_offline_with_tstamp_precision(path, PcapTstampPrecisionNano, errbuf);
        if (p == 0)
        {
            error = Marshal.PtrToStringUTF8((nint)errbuf);
            return null;
        }
        try
        {
            var packets = new List<TimedPacket>();
            var lt = (LinkType)pcap_datalink(p);
            PcapPacketHeader* hdr;
            byte* data;
            int rc;
            while ((rc = pcap_next_ex(p, &hdr, &data)) == 1)
            {
                long ns = hdr->Seconds * 1_000_000_000 + hdr->Microseconds; // tv_usec holds nanoseconds here
                packets.Add(new TimedPacket(new ReadOnlySpan<byte>(data, (int)hdr->CapturedLength).ToArray(), hdr->WireLength, ns));
            }
            error = rc == -1 ? Marshal.PtrToStringUTF8(pcap_geterr(p)) : null;
            return (lt, packets);
        }
        finally
        {
            pcap_close(p);
        }
    }
}
