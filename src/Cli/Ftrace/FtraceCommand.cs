using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using KdtCapture.Cli.CommandLine;
using KdtCapture.Toolkit.Ftrace;

namespace KdtCapture.Cli.Ftrace;

/// <summary><c>kdt ftrace VERB</c>: trace-cmd's verbs over tracefs. The tracefs work, trace.dat and report live in KdtCapture.Toolkit.Ftrace.</summary>
internal static partial class FtraceCommand
{
    private sealed class Options
    {
        public RecordOptions Record { get; } = new();
        public string? Instance;
        public string? Output;
        public string? Input;
        public bool TraceCommandOnly;
        public bool ListEvents, ListTracers, ListFunctions;
        public List<string> Operands = [];
    }

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr) =>
        Interrupt.Run(token => Run(args, stdout, stderr, token));

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help")
        {
            stdout.Write(FtraceHelp.Text);
            return args.Count == 0 ? ExitCodes.Failure : ExitCodes.Success;
        }
        string verb = args[0];
        var o = new Options();
        try
        {
            if (!Parse(verb, args.Skip(1).ToArray(), o, stdout, out int? early))
                return early!.Value;
            return verb switch
            {
                "list" => List(o, stdout),
                "record" => Record(o, stdout, stderr, cancellationToken),
                "report" => Report(o, stdout),
                "start" => Start(o, stderr),
                "stop" => Dir(o).Apply(d => d.Write("tracing_on", "0")),
                "extract" => Extract(o, stderr),
                "show" => Show(o, stdout),
                "stream" => Stream(o, stdout, stderr, cancellationToken),
                "reset" => Reset(o),
                "stat" => Stat(o, stdout),
                _ => Fail(stderr, $"unknown verb '{verb}' (list, record, report, start, stop, extract, show, stream, reset, stat; see 'kdt ftrace --help')"),
            };
        }
        catch (GetoptException e)
        {
            return Fail(stderr, $"{e.Message} (see 'kdt ftrace --help')");
        }
        catch (FtraceException e)
        {
            return Fail(stderr, e.Message);
        }
    }

    private static readonly Getopt s_getopt = new("he:f:p:P:Fl:n:g:b:B:o:i:t", [new LongOption("help", false, 'h')]);

    private static bool Parse(string verb, string[] args, Options o, TextWriter stdout, out int? early)
    {
        early = null;
        string? lastEvent = null;
        // Options stop at the first operand (the command to run), as trace-cmd's "+" optstring does.
        foreach (var option in s_getopt.Parse(args, o.Operands, posixlyCorrect: true))
        {
            string a = option.Argument ?? "";
            switch (option.Id)
            {
                case 'h':
                    stdout.Write(FtraceHelp.Text);
                    early = ExitCodes.Success;
                    return false;
                case 'e':
                    o.ListEvents = true;
                    o.Record.Events.Add((a, null));
                    lastEvent = a;
                    break;
                case 'f' when verb == "list":
                    o.ListFunctions = true;
                    o.Operands.Add(a);
                    break;
                case 'f':
                    if (lastEvent is null)
                        throw new FtraceException("-f FILTER applies to the -e EVENT before it: give -e first");
                    o.Record.Events[^1] = (lastEvent, a);
                    break;
                case 't':
                    o.ListTracers = true;
                    break;
                case 'p':
                    o.Record.Tracer = a;
                    break;
                case 'P':
                    if (!int.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid <= 0)
                        throw new FtraceException($"-P '{a}': give a process id");
                    o.Record.Pids.Add(pid);
                    break;
                case 'F':
                    o.TraceCommandOnly = true;
                    break;
                case 'l':
                    o.Record.FunctionFilters.Add(a);
                    break;
                case 'n':
                    o.Record.NoTraceFilters.Add(a);
                    break;
                case 'g':
                    o.Record.GraphFunctions.Add(a);
                    break;
                case 'b':
                    if (!int.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out int kb) || kb <= 0)
                        throw new FtraceException($"-b '{a}': give the per-CPU buffer size in KiB (e.g. -b 8192)");
                    o.Record.BufferSizeKb = kb;
                    break;
                case 'B':
                    if (a.Length == 0 || a.Contains('/') || a is "." or "..")
                        throw new FtraceException($"-B '{a}': give an instance name without '/'");
                    o.Instance = a;
                    break;
                case 'o':
                    o.Output = a;
                    break;
                case 'i':
                    o.Input = a;
                    break;
            }
        }
        // "list -e GLOB": the glob came as an operand.
        return true;
    }

    private static TraceFs Top() => TraceFs.Open();

    private static TraceFs Dir(Options o) => o.Instance is null ? Top() : Top().Instance(o.Instance);

    private static int Apply(this TraceFs directory, Action<TraceFs> action)
    {
        action(directory);
        return ExitCodes.Success;
    }

    private static int List(Options o, TextWriter stdout)
    {
        var top = Top();
        string? glob = o.Operands.Count > 0 ? o.Operands[0] : null;
        if (o.ListTracers)
        {
            stdout.WriteLine(string.Join(' ', top.Tracers()));
            return ExitCodes.Success;
        }
        if (o.ListFunctions)
        {
            if (!top.Exists("available_filter_functions"))
                throw new FtraceException("this kernel lists no traceable functions (no CONFIG_FUNCTION_TRACER)");
            IEnumerable<string> lines;
            try
            {
                lines = File.ReadLines(top.PathOf("available_filter_functions"));
            }
            catch (UnauthorizedAccessException)
            {
                throw TraceFs.FunctionTracerRefused("available_filter_functions", null);
            }
            foreach (var line in lines)
            {
                string name = line.Split(' ', 2)[0];
                if (glob is null or "" || Glob.Matches(glob, name))
                    stdout.WriteLine(line);
            }
            return ExitCodes.Success;
        }
        if (glob is null && o.Record.Events.Count > 0 && o.Record.Events[0].Event is { Length: > 0 } g)
            glob = g;
        foreach (var ev in top.Events())
        {
            if (glob is null || Glob.Matches(glob, ev) || (!glob.Contains(':') && Glob.Matches(glob, ev[(ev.IndexOf(':') + 1)..])))
                stdout.WriteLine(ev);
        }
        return ExitCodes.Success;
    }

    private static int Report(Options o, TextWriter stdout)
    {
        string path = o.Input ?? (o.Operands.Count > 0 ? o.Operands[0] : "trace.dat");
        var dat = TraceDat.Read(path);
        TraceReport.Write(stdout, dat);
        return ExitCodes.Success;
    }

    private static int Record(Options o, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (o.Record.Events.Count == 0 && o.Record.Tracer is null)
            return Fail(stderr, "record needs something to trace: -e SYSTEM:EVENT or -p TRACER");
        if (o.TraceCommandOnly && o.Operands.Count == 0)
            return Fail(stderr, "-F traces the command given after the options: add one (e.g. -F -- ls /)");
        string output = o.Output ?? "trace.dat";
        var top = Top();
        string instance = o.Instance ?? $"kdt-record-{Environment.ProcessId}";
        bool existed = top.Exists($"instances/{instance}");
        var dir = top.Instance(instance);
        bool topLevel = false;
        if (o.Instance is null && o.Record.Tracer is { } tracer && !dir.Tracers().Contains(tracer) && top.Tracers().Contains(tracer))
        {
            // Older kernels offer function_graph only in the top-level buffer; trace-cmd records there too.
            top.RemoveInstance(instance);
            dir = top;
            topLevel = true;
            stderr.WriteLine($"kdt ftrace: this kernel has the {tracer} tracer only in the top-level buffer: recording there (it is reset at the end)");
        }
        else if (o.Instance is not null && o.Record.Tracer is { } only && !dir.Tracers().Contains(only) && top.Tracers().Contains(only))
        {
            if (!existed)
                top.RemoveInstance(instance);
            return Fail(stderr, $"this kernel has the {only} tracer only in the top-level buffer, not in instance {instance}: drop -B to record there");
        }
        var scratch = Directory.CreateTempSubdirectory("kdt-ftrace-");
        Process? child = null;
        try
        {
            // The command starts (stopped) before the tracer is set up: its fork and exec do not
            // run through the hooked functions, and with -F its pid filter is written before the tracer.
            if (o.Operands.Count > 0)
            {
                child = StartStopped(o.Operands, cancellationToken);
                if (o.TraceCommandOnly)
                {
                    o.Record.Pids.Add(child.Id);
                    o.Record.FollowForks = true;
                }
            }
            FtraceSession.Configure(dir, o.Record);
            using var session = FtraceSession.Open(top, dir, scratch.FullName);
            dir.Write("tracing_on", "1");
            if (child is not null)
                _ = Kill(child.Id, SigCont);
            else
                stderr.WriteLine("kdt ftrace: recording (Ctrl-C to stop)");
            while (!cancellationToken.IsCancellationRequested)
            {
                session.Drain();
                if (child is not null && child.WaitForExit(100))
                    break;
                if (child is null)
                    cancellationToken.WaitHandle.WaitOne(100);
            }
            dir.Write("tracing_on", "0");
            session.Finish();
            FtraceSession.StopTracer(dir, o.Record);
            long overruns = Overruns(dir);
            session.WriteTraceDat(output);
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"kdt ftrace: {session.PagesRead} pages ({session.PagesRead * Environment.SystemPageSize / 1024} KiB) from {session.CpuFiles.Count} CPUs written to {output}"));
            if (overruns > 0)
                stderr.WriteLine($"kdt ftrace: the kernel overwrote {overruns} events before they were read (raise -b)");
            return child is { HasExited: true, ExitCode: not 0 } ? ExitCodes.Failure : ExitCodes.Success;
        }
        finally
        {
            if (child is { HasExited: false })
            {
                child.Kill(entireProcessTree: true);
                child.WaitForExit();
            }
            child?.Dispose();
            dir.Reset();
            if (!existed && !topLevel)
                top.RemoveInstance(instance);
            scratch.Delete(recursive: true);
        }
    }

    private static long Overruns(TraceFs dir)
    {
        long total = 0;
        for (int cpu = 0; dir.Exists($"per_cpu/cpu{cpu}/stats"); cpu++)
        {
            foreach (var line in dir.Read($"per_cpu/cpu{cpu}/stats").Split('\n'))
            {
                if (line.StartsWith("overrun:", StringComparison.Ordinal) && long.TryParse(line.AsSpan(8).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                    total += n;
            }
        }
        return total;
    }

    /// <summary>
    /// Starts COMMAND stopped (its shell stops itself before exec), so tracing can be set on its
    /// pid before it runs. Returns once the shell has stopped (or exited, or on cancellation):
    /// a SIGCONT sent before the shell's own SIGSTOP would be lost and leave it stopped for good,
    /// which is why there is no time limit here (under emulation the shell can take seconds to start).
    /// </summary>
    private static Process StartStopped(List<string> command, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("kill -STOP $$; exec \"$@\"");
        start.ArgumentList.Add("sh");
        foreach (var a in command)
            start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new FtraceException("cannot start /bin/sh for the command");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FtraceException($"cannot start /bin/sh for the command: {e.Message}");
        }
        string stat = $"/proc/{process.Id}/stat";
        do
        {
            string text;
            try
            {
                text = File.ReadAllText(stat);
            }
            catch (IOException)
            {
                return process;
            }
            // The state follows the command name, which may itself hold ')'.
            int close = text.LastIndexOf(')');
            if (close > 0 && close + 2 < text.Length && text[close + 2] is 'T' or 'Z' or 'X')
                return process;
        }
        while (!cancellationToken.WaitHandle.WaitOne(2));
        return process;
    }

    private static int Start(Options o, TextWriter stderr)
    {
        if (o.Record.Events.Count == 0 && o.Record.Tracer is null)
            return Fail(stderr, "start needs something to trace: -e SYSTEM:EVENT or -p TRACER");
        var dir = Dir(o);
        FtraceSession.Configure(dir, o.Record);
        dir.Write("tracing_on", "1");
        return ExitCodes.Success;
    }

    private static int Extract(Options o, TextWriter stderr)
    {
        var top = Top();
        var dir = o.Instance is null ? top : top.Instance(o.Instance);
        string output = o.Output ?? "trace.dat";
        var scratch = Directory.CreateTempSubdirectory("kdt-ftrace-");
        try
        {
            using var session = FtraceSession.Open(top, dir, scratch.FullName);
            session.Drain();
            session.WriteTraceDat(output);
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"kdt ftrace: {session.PagesRead} pages from {session.CpuFiles.Count} CPUs written to {output}"));
            return ExitCodes.Success;
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static int Show(Options o, TextWriter stdout)
    {
        stdout.Write(Dir(o).Read("trace"));
        return ExitCodes.Success;
    }

    private static int Stream(Options o, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (o.Record.Events.Count == 0 && o.Record.Tracer is null)
            return Fail(stderr, "stream needs something to trace: -e SYSTEM:EVENT or -p TRACER");
        var top = Top();
        string instance = o.Instance ?? $"kdt-stream-{Environment.ProcessId}";
        bool existed = top.Exists($"instances/{instance}");
        var dir = top.Instance(instance);
        Process? child = null;
        try
        {
            if (o.Operands.Count > 0)
                child = StartStopped(o.Operands, cancellationToken);
            FtraceSession.Configure(dir, o.Record);
            dir.Write("tracing_on", "1");
            if (child is not null)
                _ = Kill(child.Id, SigCont);
            using var pipe = new FileStream(dir.PathOf("trace_pipe"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
            var buffer = new byte[65536];
            while (!cancellationToken.IsCancellationRequested && child is not { HasExited: true })
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                tick.CancelAfter(200);
                int n;
                try
                {
                    n = pipe.ReadAsync(buffer, tick.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    continue;
                }
                stdout.Write(System.Text.Encoding.UTF8.GetString(buffer, 0, n));
                stdout.Flush();
            }
            return ExitCodes.Success;
        }
        finally
        {
            if (child is { HasExited: false })
            {
                child.Kill(entireProcessTree: true);
                child.WaitForExit();
            }
            child?.Dispose();
            dir.Reset();
            if (!existed)
                top.RemoveInstance(instance);
        }
    }

    private static int Reset(Options o)
    {
        var top = Top();
        if (o.Instance is null)
        {
            top.Reset();
            return ExitCodes.Success;
        }
        if (top.Exists($"instances/{o.Instance}"))
        {
            top.Instance(o.Instance).Reset();
            top.RemoveInstance(o.Instance);
        }
        return ExitCodes.Success;
    }

    private static int Stat(Options o, TextWriter stdout)
    {
        var dir = Dir(o);
        stdout.WriteLine($"Tracer: {dir.Read("current_tracer").Trim()}");
        stdout.WriteLine($"Tracing: {(dir.Read("tracing_on").Trim() == "1" ? "on" : "off")}");
        stdout.WriteLine($"Buffer size: {dir.Read("buffer_size_kb").Trim()} KiB per CPU");
        stdout.WriteLine($"Clock: {dir.Read("trace_clock").Trim()}");
        string events = dir.Read("set_event").Trim();
        stdout.WriteLine("Events:");
        foreach (var e in events.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var (system, name) = FtraceSession.SplitEvent(e);
            string filter = dir.Exists($"events/{system}/{name}/filter") ? dir.Read($"events/{system}/{name}/filter").Trim() : "none";
            stdout.WriteLine(filter == "none" ? $"  {e}" : $"  {e} (filter: {filter})");
        }
        foreach (var (file, title) in ((string, string)[])[("set_event_pid", "Event pids"), ("set_ftrace_pid", "Function pids"), ("set_ftrace_filter", "Function filter"), ("set_ftrace_notrace", "Function notrace"), ("set_graph_function", "Graph functions")])
        {
            if (!dir.Exists(file))
                continue;
            string text;
            try
            {
                text = dir.Read(file).Trim();
            }
            catch (FtraceException)
            {
                continue;
            }
            if (text.Length > 0 && !text.StartsWith("#### all functions", StringComparison.Ordinal) && text != "no pid")
                stdout.WriteLine($"{title}: {text.Replace('\n', ' ')}");
        }
        return ExitCodes.Success;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"kdt ftrace: {message}");
        return ExitCodes.Failure;
    }

    private const int SigCont = 18;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
