using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Internal.Sys;

/// <summary>
/// bpf(2), one typed wrapper per command. Wrappers return 0 or the errno, so that callers decide
/// which errno is an answer (ENOENT from a lookup) and which is a failure; descriptors come back
/// already owned by a <see cref="BpfFileDescriptor"/>.
/// </summary>
internal static unsafe class BpfSyscall
{
    private static readonly long BpfNumber = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 or Architecture.LoongArch64 or Architecture.RiscV64 => 280,
        Architecture.X86 => 357,
        Architecture.Arm => 386,
        Architecture.Ppc64le => 361,
        Architecture.S390x => 351,
        _ => -1,
    };

    /// <summary>Calls bpf(cmd, attr, sizeof attr); returns the result or -errno. EINTR and EAGAIN from prog load are retried as libbpf does.</summary>
    public static long Call<T>(BpfCommand command, ref T attr) where T : unmanaged
    {
        if (BpfNumber < 0)
            return -Errno.ENOSYS;
        fixed (T* p = &attr)
        {
            for (int attempt = 0; ; attempt++)
            {
                long result = LibC.Syscall(BpfNumber, (long)command, (long)p, sizeof(T), 0, 0);
                if (result >= 0)
                    return result;
                int errno = Marshal.GetLastPInvokeError();
                // The verifier can be interrupted by a signal (the runtime's GC suspends threads
                // with one); libbpf retries PROG_LOAD on EAGAIN a few times for the same reason.
                if ((errno == Errno.EINTR || (errno == Errno.EAGAIN && command == BpfCommand.ProgLoad)) && attempt < 5)
                    continue;
                return -errno;
            }
        }
    }

    /// <summary>Runs a command that returns a new descriptor.</summary>
    public static int CallForFd<T>(BpfCommand command, ref T attr, out BpfFileDescriptor? fd) where T : unmanaged
    {
        long result = Call(command, ref attr);
        if (result < 0)
        {
            fd = null;
            return (int)-result;
        }
        fd = new BpfFileDescriptor((int)result);
        return 0;
    }

    public static int Errno0(long result) => result < 0 ? (int)-result : 0;

    public static ulong Address(void* pointer) => (ulong)pointer;

    public static int MapElem(BpfCommand command, BpfFileDescriptor map, void* key, void* value, ulong flags)
    {
        bool added = false;
        map.DangerousAddRef(ref added);
        try
        {
            var attr = new MapElemAttr { MapFd = (uint)map.DangerousGetHandle(), Key = (ulong)key, ValueOrNextKey = (ulong)value, Flags = flags };
            return Errno0(Call(command, ref attr));
        }
        finally
        {
            if (added)
                map.DangerousRelease();
        }
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD into an info struct; returns the errno and how many bytes the kernel wrote.</summary>
    public static int GetInfo<T>(BpfFileDescriptor fd, ref T info, out uint written) where T : unmanaged
    {
        bool added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            fixed (T* p = &info)
            {
                var attr = new ObjGetInfoAttr { BpfFd = (uint)fd.DangerousGetHandle(), InfoLength = (uint)sizeof(T), Info = (ulong)p };
                int errno = Errno0(Call(BpfCommand.ObjGetInfoByFd, ref attr));
                written = attr.InfoLength;
                return errno;
            }
        }
        finally
        {
            if (added)
                fd.DangerousRelease();
        }
    }

    /// <summary>Iterates kernel object ids: returns the id after <paramref name="start"/>, or 0 at the end.</summary>
    public static uint NextId(BpfCommand command, uint start)
    {
        var attr = new GetIdAttr { StartOrObjectId = start };
        long result = Call(command, ref attr);
        if (result < 0)
        {
            int errno = (int)-result;
            if (errno == Errno.ENOENT)
                return 0;
            throw new BpfException($"{CommandName(command)} after id {start}", errno);
        }
        return attr.NextId;
    }

    /// <summary>Opens an object by id; returns the errno (ENOENT when it went away meanwhile).</summary>
    public static int FdById(BpfCommand command, uint id, out BpfFileDescriptor? fd)
    {
        var attr = new GetIdAttr { StartOrObjectId = id };
        return CallForFd(command, ref attr, out fd);
    }

    public static string CommandName(BpfCommand command) => command switch
    {
        BpfCommand.ProgGetNextId => "iterate programs",
        BpfCommand.MapGetNextId => "iterate maps",
        BpfCommand.LinkGetNextId => "iterate links",
        BpfCommand.BtfGetNextId => "iterate BTF objects",
        _ => command.ToString(),
    };

    /// <summary>The descriptor number for an attr field; callers keep the handle alive across the call.</summary>
    public static uint FdOf(SafeHandle? handle) => handle is null ? 0u : (uint)handle.DangerousGetHandle();

    /// <summary>Copies a string as NUL-terminated UTF-8 into a stack or pooled buffer.</summary>
    public static int Utf8Z(string value, Span<byte> destination)
    {
        int length = System.Text.Encoding.UTF8.GetBytes(value, destination);
        destination[length] = 0;
        return length + 1;
    }

    public static int Utf8ZLength(string value) => System.Text.Encoding.UTF8.GetByteCount(value) + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void KeepAlive(SafeHandle? handle) => GC.KeepAlive(handle);
}
