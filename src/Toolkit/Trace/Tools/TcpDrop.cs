using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using KdtCapture.Bpf.Btf;
using KdtCapture.Bpf.Symbols;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// tcpdrop: TCP packets the kernel drops (skb:kfree_skb), with the drop reason named from the
/// kernel's <c>enum skb_drop_reason</c> (BTF) and the freeing function from /proc/kallsyms.
/// bcc's tcpdrop prints the socket state and a stack where we print the reason and location.
/// </summary>
public sealed class TcpDrop : EventTool
{
    private const int RecordSize = 84;

    public override string Name => "tcpdrop";

    public override string Summary => "trace dropped TCP packets with the kernel's drop reason and location";

    public override IReadOnlyList<string> Tracepoints { get; } = ["kfree_skb"];

    private sealed class State(TraceToolOptions options, TextWriter output) : EventLineState(options, output)
    {
        public readonly Dictionary<uint, string> Reasons = DropReasons();
        public readonly KernelSymbols Symbols = KernelSymbols.Load();
    }

    /// <summary>The kernel's drop reasons by value, without the SKB_DROP_REASON_ prefix (as
    /// the kernel's own tracepoint prints them).</summary>
    public static Dictionary<uint, string> DropReasons()
    {
        var reasons = new Dictionary<uint, string>();
        if (!File.Exists(BtfData.KernelPath) || !BtfData.Kernel.TryFind("skb_drop_reason", BtfKind.Enum, out var type))
            return reasons;
        const string prefix = "SKB_DROP_REASON_";
        foreach (var v in type.EnumValues)
        {
            string name = v.Name;
            reasons[(uint)v.Value] = name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;
        }
        return reasons;
    }

    /// <summary>TCP header flags as bcc's tcpdrop joins them ("SYN|ACK").</summary>
    public static string FlagNames(byte flags)
    {
        ReadOnlySpan<string> names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        var text = new StringBuilder();
        for (int i = 0; i < 8; i++)
        {
            if ((flags & (1 << i)) == 0)
                continue;
            if (text.Length > 0)
                text.Append('|');
            text.Append(names[i]);
        }
        return text.ToString();
    }

    private protected override string? Header(TraceToolOptions options) =>
        "TIME     PID     IP SADDR:SPORT            > DADDR:DPORT            FLAGS      REASON                 LOCATION";

    private protected override EventLineState CreateState(TraceToolOptions options, TextWriter output) => new State(options, output);

    private protected override void OnEvent(EventLineState state, ReadOnlySpan<byte> r)
    {
        var s = (State)state;
        if (r.Length < RecordSize)
            return;
        ulong ts = BinaryPrimitives.ReadUInt64LittleEndian(r);
        ulong location = BinaryPrimitives.ReadUInt64LittleEndian(r[8..]);
        uint pid = BinaryPrimitives.ReadUInt32LittleEndian(r[16..]);
        uint tid = BinaryPrimitives.ReadUInt32LittleEndian(r[20..]);
        uint reason = BinaryPrimitives.ReadUInt32LittleEndian(r[24..]);
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(r[28..]);
        ushort sport = BinaryPrimitives.ReadUInt16LittleEndian(r[30..]);
        ushort dport = BinaryPrimitives.ReadUInt16LittleEndian(r[32..]);
        byte flags = r[34];
        string saddr = TraceText.Address(family, r.Slice(36, 16)).ToString();
        string daddr = TraceText.Address(family, r.Slice(52, 16)).ToString();
        string comm = TraceText.CString(r.Slice(68, 16));
        var inv = CultureInfo.InvariantCulture;
        string reasonName = s.Reasons.TryGetValue(reason, out var n) ? n : reason.ToString(inv);
        string where = s.Symbols.Describe(location);
        if (s.Options.Json)
        {
            var j = s.Json.Begin();
            j.WriteNumber("time_ns", ts);
            j.WriteNumber("pid", pid);
            j.WriteNumber("tid", tid);
            j.WriteString("comm", comm);
            j.WriteNumber("ip", family == 2 ? 4 : 6);
            j.WriteString("saddr", saddr);
            j.WriteNumber("sport", sport);
            j.WriteString("daddr", daddr);
            j.WriteNumber("dport", dport);
            j.WriteString("flags", FlagNames(flags));
            j.WriteString("reason", reasonName);
            j.WriteNumber("reason_code", reason);
            j.WriteString("location", where);
            s.Json.End(s.Output);
            return;
        }
        string src = family == 2 ? $"{saddr}:{sport}" : $"[{saddr}]:{sport}";
        string dst = family == 2 ? $"{daddr}:{dport}" : $"[{daddr}]:{dport}";
        s.Output.WriteLine(string.Create(inv,
            $"{s.Clock.ToLocal(ts):HH:mm:ss} {pid,-7} {(family == 2 ? 4 : 6),-2} {src,-22} > {dst,-22} {FlagNames(flags),-10} {reasonName,-22} {where}"));
    }
}
