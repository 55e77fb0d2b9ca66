using System.Buffers.Binary;
using System.Globalization;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// oomkill: OOM kills (oom:mark_victim) in bcc's sentence: "Triggered by PID N ("comm"), OOM
/// kill of PID N ("comm"), N pages, loadavg: …". The trigger is the task that ran the OOM
/// killer (its allocation failed); the pages are the victim's address space (total_vm), where
/// bcc prints the OOM's page budget, which no tracepoint carries.
/// </summary>
public sealed class OomKill : EventTool
{
    private const int RecordSize = 64;

    public override string Name => "oomkill";

    public override string Summary => "trace OOM kills: the victim, the task that triggered it, the load";

    public override IReadOnlyList<string> Tracepoints { get; } = ["mark_victim"];

    // bcc's oomkill has no process filter: an OOM kill is rare and always worth seeing.
    public override bool SelectsProcesses => false;

    private protected override string? Header(TraceToolOptions options) =>
        "Tracing OOM kills... Ctrl-C to stop.";

    /// <summary>/proc/loadavg as bcc prints it (all of it, "0.10 0.20 0.30 1/234 5678").</summary>
    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").TrimEnd();
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private protected override void OnEvent(EventLineState s, ReadOnlySpan<byte> r)
    {
        if (r.Length < RecordSize)
            return;
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(r);
        ulong pages = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
        uint triggerPid = BinaryPrimitives.ReadUInt32LittleEndian(r[16..]);
        uint triggerTid = BinaryPrimitives.ReadUInt32LittleEndian(r[20..]);
        uint victimPid = BinaryPrimitives.ReadUInt32LittleEndian(r[24..]);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(r[28..]);
        string triggerComm = TraceText.CString(r.Slice(32, 16));
        string victimComm = TraceText.CString(r.Slice(48, 16));
        string load = LoadAverage();
        if (s.Options.Json)
        {
            var j = s.Json.Begin();
            j.WriteNumber("time_ns", ts);
            j.WriteNumber("trigger_pid", triggerPid);
            j.WriteNumber("trigger_tid", triggerTid);
            j.WriteString("trigger_comm", triggerComm);
            j.WriteNumber("victim_pid", victimPid);
            j.WriteString("victim_comm", victimComm);
            j.WriteNumber("victim_uid", uid);
            j.WriteNumber("victim_total_vm_pages", pages);
            j.WriteString("loadavg", load);
            s.Json.End(s.Output);
            return;
        }
        s.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{s.Clock.ToLocal(ts):HH:mm:ss} Triggered by PID {triggerPid} (\"{triggerComm}\"), OOM kill of PID {victimPid} (\"{victimComm}\"), {pages} pages, loadavg: {load}"));
    }
}
