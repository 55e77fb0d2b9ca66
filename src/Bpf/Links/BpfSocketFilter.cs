using System.Net.Sockets;
using System.Runtime.InteropServices;
using KdtCapture.Bpf.Internal.Sys;
using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Links;

/// <summary>
/// SO_ATTACH_BPF: runs a socket filter program on every packet a socket receives. The attachment
/// lives as long as the socket (the socket holds its own reference to the program).
/// </summary>
public static unsafe class BpfSocketFilter
{
    public static void Attach(Socket socket, BpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(program);
        Attach(socket.SafeHandle, program);
    }

    public static void Attach(SafeHandle socket, BpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        int fd = (int)BpfSyscall.FdOf(program.Fd);
        bool added = false;
        socket.DangerousAddRef(ref added);
        try
        {
            if (LibC.SetSockOpt((int)socket.DangerousGetHandle(), LibC.SolSocket, LibC.SoAttachBpf, &fd, sizeof(int)) != 0)
                throw new BpfException($"attach socket filter '{program.Name}'", Marshal.GetLastPInvokeError());
        }
        finally
        {
            if (added)
                socket.DangerousRelease();
            GC.KeepAlive(program);
        }
    }

    public static void Detach(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        int unused = 0;
        if (LibC.SetSockOpt((int)socket.SafeHandle.DangerousGetHandle(), LibC.SolSocket, LibC.SoDetachBpf, &unused, sizeof(int)) != 0)
            throw new BpfException("detach socket filter", Marshal.GetLastPInvokeError());
        GC.KeepAlive(socket);
    }
}
