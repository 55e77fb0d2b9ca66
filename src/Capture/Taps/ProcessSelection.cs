using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace KdtCapture.Capture.Taps;

/// <summary>
/// <c>--pid</c>, <c>--comm</c>, <c>--cgroup</c> and <c>--netns</c> checked against the system and
/// turned into what the tap program compares (its <c>select_*</c> constants). Every refusal is a
/// one-line <see cref="TapException"/> saying what to give instead.
/// </summary>
public sealed partial class ProcessSelection
{
    /// <summary>The kernel keeps 15 characters of a task's name (TASK_COMM_LEN 16 with its NUL).</summary>
    public const int CommLength = 15;

    private const long NsfsMagic = 0x6e736673;
    private const long Cgroup2Magic = 0x63677270;
    private const int CloneNewNet = 0x40000000;
    private const ulong NsGetNsType = 0xb703; // _IO(0xb7, 0x3)

    /// <summary>The selected process's id (its threads are selected with it), or 0.</summary>
    public uint Pid { get; private init; }

    /// <summary>The selected task name, or null.</summary>
    public string? Comm { get; private init; }

    /// <summary>The selected cgroup's id (its inode on the cgroup2 file system) and level below the root, or 0.</summary>
    public ulong CgroupId { get; private init; }

    public int CgroupLevel { get; private init; }

    /// <summary>The cgroup directory as given resolved, or null.</summary>
    public string? CgroupPath { get; private init; }

    /// <summary>The selected network namespace's inode, or 0.</summary>
    public uint NetnsInode { get; private init; }

    /// <summary>True when packets are selected by their owner (pid, comm or cgroup): the socket owner notes run then.</summary>
    public bool SelectsOwner => Pid != 0 || Comm is not null || CgroupId != 0;

    public bool IsEmpty => !SelectsOwner && NetnsInode == 0;

    public static ProcessSelection None { get; } = new();

    /// <summary>Checks the values (any may be null) against the running system.</summary>
    /// <exception cref="TapException">A value names nothing that exists, or is not what it should be.</exception>
    public static ProcessSelection Resolve(string? pid, string? comm, string? cgroup, string? netns)
    {
        uint pidValue = 0;
        if (pid is not null)
        {
            if (!uint.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out pidValue) || pidValue == 0)
                throw new TapException($"--pid '{pid}': not a process id; give the number ps or pgrep shows");
            if (!Directory.Exists($"/proc/{pidValue}"))
                throw new TapException($"--pid {pidValue}: no such process; give a running process's id (pgrep NAME finds it), or --comm NAME");
            // A thread's id names its process: select the whole thread group.
            uint tgid = ThreadGroupOf(pidValue);
            if (tgid != 0)
                pidValue = tgid;
        }
        if (comm is not null)
        {
            if (comm.Length == 0)
                throw new TapException("--comm: empty name; give a process name as ps -o comm shows it");
            if (Encoding.UTF8.GetByteCount(comm) > CommLength)
                throw new TapException($"--comm '{comm}': longer than the {CommLength} bytes the kernel keeps of a task's name; give its first {CommLength} (as ps -o comm shows it)");
        }
        ulong cgroupId = 0;
        int level = 0;
        string? cgroupPath = null;
        if (cgroup is not null)
            (cgroupPath, cgroupId, level) = ResolveCgroup(cgroup);
        uint netnsInode = netns is null ? 0 : ResolveNetns(netns);
        return new ProcessSelection { Pid = pidValue, Comm = comm, CgroupId = cgroupId, CgroupLevel = level, CgroupPath = cgroupPath, NetnsInode = netnsInode };
    }

    /// <summary>A cgroup with this id at this level (a cgroup kdt made itself, for <c>-- COMMAND</c>).</summary>
    public static ProcessSelection ForCgroup(string path)
    {
        var (resolved, id, level) = ResolveCgroup(path);
        return new ProcessSelection { CgroupId = id, CgroupLevel = level, CgroupPath = resolved };
    }

    /// <summary>The cgroup2 file system's mount point (normally /sys/fs/cgroup), or null.</summary>
    public static string? Cgroup2Root()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/mountinfo"))
            {
                // "36 25 0:31 / /sys/fs/cgroup rw,... - cgroup2 cgroup2 rw,..."
                int dash = line.IndexOf(" - ", StringComparison.Ordinal);
                if (dash < 0 || !line.AsSpan(dash + 3).StartsWith("cgroup2 "))
                    continue;
                string[] fields = line[..dash].Split(' ');
                if (fields.Length > 4 && fields[3] == "/")
                    return fields[4].Replace("\\040", " ", StringComparison.Ordinal);
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    private static (string Path, ulong Id, int Level) ResolveCgroup(string given)
    {
        string? root = Cgroup2Root()
            ?? throw new TapException("--cgroup: no cgroup v2 file system is mounted; mount one (mount -t cgroup2 none /sys/fs/cgroup) or select with --pid");
        // Either a directory of the cgroup2 file system, or a path as /proc/PID/cgroup shows it (from the root).
        string path = Path.GetFullPath(given);
        if (!Directory.Exists(path) || !IsUnder(path, root))
        {
            string fromRoot = Path.GetFullPath(Path.Join(root, given));
            if (Directory.Exists(fromRoot) && IsUnder(fromRoot, root))
                path = fromRoot;
        }
        if (!Directory.Exists(path))
            throw new TapException($"--cgroup {given}: no such cgroup; give a directory under {root} or a path as /proc/PID/cgroup shows it");
        if (!IsUnder(path, root) || FileSystemType(path) != Cgroup2Magic)
            throw new TapException($"--cgroup {given}: not a cgroup v2 directory (the cgroup2 file system is at {root}); give a directory under it");
        string relative = Path.GetRelativePath(root, path);
        int level = relative == "." ? 0 : relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Length;
        return (path, InodeOf(path), level);
    }

    private static bool IsUnder(string path, string root) =>
        path == root || path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal);

    private static uint ResolveNetns(string given)
    {
        if (uint.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out uint inode))
        {
            if (inode == 0)
                throw new TapException("--netns 0: not a namespace inode; give the number ls -L -i /proc/PID/ns/net shows, or a path");
            return inode;
        }
        string path = given;
        if (!given.Contains('/', StringComparison.Ordinal) && File.Exists("/run/netns/" + given))
            path = "/run/netns/" + given; // a name `ip netns` made
        if (!File.Exists(path))
            throw new TapException($"--netns {given}: no such file; give a namespace file (/proc/PID/ns/net, /run/netns/NAME), a name of `ip netns list`, or an inode number");
        if (FileSystemType(path) != NsfsMagic || NamespaceType(path) != CloneNewNet)
            throw new TapException($"--netns {given}: not a network namespace; give /proc/PID/ns/net, /run/netns/NAME or an inode number");
        return (uint)InodeOf(path);
    }

    private static uint ThreadGroupOf(uint pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("Tgid:", StringComparison.Ordinal))
                    return uint.TryParse(line.AsSpan(5).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out uint tgid) ? tgid : 0;
        }
        catch (IOException)
        {
        }
        return 0;
    }

    private static ulong InodeOf(string path)
    {
        if (Native.Stat(path, out Native.StatBuffer st) != 0)
            throw new TapException($"{path}: cannot stat ({Marshal.GetLastPInvokeErrorMessage()})");
        return st.Inode;
    }

    private static long FileSystemType(string path)
    {
        Span<long> buffer = stackalloc long[15]; // struct statfs: f_type first
        unsafe
        {
            fixed (long* p = buffer)
                return Native.StatFs(path, p) == 0 ? buffer[0] : 0;
        }
    }

    private static int NamespaceType(string path)
    {
        int fd = Native.Open(path, 0x80000 /* O_RDONLY | O_CLOEXEC */);
        if (fd < 0)
            return 0;
        try
        {
            return Native.Ioctl(fd, NsGetNsType);
        }
        finally
        {
            Native.Close(fd);
        }
    }

    private static unsafe partial class Native
    {
        [StructLayout(LayoutKind.Sequential)]
        internal struct StatBuffer
        {
            public ulong Device;
            public ulong Inode;
            private fixed byte _rest[128];
        }

        [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Stat(string path, out StatBuffer buffer);

        [LibraryImport("libc", EntryPoint = "statfs", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int StatFs(string path, long* buffer);

        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "ioctl")]
        internal static partial int Ioctl(int fd, ulong request);

        [LibraryImport("libc", EntryPoint = "close")]
        internal static partial int Close(int fd);
    }
}
