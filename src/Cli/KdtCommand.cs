using KdtCapture.Cli.Btf;
using KdtCapture.Cli.Capture;
using KdtCapture.Cli.Extcap;
using KdtCapture.Cli.Ftrace;
using KdtCapture.Cli.Hotfix;
using KdtCapture.Cli.Psi;
using KdtCapture.Cli.Trace;

namespace KdtCapture.Cli;

/// <summary>The top of the command line: picks the command; each command parses its own options.</summary>
internal static class KdtCommand
{
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Count == 0)
        {
            stdout.Write(KdtHelp.Text);
            return ExitCodes.Success;
        }

        // Wireshark runs its extcap programs with options only (--extcap-interfaces, --capture ...).
        if (args[0].StartsWith("--", StringComparison.Ordinal) && ExtcapCommand.IsExtcapCall(args))
            return ExtcapCommand.Run(args, stdout, stderr);

        string command = args[0];
        var rest = args.Skip(1).ToArray();
        switch (command)
        {
            case "capture":
                return CaptureCommand.Run(rest, stdout, stderr);
            case "btf":
                return BtfCommand.Run(rest, stdout, stderr);
            case "psi":
                return PsiCommand.Run(rest, stdout, stderr);
            case "ftrace":
                return FtraceCommand.Run(rest, stdout, stderr);
            case "trace":
                return TraceCommand.Run(rest, stdout, stderr);
            case "hotfix":
                return HotfixCommand.Run(rest, stdout, stderr);
            case "-h":
            case "--help":
                stdout.Write(KdtHelp.Text);
                return ExitCodes.Success;
            case "help":
                if (rest.Length == 0)
                {
                    stdout.Write(KdtHelp.Text);
                    return ExitCodes.Success;
                }
                if (rest[0] == "capture")
                {
                    stdout.Write(CaptureHelp.Text);
                    return ExitCodes.Success;
                }
                if (rest[0] == "btf")
                {
                    stdout.Write(BtfHelp.Text);
                    return ExitCodes.Success;
                }
                if (rest[0] == "ftrace")
                {
                    stdout.Write(FtraceHelp.Text);
                    return ExitCodes.Success;
                }
                if (rest[0] == "hotfix")
                {
                    stdout.Write(HotfixHelp.Text);
                    return ExitCodes.Success;
                }
                if (rest[0] == "psi")
                {
                    stdout.Write(PsiHelp.Text);
                    return ExitCodes.Success;
                }
                if (rest[0] == "trace")
                {
                    stdout.Write(TraceHelp.Text);
                    return ExitCodes.Success;
                }
                return Unknown(stderr, rest[0]);
            case "--version":
                stdout.WriteLine(KdtVersion.Line);
                return ExitCodes.Success;
            default:
                if (command.StartsWith('-'))
                {
                    stderr.WriteLine($"kdt: unrecognized option '{command}' (see 'kdt --help')");
                    return ExitCodes.Failure;
                }
                return Unknown(stderr, command);
        }
    }

    private static int Unknown(TextWriter stderr, string command)
    {
        stderr.WriteLine($"kdt: unknown command '{command}' (see 'kdt --help' for the commands)");
        return ExitCodes.Failure;
    }
}
