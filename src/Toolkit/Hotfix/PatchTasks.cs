using System.Globalization;

namespace KdtCapture.Toolkit.Hotfix;

/// <summary>A task whose /proc/PID/task/TID/patch_state lags the transition's target.</summary>
public sealed record StalledTask(int Pid, int Tid, string Comm, int PatchState, bool KernelThread, string? Stack);

/// <summary>
/// The per-task side of a livepatch transition: /proc/PID/task/TID/patch_state is -1 when no
/// transition is under way, else 0 (unpatched) or 1 (patched); a task whose state differs from
/// the patch's enabled value (the target) has not switched yet, usually because a function being
/// patched is on its stack. The proc root is configurable so the scan is tested on a tree made by hand.
/// </summary>
public static class PatchTasks
{
    private const uint PfKthread = 0x00200000;

    /// <summary>The tasks of every process under <paramref name="procRoot"/> whose patch_state is neither -1 nor <paramref name="target"/>.</summary>
    public static List<StalledTask> Stalled(int target, string procRoot = "/proc", bool withStacks = true)
    {
        var stalled = new List<StalledTask>();
        IEnumerable<string> processes;
        try
        {
            processes = Directory.EnumerateDirectories(procRoot);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return stalled;
        }
        foreach (var processDir in processes)
        {
            if (!int.TryParse(Path.GetFileName(processDir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                continue;
            string[] tasks;
            try
            {
                tasks = Directory.GetDirectories(Path.Combine(processDir, "task"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // the process has exited meanwhile
            }
            foreach (var taskDir in tasks)
            {
                if (!int.TryParse(Path.GetFileName(taskDir), NumberStyles.None, CultureInfo.InvariantCulture, out int tid))
                    continue;
                if (ReadInt(Path.Combine(taskDir, "patch_state")) is not { } state || state == -1 || state == target)
                    continue;
                string comm = ReadText(Path.Combine(taskDir, "comm"))?.TrimEnd('\n') ?? "?";
                bool kthread = IsKernelThread(ReadText(Path.Combine(taskDir, "stat")));
                string? stack = withStacks ? ReadText(Path.Combine(taskDir, "stack")) : null;
                stalled.Add(new StalledTask(pid, tid, comm, state, kthread, stack));
            }
        }
        stalled.Sort((a, b) => a.Tid.CompareTo(b.Tid));
        return stalled;
    }

    /// <summary>Whether /proc/PID/stat's flags (the 9th field, counted after the parenthesised comm) have PF_KTHREAD.</summary>
    internal static bool IsKernelThread(string? stat)
    {
        if (stat is null)
            return false;
        int close = stat.LastIndexOf(')');
        if (close < 0)
            return false;
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is the state (3rd field of stat), so flags (9th) is fields[6].
        return fields.Length > 6 && uint.TryParse(fields[6], NumberStyles.None, CultureInfo.InvariantCulture, out uint flags) && (flags & PfKthread) != 0;
    }

    private static int? ReadInt(string path)
        => ReadText(path) is { } t && int.TryParse(t.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v : null;

    private static string? ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
