using System.Text;

namespace KdtCapture.PcapNg.Tests;

/// <summary>Compares blocks by a canonical text of all their fields and options.</summary>
internal static class BlockComparer
{
    public static void AssertEquivalent(PcapNgBlock expected, PcapNgBlock actual, bool copying, string where)
    {
        string e = Describe(expected, copying), a = Describe(actual, copying);
        if (e != a) Assert.Fail($"{where}:\nexpected {e}\nactual   {a}");
    }

    private static string Hex(ReadOnlyMemory<byte> m) => Convert.ToHexString(m.Span);

    private static string Ts(PacketTimestamp t) => $"{t.ToUnixUnits(TimestampResolution.Decimal(19))}";

    public static string Describe(PcapNgBlock b, bool copying)
    {
        var s = new StringBuilder();
        s.Append(b.GetType().Name).Append(" type=").Append(b.BlockType.ToString("x8")).Append(' ');
        foreach (string c in b.Comments) s.Append("comment=").Append(c).Append(' ');
        foreach (CustomOption c in b.CustomOptions)
        {
            if (copying && !c.IsCopyable) continue;
            s.Append($"custom={c.Code}/{c.PrivateEnterpriseNumber}/{Hex(c.Data)} ");
        }
        foreach (PcapNgOption o in b.UnknownOptions) s.Append($"opt={o.Code}/{Hex(o.Value)} ");
        switch (b)
        {
            case SectionHeader h:
                s.Append($"v={h.MajorVersion}.{h.MinorVersion} be={h.IsBigEndian} hw={h.Hardware} os={h.OperatingSystem} app={h.UserApplication}");
                break;
            case InterfaceDescription d:
                s.Append($"lt={d.LinkType} snap={d.SnapLength} name={d.Name} desc={d.Description} ");
                foreach (var a in d.IPv4Addresses) s.Append($"v4={a.Address}/{a.Netmask} ");
                foreach (var a in d.IPv6Addresses) s.Append($"v6={a.Address}/{a.PrefixLength} ");
                s.Append($"mac={d.MacAddress} eui={d.EuiAddress} speed={d.Speed} res={d.TimestampResolution.Value} tz={d.TimeZone} ");
                s.Append($"filter={d.Filter?.Type}/{(d.Filter is null ? "" : Hex(d.Filter.Data))} os={d.OperatingSystem} fcs={d.FcsLength} ");
                s.Append($"off={d.TimestampOffset} hw={d.Hardware} tx={d.TransmitSpeed} rx={d.ReceiveSpeed} tzname={d.IanaTimeZone}");
                break;
            case EnhancedPacketBlock p:
                s.Append($"if={p.InterfaceId} ts={Ts(p.Timestamp)} len={p.OriginalLength} data={Hex(p.Data)} flags={p.Flags} ");
                foreach (var h in p.Hashes) s.Append($"hash={h.Algorithm}/{Hex(h.Value)} ");
                s.Append($"drop={p.DropCount} id={p.PacketId} q={p.Queue} pt={p.ProcessThread} ");
                foreach (var v in p.Verdicts) s.Append($"verdict={v.Type}/{Hex(v.Value)} ");
                break;
            case SimplePacketBlock p:
                s.Append($"len={p.OriginalLength} data={Hex(p.Data)}");
                break;
            case ObsoletePacketBlock p:
                s.Append($"if={p.InterfaceId} drops={p.DropsCount} ts={Ts(p.Timestamp)} len={p.OriginalLength} data={Hex(p.Data)} flags={p.Flags}");
                break;
            case NameResolutionBlock n:
                foreach (var r in n.Records) s.Append($"rec={r.Type}/{Hex(r.Address)}/{string.Join("|", r.Names)} ");
                s.Append($"dns={n.DnsName}/{n.DnsIPv4Address}/{n.DnsIPv6Address}");
                break;
            case InterfaceStatisticsBlock i:
                s.Append($"if={i.InterfaceId} ts={Ts(i.Timestamp)} start={(i.StartTime is { } st ? Ts(st) : "")} end={(i.EndTime is { } et ? Ts(et) : "")} ");
                s.Append($"recv={i.Received} ifdrop={i.InterfaceDropped} accept={i.FilterAccepted} osdrop={i.OsDropped} deliv={i.Delivered}");
                break;
            case DecryptionSecretsBlock d:
                s.Append($"stype={d.SecretsType:x8} data={Hex(d.Data)}");
                break;
            case CustomBlock c:
                s.Append($"pen={c.PrivateEnterpriseNumber} copy={c.IsCopyable} data={Hex(c.Data)}");
                break;
            case UnknownBlock u:
                s.Append($"body={Hex(u.Body)}");
                break;
        }
        return s.ToString();
    }
}
