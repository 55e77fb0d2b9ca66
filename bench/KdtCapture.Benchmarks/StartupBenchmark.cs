using System.Collections;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KdtCapture.Benchmarks;

/// <summary>
/// Start-up: wall time from posix_spawn to waitpid of whole command runs (exec, dynamic linking,
/// runtime start, the work, exit), stdout and stderr to /dev/null, contenders interleaved
/// (order alternating) and the median taken. posix_spawn is called directly so that the
/// spawning costs both sides the same few tens of microseconds; /bin/true shows that floor.
/// </summary>
internal static unsafe class StartupBenchmark
{
    public sealed record Command(string Name, string Path, string[] Arguments)
    {
        public List<double> Milliseconds { get; } = [];
        /// <summary>User plus system CPU time of each timed run (all its threads), from wait4's rusage.</summary>
        public List<double> CpuMilliseconds { get; } = [];
        public override string ToString() => $"{Path} {string.Join(' ', Arguments)}";
    }

    private static readonly nint Libc = NativeLibrary.Load("libc.so.6");
    private static readonly delegate* unmanaged[Cdecl]<int*, byte*, void*, void*, byte**, byte**, int> PosixSpawn =
        (delegate* unmanaged[Cdecl]<int*, byte*, void*, void*, byte**, byte**, int>)NativeLibrary.GetExport(Libc, "posix_spawn");
    private static readonly delegate* unmanaged[Cdecl]<void*, int> FileActionsInit =
        (delegate* unmanaged[Cdecl]<void*, int>)NativeLibrary.GetExport(Libc, "posix_spawn_file_actions_init");
    private static readonly delegate* unmanaged[Cdecl]<void*, int, byte*, int, uint, int> FileActionsAddOpen =
        (delegate* unmanaged[Cdecl]<void*, int, byte*, int, uint, int>)NativeLibrary.GetExport(Libc, "posix_spawn_file_actions_addopen");
    private static readonly delegate* unmanaged[Cdecl]<void*, int> FileActionsDestroy =
        (delegate* unmanaged[Cdecl]<void*, int>)NativeLibrary.GetExport(Libc, "posix_spawn_file_actions_destroy");
    private static readonly delegate* unmanaged[Cdecl]<int, int*, int, long*, int> Wait4 =
        (delegate* unmanaged[Cdecl]<int, int*, int, long*, int>)NativeLibrary.GetExport(Libc, "wait4");

    private const int OpenWriteOnly = 1;
    private const int Eintr = 4;

    /// <summary>Runs each command once with output captured: its exit status and standard output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunOnce(Command command)
    {
        var psi = new ProcessStartInfo(command.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in command.Arguments)
            psi.ArgumentList.Add(a);
        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    /// <summary>Interleaved timed runs: <paramref name="warmups"/> untimed, then <paramref name="runs"/> timed per command.</summary>
    public static void Measure(IReadOnlyList<Command> commands, int runs, int warmups)
    {
        var allocations = new List<nint>();
        byte* Native(string s)
        {
            byte[] utf8 = LibPcap.NullTerminatedUtf8(s);
            var p = (byte*)NativeMemory.Alloc((nuint)utf8.Length);
            utf8.CopyTo(new Span<byte>(p, utf8.Length));
            allocations.Add((nint)p);
            return p;
        }

        // glibc's posix_spawn_file_actions_t is 80 bytes; leave room.
        void* actions = NativeMemory.AllocZeroed(1024);
        try
        {
            Check(FileActionsInit(actions), "posix_spawn_file_actions_init");
            byte* devNull = Native("/dev/null");
            Check(FileActionsAddOpen(actions, 1, devNull, OpenWriteOnly, 0), "posix_spawn_file_actions_addopen");
            Check(FileActionsAddOpen(actions, 2, devNull, OpenWriteOnly, 0), "posix_spawn_file_actions_addopen");

            var environment = new List<string>();
            foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
                environment.Add($"{e.Key}={e.Value}");
            byte** envp = (byte**)NativeMemory.AllocZeroed((nuint)(environment.Count + 1), (nuint)sizeof(byte*));
            allocations.Add((nint)envp);
            for (int i = 0; i < environment.Count; i++)
                envp[i] = Native(environment[i]);

            var prepared = new List<(Command Command, nint Path, nint Argv)>();
            foreach (Command c in commands)
            {
                byte** argv = (byte**)NativeMemory.AllocZeroed((nuint)(c.Arguments.Length + 2), (nuint)sizeof(byte*));
                allocations.Add((nint)argv);
                argv[0] = Native(Path.GetFileName(c.Path));
                for (int i = 0; i < c.Arguments.Length; i++)
                    argv[i + 1] = Native(c.Arguments[i]);
                prepared.Add((c, (nint)Native(c.Path), (nint)argv));
            }

            for (int run = -warmups; run < runs; run++)
            {
                bool backward = (run & 1) != 0;
                for (int n = 0; n < prepared.Count; n++)
                {
                    var (command, path, argv) = prepared[backward ? prepared.Count - 1 - n : n];
                    double ms = SpawnAndWait(command, (byte*)path, (byte**)argv, actions, envp, out double cpu);
                    if (run >= 0)
                    {
                        command.Milliseconds.Add(ms);
                        command.CpuMilliseconds.Add(cpu);
                    }
                }
            }
        }
        finally
        {
            FileActionsDestroy(actions);
            NativeMemory.Free(actions);
            foreach (nint p in allocations)
                NativeMemory.Free((void*)p);
        }
    }

    private static double SpawnAndWait(Command command, byte* path, byte** argv, void* actions, byte** envp, out double cpuMilliseconds)
    {
        int pid, status;
        // struct rusage: ru_utime and ru_stime (timevals of two longs) first; 144 bytes on LP64, room left.
        long* usage = stackalloc long[40];
        long start = Stopwatch.GetTimestamp();
        int rc = PosixSpawn(&pid, path, actions, null, argv, envp);
        if (rc != 0)
            throw new InvalidOperationException($"posix_spawn {command}: error {rc}");
        while (Wait4(pid, &status, 0, usage) == -1)
        {
            if (Marshal.GetLastSystemError() != Eintr)
                throw new InvalidOperationException($"waitpid {command}: error {Marshal.GetLastSystemError()}");
        }
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        cpuMilliseconds = (usage[0] + usage[2]) * 1000.0 + (usage[1] + usage[3]) / 1000.0;
        // WIFEXITED && WEXITSTATUS == 0
        if ((status & 0x7f) != 0 || ((status >> 8) & 0xff) != 0)
            throw new InvalidOperationException($"{command} failed (wait status 0x{status:x})");
        return ms;
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
            throw new InvalidOperationException($"{what}: error {rc}");
    }
}
