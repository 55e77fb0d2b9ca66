namespace KdtCapture.Capture.Taps;

/// <summary>
/// The container a cgroup v2 path names, as the runtimes name their cgroups:
/// <list type="bullet">
/// <item>docker: <c>/system.slice/docker-ID.scope</c> (systemd driver), <c>/docker/ID</c> (cgroupfs driver)</item>
/// <item>containerd / CRI: <c>.../cri-containerd-ID.scope</c>, <c>/kubepods/.../podUID/ID</c>; CRI-O: <c>crio-ID.scope</c></item>
/// <item>podman / libpod: <c>.../libpod-ID.scope</c>, <c>.../libpod-ID.scope/container</c>, <c>/libpod_parent/libpod-ID</c></item>
/// <item>systemd scopes of machines (systemd-nspawn, machinectl): <c>/machine.slice/machine-NAME.scope</c> → NAME</item>
/// </list>
/// IDs are 64 hex digits; the last path component that holds one wins (a container nested in a pod).
/// </summary>
public static class ContainerId
{
    private static readonly string[] RuntimePrefixes = ["docker-", "cri-containerd-", "containerd-", "crio-", "libpod-conmon-", "libpod-"];

    /// <summary>The container ID (or machine name) the path names; null when it names none.</summary>
    public static string? FromCgroupPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = parts.Length - 1; i >= 0; i--)
        {
            string part = parts[i];
            if (part.EndsWith(".scope", StringComparison.Ordinal))
                part = part[..^".scope".Length];
            foreach (string prefix in RuntimePrefixes)
            {
                if (part.StartsWith(prefix, StringComparison.Ordinal) && IsId(part.AsSpan(prefix.Length)))
                    return part[prefix.Length..];
            }
            if (IsId(part))
                return part;
            if (parts[i].StartsWith("machine-", StringComparison.Ordinal) && parts[i].EndsWith(".scope", StringComparison.Ordinal) && i > 0 && parts[i - 1] == "machine.slice")
                return Unescape(part["machine-".Length..]);
        }
        return null;
    }

    /// <summary>The container of a process, from the cgroup v2 line of /proc/PID/cgroup; null when none (or the process is gone).</summary>
    public static string? OfProcess(uint pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/cgroup"))
                if (line.StartsWith("0::", StringComparison.Ordinal))
                    return FromCgroupPath(line[3..]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    private static bool IsId(ReadOnlySpan<char> s)
    {
        if (s.Length != 64)
            return false;
        foreach (char c in s)
            if (!char.IsAsciiHexDigitLower(c))
                return false;
        return true;
    }

    /// <summary>systemd's unit-name escaping: "\x2d" is '-'.</summary>
    private static string Unescape(string name)
    {
        if (!name.Contains("\\x", StringComparison.Ordinal))
            return name;
        var sb = new System.Text.StringBuilder(name.Length);
        for (int i = 0; i < name.Length; i++)
        {
            if (name[i] == '\\' && i + 3 < name.Length && name[i + 1] == 'x' && byte.TryParse(name.AsSpan(i + 2, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
            {
                sb.Append((char)b);
                i += 3;
            }
            else
            {
                sb.Append(name[i]);
            }
        }
        return sb.ToString();
    }
}
