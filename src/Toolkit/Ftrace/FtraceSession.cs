using System.Globalization;
using System.Runtime.InteropServices;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>What `record` and `start` set up, in trace-cmd's terms.</summary>
public sealed class RecordOptions
{
    /// <summary>SYSTEM:EVENT, SYSTEM (all its events) or globs, each with an optional filter (-f after -e).</summary>
    public List<(string Event, string? Filter)> Events { get; } = [];
    /// <summary>-p: a tracer from available_tracers (function, function_graph, ...); null keeps nop.</summary>
    public string? Tracer { get; set; }
    /// <summary>-P: only these processes' events (set_event_pid, and set_ftrace_pid for tracers).</summary>
    public List<int> Pids { get; } = [];
    /// <summary>-F: the children of <see cref="Pids"/> are traced too (options/event-fork, options/function-fork).</summary>
    public bool FollowForks { get; set; }
    /// <summary>-l / -n: set_ftrace_filter and set_ftrace_notrace globs.</summary>
    public List<string> FunctionFilters { get; } = [];
    public List<string> NoTraceFilters { get; } = [];
    /// <summary>-g: set_graph_function.</summary>
    public List<string> GraphFunctions { get; } = [];
    /// <summary>-b: per-CPU buffer size in KiB.</summary>
    public int? BufferSizeKb { get; set; }
}

/// <summary>
/// A tracefs directory (an instance, usually) set up for recording, and the reading of its
/// per-CPU binary buffers (per_cpu/cpuN/trace_pipe_raw, one ring buffer page per read) into
/// files that <see cref="TraceDatWriter"/> turns into a trace.dat.
/// </summary>
public sealed partial class FtraceSession : IDisposable
{
    private readonly TraceFs _top;
    private readonly int[] _pipes;
    private readonly FileStream[] _outputs;
    private readonly byte[] _page;

    public TraceFs Directory { get; }
    public IReadOnlyList<string> CpuFiles { get; }
    public long PagesRead { get; private set; }

    private FtraceSession(TraceFs top, TraceFs directory, string scratch)
    {
        _top = top;
        Directory = directory;
        int cpus = directory.CpuCount();
        _pipes = new int[cpus];
        _outputs = new FileStream[cpus];
        var files = new string[cpus];
        _page = new byte[Environment.SystemPageSize];
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            files[cpu] = Path.Combine(scratch, $"cpu{cpu}");
            _outputs[cpu] = new FileStream(files[cpu], FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
            string pipe = directory.PathOf($"per_cpu/cpu{cpu}/trace_pipe_raw");
            _pipes[cpu] = Open(pipe, ORdonly | ONonblock | OCloexec);
            if (_pipes[cpu] < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                Dispose();
                throw new FtraceException($"cannot open {pipe}: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }
        CpuFiles = files;
    }

    /// <summary>Opens the per-CPU binary pipes of <paramref name="directory"/>, buffering pages in <paramref name="scratch"/>.</summary>
    public static FtraceSession Open(TraceFs top, TraceFs directory, string scratch) => new(top, directory, scratch);

    /// <summary>
    /// Applies <paramref name="options"/> to <paramref name="directory"/> (buffer size, pids, events,
    /// function filters, tracer); tracing stays off. The order is trace-cmd's: everything that
    /// narrows what is traced goes first and the tracer last, because the moment current_tracer
    /// is written the kernel hooks every function the filters allow (with no filter yet, all of
    /// them: tens of thousands patched and then called through the tracer).
    /// </summary>
    public static void Configure(TraceFs directory, RecordOptions options)
    {
        directory.Write("tracing_on", "0");
        if (options.Tracer is not null && !directory.Tracers().Contains(options.Tracer))
        {
            throw new FtraceException(options.Tracer.StartsWith("function", StringComparison.Ordinal)
                ? $"this kernel offers no '{options.Tracer}' tracer (available: {string.Join(' ', directory.Tracers())}): trace events instead (-e SYSTEM:EVENT), or use a kernel built with CONFIG_FUNCTION_TRACER"
                : $"no tracer '{options.Tracer}' (available: {string.Join(' ', directory.Tracers())})");
        }
        if (options.Tracer is null && options.FunctionFilters.Count + options.NoTraceFilters.Count + options.GraphFunctions.Count > 0)
            throw new FtraceException("-l, -n and -g choose functions for a tracer: add -p function (or -p function_graph)");
        if (options.BufferSizeKb is int kb)
            directory.Write("buffer_size_kb", kb.ToString(CultureInfo.InvariantCulture));
        if (options.Pids.Count > 0)
        {
            string pids = string.Join(' ', options.Pids.Select(p => p.ToString(CultureInfo.InvariantCulture)));
            directory.Write("set_event_pid", pids);
            if (options.FollowForks && directory.Exists("options/event-fork"))
                directory.Write("options/event-fork", "1");
            if (options.Tracer is not null)
            {
                directory.Write("set_ftrace_pid", pids);
                if (options.FollowForks && directory.Exists("options/function-fork"))
                    directory.Write("options/function-fork", "1");
            }
        }
        foreach (var (spec, filter) in options.Events)
        {
            var (system, name) = SplitEvent(spec);
            var matched = MatchEvents(directory, system, name);
            if (matched.Count == 0)
                throw new FtraceException($"no event matches '{spec}' (see 'kdt ftrace list -e')");
            foreach (var dir in matched)
            {
                if (filter is not null)
                    directory.Write(Path.Combine(dir, "filter"), filter);
                directory.Write(Path.Combine(dir, "enable"), "1");
            }
        }
        if (options.Tracer is not null)
        {
            foreach (var f in options.FunctionFilters)
                directory.Write("set_ftrace_filter", f + "\n", append: true);
            foreach (var f in options.NoTraceFilters)
                directory.Write("set_ftrace_notrace", f + "\n", append: true);
            foreach (var f in options.GraphFunctions)
                directory.Write("set_graph_function", f + "\n", append: true);
            directory.Write("current_tracer", options.Tracer);
        }
    }

    /// <summary>
    /// Unhooks the tracer of a directory <see cref="Configure"/> set up, once its pages are read
    /// and its pipes closed (<see cref="Finish"/>):
    /// tracing off, then current_tracer nop, before anything else runs (gathering the metadata,
    /// writing the trace.dat), which would otherwise go through every hooked function. The rest
    /// (events, filters, pids) stays for <see cref="Metadata"/> and is cleared by <see cref="TraceFs.Reset"/>.
    /// </summary>
    public static void StopTracer(TraceFs directory, RecordOptions options)
    {
        directory.Write("tracing_on", "0");
        if (options.Tracer is not null)
            directory.Write("current_tracer", "nop");
    }

    /// <summary>SYSTEM:EVENT, SYSTEM/EVENT or EVENT alone (any system).</summary>
    public static (string System, string Name) SplitEvent(string spec)
    {
        int colon = spec.IndexOfAny([':', '/']);
        return colon < 0 ? ("*", spec) : (spec[..colon], spec[(colon + 1)..]);
    }

    private static List<string> MatchEvents(TraceFs directory, string system, string name)
    {
        var result = new List<string>();
        string events = directory.PathOf("events");
        if (!System.IO.Directory.Exists(events))
            return result;
        foreach (var sys in System.IO.Directory.EnumerateDirectories(events))
        {
            string sysName = Path.GetFileName(sys);
            if (!Glob.Matches(system, sysName))
                continue;
            if (name is "" or "*" && system != "*")
            {
                result.Add(Path.Combine("events", sysName));
                continue;
            }
            foreach (var ev in System.IO.Directory.EnumerateDirectories(sys))
            {
                if (Glob.Matches(name, Path.GetFileName(ev)) && File.Exists(Path.Combine(ev, "format")))
                    result.Add(Path.Combine("events", sysName, Path.GetFileName(ev)));
            }
        }
        return result;
    }

    /// <summary>Reads every page the kernel has ready on every CPU; returns how many.</summary>
    public int Drain()
    {
        int pages = 0;
        for (int cpu = 0; cpu < _pipes.Length; cpu++)
        {
            while (true)
            {
                nint n = Read(_pipes[cpu], _page, _page.Length);
                if (n <= 0)
                    break;
                // A read returns one page; a short read (never seen) is padded so pages stay aligned.
                if (n < _page.Length)
                    Array.Clear(_page, (int)n, _page.Length - (int)n);
                _outputs[cpu].Write(_page);
                pages++;
            }
        }
        PagesRead += pages;
        return pages;
    }

    /// <summary>
    /// Reads what the kernel still holds and closes the per-CPU pipes (the pages read stay for
    /// <see cref="WriteTraceDat"/>): the kernel refuses to change the tracer (EBUSY) while a
    /// trace_pipe_raw is open, so this comes before <see cref="StopTracer"/>.
    /// </summary>
    public void Finish()
    {
        Drain();
        ClosePipes();
    }

    /// <summary>Collects what a trace.dat needs besides the pages: formats of the events enabled in the directory, kallsyms, command lines.</summary>
    public TraceDatMetadata Metadata()
    {
        var bySystem = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var line in Directory.Read("set_event").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var (system, name) = SplitEvent(line.Trim());
            string format = Path.Combine("events", system, name, "format");
            if (!Directory.Exists(format))
                continue;
            if (!bySystem.TryGetValue(system, out var list))
                bySystem[system] = list = [];
            list.Add(Directory.Read(format));
        }
        var ftrace = new List<string>();
        string ftraceDir = _top.PathOf("events/ftrace");
        if (System.IO.Directory.Exists(ftraceDir))
        {
            foreach (var ev in System.IO.Directory.EnumerateDirectories(ftraceDir).Order(StringComparer.Ordinal))
            {
                if (File.Exists(Path.Combine(ev, "format")))
                    ftrace.Add(File.ReadAllText(Path.Combine(ev, "format")));
            }
        }
        string kallsyms;
        try
        {
            kallsyms = File.ReadAllText("/proc/kallsyms");
        }
        catch (IOException)
        {
            kallsyms = "";
        }
        return new TraceDatMetadata
        {
            HeaderPage = _top.Read("events/header_page"),
            HeaderEvent = _top.Read("events/header_event"),
            FtraceFormats = ftrace,
            EventFormats = bySystem.Select(kv => (kv.Key, (IReadOnlyList<string>)kv.Value)).ToList(),
            Kallsyms = kallsyms,
            PrintkFormats = _top.Exists("printk_formats") ? _top.Read("printk_formats") : "",
            CommandLines = _top.Read("saved_cmdlines"),
            Clock = Directory.Read("trace_clock"),
            PageSize = _page.Length,
        };
    }

    /// <summary>Writes the trace.dat (mode 0600) from the pages read so far.</summary>
    public void WriteTraceDat(string path)
    {
        foreach (var o in _outputs)
            o?.Flush();
        var meta = Metadata();
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        File.Delete(path);
        using var output = new FileStream(path, options);
        TraceDatWriter.Write(output, meta, CpuFiles);
    }

    private void ClosePipes()
    {
        for (int i = 0; i < _pipes.Length; i++)
        {
            if (_pipes[i] > 0)
                Close(_pipes[i]);
            _pipes[i] = -1;
        }
    }

    public void Dispose()
    {
        ClosePipes();
        foreach (var output in _outputs)
            output?.Dispose();
    }

    private const int ORdonly = 0, ONonblock = 0x800, OCloexec = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

/// <summary>Shell-style globs (* ? [...]) for event and function names.</summary>
public static class Glob
{
    public static bool Matches(string pattern, string text) => Match(pattern, 0, text, 0);

    private static bool Match(string p, int pi, string t, int ti)
    {
        while (pi < p.Length)
        {
            char c = p[pi];
            if (c == '*')
            {
                for (int k = ti; k <= t.Length; k++)
                {
                    if (Match(p, pi + 1, t, k))
                        return true;
                }
                return false;
            }
            if (ti >= t.Length)
                return false;
            if (c == '[')
            {
                int close = p.IndexOf(']', pi + 1);
                if (close < 0)
                    return false;
                if (!p.AsSpan(pi + 1, close - pi - 1).Contains(t[ti]))
                    return false;
                pi = close + 1;
                ti++;
                continue;
            }
            if (c != '?' && c != t[ti])
                return false;
            pi++;
            ti++;
        }
        return ti == t.Length;
    }
}
