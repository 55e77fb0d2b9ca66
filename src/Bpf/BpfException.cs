using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf;

/// <summary>
/// A BPF operation the kernel refused. The message is one line naming the operation and the object
/// ("create map 'counts': EPERM: Operation not permitted"); <see cref="Errno"/> keeps the number.
/// </summary>
public class BpfException : Exception
{
    public BpfException(string message) : base(message)
    {
    }

    public BpfException(string message, Exception inner) : base(message, inner)
    {
    }

    public BpfException(string operation, int errno) : base(operation + ": " + Internal.Sys.Errno.Describe(errno))
    {
        Errno = errno;
    }

    /// <summary>A message composed by the caller, with the errno kept for inspection.</summary>
    protected BpfException(int errno, string message) : base(message)
    {
        Errno = errno;
    }

    /// <summary>An error whose whole one-line message the caller wrote (it already names the errno).</summary>
    public static BpfException WithMessage(string message, int errno) => new(errno, message);

    /// <summary>The errno the kernel returned, 0 when the failure was not a syscall's.</summary>
    public int Errno { get; }

    /// <summary>The errno's symbolic name ("EPERM"), empty when <see cref="Errno"/> is 0.</summary>
    public string ErrnoName => Errno == 0 ? "" : Internal.Sys.Errno.Name(Errno);
}
