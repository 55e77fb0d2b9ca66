using System.Runtime.InteropServices;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// tcpdump's <c>-Z user</c>: once the capture devices are open, become that user (its groups, then its
/// group, then its uid), so that the output files are created as that user and a bug in a printer runs
/// without root.
/// </summary>
internal static partial class Relinquish
{
    public static bool TryBecome(string user, TextWriter stderr, out int failure)
    {
        failure = ExitCodes.Success;
        nint passwd = GetPasswordEntry(user);
        if (passwd == 0)
        {
            failure = CaptureCommand.Fail(stderr, $"Couldn't find user '{Truncate(user)}'");
            return false;
        }
        // struct passwd: pw_name, pw_passwd (pointers), then pw_uid and pw_gid.
        uint uid = (uint)Marshal.ReadInt32(passwd, 2 * IntPtr.Size);
        uint gid = (uint)Marshal.ReadInt32(passwd, 2 * IntPtr.Size + 4);
        string name = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(passwd)) ?? user;
        // glibc applies setgid/setuid to every thread of the process.
        if (InitGroups(name, gid) != 0 || SetGid(gid) != 0 || SetUid(uid) != 0)
        {
            string reason = Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            failure = CaptureCommand.Fail(stderr, $"Couldn't change to '{Truncate(user)}' uid={uid} gid={gid}: {reason}");
            return false;
        }
        return true;
    }

    private static string Truncate(string user) => user.Length > 32 ? user[..32] : user;

    [LibraryImport("libc", EntryPoint = "getpwnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetPasswordEntry(string name);

    [LibraryImport("libc", EntryPoint = "initgroups", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int InitGroups(string user, uint group);

    [LibraryImport("libc", EntryPoint = "setgid", SetLastError = true)]
    private static partial int SetGid(uint gid);

    [LibraryImport("libc", EntryPoint = "setuid", SetLastError = true)]
    private static partial int SetUid(uint uid);
}
