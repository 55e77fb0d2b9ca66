using System.Buffers;
using System.Text;
using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.Programs;

/// <summary>
/// BTF loaded into the kernel (BPF_BTF_LOAD), or kernel/module BTF opened by id. Programs and maps
/// refer to it by descriptor for func/line info and BTF-typed keys and values.
/// </summary>
public sealed unsafe class BtfHandle : IDisposable
{
    private BtfHandle(BpfFileDescriptor fd) => Fd = fd;

    public BpfFileDescriptor Fd { get; }

    /// <summary>
    /// Loads raw BTF (header, types, strings as produced by Btf.Marshal). On rejection the message
    /// carries the kernel's BTF log's last lines.
    /// </summary>
    public static BtfHandle Load(ReadOnlySpan<byte> rawBtf, string what = "BTF")
    {
        fixed (byte* btf = rawBtf)
        {
            var attr = new BtfLoadAttr { Btf = (ulong)btf, BtfSize = (uint)rawBtf.Length };
            int errno = BpfSyscall.CallForFd(BpfCommand.BtfLoad, ref attr, out var fd);
            if (errno == 0)
                return new BtfHandle(fd!);

            // Retry with a log to say why.
            int logSize = 64 * 1024;
            while (true)
            {
                byte[] log = ArrayPool<byte>.Shared.Rent(logSize);
                try
                {
                    log[0] = 0;
                    fixed (byte* logBuffer = log)
                    {
                        attr = new BtfLoadAttr { Btf = (ulong)btf, BtfSize = (uint)rawBtf.Length, LogBuf = (ulong)logBuffer, LogSize = (uint)logSize, LogLevel = 1 };
                        errno = BpfSyscall.CallForFd(BpfCommand.BtfLoad, ref attr, out fd);
                    }
                    if (errno == 0)
                        return new BtfHandle(fd!);
                    if (errno == Errno.ENOSPC && logSize < 16 * 1024 * 1024)
                    {
                        logSize *= 4;
                        continue;
                    }
                    int end = Array.IndexOf(log, (byte)0, 0, logSize);
                    string text = Encoding.UTF8.GetString(log, 0, end < 0 ? logSize : end);
                    string last = BpfVerifierException.LastLines(text, 2);
                    throw new BpfBtfException($"load {what}: {Errno.Describe(errno)}" + (last.Length == 0 ? "" : "; BTF log: " + last), errno, text);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(log);
                }
            }
        }
    }

    /// <summary>Opens BTF by id (vmlinux, a module, or a program's).</summary>
    public static BtfHandle FromId(uint id)
    {
        int errno = BpfSyscall.FdById(BpfCommand.BtfGetFdById, id, out var fd);
        if (errno != 0)
            throw new BpfException($"open BTF id {id}", errno);
        return new BtfHandle(fd!);
    }

    /// <summary>
    /// Opens the BTF of loaded kernel module <paramref name="module"/> (what a program attaching to
    /// one of its functions names as attach_btf_obj_fd), or null when no such module BTF is loaded.
    /// </summary>
    public static BtfHandle? FromKernelModule(string module)
    {
        ArgumentException.ThrowIfNullOrEmpty(module);
        foreach (uint id in AllIds())
        {
            if (BpfSyscall.FdById(BpfCommand.BtfGetFdById, id, out var fd) != 0)
                continue; // freed since it was listed
            var handle = new BtfHandle(fd!);
            BtfHandleInfo info;
            try
            {
                info = handle.GetInfo();
            }
            catch (BpfException)
            {
                handle.Dispose();
                continue;
            }
            if (info.IsKernel && info.Name == module)
                return handle;
            handle.Dispose();
        }
        return null;
    }

    /// <summary>Ids of every BTF object the kernel holds (vmlinux, modules, programs').</summary>
    public static List<uint> AllIds() => BpfObjectIds.All(BpfCommand.BtfGetNextId);

    /// <summary>The kernel's description: id, name ("vmlinux", a module's name, or empty) and whether it is kernel BTF.</summary>
    public BtfHandleInfo GetInfo()
    {
        var info = default(BtfInfoRaw);
        var name = new byte[64];
        fixed (byte* n = name)
        {
            info.Name = (ulong)n;
            info.NameLength = (uint)name.Length;
            int errno = BpfSyscall.GetInfo(Fd, ref info, out _);
            if (errno != 0)
                throw new BpfException("get BTF info", errno);
        }
        int end = Array.IndexOf(name, (byte)0);
        return new BtfHandleInfo(info.Id, Encoding.UTF8.GetString(name, 0, end < 0 ? name.Length : end), info.KernelBtf != 0, (int)info.BtfSize);
    }

    /// <summary>The raw BTF bytes as the kernel holds them.</summary>
    public byte[] ReadRaw()
    {
        int size = GetInfo().Size;
        var bytes = new byte[size];
        fixed (byte* b = bytes)
        {
            var info = new BtfInfoRaw { Btf = (ulong)b, BtfSize = (uint)size };
            int errno = BpfSyscall.GetInfo(Fd, ref info, out _);
            if (errno != 0)
                throw new BpfException("read BTF", errno);
        }
        return bytes;
    }

    public void Dispose() => Fd.Dispose();
}

public sealed record BtfHandleInfo(uint Id, string Name, bool IsKernel, int Size);

/// <summary>The kernel refused BTF; <see cref="Log"/> has its whole BTF log.</summary>
public sealed class BpfBtfException : BpfException
{
    public BpfBtfException(string message, int errno, string log) : base(errno, message) => Log = log;

    public string Log { get; }
}
