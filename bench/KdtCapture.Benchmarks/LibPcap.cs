using System.Runtime.InteropServices;
using KdtCapture.Filters.Cbpf;

namespace KdtCapture.Benchmarks;

/// <summary>
/// The installed libpcap (libpcap.so.0.8), the baseline. Its functions are called through
/// unmanaged function pointers; the per-packet bpf_filter with <c>SuppressGCTransition</c>: a
/// plain native call with no GC-mode switch, the cheapest way .NET can call C, so that libpcap
/// is not charged for our interop (<see cref="MeasureCallOverhead"/> says what is left of it).
/// </summary>
internal static unsafe class LibPcap
{
    public const string LibraryName = "libpcap.so.0.8";
    public const int DltEn10Mb = 1;
    public const int Snaplen = 262144;
    public const uint NetmaskUnknown = 0xffffffff;

    [StructLayout(LayoutKind.Sequential)]
    public struct BpfProgram
    {
        public uint Length;
        public CbpfInstruction* Instructions;
    }

    private static readonly nint Library = NativeLibrary.Load(LibraryName);

    private static readonly delegate* unmanaged[Cdecl]<int, int, nint> OpenDead =
        (delegate* unmanaged[Cdecl]<int, int, nint>)NativeLibrary.GetExport(Library, "pcap_open_dead");
    private static readonly delegate* unmanaged[Cdecl]<nint, void> Close =
        (delegate* unmanaged[Cdecl]<nint, void>)NativeLibrary.GetExport(Library, "pcap_close");
    private static readonly delegate* unmanaged[Cdecl]<nint, nint> GetError =
        (delegate* unmanaged[Cdecl]<nint, nint>)NativeLibrary.GetExport(Library, "pcap_geterr");
    private static readonly delegate* unmanaged[Cdecl]<nint> LibVersion =
        (delegate* unmanaged[Cdecl]<nint>)NativeLibrary.GetExport(Library, "pcap_lib_version");

    /// <summary>pcap_compile(p, fp, str, optimize, netmask): tens of microseconds, so an ordinary
    /// transition (a few nanoseconds) that lets the GC run meanwhile.</summary>
    public static readonly delegate* unmanaged[Cdecl]<nint, BpfProgram*, byte*, int, uint, int> Compile =
        (delegate* unmanaged[Cdecl]<nint, BpfProgram*, byte*, int, uint, int>)NativeLibrary.GetExport(Library, "pcap_compile");

    /// <summary>pcap_freecode(fp).</summary>
    public static readonly delegate* unmanaged[Cdecl]<BpfProgram*, void> FreeCode =
        (delegate* unmanaged[Cdecl]<BpfProgram*, void>)NativeLibrary.GetExport(Library, "pcap_freecode");

    /// <summary>bpf_filter(pc, pkt, wirelen, buflen).</summary>
    public static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<CbpfInstruction*, byte*, uint, uint, uint> Filter =
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<CbpfInstruction*, byte*, uint, uint, uint>)NativeLibrary.GetExport(Library, "bpf_filter");

    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nint> VersionNoTransition =
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<nint>)NativeLibrary.GetExport(Library, "pcap_lib_version");

    public static string Version => Marshal.PtrToStringUTF8(LibVersion()) ?? "";

    /// <summary>A pcap_open_dead(DLT_EN10MB, 262144) handle, as tcpdump -d uses.</summary>
    public static nint OpenDeadEthernet()
    {
        nint p = OpenDead(DltEn10Mb, Snaplen);
        if (p == 0)
            throw new InvalidOperationException("pcap_open_dead(DLT_EN10MB) failed");
        return p;
    }

    public static void CloseHandle(nint p) => Close(p);

    /// <summary>Compiles once, optimized, and returns a copy of the program (null and the error when libpcap refuses).</summary>
    public static CbpfInstruction[]? CompileToArray(nint handle, string expression, out string? error)
    {
        byte[] text = NullTerminatedUtf8(expression);
        fixed (byte* s = text)
        {
            BpfProgram program = default;
            if (Compile(handle, &program, s, 1, NetmaskUnknown) != 0)
            {
                error = Marshal.PtrToStringUTF8(GetError(handle)) ?? "pcap_compile failed";
                return null;
            }
            var copy = new ReadOnlySpan<CbpfInstruction>(program.Instructions, (int)program.Length).ToArray();
            FreeCode(&program);
            error = null;
            return copy;
        }
    }

    public static string? LastError(nint handle) => Marshal.PtrToStringUTF8(GetError(handle));

    public static byte[] NullTerminatedUtf8(string s)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(s);
        var bytes = new byte[n + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    /// <summary>
    /// Nanoseconds per call of a trivial libpcap function (pcap_lib_version returns a pointer)
    /// through the same kind of function pointer: what a call from C would not pay, at most.
    /// </summary>
    public static double MeasureCallOverhead(int calls)
    {
        nint sink = 0;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++)
            sink ^= VersionNoTransition();
        double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        GC.KeepAlive(sink);
        return seconds * 1e9 / calls;
    }
}
