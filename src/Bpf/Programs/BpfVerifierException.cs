namespace KdtCapture.Bpf.Programs;

/// <summary>
/// The kernel refused a program. The message is one line: the program, the errno and the
/// verifier's last words; <see cref="Log"/> keeps the whole verifier log.
/// </summary>
public sealed class BpfVerifierException : BpfException
{
    public BpfVerifierException(string programName, BpfProgramType type, int errno, string log, bool logTruncated)
        : base(errno, Summary(programName, type, errno, log))
    {
        ProgramName = programName;
        ProgramType = type;
        Log = log;
        LogTruncated = logTruncated;
    }

    private static string Summary(string name, BpfProgramType type, int errno, string log)
    {
        string last = LastLines(log, 2);
        return $"load program '{name}' ({type.KernelName()}): {Internal.Sys.Errno.Describe(errno)}" + (last.Length == 0 ? "" : "; verifier: " + last);
    }

    public string ProgramName { get; }

    public BpfProgramType ProgramType { get; }

    /// <summary>The verifier log as the kernel wrote it (may be empty when the kernel wrote none).</summary>
    public string Log { get; }

    /// <summary>The log was longer than the largest buffer tried.</summary>
    public bool LogTruncated { get; }

    /// <summary>The last <paramref name="count"/> non-empty lines of the log, joined with " | ".</summary>
    public static string LastLines(string log, int count)
    {
        var lines = new List<string>(count);
        int end = log.Length;
        while (end > 0 && lines.Count < count)
        {
            int start = log.LastIndexOf('\n', Math.Max(0, end - 1));
            string line = log[(start + 1)..end].Trim();
            // The closing statistics say nothing about why the program was refused.
            if (line.Length > 0 && !line.StartsWith("verification time", StringComparison.Ordinal) && !line.StartsWith("stack depth", StringComparison.Ordinal) &&
                !line.StartsWith("processed ", StringComparison.Ordinal))
                lines.Insert(0, line);
            if (start < 0)
                break;
            end = start;
        }
        return string.Join(" | ", lines);
    }
}
