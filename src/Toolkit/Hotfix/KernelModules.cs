using System.Runtime.InteropServices;

namespace KdtCapture.Toolkit.Hotfix;

/// <summary>
/// finit_module(2) and delete_module(2), the two system calls insmod and rmmod make, and
/// /proc/modules. glibc wraps neither call, so they go through syscall(2) with the architecture's
/// numbers; errors come back as errno values for the caller to word.
/// </summary>
public static partial class KernelModules
{
    public const int Eperm = 1, Enoent = 2, Enoexec = 8, Eagain = 11, Eacces = 13, Ebusy = 16, Eexist = 17, Einval = 22, Enosys = 38, Enokey = 126, Ekeyrejected = 129;
    private const int ONonblock = 0x800;

    /// <summary>Whether this kernel takes modules at all (it lists them in /proc/modules when built with CONFIG_MODULES).</summary>
    public static bool Supported => File.Exists("/proc/modules");

    /// <summary>Loads the module in <paramref name="path"/>; 0 or the errno.</summary>
    public static int Load(string path, string parameters = "")
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        long result = Syscall(FinitModuleNumber, file.DangerousGetHandle(), parameters, 0);
        return result == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Removes the module <paramref name="name"/> (O_NONBLOCK, as rmmod: EWOULDBLOCK rather than waiting for its users); 0 or the errno.</summary>
    public static int Remove(string name)
    {
        long result = Syscall(DeleteModuleNumber, name, ONonblock);
        return result == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Whether /proc/modules lists <paramref name="name"/>.</summary>
    public static bool IsLoaded(string name, string procModules = "/proc/modules")
    {
        try
        {
            foreach (var line in File.ReadLines(procModules))
            {
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && line.AsSpan(0, space).SequenceEqual(name))
                    return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return false;
    }

    /// <summary>Whether the loaded module carries the livepatch taint (K in /sys/module/NAME/taint), so it is a patch even when disabled.</summary>
    public static bool IsLivepatchModule(string name)
    {
        try
        {
            return File.ReadAllText($"/sys/module/{name}/taint").Contains('K', StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    private static long FinitModuleNumber => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 313,
        Architecture.Arm64 => 273,
        var a => throw new HotfixException($"kdt hotfix knows the module system calls of x86-64 and arm64, not {a}"),
    };

    private static long DeleteModuleNumber => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 176,
        Architecture.Arm64 => 106,
        var a => throw new HotfixException($"kdt hotfix knows the module system calls of x86-64 and arm64, not {a}"),
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long Syscall(long number, IntPtr fd, string parameters, int flags);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long Syscall(long number, string name, int flags);
}
