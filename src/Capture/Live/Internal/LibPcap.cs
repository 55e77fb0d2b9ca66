using System.Runtime.InteropServices;

namespace KdtCapture.Capture.Live.Internal;

/// <summary>
/// The libpcap calls SharpPcap does not expose (raw filter programs, direction, data link
/// selection, selectable descriptors), made on the pcap_t that SharpPcap's handle owns.
/// </summary>
internal static partial class LibPcap
{
    // Debian's runtime package ships only the soname; SharpPcap resolves the same file.
    private const string Library = "libpcap.so.0.8";

    public const int ErrorBreak = -2;
    public const int ErrorNoSuchDevice = -5;
    public const int ErrorPermissionDenied = -8;
    public const int Error = -1;

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct BpfProgram
    {
        public uint Length;
        public void* Instructions;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Stat
    {
        public uint Received;
        public uint Dropped;
        public uint InterfaceDropped;
    }

    /// <summary>struct pcap_pkthdr on LP64: a timeval (two longs), caplen, len.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PacketHeader
    {
        public long Seconds;
        public long Fraction;
        public uint CapturedLength;
        public uint Length;
    }

    [LibraryImport(Library, EntryPoint = "pcap_setfilter")]
    public static unsafe partial int SetFilter(nint pcap, BpfProgram* program);

    [LibraryImport(Library, EntryPoint = "pcap_setdirection")]
    public static partial int SetDirection(nint pcap, int direction);

    [LibraryImport(Library, EntryPoint = "pcap_set_datalink")]
    public static partial int SetDatalink(nint pcap, int dlt);

    [LibraryImport(Library, EntryPoint = "pcap_datalink")]
    public static partial int Datalink(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_snapshot")]
    public static partial int Snapshot(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_list_datalinks")]
    public static unsafe partial int ListDatalinks(nint pcap, int** dlts);

    [LibraryImport(Library, EntryPoint = "pcap_free_datalinks")]
    public static unsafe partial void FreeDatalinks(int* dlts);

    [LibraryImport(Library, EntryPoint = "pcap_get_selectable_fd")]
    public static partial int GetSelectableFd(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_get_required_select_timeout")]
    public static partial nint GetRequiredSelectTimeout(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_next_ex")]
    public static unsafe partial int NextEx(nint pcap, PacketHeader** header, byte** data);

    [LibraryImport(Library, EntryPoint = "pcap_stats")]
    public static unsafe partial int Stats(nint pcap, Stat* stat);

    [LibraryImport(Library, EntryPoint = "pcap_geterr")]
    public static partial nint GetError(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_statustostr")]
    public static partial nint StatusToString(int status);

    [LibraryImport(Library, EntryPoint = "pcap_create", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial nint Create(string device, byte* errorBuffer);

    [LibraryImport(Library, EntryPoint = "pcap_activate")]
    public static partial int Activate(nint pcap);

    [LibraryImport(Library, EntryPoint = "pcap_list_tstamp_types")]
    public static unsafe partial int ListTimestampTypes(nint pcap, int** types);

    [LibraryImport(Library, EntryPoint = "pcap_free_tstamp_types")]
    public static unsafe partial void FreeTimestampTypes(int* types);

    [LibraryImport(Library, EntryPoint = "pcap_tstamp_type_val_to_name")]
    public static partial nint TimestampTypeName(int type);

    [LibraryImport(Library, EntryPoint = "pcap_tstamp_type_val_to_description")]
    public static partial nint TimestampTypeDescription(int type);

    [LibraryImport(Library, EntryPoint = "pcap_tstamp_type_name_to_val", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int TimestampTypeValue(string name);

    [LibraryImport(Library, EntryPoint = "pcap_lookupnet", StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int LookupNetwork(string device, uint* network, uint* netmask, byte* errorBuffer);

    [LibraryImport(Library, EntryPoint = "pcap_close")]
    public static partial void Close(nint pcap);

    public static string ErrorText(nint pcap) => Marshal.PtrToStringUTF8(GetError(pcap)) ?? "";

    public static string StatusText(int status) => Marshal.PtrToStringUTF8(StatusToString(status)) ?? $"status {status}";
}

/// <summary>poll(2) and eventfd(2), to wait on several capture descriptors and a stop request at once.</summary>
internal static partial class LibC
{
    public const short PollIn = 0x1;
    public const int EfdNonBlock = 0x800;
    public const int EfdCloexec = 0x80000;
    public const int Eintr = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
