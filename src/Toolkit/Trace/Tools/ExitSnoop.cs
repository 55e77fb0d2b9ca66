using System.Buffers.Binary;
using System.Globalization;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>exitsnoop: process exits with their age and exit status, as bcc's exitsnoop.</summary>
public sealed class ExitSnoop : EventTool
{
    public override string Name => "exitsnoop";

    public override string Summary => "trace process exits with their age and exit code or signal";

    public override IReadOnlyList<string> Tracepoints { get; } = ["sched_process_exit"];

    private protected override string? Header(TraceToolOptions options) =>
        (options.Timestamps ? "TIME     " : "") + "PCOMM            PID    PPID   TID    AGE(s)  EXIT_CODE";

    private protected override Dictionary<string, byte[]>? Constants(TraceToolOptions options) =>
        new() { ["per_thread"] = TraceSession.Flag(options.PerThread) };

    /// <summary>The kernel's exit_code word as bcc words it: "0", "code N", "signal N (NAME)[, core dumped]".</summary>
    public static string Describe(int exitCode)
    {
        int signal = exitCode & 0x7f;
        if (signal == 0)
        {
            int code = (exitCode >> 8) & 0xff;
            return code == 0 ? "0" : string.Create(CultureInfo.InvariantCulture, $"code {code}");
        }
        string text = string.Create(CultureInfo.InvariantCulture, $"signal {signal} ({SignalName(signal)})");
        return (exitCode & 0x80) != 0 ? text + ", core dumped" : text;
    }

    private static string SignalName(int signal) => signal switch
    {
        1 => "HUP", 2 => "INT", 3 => "QUIT", 4 => "ILL", 5 => "TRAP", 6 => "ABRT", 7 => "BUS", 8 => "FPE",
        9 => "KILL", 10 => "USR1", 11 => "SEGV", 12 => "USR2", 13 => "PIPE", 14 => "ALRM", 15 => "TERM",
        16 => "STKFLT", 17 => "CHLD", 18 => "CONT", 19 => "STOP", 20 => "TSTP", 21 => "TTIN", 22 => "TTOU",
        23 => "URG", 24 => "XCPU", 25 => "XFSZ", 26 => "VTALRM", 27 => "PROF", 28 => "WINCH", 29 => "IO",
        30 => "PWR", 31 => "SYS",
        _ => string.Create(CultureInfo.InvariantCulture, $"RT{signal - 34}"),
    };

    private protected override void OnEvent(EventLineState s, ReadOnlySpan<byte> r)
    {
        if (r.Length < 48)
            return;
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(r);
        ulong startNs = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(r[16..]);
        uint tid = BinaryPrimitives.ReadUInt32LittleEndian(r[20..]);
        uint ppid = BinaryPrimitives.ReadUInt32LittleEndian(r[24..]);
        int exitCode = BinaryPrimitives.ReadInt32LittleEndian(r[28..]);
        string comm = TraceText.CString(r.Slice(32, 16));
        double age = ts > startNs ? (ts - startNs) / 1e9 : 0;
        if (s.Options.Json)
        {
            var j = s.Json.Begin();
            j.WriteNumber("time_ns", ts);
            j.WriteString("comm", comm);
            j.WriteNumber("pid", pid);
            j.WriteNumber("ppid", ppid);
            j.WriteNumber("tid", tid);
            j.WriteNumber("age_s", Math.Round(age, 6));
            j.WriteNumber("exit_code", (exitCode >> 8) & 0xff);
            j.WriteNumber("signal", exitCode & 0x7f);
            j.WriteBoolean("core_dumped", (exitCode & 0x80) != 0);
            j.WriteString("status", Describe(exitCode));
            s.Json.End(s.Output);
            return;
        }
        if (s.Options.Timestamps)
            s.Output.Write(TraceText.TimeColumn(s.Clock.ToLocal(ts)));
        s.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{comm,-16} {pid,-6} {ppid,-6} {tid,-6} {age,-7:F2} {Describe(exitCode)}"));
    }
}
