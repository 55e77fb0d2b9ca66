using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace KdtCapture.Toolkit.Psi;

/// <summary>
/// What a PSI trigger watches: "memory some 150ms 1s" = an event when some memory stall adds up to
/// 150 ms within any 1 s window. Durations take us, ms or s (a bare number is µs, as the kernel reads it).
/// </summary>
public sealed record PsiTriggerSpec(PressureResource Resource, bool Full, TimeSpan Threshold, TimeSpan Window)
{
    /// <summary>The kernel's bounds on the window (kernel/sched/psi.c).</summary>
    public static readonly TimeSpan MinimumWindow = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaximumWindow = TimeSpan.FromSeconds(10);

    /// <summary>The text written to the pressure file: "some 150000 1000000".</summary>
    public string KernelText => string.Create(CultureInfo.InvariantCulture,
        $"{(Full ? "full" : "some")} {(long)Threshold.TotalMicroseconds} {(long)Window.TotalMicroseconds}");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Pressure.Name(Resource)} {(Full ? "full" : "some")} {FormatDuration(Threshold)} {FormatDuration(Window)}");

    /// <exception cref="PsiException">The text is not "RESOURCE some|full THRESHOLD WINDOW" within the kernel's bounds.</exception>
    public static PsiTriggerSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        const string form = "give RESOURCE some|full THRESHOLD WINDOW, e.g. 'memory some 150ms 1s'";
        if (words.Length != 4)
            throw new PsiException($"bad trigger '{text}': {form}");
        if (!Pressure.TryParseResource(words[0], out var resource))
            throw new PsiException($"bad trigger '{text}': unknown resource '{words[0]}' (cpu, memory, io or irq)");
        bool full = words[1] switch
        {
            "some" => false,
            "full" => true,
            _ => throw new PsiException($"bad trigger '{text}': '{words[1]}' is neither some nor full"),
        };
        var threshold = ParseDuration(words[2]) ?? throw new PsiException($"bad trigger '{text}': threshold '{words[2]}' is not a duration such as 150ms");
        var window = ParseDuration(words[3]) ?? throw new PsiException($"bad trigger '{text}': window '{words[3]}' is not a duration such as 1s");
        if (window < MinimumWindow || window > MaximumWindow)
            throw new PsiException($"bad trigger '{text}': the window must be between 500ms and 10s");
        if (threshold <= TimeSpan.Zero || threshold > window)
            throw new PsiException($"bad trigger '{text}': the threshold must be more than 0 and at most the window");
        return new PsiTriggerSpec(resource, full, threshold, window);
    }

    private static TimeSpan? ParseDuration(string word)
    {
        int digits = 0;
        while (digits < word.Length && char.IsAsciiDigit(word[digits]))
            digits++;
        if (digits == 0 || !long.TryParse(word.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            return null;
        long microseconds = word[digits..] switch
        {
            "" or "us" => n,
            "ms" => n * 1000,
            "s" => n * 1_000_000,
            _ => -1,
        };
        return microseconds < 0 ? null : TimeSpan.FromMicroseconds(microseconds);
    }

    private static string FormatDuration(TimeSpan t)
    {
        long us = (long)t.TotalMicroseconds;
        if (us % 1_000_000 == 0)
            return string.Create(CultureInfo.InvariantCulture, $"{us / 1_000_000}s");
        if (us % 1000 == 0)
            return string.Create(CultureInfo.InvariantCulture, $"{us / 1000}ms");
        return string.Create(CultureInfo.InvariantCulture, $"{us}us");
    }
}

/// <summary>
/// A registered PSI trigger: the pressure file held open with the trigger written to it. The kernel
/// signals POLLPRI each time the threshold is crossed (at most once per window); closing unregisters.
/// </summary>
public sealed partial class PsiTrigger : IDisposable
{
    private const int ORdwr = 2, ONonblock = 0x800, OCloexec = 0x80000;
    private const short PollPri = 0x2, PollErr = 0x8, PollHup = 0x10, PollNval = 0x20;

    private readonly SafeFileHandle _file;

    public PsiTriggerSpec Spec { get; }

    /// <summary>The pressure file the trigger is registered on.</summary>
    public string Path { get; }

    private PsiTrigger(PsiTriggerSpec spec, string path, SafeFileHandle file)
    {
        Spec = spec;
        Path = path;
        _file = file;
    }

    /// <summary>Registers <paramref name="spec"/> on the system's pressure file, or on the cgroup v2 directory's.</summary>
    /// <exception cref="PsiException">The file is absent or the kernel refuses the trigger.</exception>
    public static PsiTrigger Register(PsiTriggerSpec spec, string? cgroup)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string path = Pressure.FilePath(spec.Resource, cgroup);
        int fd = Open(path, ORdwr | ONonblock | OCloexec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new PsiException(errno switch
            {
                2 => $"cannot register trigger '{spec}': {path} does not exist (no PSI for {Pressure.Name(spec.Resource)} here, or not a cgroup v2 directory)",
                13 or 1 => $"cannot register trigger '{spec}': {path} is not writable (run as root)",
                _ => $"cannot register trigger '{spec}': open {path}: {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }
        var file = new SafeFileHandle(fd, ownsHandle: true);
        // The kernel parses a NUL-terminated string (psi.rst's example writes strlen + 1 bytes).
        byte[] text = Encoding.ASCII.GetBytes(spec.KernelText + "\0");
        if (Write(file, text, text.Length) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            file.Dispose();
            throw new PsiException(errno switch
            {
                22 when !HasSysResource() && spec.Window.Ticks % (TimeSpan.TicksPerSecond * 2) != 0
                    => $"the kernel refused trigger '{spec}': without CAP_SYS_RESOURCE it takes only windows that are multiples of 2s (e.g. '{spec with { Window = TimeSpan.FromSeconds(Math.Max(2, Math.Ceiling(spec.Window.TotalSeconds / 2) * 2)) }}')",
                22 => $"the kernel refused trigger '{spec}' (EINVAL; irq takes only 'full')",
                16 => $"the kernel refused trigger '{spec}': {path} already has a trigger on this open file",
                1 or 13 => $"the kernel refused trigger '{spec}': not permitted (run as root, or use a window that is a multiple of 2s)",
                _ => $"the kernel refused trigger '{spec}': {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }
        return new PsiTrigger(spec, path, file);
    }

    /// <summary>
    /// Waits until one of <paramref name="triggers"/> fires and returns its index; -1 once
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <exception cref="PsiException">A watched cgroup was removed (the kernel reports POLLERR).</exception>
    public static int WaitAny(IReadOnlyList<PsiTrigger> triggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(triggers);
        var fds = new PollFd[triggers.Count];
        bool[] added = new bool[triggers.Count];
        try
        {
            for (int i = 0; i < triggers.Count; i++)
            {
                triggers[i]._file.DangerousAddRef(ref added[i]);
                fds[i].Fd = (int)triggers[i]._file.DangerousGetHandle();
                fds[i].Events = PollPri;
            }
            while (!cancellationToken.IsCancellationRequested)
            {
                // A short timeout so cancellation (Ctrl-C) is seen promptly without a wake-up pipe.
                int n = Poll(fds, (ulong)fds.Length, 200);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == 4)
                        continue;
                    throw new PsiException($"poll on the pressure files failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
                for (int i = 0; i < fds.Length; i++)
                {
                    short revents = fds[i].Revents;
                    if ((revents & (PollErr | PollHup | PollNval)) != 0)
                        throw new PsiException($"{triggers[i].Path} stopped reporting (its cgroup was removed)");
                    if ((revents & PollPri) != 0)
                        return i;
                }
            }
            return -1;
        }
        finally
        {
            for (int i = 0; i < triggers.Count; i++)
            {
                if (added[i])
                    triggers[i]._file.DangerousRelease();
            }
        }
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Whether this process has CAP_SYS_RESOURCE, which the kernel requires for windows other than multiples of 2 s.</summary>
    public static bool HasSysResource()
    {
        const int capSysResource = 24;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                    return (ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << capSysResource)) != 0;
            }
        }
        catch (IOException)
        {
        }
        return false;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(SafeFileHandle fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll([In, Out] PollFd[] fds, ulong count, int timeoutMilliseconds);
}
