using System.Text;
using KdtCapture.Capture.Devices;
using KdtCapture.Capture.Taps;
using KdtCapture.Cli.Capture;
using KdtCapture.Filters;

namespace KdtCapture.Cli.Extcap;

/// <summary>
/// Wireshark's extcap protocol, so that kernel taps appear in Wireshark's (and tshark's) interface
/// list when kdt (or a link to it) sits in an extcap folder. Wireshark calls, in turn:
/// <c>--extcap-interfaces --extcap-version=V</c> (which interfaces), <c>--extcap-interface X --extcap-dlts</c>
/// (their link types), <c>--extcap-interface X --extcap-config</c> (the options dialog),
/// <c>--extcap-interface X --extcap-capture-filter F</c> (is the filter valid: nothing on stdout
/// when it is, the error on the first line when not) and
/// <c>--capture --extcap-interface X --fifo PATH [--extcap-capture-filter F] [options]</c>, which
/// writes pcapng into the FIFO until Wireshark stops it with SIGTERM.
/// </summary>
internal static class ExtcapCommand
{
    /// <summary>The options of the configuration dialog, as `kdt capture` options.</summary>
    private static readonly (string Call, string CaptureOption)[] CaptureOptions =
    [
        ("--snaplen", "-s"),
        ("--link-type", "-y"),
        ("--direction", "-Q"),
        ("--buffer-size", "-B"),
    ];

    /// <summary>Whether these arguments are an extcap call rather than a kdt command.</summary>
    public static bool IsExtcapCall(IReadOnlyList<string> args)
    {
        foreach (string arg in args)
            if (arg.StartsWith("--extcap-", StringComparison.Ordinal) || arg == "--capture")
                return true;
        return false;
    }

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (!ExtcapArguments.TryParse(args, out ExtcapArguments? call, out string? error))
            return Fail(stderr, error);

        if (call.ListInterfaces)
            return ListInterfaces(stdout);
        if (call.Interface is null)
        {
            if (call.VersionOnly)
            {
                stdout.WriteLine(VersionLine());
                return ExitCodes.Success;
            }
            return Fail(stderr, "--extcap-interface TAP is needed (kdt --extcap-interfaces lists the taps)");
        }
        if (!TapSpec.TryParse(call.Interface, out TapSpec? spec, out string? specError))
            return Fail(stderr, $"{specError} (kdt --extcap-interfaces lists the taps)");

        if (call.ListDlts)
        {
            // Frames start at the MAC header where the skb has one, else at the IP header (the
            // link-type option forces one); Wireshark is told the first, the pcapng says each.
            stdout.WriteLine("dlt {number=1}{name=EN10MB}{display=Ethernet, or raw IP for packets without a MAC header}");
            return ExitCodes.Success;
        }
        if (call.ListConfig)
        {
            WriteConfig(stdout);
            return ExitCodes.Success;
        }
        if (call.Capture)
        {
            if (call.Fifo is null)
                return Fail(stderr, "--capture needs --fifo PATH (the pipe Wireshark reads)");
            return Capture(spec, call, stderr);
        }
        if (call.CaptureFilter is not null)
        {
            // Wireshark's check of a capture filter: nothing when valid, else the reason on the first line.
            string? problem = CheckFilter(call.CaptureFilter);
            if (problem is not null)
                stdout.WriteLine(problem);
            return ExitCodes.Success;
        }
        return Fail(stderr, $"nothing to do for {spec.Text}: give --extcap-dlts, --extcap-config or --capture --fifo PATH");
    }

    internal static string VersionLine()
    {
        var line = new StringBuilder("extcap {version=").Append(Escape(KdtVersion.Number)).Append('}');
        if (HelpUrl() is { } help)
            line.Append("{help=").Append(Escape(help)).Append('}');
        line.Append("{display=kdt kernel taps}");
        return line.ToString();
    }

    private static int ListInterfaces(TextWriter stdout)
    {
        stdout.WriteLine(VersionLine());
        foreach (KdtTapDeviceList.ResolvedTapEntry entry in KdtTapDeviceList.Available())
            stdout.WriteLine($"interface {{value={Escape(entry.Tap.Spec)}}}{{display=kdt: {Escape(entry.Tap.Description)}}}");
        return ExitCodes.Success;
    }

    private static void WriteConfig(TextWriter stdout)
    {
        stdout.WriteLine("arg {number=0}{call=--snaplen}{display=Snapshot length}{type=unsigned}{range=1,262144}{default=262144}"
            + "{tooltip=Bytes kept of each packet, cut in the kernel (kdt capture -s)}");
        stdout.WriteLine("arg {number=1}{call=--link-type}{display=Frames start at}{type=selector}"
            + "{tooltip=Per packet: the MAC header where there is one, else the IP header (kdt capture -y)}");
        stdout.WriteLine("value {arg=1}{value=auto}{display=MAC header where present, else IP header}{default=true}");
        stdout.WriteLine("value {arg=1}{value=EN10MB}{display=MAC header (packets without one are skipped and counted)}");
        stdout.WriteLine("value {arg=1}{value=RAW}{display=IP header}");
        stdout.WriteLine("arg {number=2}{call=--direction}{display=Direction}{type=selector}"
            + "{tooltip=Taps that see only the other direction are refused (kdt capture -Q)}");
        stdout.WriteLine("value {arg=2}{value=inout}{display=Sent and received}{default=true}");
        stdout.WriteLine("value {arg=2}{value=in}{display=Received}");
        stdout.WriteLine("value {arg=2}{value=out}{display=Sent}");
        stdout.WriteLine($"arg {{number=3}}{{call=--buffer-size}}{{display=Kernel buffer (KiB)}}{{type=unsigned}}{{range=64,4194304}}{{default={Environment.ProcessorCount * 4096}}}"
            + "{tooltip=The perf ring shared out among the CPUs (kdt capture -B)}{group=Buffering}");
    }

    /// <summary>The filter compiled as the tap compiles it (Ethernet frames; raw IP frames the same way): libpcap's error, or null.</summary>
    private static string? CheckFilter(string expression)
    {
        try
        {
            FilterCompiler.Compile(expression, LinkType.EN10MB, new FilterCompileOptions { Netmask = 0 });
            return null;
        }
        catch (FilterCompileException e)
        {
            return e.Message;
        }
    }

    /// <summary>`kdt capture -i TAP -w FIFO -U --immediate-mode [options] [FILTER]`: the pcapng goes
    /// straight into Wireshark's pipe, a packet at a time. Wireshark shows what an extcap writes on
    /// stderr as an error, so the capture's own messages are kept back unless it fails.</summary>
    private static int Capture(TapSpec spec, ExtcapArguments call, TextWriter stderr)
    {
        var args = new List<string> { "-i", spec.Text, "-w", call.Fifo!, "-U", "--immediate-mode" };
        foreach (var (option, value) in call.Options)
        {
            string captureOption = Array.Find(CaptureOptions, o => o.Call == option).CaptureOption;
            if (option == "--link-type" && value == "auto")
                continue;
            if (option == "--direction" && value == "inout")
                continue;
            args.Add(captureOption);
            args.Add(value);
        }
        // The filter is one operand after the options ("--" would name a command to run).
        if (!string.IsNullOrWhiteSpace(call.CaptureFilter))
            args.Add(call.CaptureFilter);
        var messages = new StringWriter();
        int exit = CaptureCommand.Run(args, TextWriter.Null, messages);
        if (exit != ExitCodes.Success)
            stderr.Write(messages.ToString());
        return exit;
    }

    /// <summary>The extcap grammar has no quoting: braces in a value would end it.</summary>
    private static string Escape(string text) => text.Replace('{', '(').Replace('}', ')');

    /// <summary>kdt's README next to the repository kdt was built in, when it is there.</summary>
    private static string? HelpUrl()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string readme = Path.Combine(dir.FullName, "src", "Cli", "README.md");
            if (File.Exists(readme))
                return "file://" + readme;
        }
        return null;
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"kdt: {message}");
        return ExitCodes.Failure;
    }

    /// <summary>The calls of the extcap protocol, parsed as Wireshark makes them (<c>--opt value</c> or <c>--opt=value</c>).</summary>
    private sealed class ExtcapArguments
    {
        public bool ListInterfaces { get; private set; }
        public bool VersionOnly { get; private set; }
        public bool ListDlts { get; private set; }
        public bool ListConfig { get; private set; }
        public bool Capture { get; private set; }
        public string? Interface { get; private set; }
        public string? Fifo { get; private set; }
        public string? CaptureFilter { get; private set; }
        public List<(string Option, string Value)> Options { get; } = [];

        public static bool TryParse(IReadOnlyList<string> args, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ExtcapArguments? call,
            [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
        {
            var result = new ExtcapArguments();
            call = null;
            error = null;
            for (int i = 0; i < args.Count; i++)
            {
                string arg = args[i];
                int equals = arg.IndexOf('=', StringComparison.Ordinal);
                string name = equals > 0 ? arg[..equals] : arg;
                string? inline = equals > 0 ? arg[(equals + 1)..] : null;
                string? Value()
                {
                    if (inline is not null)
                        return inline;
                    if (i + 1 < args.Count)
                        return args[++i];
                    return null;
                }
                switch (name)
                {
                    case "--extcap-interfaces":
                        result.ListInterfaces = true;
                        break;
                    case "--extcap-version":
                        // Wireshark says its own version (=4.0); alone, it asks for ours.
                        result.VersionOnly = true;
                        break;
                    case "--extcap-dlts":
                        result.ListDlts = true;
                        break;
                    case "--extcap-config":
                        result.ListConfig = true;
                        break;
                    case "--capture":
                        result.Capture = true;
                        break;
                    case "--debug":
                        break;
                    case "--extcap-interface":
                    case "--fifo":
                    case "--extcap-capture-filter":
                    case "--debug-file":
                    case "--extcap-control-in":
                    case "--extcap-control-out":
                    {
                        string? value = Value();
                        if (value is null)
                        {
                            error = $"{name} needs a value";
                            return false;
                        }
                        if (name == "--extcap-interface") result.Interface = value;
                        else if (name == "--fifo") result.Fifo = value;
                        else if (name == "--extcap-capture-filter") result.CaptureFilter = value;
                        break;
                    }
                    default:
                    {
                        if (Array.FindIndex(CaptureOptions, o => o.Call == name) < 0)
                        {
                            error = $"unknown extcap option '{arg}' (kdt takes --extcap-interfaces, --extcap-interface TAP with --extcap-dlts, --extcap-config or --capture --fifo PATH)";
                            return false;
                        }
                        string? value = Value();
                        if (value is null)
                        {
                            error = $"{name} needs a value";
                            return false;
                        }
                        result.Options.Add((name, value));
                        break;
                    }
                }
            }
            call = result;
            return true;
        }
    }
}
