using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace KdtCapture.Benchmarks;

/// <summary>
/// Part 6, taps: a UDP loopback flood (native/udp_flood.c, built with cc) sent alone, under
/// <c>kdt capture -i tp_btf/net_dev_queue -w FILE</c> and under <c>tcpdump -i lo -w FILE</c>, both
/// filtering on the flood's port in the kernel; rounds interleaved with the order alternating, so
/// that load from other processes falls on every contender. Per run: the rate the sender achieved,
/// its CPU time, the capture's CPU time from "listening on" to the stop, and what the capture
/// says it captured and dropped.
/// </summary>
internal static unsafe class TapsBenchmark
{
    public const string Tap = "tp_btf/net_dev_queue";

    public sealed class Contender(string name)
    {
        public string Name { get; } = name;
        public List<Run> Runs { get; } = [];
    }

    /// <summary>One flood: sender's rate and CPU, the capture's CPU and counts (-1 where there is no capture).</summary>
    public sealed record Run(long Sent, double Seconds, double SenderUserSeconds, double SenderSystemSeconds,
        double CaptureCpuSeconds, long Captured, long DroppedByKernel, long DroppedByPipeline)
    {
        public double Rate => Sent / Seconds;
        public long Lost => DroppedByKernel + DroppedByPipeline;
    }

    public sealed record Result(Contender Alone, Contender Kdt, Contender Tcpdump, int Port, int Packets, int Size);

    private static readonly nint Libc = NativeLibrary.Load("libc.so.6");
    private static readonly delegate* unmanaged[Cdecl]<int, int, int> KillProcess =
        (delegate* unmanaged[Cdecl]<int, int, int>)NativeLibrary.GetExport(Libc, "kill");
    private const int SigTerm = 15;

    /// <summary>Builds the sender into .build/bench/taps unless it is current; returns its path.</summary>
    public static string BuildSender(string repository, TextWriter log)
    {
        string source = Path.Combine(repository, "bench", "KdtCapture.Benchmarks", "native", "udp_flood.c");
        string dir = Path.Combine(repository, ".build", "bench", "taps");
        string binary = Path.Combine(dir, "udp_flood");
        Directory.CreateDirectory(dir);
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= File.GetLastWriteTimeUtc(source))
            return binary;
        string? cc = FindOnPath("cc") ?? FindOnPath("gcc") ?? FindOnPath("clang")
            ?? throw new InvalidOperationException("part 6 builds its sender with a C compiler: install clang or gcc");
        var (exit, _, stderr) = StartupBenchmark.RunOnce(new StartupBenchmark.Command("cc", cc, ["-O2", "-o", binary, source]));
        if (exit != 0)
            throw new InvalidOperationException($"cc {source} failed: {stderr.Trim()}");
        log.WriteLine($"  sender: {Path.GetRelativePath(repository, binary)} built from {Path.GetRelativePath(repository, source)}");
        return binary;
    }

    public static Result Measure(string kdt, string tcpdump, string sender, string repository, int packets, int size, int rounds, TextWriter log)
    {
        string dir = Path.Combine(repository, ".build", "bench", "taps");
        int port = FreeUdpPort();
        string filter = $"udp dst port {port}";
        var alone = new Contender("sender alone");
        var withKdt = new Contender($"under kdt -i {Tap}");
        var withTcpdump = new Contender("under tcpdump -i lo");
        string kdtOut = Path.Combine(dir, "out-kdt.pcapng"), tcpdumpOut = Path.Combine(dir, "out-tcpdump.pcap");
        var contenders = new (Contender Who, string? Path, string[] Arguments)[]
        {
            (alone, null, []),
            (withKdt, kdt, ["capture", "-i", Tap, "-w", kdtOut, filter]),
            (withTcpdump, tcpdump, ["-Z", "root", "-i", "lo", "-w", tcpdumpOut, filter]),
        };
        // One untimed round first: page cache, the program's first load, the sender's first run.
        for (int round = -1; round < rounds; round++)
        {
            bool backward = (round & 1) != 0;
            for (int n = 0; n < contenders.Length; n++)
            {
                var (who, path, arguments) = contenders[backward ? contenders.Length - 1 - n : n];
                Run r = path is null ? Flood(sender, port, packets, size) : Captured(path, arguments, sender, port, packets, size);
                if (round >= 0)
                    who.Runs.Add(r);
            }
            log.Write(round < 0 ? "   warm-up round done" : $"; round {round + 1}");
            log.Flush();
        }
        log.WriteLine();
        return new Result(alone, withKdt, withTcpdump, port, packets, size);
    }

    private static Run Flood(string sender, int port, int packets, int size)
    {
        var (exit, stdout, stderr) = StartupBenchmark.RunOnce(new StartupBenchmark.Command("udp_flood", sender,
            [port.ToString(CultureInfo.InvariantCulture), packets.ToString(CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture)]));
        if (exit != 0)
            throw new InvalidOperationException($"the sender failed (exit {exit}): {stderr.Trim()}");
        string[] f = stdout.Trim().Split(' ');
        double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        return new Run(long.Parse(f[0], CultureInfo.InvariantCulture), D(2), D(3), D(4), -1, -1, -1, -1);
    }

    /// <summary>Starts the capture, waits for its "listening on", floods, lets it drain, stops it with SIGTERM.</summary>
    private static Run Captured(string capture, string[] arguments, string sender, int port, int packets, int size)
    {
        var psi = new ProcessStartInfo(capture) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in arguments)
            psi.ArgumentList.Add(a);
        var lines = new List<string>();
        using var listening = new ManualResetEventSlim();
        using Process p = new() { StartInfo = psi };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (lines)
                lines.Add(e.Data);
            if (e.Data.Contains("listening on", StringComparison.Ordinal))
                listening.Set();
        };
        p.Start();
        p.BeginErrorReadLine();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        try
        {
            if (!listening.Wait(TimeSpan.FromSeconds(30)) || p.HasExited)
                throw new InvalidOperationException($"{Path.GetFileName(capture)} did not start listening: {string.Join(" / ", Snapshot(lines))}");
            Thread.Sleep(300);
            double cpuBefore = CpuSeconds(p.Id);
            Run flood = Flood(sender, port, packets, size);
            // tcpdump hands a TPACKET_V3 block over after at most 1 s; kdt looks at least every 100 ms.
            Thread.Sleep(1500);
            double cpu = CpuSeconds(p.Id) - cpuBefore;
            if (KillProcess(p.Id, SigTerm) != 0)
                throw new InvalidOperationException($"kill -TERM {p.Id} failed");
            if (!p.WaitForExit(TimeSpan.FromSeconds(30)))
                throw new InvalidOperationException($"{Path.GetFileName(capture)} did not stop within 30 s of SIGTERM");
            p.WaitForExit();
            List<string> said = Snapshot(lines);
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"{Path.GetFileName(capture)} exited with {p.ExitCode}: {string.Join(" / ", said)}");
            return flood with
            {
                CaptureCpuSeconds = cpu,
                Captured = Count(said, " packets captured", capture),
                DroppedByKernel = Count(said, " packets dropped by kernel", capture),
                DroppedByPipeline = CountOrZero(said, " dropped by kdt"),
            };
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit();
            }
            _ = stdout.Result;
        }
    }

    private static List<string> Snapshot(List<string> lines)
    {
        lock (lines)
            return [.. lines];
    }

    private static long Count(List<string> lines, string what, string capture)
    {
        long n = CountOrZero(lines, what);
        return n >= 0 && lines.Exists(l => l.Contains(what, StringComparison.Ordinal)) ? n
            : throw new InvalidOperationException($"{Path.GetFileName(capture)} did not say how many{what}: {string.Join(" / ", lines)}");
    }

    /// <summary>"N packet(s) WHAT" → N, or 0 when no line says it (kdt prints its own drops only when there are some).</summary>
    private static long CountOrZero(List<string> lines, string what)
    {
        foreach (string line in lines)
        {
            int at = line.IndexOf(what.TrimStart(), StringComparison.Ordinal);
            if (at < 0)
                continue;
            string first = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            if (long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                return n;
        }
        return 0;
    }

    /// <summary>User plus system CPU of a whole process (all threads) from /proc/PID/stat, in seconds.</summary>
    private static double CpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name in parentheses: state is field 3, utime 14, stime 15.
        string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
        return ticks / (double)ClockTicks;
    }

    private static readonly long ClockTicks = SysconfClockTicks();

    private static long SysconfClockTicks()
    {
        var sysconf = (delegate* unmanaged[Cdecl]<int, long>)NativeLibrary.GetExport(Libc, "sysconf");
        long ticks = sysconf(2); // _SC_CLK_TCK
        return ticks > 0 ? ticks : 100;
    }

    private static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string p = Path.Combine(dir, name);
            if (File.Exists(p))
                return p;
        }
        return null;
    }
}
