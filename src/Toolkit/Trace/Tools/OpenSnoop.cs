using System.Buffers.Binary;
using System.Globalization;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>opensnoop: open/openat/openat2 calls with path and result, as bcc's opensnoop.</summary>
public sealed class OpenSnoop : EventTool
{
    public override string Name => "opensnoop";

    public override string Summary => "trace open/openat/openat2 with the path, the fd or the error";

    public override IReadOnlyList<string> Tracepoints { get; } = ["sys_enter", "sys_exit"];

    private protected override string? Header(TraceToolOptions options) =>
        (options.Timestamps ? "TIME     " : "") + "PID    COMM               FD ERR PATH";

    private protected override Dictionary<string, byte[]>? Constants(TraceToolOptions options) =>
        new() { ["failed_only"] = TraceSession.Flag(options.FailedOnly) };

    private protected override void OnEvent(EventLineState s, ReadOnlySpan<byte> r)
    {
        if (r.Length < 48)
            return;
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(r);
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(r[16..]);
        uint tid = BinaryPrimitives.ReadUInt32LittleEndian(r[20..]);
        uint uid = BinaryPrimitives.ReadUInt32LittleEndian(r[24..]);
        int ret = BinaryPrimitives.ReadInt32LittleEndian(r[28..]);
        string comm = TraceText.CString(r.Slice(32, 16));
        string path = TraceText.CString(r[48..]);
        int fd = ret >= 0 ? ret : -1, err = ret >= 0 ? 0 : -ret;
        if (s.Options.Json)
        {
            var j = s.Json.Begin();
            j.WriteNumber("time_ns", ts);
            j.WriteNumber("pid", pid);
            j.WriteNumber("tid", tid);
            j.WriteNumber("uid", uid);
            j.WriteString("comm", comm);
            j.WriteNumber("fd", fd);
            j.WriteNumber("err", err);
            j.WriteNumber("flags", flags);
            j.WriteString("path", path);
            s.Json.End(s.Output);
            return;
        }
        if (s.Options.Timestamps)
            s.Output.Write(TraceText.TimeColumn(s.Clock.ToLocal(ts)));
        s.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{pid,-6} {comm,-16} {fd,4} {err,3} {path}"));
    }
}
