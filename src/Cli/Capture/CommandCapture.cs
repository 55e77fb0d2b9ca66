using System.Diagnostics;
using System.Globalization;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// <c>kdt capture ... -- COMMAND ARGS...</c>: a cgroup (v2) made for the command, which the taps
/// select by (<see cref="ProcessSelection"/>), the command started inside it once the taps are
/// attached, and its end stopping the capture. Disposing kills what is left of the process tree
/// (cgroup.kill) and removes the cgroup.
/// </summary>
internal sealed class CommandCapture : IDisposable
{
    private readonly List<string> _command;
    private Process? _process;

    private CommandCapture(string cgroup, List<string> command)
    {
        Cgroup = cgroup;
        _command = command;
    }

    /// <summary>The cgroup directory the command runs in.</summary>
    public string Cgroup { get; }

    /// <summary>The command's exit code once it has exited (a signal's death is 128 + the signal, as shells say).</summary>
    public int ExitCode => _process is { HasExited: true } p ? p.ExitCode : ExitCodes.Failure;

    /// <summary>The program a command word names, as the shell's PATH search finds it; null when none.</summary>
    public static string? FindProgram(string word)
    {
        if (word.Contains('/', StringComparison.Ordinal))
            return File.Exists(word) ? word : null;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Join(dir, word);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>Makes the cgroup; a one-line <see cref="TapException"/> when it cannot be made.</summary>
    public static CommandCapture Create(List<string> command)
    {
        string root = ProcessSelection.Cgroup2Root()
            ?? throw new TapException("-- COMMAND runs the command in a cgroup of its own, and no cgroup v2 file system is mounted; mount one (mount -t cgroup2 none /sys/fs/cgroup) or select with --pid");
        string path = Path.Join(root, string.Create(CultureInfo.InvariantCulture, $"kdt-capture-{Environment.ProcessId}"));
        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TapException($"-- COMMAND: cannot make the cgroup {path} ({e.Message}); run as root, or select with --pid");
        }
        return new CommandCapture(path, command);
    }

    /// <summary>
    /// Starts the command in the cgroup: a shell moves itself there and then execs the command, so
    /// every process of the tree is in it from its first instruction. <paramref name="exited"/> runs
    /// when it ends.
    /// </summary>
    public void Start(Action exited)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("echo $$ > \"$0/cgroup.procs\" && exec \"$@\"");
        psi.ArgumentList.Add(Cgroup);
        foreach (string word in _command)
            psi.ArgumentList.Add(word);
        _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        _process.Exited += (_, _) => exited();
        try
        {
            _process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            throw new TapException($"-- {_command[0]}: cannot start /bin/sh ({e.Message})");
        }
    }

    /// <summary>Waits for the command (after the capture stopped some other way: ^C, -c).</summary>
    public void WaitForExit(TimeSpan timeout) => _process?.WaitForExit(timeout);

    public void Dispose()
    {
        _process?.Dispose();
        // Whatever the command left running goes with its cgroup.
        try
        {
            if (File.Exists(Path.Join(Cgroup, "cgroup.kill")))
                File.WriteAllText(Path.Join(Cgroup, "cgroup.kill"), "1");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        for (int attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                Directory.Delete(Cgroup);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(20); // the killed processes leave the cgroup as they die
            }
        }
    }
}
