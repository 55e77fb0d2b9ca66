using KdtCapture.Filters.CodeGen;

namespace KdtCapture.Filters.Syntax;

/// <summary>Looks names up case-insensitively in a table, as libpcap's str2tok does; -1 when absent.</summary>
internal static class NameTable
{
    public static int Find(ReadOnlySpan<(string Name, int Value)> table, string name)
    {
        foreach (var (n, v) in table)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
                return v;
        }
        return -1;
    }
}

/// <summary>802.11 frame type and subtype names.</summary>
internal static class Ieee80211Names
{
    private const int Mgt = 0x00, Ctl = 0x04, Data = 0x08;

    private static readonly (string, int)[] Types =
    [
        ("data", Data), ("mgt", Mgt), ("management", Mgt), ("ctl", Ctl), ("control", Ctl),
    ];

    private static readonly (string, int)[] MgtSubtypes =
    [
        ("assocreq", 0x00), ("assoc-req", 0x00), ("assocresp", 0x10), ("assoc-resp", 0x10),
        ("reassocreq", 0x20), ("reassoc-req", 0x20), ("reassocresp", 0x30), ("reassoc-resp", 0x30),
        ("probereq", 0x40), ("probe-req", 0x40), ("proberesp", 0x50), ("probe-resp", 0x50),
        ("beacon", 0x80), ("atim", 0x90), ("disassoc", 0xa0), ("disassociation", 0xa0),
        ("auth", 0xb0), ("authentication", 0xb0), ("deauth", 0xc0), ("deauthentication", 0xc0),
    ];

    private static readonly (string, int)[] CtlSubtypes =
    [
        ("ps-poll", 0xa0), ("rts", 0xb0), ("cts", 0xc0), ("ack", 0xd0), ("cf-end", 0xe0), ("cf-end-ack", 0xf0),
    ];

    private static readonly (string, int)[] DataSubtypes =
    [
        ("data", 0x00), ("data-cf-ack", 0x10), ("data-cf-poll", 0x20), ("data-cf-ack-poll", 0x30),
        ("null", 0x40), ("cf-ack", 0x50), ("cf-poll", 0x60), ("cf-ack-poll", 0x70),
        ("qos-data", 0x80), ("qos-data-cf-ack", 0x90), ("qos-data-cf-poll", 0xa0), ("qos-data-cf-ack-poll", 0xb0),
        ("qos", 0xc0), ("qos-cf-poll", 0xe0), ("qos-cf-ack-poll", 0xf0),
    ];

    private static readonly (int Type, (string, int)[] Subtypes)[] SubtypesByType =
    [
        (Mgt, MgtSubtypes), (Ctl, CtlSubtypes), (Data, DataSubtypes),
    ];

    public static int Type(string name) => NameTable.Find(Types, name);

    /// <summary>A subtype name of the given type; <paramref name="typeKnown"/> is false for a type value that has no names.</summary>
    public static int Subtype(int type, string name, out bool typeKnown)
    {
        foreach (var (t, subtypes) in SubtypesByType)
        {
            if (t == type)
            {
                typeKnown = true;
                return NameTable.Find(subtypes, name);
            }
        }
        typeKnown = false;
        return -1;
    }

    /// <summary>A subtype name alone ("subtype beacon"): type and subtype bits together.</summary>
    public static int TypeSubtype(string name)
    {
        foreach (var (t, subtypes) in SubtypesByType)
        {
            int v = NameTable.Find(subtypes, name);
            if (v != -1)
                return v | t;
        }
        return -1;
    }
}

/// <summary>LLC supervisory and unnumbered frame names.</summary>
internal static class LlcNames
{
    private static readonly (string, int)[] S =
    [
        ("rr", (int)LlcSap.Rr), ("rnr", (int)LlcSap.Rnr), ("rej", (int)LlcSap.Rej),
    ];

    private static readonly (string, int)[] U =
    [
        ("ui", (int)LlcSap.Ui), ("ua", (int)LlcSap.Ua), ("disc", (int)LlcSap.Disc), ("dm", (int)LlcSap.Dm),
        ("sabme", (int)LlcSap.Sabme), ("test", (int)LlcSap.Test), ("xid", (int)LlcSap.Xid), ("frmr", (int)LlcSap.Frmr),
    ];

    public static int SSubtype(string name) => NameTable.Find(S, name);

    public static int USubtype(string name) => NameTable.Find(U, name);
}

/// <summary>OpenBSD pf log reasons and actions, as libpcap on Linux knows them.</summary>
internal static class PfNames
{
    private static readonly (string, int)[] Reasons =
    [
        ("match", 0), ("bad-offset", 1), ("fragment", 2), ("short", 3), ("normalize", 4), ("memory", 5),
        ("bad-timestamp", 6), ("congestion", 7), ("ip-option", 8), ("proto-cksum", 9), ("state-mismatch", 10),
        ("state-insert", 11), ("state-limit", 12), ("src-limit", 13), ("synproxy", 14),
    ];

    private static readonly (string, int)[] Actions =
    [
        ("pass", 0), ("accept", 0), ("drop", 1), ("block", 1), ("scrub", 2), ("noscrub", 3), ("nat", 4),
        ("nonat", 5), ("binat", 6), ("nobinat", 7), ("rdr", 8), ("nordr", 9), ("synproxy-drop", 10),
    ];

    public static int Reason(string name) => NameTable.Find(Reasons, name);

    public static int Action(string name) => NameTable.Find(Actions, name);
}
