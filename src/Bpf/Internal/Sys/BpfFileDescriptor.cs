using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Internal.Sys;

/// <summary>
/// A file descriptor returned by bpf(2), perf_event_open(2), epoll or eventfd. Closing it is what
/// releases the kernel object (a link detaches, a map without other users is freed), so every
/// descriptor lives in one of these and is closed exactly once — also when the process dies.
/// </summary>
public sealed class BpfFileDescriptor : SafeHandle
{
    public BpfFileDescriptor() : base(-1, ownsHandle: true)
    {
    }

    internal BpfFileDescriptor(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    /// <summary>The numeric descriptor; valid only while this handle is open.</summary>
    public int Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (int)handle;
        }
    }

    protected override bool ReleaseHandle() => LibC.Close((int)handle) == 0;
}
