using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Internal.Sys;

/// <summary>
/// The libc entry points the runtime needs, one <c>[LibraryImport]</c> per call. Variadic calls
/// (<c>syscall</c>, <c>ioctl</c>) are declared with fixed word-sized arguments, which the x86-64
/// and arm64 Linux calling conventions pass exactly like the variadic ones.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    [LibraryImport(Library, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long Syscall(long number, long arg1, long arg2, long arg3, long arg4, long arg5);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int Ioctl(int fd, ulong request, long argument);

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);

    [LibraryImport(Library, EntryPoint = "epoll_create1", SetLastError = true)]
    internal static partial int EpollCreate1(int flags);

    [LibraryImport(Library, EntryPoint = "epoll_ctl", SetLastError = true)]
    internal static partial int EpollCtl(int epollFd, int operation, int fd, EpollEvent* ev);

    [LibraryImport(Library, EntryPoint = "epoll_wait", SetLastError = true)]
    internal static partial int EpollWait(int epollFd, EpollEvent* events, int maxEvents, int timeoutMs);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int EventFd(uint initialValue, int flags);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    internal static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    internal static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetSockOpt(int socket, int level, int optionName, void* optionValue, uint optionLength);

    [LibraryImport(Library, EntryPoint = "getpagesize")]
    internal static partial int GetPageSize();

    internal const int ProtRead = 1, ProtWrite = 2;
    internal const int MapShared = 1;
    internal static readonly nint MapFailed = -1;

    internal const int EpollCloexec = 0x80000;
    internal const int EpollCtlAdd = 1, EpollCtlDel = 2;
    internal const uint EpollIn = 1;

    internal const int EfdCloexec = 0x80000, EfdNonblock = 0x800;

    internal const int SolSocket = 1;
    internal const int SoAttachBpf = 50, SoDetachBpf = 27;
}

/// <summary>struct epoll_event, packed on x86-64 (12 bytes) and naturally aligned elsewhere.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct EpollEvent
{
    public uint Events;
    public ulong Data;
}
