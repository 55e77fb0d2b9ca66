using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// tcpretrans: TCP retransmissions (tcp:tcp_retransmit_skb) as bcc's tcpretrans prints them:
/// one line per retransmitted segment with the connection and its state, "R>" for a
/// retransmission and, with -l, "L>" for a tail loss probe; or with --count, retransmissions
/// counted per connection and printed at the end (or every interval).
/// </summary>
public sealed class TcpRetrans : EventTool
{
    private const int RecordSize = 68;

    public override string Name => "tcpretrans";

    public override string Summary => "trace TCP retransmissions (and with -l tail loss probes) per connection";

    public override IReadOnlyList<string> Tracepoints { get; } = ["tcp_retransmit_skb"];

    // Retransmissions go out from timers and softirqs, on behalf of no process.
    public override bool SelectsProcesses => false;

    /// <summary>One connection's endpoints as the count mode keys them.</summary>
    private readonly record struct Flow(ushort Family, string Local, string Remote);

    private sealed class State(TraceToolOptions options, TextWriter output) : EventLineState(options, output)
    {
        public readonly Dictionary<Flow, (ulong Retransmits, ulong LossProbes)> Counts = [];
    }

    private protected override Dictionary<string, byte[]>? Constants(TraceToolOptions options) =>
        new() { ["loss_probes"] = TraceSession.Flag(options.LossProbes) };

    private protected override string? Header(TraceToolOptions options) => options.Count
        ? "Tracing retransmits ... Hit Ctrl-C to end"
        : "TIME     PID     IP LADDR:LPORT                                   T> RADDR:RPORT                                   STATE";

    private protected override EventLineState CreateState(TraceToolOptions options, TextWriter output) => new State(options, output);

    private protected override void OnInterval(EventLineState state)
    {
        if (state.Options.Count)
            PrintCounts((State)state);
    }

    private protected override void Finish(EventLineState state)
    {
        var s = (State)state;
        if (s.Options.Count && (s.Options.Interval is null || s.Counts.Count > 0))
            PrintCounts(s);
    }

    /// <summary>An endpoint as bcc writes it: "10.0.0.1:80", "[::1]:80" for IPv6.</summary>
    public static string Endpoint(ushort family, string address, ushort port) =>
        family == 2 ? string.Create(CultureInfo.InvariantCulture, $"{address}:{port}") : string.Create(CultureInfo.InvariantCulture, $"[{address}]:{port}");

    private protected override void OnEvent(EventLineState state, ReadOnlySpan<byte> r)
    {
        var s = (State)state;
        if (r.Length < RecordSize)
            return;
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(r);
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(r[16..]);
        int tcpState = BinaryPrimitives.ReadInt32LittleEndian(r[20..]);
        int err = BinaryPrimitives.ReadInt32LittleEndian(r[24..]);
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(r[28..]);
        ushort sport = BinaryPrimitives.ReadUInt16LittleEndian(r[30..]);
        ushort dport = BinaryPrimitives.ReadUInt16LittleEndian(r[32..]);
        bool lossProbe = r[34] == 2;
        string saddr = TraceText.Address(family, r.Slice(36, 16)).ToString();
        string daddr = TraceText.Address(family, r.Slice(52, 16)).ToString();
        string local = Endpoint(family, saddr, sport), remote = Endpoint(family, daddr, dport);
        if (s.Options.Count)
        {
            var flow = new Flow(family, local, remote);
            var (n, tlp) = s.Counts.TryGetValue(flow, out var c) ? c : default;
            s.Counts[flow] = lossProbe ? (n, tlp + 1) : (n + 1, tlp);
            return;
        }
        if (s.Options.Json)
        {
            var j = s.Json.Begin();
            j.WriteNumber("time_ns", ts);
            j.WriteNumber("pid", pid);
            j.WriteNumber("ip", family == 2 ? 4 : 6);
            j.WriteString("laddr", saddr);
            j.WriteNumber("lport", sport);
            j.WriteString("raddr", daddr);
            j.WriteNumber("rport", dport);
            j.WriteString("type", lossProbe ? "L" : "R");
            j.WriteString("state", TcpStates.StateName(tcpState));
            j.WriteNumber("err", err);
            s.Json.End(s.Output);
            return;
        }
        s.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{s.Clock.ToLocal(ts):HH:mm:ss} {pid,-7} {(family == 2 ? 4 : 6),-2} {local,-45} {(lossProbe ? "L>" : "R>")} {remote,-45} {TcpStates.StateName(tcpState)}"));
    }

    private static void PrintCounts(State s)
    {
        var inv = CultureInfo.InvariantCulture;
        var flows = new List<KeyValuePair<Flow, (ulong Retransmits, ulong LossProbes)>>(s.Counts);
        flows.Sort((a, b) => (b.Value.Retransmits + b.Value.LossProbes).CompareTo(a.Value.Retransmits + a.Value.LossProbes));
        if (s.Options.Json)
        {
            var j = s.Json.Begin();
            j.WriteString("time", DateTime.Now.ToString("HH:mm:ss", inv));
            j.WriteStartArray("connections");
            foreach (var (flow, (n, tlp)) in flows)
            {
                j.WriteStartObject();
                j.WriteNumber("ip", flow.Family == 2 ? 4 : 6);
                j.WriteString("local", flow.Local);
                j.WriteString("remote", flow.Remote);
                j.WriteNumber("retransmits", n);
                if (s.Options.LossProbes)
                    j.WriteNumber("loss_probes", tlp);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            s.Json.End(s.Output);
        }
        else
        {
            var text = new StringBuilder();
            text.Append('\n');
            if (s.Options.Timestamps)
                text.Append(DateTime.Now.ToString("HH:mm:ss", inv)).Append('\n');
            text.Append(inv, $"{"LADDR:LPORT",-45}     {"RADDR:RPORT",-45} {"RETRANSMITS",-11}");
            text.Append(s.Options.LossProbes ? " LOSS_PROBES\n" : "\n");
            foreach (var (flow, (n, tlp)) in flows)
            {
                text.Append(inv, $"{flow.Local,-45} <-> {flow.Remote,-45} {n,-11}");
                text.Append(s.Options.LossProbes ? string.Create(inv, $" {tlp}\n") : "\n");
            }
            s.Output.Write(text.ToString());
        }
        s.Counts.Clear();
    }
}
