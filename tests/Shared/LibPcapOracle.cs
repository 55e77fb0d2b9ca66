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
