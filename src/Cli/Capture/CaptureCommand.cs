using System.Text;
using KdtCapture.Capture.Interfaces;
using KdtCapture.Capture.Taps;
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

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var settings = new CaptureSettings();
        var operands = new List<string>();
        // kdt capture [options] [expression] -- COMMAND ARGS...: the command's packets only. For
        // -d, -r, -D and -L, "--" only ends the options, as in tcpdump ("-d -- ip").
        int separator = IndexOfSeparator(args);
        List<string>? afterSeparator = null;
        if (separator >= 0 && separator + 1 < args.Count)
        {
            afterSeparator = [.. args.Skip(separator + 1)];
            args = [.. args.Take(separator)];
        }
        var getopt = new Getopt(CaptureOptionTable.ShortOptions, CaptureOptionTable.LongOptions);
        bool posixlyCorrect = Environment.GetEnvironmentVariable("POSIXLY_CORRECT") is not null;

        try
        {
            foreach (var option in getopt.Parse(args, operands, posixlyCorrect))
            {
                string argument = option.Argument ?? "";
                switch (option.Id)
                {
                    case 'd':
                        settings.DumpCount++;
                        break;
                    case 'O':
                        settings.Optimize = false;
                        break;
                    case 'y':
                        if (!LinkTypes.TryParse(argument, out var linkType))
                            return Fail(stderr, $"invalid data link type {argument}");
                        settings.LinkType = linkType;
                        break;
                    case 's':
                        if (!TryParseSnaplen(argument, out int snaplen))
                            return Fail(stderr, $"invalid snaplen {argument} (must be >= 0 and <= {MaximumSnaplen})");
                        settings.Snaplen = snaplen;
                        break;
                    case 'F':
                        settings.FilterFile = argument;
                        break;
                    case 'i':
                        // tcpdump keeps the last -i; kdt captures on every one.
                        settings.Interface = argument;
                        settings.Interfaces.Add(argument);
                        break;
                    case 'p':
                        settings.Promiscuous = false;
                        break;
                    case 'B':
                        settings.BufferKiB = CNumber.AToI(argument);
                        if (settings.BufferKiB <= 0 || settings.BufferKiB > int.MaxValue / 1024)
                            return Fail(stderr, $"invalid packet buffer size {argument}");
                        break;
                    case 'Q':
                        settings.Direction = argument.ToLowerInvariant() switch
                        {
                            "in" => CaptureDirection.In,
                            "out" => CaptureDirection.Out,
                            "inout" => CaptureDirection.InOut,
                            _ => null,
                        };
                        if (settings.Direction is null)
                            return Fail(stderr, $"unknown capture direction `{argument}'");
                        break;
                    case CaptureOptionTable.ImmediateMode:
                        settings.ImmediateMode = true;
                        break;
                    case 'D':
                        settings.ListInterfaces = true;
                        break;
                    case 'L':
                        settings.ListLinkTypes = true;
                        break;
                    case 'r':
                        settings.ReadFile = argument;
                        break;
                    case 'w':
                        settings.WriteFile = argument;
                        break;
                    case 'c':
                        // tcpdump reads -c with atoi: "10x" is 10, "0x10" is 0 and refused.
                        settings.PacketCount = CNumber.AToI(argument);
                        if (settings.PacketCount <= 0)
                            return Fail(stderr, $"invalid packet count {argument}");
                        break;
                    case 'C':
                    {
                        long millions = CNumber.StrToL(argument, 10, out int end, out bool overflow);
                        if (end == 0 || end != argument.Length || overflow || millions <= 0)
                            return Fail(stderr, $"invalid file size {argument}");
                        if (millions > long.MaxValue / 1_000_000)
                            return Fail(stderr, $"file size {argument} is too large");
                        settings.FileSizeLimit = millions * 1_000_000;
                        break;
                    }
                    case 'G':
                        settings.RotateSeconds = CNumber.AToI(argument);
                        if (settings.RotateSeconds < 0)
                            return Fail(stderr, $"invalid number of seconds {argument}");
                        break;
                    case 'W':
                        settings.FileCount = CNumber.AToI(argument);
                        if (settings.FileCount <= 0)
                            return Fail(stderr, $"invalid number of output files {argument}");
                        break;
                    case 'U':
                        settings.PacketBuffered = true;
                        break;
                    case 'l':
                        settings.LineBuffered = true;
                        break;
                    case 't':
                        settings.TimestampCount++;
                        break;
                    case 'n':
                        settings.Numeric = true;
                        break;
                    case 'e':
                        settings.LinkHeader = true;
                        break;
                    case 'q':
                        settings.Quiet = true;
                        break;
                    case 'v':
                        settings.Verbosity++;
                        break;
                    case 'x':
                        settings.HexCount++;
                        break;
                    case 'X':
                        settings.HexAsciiCount++;
                        break;
                    case 'A':
                        settings.AsciiCount++;
                        break;
                    case '#':
                        settings.PacketNumbers = true;
                        break;
                    case 'S':
                        settings.AbsoluteSequenceNumbers = true;
                        break;
                    case 'K':
                        settings.DontVerifyChecksums = true;
                        break;
                    case 'N':
                        settings.HostNamesWithoutDomain = true;
                        break;
                    case 'f':
                        settings.ForeignNumeric = true;
                        break;
                    case 'T':
                        if (KdtCapture.Capture.Printing.PacketPrinter.ParsePacketType(argument) is not { } packetType)
                            return Fail(stderr, $"unknown packet type `{argument}'");
                        settings.PacketType = packetType;
                        break;
                    case 'M':
                        settings.TcpSignatureSecret = argument;
                        break;
                    case 'z':
                        settings.PostRotateCommand = argument;
                        break;
                    case 'Z':
                        settings.RelinquishUser = argument;
                        break;
                    case 'j':
                        settings.TimestampType = argument;
                        break;
                    case 'I':
                        settings.MonitorMode = true;
                        break;
                    case CaptureOptionTable.Print:
                        settings.PrintWhileWriting = true;
                        break;
                    case 'm':
                        // tcpdump built without libsmi (Debian's) says the same and goes on.
                        stderr.WriteLine($"kdt: ignoring option `-m {argument}' (no libsmi support)");
                        break;
                    case 'E':
                        try
                        {
                            foreach (string warning in KdtCapture.Capture.Printing.PacketPrinter.CheckEspSecrets(argument))
                                stderr.WriteLine($"kdt: WARNING: {warning}");
                        }
                        catch (ArgumentException e)
                        {
                            return Fail(stderr, e.Message);
                        }
                        settings.EspSecrets = argument;
                        break;
                    case 'b':
                    case 'H':
                    case 'u':
                        // They change how tcpdump decodes protocols this printer summarises: said, not silently dropped.
                        stderr.WriteLine($"kdt: {PrinterOnlyOptionNote(option.Id)}");
                        break;
                    case CaptureOptionTable.Micro:
                        settings.NanosecondPrecision = false;
                        break;
                    case CaptureOptionTable.Nano:
                        settings.NanosecondPrecision = true;
                        break;
                    case CaptureOptionTable.TimeStampPrecision:
                        if (argument == "micro")
                            settings.NanosecondPrecision = false;
                        else if (argument == "nano")
                            settings.NanosecondPrecision = true;
                        else
                            return Fail(stderr, "unsupported time stamp precision");
                        break;
                    case CaptureOptionTable.Count:
                        settings.CountOnly = true;
                        break;
                    case CaptureOptionTable.SelectPid:
                        settings.SelectPid = argument;
                        break;
                    case CaptureOptionTable.SelectComm:
                        settings.SelectComm = argument;
                        break;
                    case CaptureOptionTable.SelectCgroup:
                        settings.SelectCgroup = argument;
                        break;
                    case CaptureOptionTable.SelectNetns:
                        settings.SelectNetns = argument;
                        break;
                    case CaptureOptionTable.Pcap:
                        settings.ClassicPcap = true;
                        break;
                    case CaptureOptionTable.TrackSkb:
                        settings.TrackSkb = true;
                        break;
                    case CaptureOptionTable.DropReason:
                        settings.DropReasons = settings.DropReasons is null ? argument : settings.DropReasons + "," + argument;
                        break;
                    case 'h':
                        stdout.Write(CaptureHelp.Text);
                        return ExitCodes.Success;
                    case CaptureOptionTable.Version:
                        stdout.WriteLine(KdtVersion.Line);
                        return ExitCodes.Success;
                    case 'V':
                        settings.FileList = argument;
                        break;
                    case 'J':
                        settings.ListTimestampTypes = true;
                        break;
                    case 'a':
                        // tcpdump accepts -a and does nothing with it (name conversion it always does).
                        break;
                    case CaptureOptionTable.FpType:
                        stdout.WriteLine(FloatingPointCheck);
                        return ExitCodes.Success;
                    default:
                        throw new InvalidOperationException($"option {option.Id} is in the table but not handled");
                }
            }
        }
        catch (GetoptException e)
        {
            return Fail(stderr, $"{e.Message} (see 'kdt capture --help')");
        }
        if (afterSeparator is not null)
        {
            if (settings.DumpCount > 0 || settings.ReadFile is not null || settings.FileList is not null || settings.ListInterfaces || settings.ListLinkTypes)
                operands.AddRange(afterSeparator);
            else
                settings.Command = afterSeparator;
        }

        if (settings.TimestampCount > 5)
            return Fail(stderr, "only -t, -tt, -ttt, -tttt and -ttttt are supported");

        // tcpdump lists interfaces before looking at anything else.
        if (settings.ListInterfaces)
            return InterfaceListing.ListInterfaces(stdout, stderr);

        if (settings.ListTimestampTypes)
            return InterfaceListing.ListTimestampTypes(settings.Interface, stderr);

        if (settings.FileList is not null)
        {
            // -V: each file named in the list is read in turn, as -r reads one.
            if (settings.ReadFile is not null)
                return Fail(stderr, "-V and -r are mutually exclusive.");
            if (!OfflineCapture.TryReadFileList(settings.FileList, stderr, out List<string> files, out int listFailure))
                return listFailure;
            settings.ReadFile = files[0];
            settings.MoreReadFiles = files.GetRange(1, files.Count - 1);
        }

        if (settings.TrackSkb && (settings.ReadFile is not null || settings.DumpCount > 0 || !settings.Interfaces.Exists(LooksLikeTapSpec)))
            return Fail(stderr, "--track-skb follows packets between kernel taps: capture with -i tp_btf/... (e.g. -i 'tp_btf/*skb*' -i tp_btf/net_dev_queue --track-skb icmp)");
        if (settings.DropReasons is not null && (settings.ReadFile is not null || settings.DumpCount > 0 || !settings.Interfaces.Exists(LooksLikeTapSpec)))
            return Fail(stderr, "--drop-reason selects the drops a kernel tap sees: capture with -i tp_btf/kfree_skb (e.g. -i tp_btf/kfree_skb --drop-reason -NOT_SPECIFIED)");
        if (settings.SelectsPackets && (settings.ReadFile is not null || settings.DumpCount > 0 || settings.ListLinkTypes))
            return Fail(stderr, "--pid, --comm, --cgroup, --netns and -- COMMAND select packets at kernel taps while capturing; leave them out with -r, -d and -L");

        if (settings.ForeignNumeric && settings.ReadFile is not null)
            return Fail(stderr, "-f can not be used with -V or -r");
        // --pid and friends without -i capture at taps too.
        if (settings.RelinquishUser is not null && (settings.SelectsPackets || settings.Interfaces.Exists(LooksLikeTapSpec)))
            return Fail(stderr, $"-Z {settings.RelinquishUser}: kernel taps read their BPF maps until the capture ends, which needs CAP_BPF that user lacks; leave out -Z (kdt's capture files are created mode 0600)");

        if (settings.ReadFile is not null)
            return OfflineCapture.Run(settings, operands, stdout, stderr);

        if (settings.DumpCount == 0 || settings.ListLinkTypes)
            return LiveCapture.Run(settings, operands, stdout, stderr);

        LinkType? chosen = ChooseLinkType(settings, stderr, out int failure);
        if (chosen is null)
            return failure;

        if (!TryGetExpression(settings, operands, out string expression, out string? expressionError))
            return Fail(stderr, expressionError!);

        CbpfProgram program;
        try
        {
            program = FilterCompiler.Compile(expression, chosen.Value, new FilterCompileOptions
            {
                Optimize = settings.Optimize,
                Snaplen = settings.Snaplen,
                // tcpdump -d compiles with netmask 0, also with -i (measured): so "ip broadcast"
                // compiles, testing for 0.0.0.0 and 255.255.255.255. With -f, the interface's.
                Netmask = settings.ForeignNumeric && settings.Interface is { } device && !LooksLikeTapSpec(device)
                    ? LiveCapture.ForeignNetmask(device, stderr) : 0,
                // A live Linux socket may hand the outer VLAN tag over as metadata, so libpcap
                // makes "vlan" test it there; tcpdump -i compiles for such a socket.
                KernelVlanTags = settings.Interface is not null && !LooksLikeTapSpec(settings.Interface),
            });
        }
        catch (FilterCompileException e)
        {
            return Fail(stderr, e.Message);
        }

        PrintProgram(stdout, program, settings.DumpCount);
        return ExitCodes.Success;
    }

    /// <summary>Prints a compiled filter as -d (1), -dd (2) or -ddd (3 or more) does.</summary>
    internal static void PrintProgram(TextWriter stdout, CbpfProgram program, int dumpCount)
    {
        var style = dumpCount switch
        {
            1 => CbpfDumpStyle.Readable,
            2 => CbpfDumpStyle.CArray,
            _ => CbpfDumpStyle.Decimal,
        };
        CbpfPrinter.Write(stdout, program.Instructions, style);
    }

    /// <summary>The filter expression: from -F's file (command-line words are then ignored, as in
    /// tcpdump), else the operands joined by spaces.</summary>
    internal static bool TryGetExpression(CaptureSettings settings, List<string> operands, out string expression, out string? error)
    {
        error = null;
        if (settings.FilterFile is not null)
            return TryReadExpressionFile(settings.FilterFile, out expression, out error);
        expression = string.Join(' ', operands);
        return true;
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
            // A tap compiles the filter twice and picks per packet: EN10MB where the skb has a
            // MAC header, RAW (from the network header) where it has not; -y forces one.
            if (settings.LinkType is { } forcedAtTap)
            {
                stderr.WriteLine($"kdt: data link type {LinkTypeName(forcedAtTap)}");
                return forcedAtTap;
            }
            stderr.WriteLine($"kdt: {device} filters frames with a MAC header as EN10MB and the others as RAW; this is the EN10MB program (-y RAW shows the other)");
            return LinkType.EN10MB;
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
    internal static bool LooksLikeTapSpec(string device)
    {
        int slash = device.IndexOf('/');
        return slash > 0 && device[..slash] is "fentry" or "fexit" or "kprobe" or "tp_btf" or "raw_tp";
    }

    internal static string LinkTypeName(LinkType linkType)
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
    internal static string DescribeFileError(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        PathTooLongException => "File name too long",
        _ => e.Message,
    };

    /// <summary>Where "--" ends kdt's arguments and a command begins (not the argument of an option before it), or -1.</summary>
    private static int IndexOfSeparator(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--")
                return i;
            // "-w --" names a file "--": skip an option's separate argument.
            string w = args[i];
            if (w.Length == 2 && w[0] == '-' && CaptureOptionTable.ShortOptions.Contains(w[1] + ":", StringComparison.Ordinal))
                i++;
        }
        return -1;
    }

    /// <summary>tcpdump's --fp-type: a fixed bit pattern read as a float, times 8, over 10^6, in single precision
    /// (so the rounding of this machine's float arithmetic shows).</summary>
    private static string FloatingPointCheck =>
        (BitConverter.Int32BitsToSingle(0x4e93312d) * 8f / 1000000f).ToString("F3", System.Globalization.CultureInfo.InvariantCulture);

    private static string PrinterOnlyOptionNote(int option) => option switch
    {
        'b' => "-b prints BGP AS numbers in asdot notation; kdt summarises BGP (\"BGP\"), so it has no effect (tshark -V decodes BGP)",
        'H' => "-H decodes 802.11s draft mesh headers; kdt's 802.11 printer does not decode mesh headers, so it has no effect (tshark -V does)",
        _ => "-u prints undecoded NFS handles; kdt summarises NFS (request/reply and xid), so it has no effect (tshark -V decodes NFS)",
    };

    internal static int Fail(TextWriter stderr, string message, int exitCode = ExitCodes.Failure)
    {
        stderr.WriteLine($"kdt: {message}");
        return exitCode;
    }

}

/// <summary>Everything tcpdump's options asked for, as parsed.</summary>
internal sealed class CaptureSettings
{
    public int DumpCount { get; set; }
    public bool Optimize { get; set; } = true;
    public LinkType? LinkType { get; set; }
    public int Snaplen { get; set; } = CaptureCommand.MaximumSnaplen;
    public string? FilterFile { get; set; }
    public string? Interface { get; set; }
    /// <summary>Every -i in order (tcpdump keeps only the last; kdt captures on all of them).</summary>
    public List<string> Interfaces { get; } = [];
    public bool Promiscuous { get; set; } = true;
    public int? BufferKiB { get; set; }
    public CaptureDirection? Direction { get; set; }
    public bool ImmediateMode { get; set; }
    public bool ListInterfaces { get; set; }
    public bool ListLinkTypes { get; set; }
    /// <summary>-V: a file naming the capture files to read in turn.</summary>
    public string? FileList { get; set; }
    /// <summary>The files of -V after the first (which is <see cref="ReadFile"/>).</summary>
    public List<string> MoreReadFiles { get; set; } = [];
    public bool ListTimestampTypes { get; set; }

    public string? ReadFile { get; set; }
    public string? WriteFile { get; set; }
    public int? PacketCount { get; set; }
    public long? FileSizeLimit { get; set; }
    public int? RotateSeconds { get; set; }
    public int? FileCount { get; set; }
    public bool PacketBuffered { get; set; }
    public bool LineBuffered { get; set; }
    public bool CountOnly { get; set; }
    public bool ClassicPcap { get; set; }
    /// <summary>--track-skb: follow every matched skb to the other taps until it is freed.</summary>
    public bool TrackSkb { get; set; }
    /// <summary>--drop-reason (repeated ones joined by commas): which drop reasons tp_btf/kfree_skb keeps.</summary>
    public string? DropReasons { get; set; }
    /// <summary>--pid, --comm, --cgroup, --netns as given (checked when the taps open).</summary>
    public string? SelectPid { get; set; }
    public string? SelectComm { get; set; }
    public string? SelectCgroup { get; set; }
    public string? SelectNetns { get; set; }
    /// <summary>The command after "--": run in a cgroup of its own, its packets captured, its exit code kdt's.</summary>
    public List<string>? Command { get; set; }
    public bool SelectsPackets => SelectPid is not null || SelectComm is not null || SelectCgroup is not null || SelectNetns is not null || Command is not null;
    public bool NanosecondPrecision { get; set; }

    public int TimestampCount { get; set; }
    public bool Numeric { get; set; }
    public bool LinkHeader { get; set; }
    public bool Quiet { get; set; }
    public int Verbosity { get; set; }
    public int HexCount { get; set; }
    public int HexAsciiCount { get; set; }
    public int AsciiCount { get; set; }
    public bool PacketNumbers { get; set; }
    public bool AbsoluteSequenceNumbers { get; set; }
    public bool DontVerifyChecksums { get; set; }
    /// <summary>-N: host names without their domain.</summary>
    public bool HostNamesWithoutDomain { get; set; }
    /// <summary>-f: addresses outside the interface's network printed as numbers.</summary>
    public bool ForeignNumeric { get; set; }
    /// <summary>-T: payloads decoded as this protocol.</summary>
    public KdtCapture.Capture.Printing.ForcedPacketType PacketType { get; set; }
    /// <summary>-E: ESP security associations to decrypt with.</summary>
    public string? EspSecrets { get; set; }
    /// <summary>-M: the secret for TCP MD5 signature options.</summary>
    public string? TcpSignatureSecret { get; set; }
    /// <summary>-z: run this command on each file -C/-G closes.</summary>
    public string? PostRotateCommand { get; set; }
    /// <summary>-Z: the user to become once the interfaces are open, before the output file is created.</summary>
    public string? RelinquishUser { get; set; }
    /// <summary>-j: libpcap's time stamp type name.</summary>
    public string? TimestampType { get; set; }
    /// <summary>-I: monitor mode.</summary>
    public bool MonitorMode { get; set; }
    /// <summary>--print: print packets while writing them with -w.</summary>
    public bool PrintWhileWriting { get; set; }
    /// <summary>-f's local network (host order), found from the first interface when the capture starts.</summary>
    public (uint Network, uint Netmask)? LocalNetwork { get; set; }
}
