using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>execsnoop: new processes (execve/execveat) with their arguments, as bcc's execsnoop.</summary>
public sealed class ExecSnoop : EventTool
{
    private const int HeaderSize = 56;

    public override string Name => "execsnoop";

    public override string Summary => "trace new processes (execve/execveat) with their arguments";

    public override IReadOnlyList<string> Tracepoints { get; } = ["sys_enter", "sys_exit"];

    private sealed class State(TraceToolOptions options, TextWriter output) : EventLineState(options, output)
    {
        public readonly StringBuilder Args = new();
    }

    private protected override string? Header(TraceToolOptions options) =>
        (options.Timestamps ? "TIME     " : "") + "PCOMM            PID    PPID   RET ARGS";

    private protected override EventLineState CreateState(TraceToolOptions options, TextWriter output) => new State(options, output);

    private protected override void OnEvent(EventLineState state, ReadOnlySpan<byte> r)
    {
        var s = (State)state;
        if (r.Length < HeaderSize)
            return;
        int ret = BinaryPrimitives.ReadInt32LittleEndian(r[24..]);
        if (ret != 0 && !s.Options.IncludeFailed)
            return;
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(r);
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(r[8..]);
        uint tid = BinaryPrimitives.ReadUInt32LittleEndian(r[12..]);
        uint ppid = BinaryPrimitives.ReadUInt32LittleEndian(r[16..]);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(r[20..]);
        int size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(r[32..]), (uint)(r.Length - HeaderSize));
        bool truncated = BinaryPrimitives.ReadUInt32LittleEndian(r[36..]) != 0;
        string comm = TraceText.CString(r.Slice(40, 16));
        var argBytes = r.Slice(HeaderSize, size);
        if (s.Options.Json)
        {
            var j = s.Json.Begin();
            j.WriteNumber("time_ns", ts);
            j.WriteString("comm", comm);
            j.WriteNumber("pid", pid);
            j.WriteNumber("tid", tid);
            j.WriteNumber("ppid", ppid);
            j.WriteNumber("uid", uid);
            j.WriteNumber("ret", ret);
            j.WriteStartArray("args");
            foreach (var a in Split(argBytes))
                j.WriteStringValue(a);
            j.WriteEndArray();
            j.WriteBoolean("truncated", truncated);
            s.Json.End(s.Output);
            return;
        }
        var args = s.Args.Clear();
        foreach (var a in Split(argBytes))
        {
            if (args.Length > 0)
                args.Append(' ');
            args.Append(a);
        }
        if (truncated)
            args.Append(" ...");
        var inv = CultureInfo.InvariantCulture;
        if (s.Options.Timestamps)
            s.Output.Write(TraceText.TimeColumn(s.Clock.ToLocal(ts)));
        s.Output.WriteLine(string.Create(inv, $"{comm,-16} {pid,-6} {ppid,-6} {ret,3} {args}"));
    }

    /// <summary>The NUL-separated strings the program copied (filename, then argv[1..]).</summary>
    private static List<string> Split(ReadOnlySpan<byte> bytes)
    {
        var list = new List<string>();
        while (!bytes.IsEmpty)
        {
            int nul = bytes.IndexOf((byte)0);
            var one = nul < 0 ? bytes : bytes[..nul];
            list.Add(Encoding.UTF8.GetString(one));
            if (nul < 0)
                break;
            bytes = bytes[(nul + 1)..];
        }
        return list;
    }
}
