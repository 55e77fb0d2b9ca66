using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.Maps;

/// <summary>BPF_OBJ_PIN / BPF_OBJ_GET: objects in bpffs outlive the process, so only on request.</summary>
public static unsafe class BpfPins
{
    public static void Pin(BpfFileDescriptor fd, string path, string what)
    {
        Span<byte> name = stackalloc byte[BpfSyscall.Utf8ZLength(path)];
        BpfSyscall.Utf8Z(path, name);
        fixed (byte* p = name)
        {
            var attr = new ObjPinAttr { PathName = (ulong)p, BpfFd = BpfSyscall.FdOf(fd) };
            int errno = BpfSyscall.Errno0(BpfSyscall.Call(BpfCommand.ObjPin, ref attr));
            GC.KeepAlive(fd);
            if (errno != 0)
                throw new BpfException($"pin {what} at {path}", errno);
        }
    }

    public static BpfFileDescriptor Get(string path, string what)
    {
        Span<byte> name = stackalloc byte[BpfSyscall.Utf8ZLength(path)];
        BpfSyscall.Utf8Z(path, name);
        fixed (byte* p = name)
        {
            var attr = new ObjPinAttr { PathName = (ulong)p };
            int errno = BpfSyscall.CallForFd(BpfCommand.ObjGet, ref attr, out var fd);
            if (errno != 0)
                throw new BpfException($"open pinned {what} {path}", errno);
            return fd!;
        }
    }
}
