using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Internal.Sys;

/// <summary>
/// An epoll set plus an eventfd that a CancellationToken writes to, so that a blocked reader wakes
/// up on cancellation without polling. Each registered descriptor carries a caller-chosen tag.
/// </summary>
internal sealed unsafe class Epoll : IDisposable
{
    // struct epoll_event is packed (12 bytes) on x86-64 and naturally aligned (16) elsewhere.
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private const ulong WakeTag = ulong.MaxValue;

    private readonly BpfFileDescriptor _epoll;
    private readonly BpfFileDescriptor _wake;
    private readonly byte[] _events;

    public Epoll(int capacity)
    {
        int fd = LibC.EpollCreate1(LibC.EpollCloexec);
        if (fd < 0)
            throw new BpfException("epoll_create1", Marshal.GetLastPInvokeError());
        _epoll = new BpfFileDescriptor(fd);
        fd = LibC.EventFd(0, LibC.EfdCloexec | LibC.EfdNonblock);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epoll.Dispose();
            throw new BpfException("eventfd", errno);
        }
        _wake = new BpfFileDescriptor(fd);
        _events = new byte[EventSize * (capacity + 1)];
        Add(_wake, WakeTag);
    }

    public void Add(BpfFileDescriptor fd, ulong tag)
    {
        byte* ev = stackalloc byte[16];
        new Span<byte>(ev, 16).Clear();
        *(uint*)ev = LibC.EpollIn;
        *(ulong*)(ev + DataOffset) = tag;
        if (LibC.EpollCtl(_epoll.Value, LibC.EpollCtlAdd, fd.Value, (EpollEvent*)ev) != 0)
            throw new BpfException("epoll_ctl add", Marshal.GetLastPInvokeError());
    }

    /// <summary>
    /// Waits until a descriptor is readable, the timeout passes (-1: forever) or the token is
    /// cancelled. Returns how many tags were written to <paramref name="ready"/>; 0 on timeout.
    /// Throws OperationCanceledException on cancellation.
    /// </summary>
    public int Wait(Span<ulong> ready, int timeoutMs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var registration = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(static state => ((Epoll)state!).Wake(), this) : default;
        int max = Math.Min(ready.Length + 1, _events.Length / EventSize);
        while (true)
        {
            int count;
            fixed (byte* events = _events)
                count = LibC.EpollWait(_epoll.Value, (EpollEvent*)events, max, timeoutMs);
            if (count < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                    continue;
                throw new BpfException("epoll_wait", errno);
            }
            int written = 0;
            for (int i = 0; i < count; i++)
            {
                ulong tag = BitConverter.ToUInt64(_events, i * EventSize + DataOffset);
                if (tag == WakeTag)
                {
                    DrainWake();
                    continue;
                }
                if (written < ready.Length)
                    ready[written++] = tag;
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (written > 0 || count == 0)
                return written;
        }
    }

    /// <summary>Wakes a thread blocked in <see cref="Wait"/>.</summary>
    public void Wake()
    {
        ulong one = 1;
        if (!_wake.IsClosed)
            LibC.Write(_wake.Value, &one, sizeof(ulong));
    }

    private void DrainWake()
    {
        ulong value;
        LibC.Read(_wake.Value, &value, sizeof(ulong));
    }

    public void Dispose()
    {
        _epoll.Dispose();
        _wake.Dispose();
    }
}

/// <summary>A shared memory mapping of a BPF map or perf event, unmapped when released (also by the finalizer).</summary>
internal sealed unsafe class MemoryMapping : SafeHandle
{
    public MemoryMapping(BpfFileDescriptor fd, long offset, long length, bool writable, string what) : base(0, ownsHandle: true)
    {
        int protection = LibC.ProtRead | (writable ? LibC.ProtWrite : 0);
        nint address = LibC.Mmap(0, (nuint)length, protection, LibC.MapShared, fd.Value, offset);
        if (address == LibC.MapFailed)
            throw new BpfException($"mmap {what}", Marshal.GetLastPInvokeError());
        SetHandle(address);
        Length = length;
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>The mapping's address; valid while the owner keeps this handle open.</summary>
    public byte* Pointer => (byte*)handle;

    public long Length { get; }

    protected override bool ReleaseHandle() => LibC.Munmap(handle, (nuint)Length) == 0;
}
