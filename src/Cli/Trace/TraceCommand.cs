using System.Globalization;
using KdtCapture.Bpf;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Cli.CommandLine;
using KdtCapture.Toolkit.Trace;

namespace KdtCapture.Cli.Trace;

/// <summary><c>kdt trace TOOL [options]</c> and <c>kdt trace --list</c>: parses bcc's options, runs the tool
/// from KdtCapture.Toolkit until -d ends or SIGINT/SIGTERM arrives.</summary>
internal static class TraceCommand
{
    private const int OptJson = 'j';
    private const int OptList = 1000;
    private const int OptHeatmap = 1001;
    private const int OptTop = 1002;
    private const int OptPerThread = 1003;
    private const int OptDist = 1004;
    private const int OptCount = 1005;
    private const int OptMinBlock = 1006;
    private const int OptMaxBlock = 1007;

    private static readonly LongOption[] LongOptions =
    [
        new("json", false, OptJson),
        new("help", false, 'h'),
        new("list", false, OptList),
        new("heatmap", true, OptHeatmap),
        new("top", true, OptTop),
        new("per-thread", false, OptPerThread),
        new("dist", false, OptDist),
        new("count", false, OptCount),
        new("min-block", true, OptMinBlock),
        new("max-block", true, OptMaxBlock),
    ];

    /// <summary>Options beyond the common ones, per tool (bcc's meaning for that tool).</summary>
    private static readonly Dictionary<string, string> Extra = new()
    {
        ["execsnoop"] = "xT",
        ["exitsnoop"] = "T" + (char)OptPerThread,
        ["opensnoop"] = "xT",
        ["syscount"] = "PLmxei" + (char)OptTop,
        ["tcpconnect"] = "T",
        ["tcplife"] = "T",
        ["tcpstates"] = "T",
        ["tcpdrop"] = "",
        ["tcpretrans"] = "lTi" + (char)OptCount,
        ["runqlat"] = "mPLTi" + (char)OptHeatmap,
        ["cpudist"] = "OmPLTi" + (char)OptHeatmap,
        ["offcputime"] = "fT" + (char)OptMinBlock + (char)OptMaxBlock,
        ["biolatency"] = "mDFQTi" + (char)OptHeatmap,
        ["softirqs"] = "NTi" + (char)OptDist + (char)OptCount,
        ["hardirqs"] = "NTi" + (char)OptDist + (char)OptCount,
        ["oomkill"] = "",
        ["drsnoop"] = "T",
        ["lockstat"] = "mTi" + (char)OptHeatmap + (char)OptTop,
    };

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Count == 0)
        {
            stdout.Write(TraceHelp.Text);
            return ExitCodes.Success;
        }
        string first = args[0];
        if (first is "-h" or "--help")
        {
            stdout.Write(TraceHelp.Text);
            return ExitCodes.Success;
        }
        if (first is "--list" or "-l")
            return List(stdout);
        if (first.StartsWith('-'))
            return Fail(stderr, $"give the tool first: kdt trace TOOL [options] (see 'kdt trace --list')");
        var tool = TraceTools.Find(first);
        if (tool is null)
            return Fail(stderr, $"no trace tool '{first}' (see 'kdt trace --list' for the tools)");
        return RunTool(tool, args.Skip(1).ToArray(), stdout, stderr);
    }

    private static int List(TextWriter stdout)
    {
        stdout.WriteLine("TOOL        SUPPORTED  DESCRIPTION");
        foreach (var t in TraceTools.All)
        {
            string? why = TraceSupport.WhyNot(t);
            stdout.WriteLine($"{t.Name,-11} {(why is null ? "yes" : "no"),-10} {t.Summary}");
            if (why is not null)
                stdout.WriteLine($"{"",-22} ({why})");
        }
        return ExitCodes.Success;
    }

    private static int RunTool(TraceTool tool, IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        string extra = Extra[tool.Name];
        var getopt = new Getopt("p:t:c:Td:i:jhxPLme:ONlDFQf", LongOptions);
        var operands = new List<string>();
        int pid = 0, tid = 0, top = 10, errno = 0;
        string? comm = null, heatmap = null;
        TimeSpan? duration = null, interval = null;
        bool timestamps = false, json = false, x = false, perProcess = false, l = false, ms = false, perThread = false;
        bool offCpu = false, nanoseconds = false, dist = false, count = false, lossProbes = false;
        bool perDisk = false, perFlags = false, queued = false, folded = false;
        ulong minBlock = 1, maxBlock = ulong.MaxValue;
        try
        {
            foreach (var o in getopt.Parse(args, operands))
            {
                if (o.Id is 'h')
                {
                    stdout.Write(TraceHelp.For(tool));
                    return ExitCodes.Success;
                }
                if (o.Id is not ('p' or 't' or 'c' or 'd' or 'j') && extra.IndexOf((char)o.Id) < 0)
                    return Fail(stderr, $"{tool.Name}: option {Describe(o.Id)} does not apply to {tool.Name} (see 'kdt trace {tool.Name} --help')");
                if (o.Id is 'p' or 't' or 'c' && !tool.SelectsProcesses)
                    return Fail(stderr, $"{tool.Name}: option {Describe(o.Id)} does not apply to {tool.Name}, whose events happen in interrupt or timer context, for no process (see 'kdt trace {tool.Name} --help')");
                switch (o.Id)
                {
                    case 'p':
                        pid = PositiveInt(o.Argument!, "-p PID");
                        break;
                    case 't':
                        tid = PositiveInt(o.Argument!, "-t TID");
                        break;
                    case 'c':
                        comm = o.Argument!;
                        break;
                    case 'T':
                        timestamps = true;
                        break;
                    case 'd':
                        duration = Seconds(o.Argument!, "-d SECONDS");
                        break;
                    case 'i':
                        interval = Seconds(o.Argument!, "-i SECONDS");
                        break;
                    case 'j':
                        json = true;
                        break;
                    case 'x':
                        x = true;
                        break;
                    case 'P':
                        perProcess = true;
                        break;
                    case 'L':
                        l = true;
                        break;
                    case 'm':
                        ms = true;
                        break;
                    case 'e':
                        errno = Errno(o.Argument!);
                        break;
                    case OptTop:
                        top = PositiveInt(o.Argument!, "--top N");
                        break;
                    case OptHeatmap:
                        heatmap = o.Argument!;
                        break;
                    case OptPerThread:
                        perThread = true;
                        break;
                    case 'O':
                        offCpu = true;
                        break;
                    case 'N':
                        nanoseconds = true;
                        break;
                    case OptDist:
                        dist = true;
                        break;
                    case OptCount:
                        count = true;
                        break;
                    case 'l':
                        lossProbes = true;
                        break;
                    case 'D':
                        perDisk = true;
                        break;
                    case 'F':
                        perFlags = true;
                        break;
                    case 'Q':
                        queued = true;
                        break;
                    case 'f':
                        folded = true;
                        break;
                    case OptMinBlock:
                        minBlock = (ulong)PositiveInt(o.Argument!, "--min-block USECS");
                        break;
                    case OptMaxBlock:
                        maxBlock = (ulong)PositiveInt(o.Argument!, "--max-block USECS");
                        break;
                    case OptList:
                        return List(stdout);
                }
            }
        }
        catch (GetoptException e)
        {
            return Fail(stderr, $"{tool.Name}: {e.Message} (see 'kdt trace {tool.Name} --help')");
        }
        catch (FormatException e)
        {
            return Fail(stderr, $"{tool.Name}: {e.Message}");
        }

        // bcc's positional "INTERVAL [COUNT]" for summary tools.
        if (operands.Count > 0)
        {
            if (!tool.IsSummary || operands.Count > 2 || extra.IndexOf('i') < 0)
                return Fail(stderr, $"{tool.Name}: unexpected argument '{operands[0]}' (see 'kdt trace {tool.Name} --help')");
            try
            {
                interval = Seconds(operands[0], "INTERVAL");
                if (operands.Count == 2)
                    duration = interval * PositiveInt(operands[1], "COUNT") + TimeSpan.FromMilliseconds(100);
            }
            catch (FormatException e)
            {
                return Fail(stderr, $"{tool.Name}: {e.Message}");
            }
        }
        if (perProcess && l && tool.Name != "syscount")
            return Fail(stderr, $"{tool.Name}: -P and -L both choose the histograms: give one (per process or per thread)");
        if (minBlock > maxBlock)
            return Fail(stderr, $"{tool.Name}: --min-block {minBlock} is above --max-block {maxBlock}: no off-CPU time could be counted");
        if (folded && json)
            return Fail(stderr, $"{tool.Name}: -f and --json both choose the output: give one (folded lines or JSON)");
        if (perDisk && perFlags)
            return Fail(stderr, $"{tool.Name}: -D and -F both choose the histograms: give one (per disk or per flags)");
        if (dist && count)
            return Fail(stderr, $"{tool.Name}: --dist and --count both choose what to print: give one (histograms or counts)");
        if (heatmap is not null && Directory.Exists(heatmap))
            return Fail(stderr, $"{tool.Name}: --heatmap {heatmap} is a directory: give a file name such as runq.svg");

        var options = new TraceToolOptions
        {
            Pid = pid,
            Tid = tid,
            Comm = comm,
            Timestamps = timestamps,
            Duration = duration,
            Interval = interval,
            Json = json,
            HeatmapPath = heatmap,
            Milliseconds = ms,
            PerProcess = perProcess,
            PerThread = tool.Name == "syscount" ? false : l || perThread,
            Latency = tool.Name == "syscount" && l,
            FailedOnly = x && tool.Name != "execsnoop",
            IncludeFailed = x && tool.Name == "execsnoop",
            Errno = errno,
            Top = top,
            OffCpu = offCpu,
            Nanoseconds = nanoseconds,
            Distribution = dist,
            Count = count,
            LossProbes = lossProbes,
            PerDisk = perDisk,
            PerFlags = perFlags,
            Queued = queued,
            Folded = folded,
            MinBlockMicroseconds = minBlock,
            MaxBlockMicroseconds = maxBlock,
        };

        string? why = TraceSupport.WhyNot(tool);
        if (why is not null)
            return Fail(stderr, why);
        using var signals = new StopSignals();
        try
        {
            tool.Run(options, stdout, stderr, signals.Token);
        }
        catch (TraceException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (BpfException e)
        {
            return Fail(stderr, $"{tool.Name}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(stderr, $"{tool.Name}: {e.Message}");
        }
        catch (IOException e) when (heatmap is not null && !StandardOutput.IsBrokenPipe(e))
        {
            return Fail(stderr, $"{tool.Name}: cannot write the heatmap {heatmap}: {e.Message}");
        }
        return ExitCodes.Success;
    }

    private static string Describe(int id) => id switch
    {
        OptHeatmap => "--heatmap",
        OptTop => "--top",
        OptPerThread => "--per-thread",
        OptList => "--list",
        OptDist => "--dist",
        OptCount => "--count",
        OptMinBlock => "--min-block",
        OptMaxBlock => "--max-block",
        _ => "-" + (char)id,
    };

    private static int PositiveInt(string text, string what)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n <= 0)
            throw new FormatException($"{what} needs a positive whole number, not '{text}'");
        return n;
    }

    private static TimeSpan Seconds(string text, string what)
    {
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double s) || s <= 0 || s > 1e7)
            throw new FormatException($"{what} needs a positive number of seconds, not '{text}'");
        return TimeSpan.FromSeconds(s);
    }

    private static int Errno(string text)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 && n < 4096)
            return n;
        int known = ErrnoNames.IndexOf(text);
        if (known > 0)
            return known;
        throw new FormatException($"-e needs an errno name or number (ENOENT or 2), not '{text}'");
    }

    /// <summary>Linux's errno names by number (asm-generic/errno-base.h and errno.h), the common ones.</summary>
    private static readonly List<string> ErrnoNames =
    [
        "", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
        "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR",
        "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS",
        "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP",
    ];

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"kdt trace: {message}");
        return ExitCodes.Failure;
    }
}
