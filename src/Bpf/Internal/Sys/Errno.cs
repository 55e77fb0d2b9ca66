using System.Runtime.InteropServices;

namespace KdtCapture.Bpf.Internal.Sys;

/// <summary>Errno numbers the BPF syscalls return, and their symbolic names for one-line errors.</summary>
internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, E2BIG = 7, EBADF = 9,
        EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19,
        EINVAL = 22, EMFILE = 24, ENOTTY = 25, EFBIG = 27, ENOSPC = 28, ERANGE = 34, ENOSYS = 38,
        ELOOP = 40, ENOMSG = 42, ENODATA = 61, ETIME = 62, EPROTO = 71, EBADMSG = 74, EOVERFLOW = 75,
        ENOTSOCK = 88, EOPNOTSUPP = 95, EAFNOSUPPORT = 97, EADDRNOTAVAIL = 99, ENOTCONN = 107,
        ETIMEDOUT = 110, ECANCELED = 125,
        // Kernel-internal "not supported"; the BPF syscalls leak it to user space.
        ENOTSUPP = 524;

    /// <summary>The symbolic name, e.g. "EPERM"; "errno 123" for numbers outside the table.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM", ENOENT => "ENOENT", ESRCH => "ESRCH", EINTR => "EINTR", EIO => "EIO",
        E2BIG => "E2BIG", EBADF => "EBADF", EAGAIN => "EAGAIN", ENOMEM => "ENOMEM", EACCES => "EACCES",
        EFAULT => "EFAULT", EBUSY => "EBUSY", EEXIST => "EEXIST", ENODEV => "ENODEV", EINVAL => "EINVAL",
        EMFILE => "EMFILE", ENOTTY => "ENOTTY", EFBIG => "EFBIG", ENOSPC => "ENOSPC", ERANGE => "ERANGE",
        ENOSYS => "ENOSYS", ELOOP => "ELOOP", ENOMSG => "ENOMSG", ENODATA => "ENODATA", ETIME => "ETIME",
        EPROTO => "EPROTO", EBADMSG => "EBADMSG", EOVERFLOW => "EOVERFLOW", ENOTSOCK => "ENOTSOCK",
        EOPNOTSUPP => "EOPNOTSUPP", EAFNOSUPPORT => "EAFNOSUPPORT", EADDRNOTAVAIL => "EADDRNOTAVAIL",
        ENOTCONN => "ENOTCONN", ETIMEDOUT => "ETIMEDOUT", ECANCELED => "ECANCELED", ENOTSUPP => "ENOTSUPP",
        _ => "errno " + errno,
    };

    /// <summary>"EPERM: Operation not permitted" — name first, so messages grep well.</summary>
    public static string Describe(int errno)
    {
        string text = errno == ENOTSUPP ? "Operation not supported by the kernel" : Marshal.GetPInvokeErrorMessage(errno);
        return Name(errno) + ": " + text;
    }
}
