using System.Text;
using KdtCapture.Capture.Interfaces;
using KdtCapture.Cli.CommandLine;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// <c>kdt capture</c>: tcpdump's command line. This build compiles filters (<c>-d</c>,
/// <c>-dd</c>, <c>-ddd</c>) exactly as tcpdump does, choosing the link type the way tcpdump
/// would (<c>-y</c>, <c>-i</c>, or Ethernet), and says so plainly when asked to capture.
/// </summary>
internal static class CaptureCommand
{
    /// <summary>libpcap's MAXIMUM_SNAPLEN: what tcpdump uses for "-s 0" and by default.</summary>
    public const int MaximumSnaplen = 262144;

    private const string FiltersOnly =
        "this build of kdt compiles filters only (-d/-dd/-ddd); live capture, reading files (-r) and listing (-D, -L) come in a later version";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var settings = new CaptureSettings();
        var operands = new List<string>();
        var getopt = new Getopt(CaptureOptionTable.ShortOptions, CaptureOptionTable.LongOptions);
        bool posixlyCorrect = Environment.GetEnvironmentVariable("POSIXLY_CORRECT") is not null;

        try
        {
            foreach (var option in getopt.Parse(args, operands, posixlyCorrect))
            {
                switch (option.Id)
                {
                    case 'd':
                        settings.DumpCount++;
                        break;
                    case 'O':
                        settings.Optimize = false;
                        break;
                    case 'y':
                        if (!LinkTypes.TryParse(option.Argument!, out var linkType))
                            return Fail(stderr, $"invalid data link type {option.Argument}");
                        settings.LinkType = linkType;
                        break;
                    case 's':
                        if (!TryParseSnaplen(option.Argument!, out int snaplen))
                            return Fail(stderr, $"invalid snaplen {option.Argument} (must be >= 0 and <= {MaximumSnaplen})");
                        settings.Snaplen = snaplen;
                        break;
                    case 'F':
                        settings.FilterFile = option.Argument;
                        break;
                    case 'i':
                        settings.Interface = option.Argument;
                        break;
                    case 'h':
                        stdout.Write(CaptureHelp.Text);
                        return ExitCodes.Success;
                    case CaptureOptionTable.Version:
                        stdout.WriteLine(KdtVersion.Line);
                        return ExitCodes.Success;
                    case 'r':
                    case 'V':
                    case 'D':
                    case 'L':
                    case 'J':
                        settings.NeedsCaptureEngine = true;
                        break;
                    default:
                        // The rest of tcpdump's options shape a live capture or its printout,
                        // and tcpdump ignores them when it only prints a compiled filter.
                        break;
                }
            }
        }
        catch (GetoptException e)
        {
            return Fail(stderr, $"{e.Message} (see 'kdt capture --help')");
        }

        if (settings.DumpCount == 0 || settings.NeedsCaptureEngine)
            return Fail(stderr, FiltersOnly, ExitCodes.NotInThisBuild);

        LinkType? chosen = ChooseLinkType(settings, stderr, out int failure);
        if (chosen is null)
            return failure;

        string expression;
        if (settings.FilterFile is not null)
        {
            // As tcpdump: an expression file wins over command-line words, which are ignored.
            if (!TryReadExpressionFile(settings.FilterFile, out expression, out string? error))
                return Fail(stderr, error!);
        }
        else
        {
            expression = string.Join(' ', operands);
        }

        CbpfProgram program;
        try
        {
            program = FilterCompiler.Compile(expression, chosen.Value, new FilterCompileOptions
            {
                Optimize = settings.Optimize,
                Snaplen = settings.Snaplen,
                // tcpdump -d compiles with netmask 0, also with -i (measured): so "ip broadcast"
                // compiles, testing for 0.0.0.0 and 255.255.255.255.
                Netmask = 0,
                // A live Linux socket may hand the outer VLAN tag over as metadata, so libpcap
                // makes "vlan" test it there; tcpdump -i compiles for such a socket.
                KernelVlanTags = settings.Interface is not null,
            });
        }
        catch (FilterCompileException e)
        {
            return Fail(stderr, e.Message);
        }

        var style = settings.DumpCount switch
        {
            1 => CbpfDumpStyle.Readable,
            2 => CbpfDumpStyle.CArray,
            _ => CbpfDumpStyle.Decimal,
        };
        CbpfPrinter.Write(stdout, program.Instructions, style);
        return ExitCodes.Success;
    }

    /// <summary>The link type tcpdump would compile for, announcing it on stderr as tcpdump does.</summary>
    private static LinkType? ChooseLinkType(CaptureSettings settings, TextWriter stderr, out int failure)
    {
        failure = ExitCodes.Success;
        if (settings.Interface is null)
        {
            if (settings.LinkType is { } forced)
                return forced;
            stderr.WriteLine("Warning: assuming Ethernet");
            return LinkType.EN10MB;
        }

        string device = settings.Interface;
        if (LooksLikeTapSpec(device))
        {
            failure = Fail(stderr, $"{device}: kernel taps come with live capture in a later version of kdt", ExitCodes.NotInThisBuild);
            return null;
        }

        InterfaceLinkLayer linkLayer;
        try
        {
            linkLayer = LinuxInterfaces.DescribeLinkLayer(device);
        }
        catch (CaptureDeviceException e)
        {
            failure = Fail(stderr, $"{e.InterfaceName}: {e.Message}");
            return null;
        }

        if (settings.LinkType is { } requested)
        {
            if (!linkLayer.Supports(requested))
            {
                failure = Fail(stderr, $"{LinkTypeName(requested)} is not one of the DLTs supported by this device");
                return null;
            }
            stderr.WriteLine($"kdt: data link type {LinkTypeName(requested)}");
            return requested;
        }

        // tcpdump asks for the newer cooked header on "any"; libpcap would default to v1.
        if (device == LinuxInterfaces.AnyDevice)
        {
            stderr.WriteLine($"kdt: data link type {LinkTypeName(LinkType.LINUX_SLL2)}");
            return LinkType.LINUX_SLL2;
        }
        return linkLayer.DefaultLinkType;
    }

    /// <summary>A DESIGN.md tap spec such as "tp_btf/net_dev_queue": interface names never contain '/'.</summary>
    private static bool LooksLikeTapSpec(string device)
    {
        int slash = device.IndexOf('/');
        return slash > 0 && device[..slash] is "fentry" or "fexit" or "kprobe" or "tp_btf" or "raw_tp";
    }

    private static string LinkTypeName(LinkType linkType)
        => LinkTypes.GetName(linkType) ?? $"DLT {(int)linkType}";

    /// <summary>tcpdump's -s: strtol with any base, 0 meaning the maximum.</summary>
    internal static bool TryParseSnaplen(string text, out int snaplen)
    {
        long parsed = CNumber.StrToL(text, out int end);
        // tcpdump stores strtol's long in an int before checking the range, and so do we.
        snaplen = unchecked((int)parsed);
        if (end == 0 || end != text.Length || snaplen < 0 || snaplen > MaximumSnaplen)
            return false;
        if (snaplen == 0)
            snaplen = MaximumSnaplen;
        return true;
    }

    /// <summary>
    /// Reads an expression file as tcpdump's -F does: up to the first NUL byte, with everything
    /// from a '#' to the end of its line blanked out (quotes do not protect a '#').
    /// </summary>
    internal static bool TryReadExpressionFile(string path, out string expression, out string? error)
    {
        expression = "";
        error = null;
        byte[] bytes;
        try
        {
            if (Directory.Exists(path))
            {
                error = $"read {path}: Is a directory";
                return false;
            }
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"can't open {path}: {DescribeFileError(e)}";
            return false;
        }

        int nul = Array.IndexOf(bytes, (byte)0);
        string text = Encoding.UTF8.GetString(bytes, 0, nul < 0 ? bytes.Length : nul);
        expression = StripComments(text);
        return true;
    }

    internal static string StripComments(string text)
    {
        int hash = text.IndexOf('#');
        if (hash < 0)
            return text;
        var chars = text.ToCharArray();
        for (int i = hash; i < chars.Length; i++)
        {
            if (chars[i] != '#')
                continue;
            while (i < chars.Length && chars[i] != '\n')
                chars[i++] = ' ';
        }
        return new string(chars);
    }

    /// <summary>The strerror text tcpdump would show for a file that cannot be opened.</summary>
    private static string DescribeFileError(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        PathTooLongException => "File name too long",
        _ => e.Message,
    };

    private static int Fail(TextWriter stderr, string message, int exitCode = ExitCodes.Failure)
    {
        stderr.WriteLine($"kdt: {message}");
        return exitCode;
    }

    private sealed class CaptureSettings
    {
        public int DumpCount { get; set; }
        public bool Optimize { get; set; } = true;
        public LinkType? LinkType { get; set; }
        public int Snaplen { get; set; } = MaximumSnaplen;
        public string? FilterFile { get; set; }
        public string? Interface { get; set; }
        /// <summary>An option that needs live capture, file reading or interface listing (-r, -V, -D, -L, -J).</summary>
        public bool NeedsCaptureEngine { get; set; }
    }
}
