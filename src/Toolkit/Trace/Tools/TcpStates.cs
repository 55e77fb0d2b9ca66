using System.Buffers.Binary;
using System.Globalization;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// The three tools on sock:inet_sock_set_state, as bcc's: tcpstates (every state change),
/// tcpconnect (active opens: CLOSE → SYN_SENT, in the connecting process) and tcplife (one line
/// per closed session with its owner, bytes and lifetime). -p/-t/-c select the process that
/// changed the state (tcpstates, tcpconnect) or the owner of the session (tcplife).
/// </summary>
public sealed class TcpStates : EventTool
{
    public enum Mode
    {
        States,
        Connect,
        Life,
    }

    private const int RecordSize = 140;
    private const int TcpSynSent = 2;
    private const int TcpClose = 7;
    private const int TcpListen = 10;

    private readonly Mode _mode;

    public TcpStates(Mode mode) => _mode = mode;

    public override string Name => _mode switch { Mode.Connect => "tcpconnect", Mode.Life => "tcplife", _ => "tcpstates" };

    public override string Summary => _mode switch
    {
        Mode.Connect => "trace active TCP connections (connect) with addresses and port",
        Mode.Life => "trace TCP sessions when they close: owner, bytes each way, lifetime",
        _ => "trace TCP state changes with the time spent in each state",
    };

    public override IReadOnlyList<string> Tracepoints { get; } = ["inet_sock_set_state"];

    /// <summary>The kernel's TCP state names (include/net/tcp_states.h), as bcc prints them.</summary>
    public static string StateName(int state) => state switch
    {
        1 => "ESTABLISHED", 2 => "SYN_SENT", 3 => "SYN_RECV", 4 => "FIN_WAIT1", 5 => "FIN_WAIT2",
        6 => "TIME_WAIT", 7 => "CLOSE", 8 => "CLOSE_WAIT", 9 => "LAST_ACK", 10 => "LISTEN",
        11 => "CLOSING", 12 => "NEW_SYN_RECV",
        _ => state.ToString(CultureInfo.InvariantCulture),
    };

    private sealed class State(Mode mode, TraceToolOptions options, TextWriter output) : EventLineState(options, output)
    {
        public readonly Mode Mode = mode;
    }

    private protected override string ObjectName => "tcpstates";

    private protected override string? Header(TraceToolOptions options) => (options.Timestamps ? "TIME     " : "") + _mode switch
    {
        Mode.Connect => "PID    COMM         IP SADDR            DADDR            DPORT",
        Mode.Life => "PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS",
        _ => "SKADDR           C-PID C-COMM     LADDR           LPORT RADDR           RPORT OLDSTATE    -> NEWSTATE    MS",
    };

    private protected override EventLineState CreateState(TraceToolOptions options, TextWriter output) => new State(_mode, options, output);

    private protected override void OnEvent(EventLineState state, ReadOnlySpan<byte> r)
    {
        var s = (State)state;
        if (r.Length < RecordSize)
            return;
        int oldState = BinaryPrimitives.ReadInt32LittleEndian(r[60..]);
        int newState = BinaryPrimitives.ReadInt32LittleEndian(r[64..]);
        if (s.Mode == Mode.Connect && !(oldState == TcpClose && newState == TcpSynSent))
            return;
        // A listener closing is not a session (bcc's tcplife never starts one in LISTEN).
        if (s.Mode == Mode.Life && (newState != TcpClose || oldState is TcpListen or TcpClose))
            return;
        bool life = s.Mode == Mode.Life;
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(r[(life ? 56 : 48)..]);
        uint tid = BinaryPrimitives.ReadUInt32LittleEndian(r[52..]);
        string comm = TraceText.CString(r.Slice(life ? 124 : 108, 16));
        var o = s.Options;
        if ((o.Pid != 0 && pid != o.Pid) || (o.Tid != 0 && (life || tid != o.Tid)) || (o.Comm is not null && comm != o.Comm))
            return;
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(r);
        ulong skaddr = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
        ulong deltaNs = BinaryPrimitives.ReadUInt64LittleEndian(r[16..]);
        ulong lifeNs = BinaryPrimitives.ReadUInt64LittleEndian(r[24..]);
        ulong rx = BinaryPrimitives.ReadUInt64LittleEndian(r[32..]);
        ulong tx = BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(r[68..]);
        ushort sport = BinaryPrimitives.ReadUInt16LittleEndian(r[70..]);
        ushort dport = BinaryPrimitives.ReadUInt16LittleEndian(r[72..]);
        string saddr = TraceText.Address(family, r.Slice(76, 16)).ToString();
        string daddr = TraceText.Address(family, r.Slice(92, 16)).ToString();
        var inv = CultureInfo.InvariantCulture;
        if (o.Json)
        {
            var j = s.Json.Begin();
            j.WriteNumber("time_ns", ts);
            j.WriteNumber("pid", pid);
            if (!life)
                j.WriteNumber("tid", tid);
            j.WriteString("comm", comm);
            j.WriteNumber("ip", family == 2 ? 4 : 6);
            j.WriteString("saddr", saddr);
            j.WriteNumber("sport", sport);
            j.WriteString("daddr", daddr);
            j.WriteNumber("dport", dport);
            if (s.Mode == Mode.States)
            {
                j.WriteString("skaddr", skaddr.ToString("x", inv));
                j.WriteString("oldstate", StateName(oldState));
                j.WriteString("newstate", StateName(newState));
                j.WriteNumber("ms", Math.Round(deltaNs / 1e6, 3));
            }
            else if (life)
            {
                j.WriteNumber("tx_bytes", tx);
                j.WriteNumber("rx_bytes", rx);
                j.WriteNumber("ms", Math.Round(lifeNs / 1e6, 3));
            }
            s.Json.End(s.Output);
            return;
        }
        if (o.Timestamps)
            s.Output.Write(TraceText.TimeColumn(s.Clock.ToLocal(ts)));
        string line = s.Mode switch
        {
            Mode.Connect => string.Create(inv, $"{pid,-6} {Cut(comm, 12),-12} {(family == 2 ? 4 : 6),-2} {saddr,-16} {daddr,-16} {dport,-4}"),
            Mode.Life => string.Create(inv, $"{pid,-5} {Cut(comm, 10),-10} {saddr,-15} {sport,-5} {daddr,-15} {dport,-5} {tx / 1024,5} {rx / 1024,5} {lifeNs / 1e6:F2}"),
            _ => string.Create(inv, $"{skaddr,-16:x} {pid,-5} {Cut(comm, 10),-10} {saddr,-15} {sport,-5} {daddr,-15} {dport,-5} {StateName(oldState),-11} -> {StateName(newState),-11} {deltaNs / 1e6:F3}"),
        };
        s.Output.WriteLine(line);
    }

    private static string Cut(string s, int n) => s.Length > n ? s[..n] : s;
}
