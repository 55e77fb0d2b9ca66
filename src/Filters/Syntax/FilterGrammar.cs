using KdtCapture.Filters.CodeGen;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Syntax;

/// <summary>
/// What a rule does when the parser reduces it. <paramref name="dollar"/> is the rule's value ($$),
/// preset to its first symbol's value as yacc does; stack[b + k] is $k, stack[b] is $0 (the symbol
/// before the rule, used for qualifier carry-over) and stack[b - 1] is $-1.
/// </summary>
internal delegate void RuleAction(FilterParser p, ref SemanticValue dollar, Span<SemanticValue> stack, int b);

/// <summary>One production: "lhs: rhs" with its action and, where given, the %prec token.</summary>
internal sealed record Production(string Lhs, string Rhs, RuleAction? Action, string? Prec = null);

/// <summary>
/// The pcap-filter(7) grammar as libpcap 1.10 accepts it. The rules, their order and the
/// precedence declarations decide which expressions parse and in which order code is generated,
/// so they follow libpcap's grammar; the LALR(1) tables in ParserTables.g.cs are built from this
/// list by the test project's table builder, the way bison builds them.
/// </summary>
internal static class FilterGrammar
{
    /// <summary>Precedence levels, lowest first: (associativity, tokens).</summary>
    public static readonly (char Assoc, string[] Tokens)[] Precedence =
    [
        ('L', ["Or", "And"]),
        ('N', ["Bang"]),
        ('L', ["Pipe"]),
        ('L', ["Amp"]),
        ('L', ["Lsh", "Rsh"]),
        ('L', ["Plus", "Minus"]),
        ('L', ["Star", "Slash"]),
        ('N', ["UMINUS"]),
    ];

    /// <summary>The start symbol.</summary>
    public const string Start = "prog";

    private static Qual QErr => Qual.Error;

    private static void SetQ(ref SemanticValue d, int proto, int dir, int addr) => d.Q = new Qual(proto, dir, addr);

    // Actions shared by many rules.
    private static readonly RuleAction Copy = static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { };
    private static readonly RuleAction CopyBefore = static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d = v[b];
    private static readonly RuleAction Second = static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d = v[b + 2];

    private static RuleAction Int(int value) => (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.I = value;

    private static RuleAction Arith(int op) => (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
        d.A = p.Gen.GenArth(op, v[b + 1].A!, v[b + 3].A!);

    private static RuleAction AtmField(int field) => (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
        d.AtmFieldType = field;

    private static RuleAction Mtp3Field(int field) => (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
        d.Mtp3FieldType = field;

    private static RuleAction RtermWith(Func<FilterParser, SemanticValue, Icode.Block> gen) =>
        (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
        {
            d.B = gen(p, v[b + 1]);
            d.Q = QErr;
        };

    public static readonly Production[] Rules = BuildRules();

    private static Production[] BuildRules()
    {
        var r = new List<Production>(256)
        {
            new("prog", "null expr", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => p.Gen.FinishParse(v[b + 2].B!)),
            new("prog", "null", Copy),
            new("null", "", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.Q = QErr),

            new("expr", "term", Copy),
            new("expr", "expr and term", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenAnd(v[b + 1].B!, v[b + 3].B!); d = v[b + 3]; }),
            new("expr", "expr and id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenAnd(v[b + 1].B!, v[b + 3].B!); d = v[b + 3]; }),
            new("expr", "expr or term", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenOr(v[b + 1].B!, v[b + 3].B!); d = v[b + 3]; }),
            new("expr", "expr or id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenOr(v[b + 1].B!, v[b + 3].B!); d = v[b + 3]; }),
            new("and", "And", CopyBefore),
            new("or", "Or", CopyBefore),

            new("id", "nid", Copy),
            new("id", "pnum", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                d.Q = v[b].Q;
                d.B = p.Gen.GenNcode(null, v[b + 1].H, d.Q);
            }),
            new("id", "paren pid RParen", Second),

            new("nid", "Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                d.Q = v[b].Q;
                d.B = p.Gen.GenScode(s, d.Q);
            }),
            new("nid", "Hid Slash Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                d.Q = v[b].Q;
                d.B = p.Gen.GenMcode(s, null, v[b + 3].H, d.Q);
            }),
            new("nid", "Hid Netmask Hid", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                d.Q = v[b].Q;
                d.B = p.Gen.GenMcode(s, v[b + 3].S, 0, d.Q);
            }),
            new("nid", "Hid", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                // What an IPv4 address means depends on the qualifier before it.
                d.Q = v[b].Q;
                switch (d.Q.Addr)
                {
                    case QAddr.Port:
                        p.Abort("'port' modifier applied to ip host");
                        break;
                    case QAddr.Portrange:
                        p.Abort("'portrange' modifier applied to ip host");
                        break;
                    case QAddr.Proto:
                        p.Abort("'proto' modifier applied to ip host");
                        break;
                    case QAddr.Protochain:
                        p.Abort("'protochain' modifier applied to ip host");
                        break;
                }
                d.B = p.Gen.GenNcode(s, 0, d.Q);
            }),
            new("nid", "Hid6 Slash Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                d.Q = v[b].Q;
                d.B = p.Gen.GenMcode6(s, null, v[b + 3].H, d.Q);
            }),
            new("nid", "Hid6", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                d.Q = v[b].Q;
                d.B = p.Gen.GenMcode6(s, null, 128, d.Q);
            }),
            new("nid", "Eid", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                d.Q = v[b].Q;
                d.B = p.Gen.GenEcode(s, d.Q);
            }),
            new("nid", "Aid", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                d.Q = v[b].Q;
                d.B = p.Gen.GenAcode(s, d.Q);
            }),
            new("nid", "not id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenNot(v[b + 2].B!); d = v[b + 2]; }),
            new("not", "Bang", CopyBefore),
            new("paren", "LParen", CopyBefore),
            new("pid", "nid", Copy),
            new("pid", "qid and id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenAnd(v[b + 1].B!, v[b + 3].B!); d = v[b + 3]; }),
            new("pid", "qid or id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenOr(v[b + 1].B!, v[b + 3].B!); d = v[b + 3]; }),
            new("qid", "pnum", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                d.Q = v[b].Q;
                d.B = p.Gen.GenNcode(null, v[b + 1].H, d.Q);
            }),
            new("qid", "pid", Copy),
            new("term", "rterm", Copy),
            new("term", "not term", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenNot(v[b + 2].B!); d = v[b + 2]; }),

            new("head", "pqual dqual aqual", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => SetQ(ref d, v[b + 1].I, v[b + 2].I, v[b + 3].I)),
            new("head", "pqual dqual", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => SetQ(ref d, v[b + 1].I, v[b + 2].I, QAddr.Default)),
            new("head", "pqual aqual", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => SetQ(ref d, v[b + 1].I, QDir.Default, v[b + 2].I)),
            new("head", "pqual Proto", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => SetQ(ref d, v[b + 1].I, QDir.Default, QAddr.Proto)),
            new("head", "pqual Protochain", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => SetQ(ref d, v[b + 1].I, QDir.Default, QAddr.Protochain)),
            new("head", "pqual ndaqual", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => SetQ(ref d, v[b + 1].I, QDir.Default, v[b + 2].I)),

            new("rterm", "head id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d = v[b + 2]),
            new("rterm", "paren expr RParen", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { d.B = v[b + 2].B; d.Q = v[b + 1].Q; }),
            new("rterm", "pname", RtermWith(static (p, x) => p.Gen.GenProtoAbbrev(x.I))),
            new("rterm", "arth relop arth", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                d.B = p.Gen.GenRelation(v[b + 2].I, v[b + 1].A!, v[b + 3].A!, false);
                d.Q = QErr;
            }),
            new("rterm", "arth irelop arth", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                d.B = p.Gen.GenRelation(v[b + 2].I, v[b + 1].A!, v[b + 3].A!, true);
                d.Q = QErr;
            }),
            new("rterm", "other", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { d.B = v[b + 1].B; d.Q = QErr; }),
            new("rterm", "atmtype", RtermWith(static (p, x) => p.Gen.GenAtmtypeAbbrev(x.I))),
            new("rterm", "atmmultitype", RtermWith(static (p, x) => p.Gen.GenAtmmultiAbbrev(x.I))),
            new("rterm", "atmfield atmvalue", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { d.B = v[b + 2].B; d.Q = QErr; }),
            new("rterm", "mtp2type", RtermWith(static (p, x) => p.Gen.GenMtp2typeAbbrev(x.I))),
            new("rterm", "mtp3field mtp3value", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { d.B = v[b + 2].B; d.Q = QErr; }),

            new("pqual", "pname", Copy),
            new("pqual", "", Int(QProto.Default)),

            new("dqual", "Src", Int(QDir.Src)),
            new("dqual", "Dst", Int(QDir.Dst)),
            new("dqual", "Src Or Dst", Int(QDir.Or)),
            new("dqual", "Dst Or Src", Int(QDir.Or)),
            new("dqual", "Src And Dst", Int(QDir.And)),
            new("dqual", "Dst And Src", Int(QDir.And)),
            new("dqual", "Addr1", Int(QDir.Addr1)),
            new("dqual", "Addr2", Int(QDir.Addr2)),
            new("dqual", "Addr3", Int(QDir.Addr3)),
            new("dqual", "Addr4", Int(QDir.Addr4)),
            new("dqual", "Ra", Int(QDir.Ra)),
            new("dqual", "Ta", Int(QDir.Ta)),

            new("aqual", "Host", Int(QAddr.Host)),
            new("aqual", "Net", Int(QAddr.Net)),
            new("aqual", "Port", Int(QAddr.Port)),
            new("aqual", "Portrange", Int(QAddr.Portrange)),
            new("ndaqual", "Gateway", Int(QAddr.Gateway)),

            new("pname", "Link", Int(QProto.Link)),
            new("pname", "Ip", Int(QProto.Ip)),
            new("pname", "Arp", Int(QProto.Arp)),
            new("pname", "Rarp", Int(QProto.Rarp)),
            new("pname", "Sctp", Int(QProto.Sctp)),
            new("pname", "Tcp", Int(QProto.Tcp)),
            new("pname", "Udp", Int(QProto.Udp)),
            new("pname", "Icmp", Int(QProto.Icmp)),
            new("pname", "Igmp", Int(QProto.Igmp)),
            new("pname", "Igrp", Int(QProto.Igrp)),
            new("pname", "Pim", Int(QProto.Pim)),
            new("pname", "Vrrp", Int(QProto.Vrrp)),
            new("pname", "Carp", Int(QProto.Carp)),
            new("pname", "Atalk", Int(QProto.Atalk)),
            new("pname", "Aarp", Int(QProto.Aarp)),
            new("pname", "Decnet", Int(QProto.Decnet)),
            new("pname", "Lat", Int(QProto.Lat)),
            new("pname", "Sca", Int(QProto.Sca)),
            new("pname", "Mopdl", Int(QProto.Mopdl)),
            new("pname", "Moprc", Int(QProto.Moprc)),
            new("pname", "Ipv6", Int(QProto.Ipv6)),
            new("pname", "Icmpv6", Int(QProto.Icmpv6)),
            new("pname", "Ah", Int(QProto.Ah)),
            new("pname", "Esp", Int(QProto.Esp)),
            new("pname", "Iso", Int(QProto.Iso)),
            new("pname", "Esis", Int(QProto.Esis)),
            new("pname", "Isis", Int(QProto.Isis)),
            new("pname", "L1", Int(QProto.IsisL1)),
            new("pname", "L2", Int(QProto.IsisL2)),
            new("pname", "Iih", Int(QProto.IsisIih)),
            new("pname", "Lsp", Int(QProto.IsisLsp)),
            new("pname", "Snp", Int(QProto.IsisSnp)),
            new("pname", "Psnp", Int(QProto.IsisPsnp)),
            new("pname", "Csnp", Int(QProto.IsisCsnp)),
            new("pname", "Clnp", Int(QProto.Clnp)),
            new("pname", "Stp", Int(QProto.Stp)),
            new("pname", "Ipx", Int(QProto.Ipx)),
            new("pname", "Netbeui", Int(QProto.Netbeui)),
            new("pname", "Radio", Int(QProto.Radio)),

            new("other", "pqual Broadcast", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenBroadcast(v[b + 1].I)),
            new("other", "pqual Multicast", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenMulticast(v[b + 1].I)),
            new("other", "Less Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenLess(v[b + 2].H)),
            new("other", "Greater Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenGreater(v[b + 2].H)),
            new("other", "Cbyte Num byteop Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenByteop((char)v[b + 3].I, v[b + 2].H, v[b + 4].H)),
            new("other", "Inbound", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenInbound(false)),
            new("other", "Outbound", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenInbound(true)),
            new("other", "Ifindex Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenIfindex(v[b + 2].H)),
            new("other", "Vlan pnum", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenVlan(v[b + 2].H, true)),
            new("other", "Vlan", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenVlan(0, false)),
            new("other", "Mpls pnum", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenMpls(v[b + 2].H, true)),
            new("other", "Mpls", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenMpls(0, false)),
            new("other", "Pppoed", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPppoed()),
            new("other", "Pppoes pnum", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPppoes(v[b + 2].H, true)),
            new("other", "Pppoes", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPppoes(0, false)),
            new("other", "Geneve pnum", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenGeneve(v[b + 2].H, true)),
            new("other", "Geneve", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenGeneve(0, false)),
            new("other", "pfvar", Copy),
            new("other", "pqual p80211", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = v[b + 2].B),
            new("other", "pllc", Copy),

            new("pfvar", "PfIfname Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPfIfname(p.Checked(v[b + 2].S))),
            new("pfvar", "PfRset Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPfRuleset(p.Checked(v[b + 2].S))),
            new("pfvar", "PfRnr Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPfRnr(v[b + 2].H)),
            new("pfvar", "PfSrnr Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPfSrnr(v[b + 2].H)),
            new("pfvar", "PfReason reason", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPfReason(v[b + 2].H)),
            new("pfvar", "PfAction action", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenPfAction(v[b + 2].H)),

            new("p80211", "Type type Subtype subtype", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
                d.B = p.Gen.GenP80211Type(v[b + 2].H | v[b + 4].H, CodeGenerator.Ieee80211TypeMask | CodeGenerator.Ieee80211SubtypeMask)),
            new("p80211", "Type type", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
                d.B = p.Gen.GenP80211Type(v[b + 2].H, CodeGenerator.Ieee80211TypeMask)),
            new("p80211", "Subtype type_subtype", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
                d.B = p.Gen.GenP80211Type(v[b + 2].H, CodeGenerator.Ieee80211TypeMask | CodeGenerator.Ieee80211SubtypeMask)),
            new("p80211", "Dir dir", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenP80211Fcdir(v[b + 2].H)),

            new("type", "Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                uint t = v[b + 1].H;
                if ((t & ~CodeGenerator.Ieee80211TypeMask) != 0)
                    p.Abort($"invalid 802.11 type value 0x{t:x2}");
                d.I = (int)t;
            }),
            new("type", "Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                int t = Ieee80211Names.Type(s);
                if (t == -1)
                    p.Abort($"unknown 802.11 type name \"{s}\"");
                d.I = t;
            }),
            new("subtype", "Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                uint t = v[b + 1].H;
                if ((t & ~CodeGenerator.Ieee80211SubtypeMask) != 0)
                    p.Abort($"invalid 802.11 subtype value 0x{t:x2}");
                d.I = (int)t;
            }),
            new("subtype", "Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                // The names depend on the type given before "subtype" ($-1).
                int st = Ieee80211Names.Subtype(v[b - 1].I, s, out bool typeKnown);
                if (!typeKnown)
                    p.Abort("unknown 802.11 type");
                if (st == -1)
                    p.Abort($"unknown 802.11 subtype name \"{s}\"");
                d.I = st;
            }),
            new("type_subtype", "Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                int ts = Ieee80211Names.TypeSubtype(s);
                if (ts == -1)
                    p.Abort("unknown 802.11 type name");
                d.I = ts;
            }),

            new("pllc", "Llc", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenLlc()),
            new("pllc", "Llc Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 2].S);
                if (string.Equals(s, "i", StringComparison.OrdinalIgnoreCase))
                {
                    d.B = p.Gen.GenLlcI();
                }
                else if (string.Equals(s, "s", StringComparison.OrdinalIgnoreCase))
                {
                    d.B = p.Gen.GenLlcS();
                }
                else if (string.Equals(s, "u", StringComparison.OrdinalIgnoreCase))
                {
                    d.B = p.Gen.GenLlcU();
                }
                else
                {
                    int subtype = LlcNames.SSubtype(s);
                    if (subtype != -1)
                    {
                        d.B = p.Gen.GenLlcSSubtype((uint)subtype);
                    }
                    else
                    {
                        subtype = LlcNames.USubtype(s);
                        if (subtype == -1)
                            p.Abort($"unknown LLC type name \"{s}\"");
                        d.B = p.Gen.GenLlcUSubtype((uint)subtype);
                    }
                }
            }),
            // "rnr" is also the PF rule-number keyword.
            new("pllc", "Llc PfRnr", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.B = p.Gen.GenLlcSSubtype(LlcSap.Rnr)),

            new("dir", "Num", Copy),
            new("dir", "Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                if (string.Equals(s, "nods", StringComparison.OrdinalIgnoreCase))
                    d.I = (int)CodeGenerator.Ieee80211DirNoDs;
                else if (string.Equals(s, "tods", StringComparison.OrdinalIgnoreCase))
                    d.I = (int)CodeGenerator.Ieee80211DirToDs;
                else if (string.Equals(s, "fromds", StringComparison.OrdinalIgnoreCase))
                    d.I = (int)CodeGenerator.Ieee80211DirFromDs;
                else if (string.Equals(s, "dstods", StringComparison.OrdinalIgnoreCase))
                    d.I = (int)CodeGenerator.Ieee80211DirDsToDs;
                else
                    p.Abort("unknown 802.11 direction");
            }),

            new("reason", "Num", Copy),
            new("reason", "Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                int r = PfNames.Reason(s);
                if (r == -1)
                    p.Abort($"unknown PF reason \"{s}\"");
                d.I = r;
            }),
            new("action", "Id", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                var s = p.Checked(v[b + 1].S);
                int a = PfNames.Action(s);
                if (a == -1)
                    p.Abort($"unknown PF action \"{s}\"");
                d.I = a;
            }),

            new("relop", "Gt", Int(Jgt)),
            new("relop", "Geq", Int(Jge)),
            new("relop", "Eq", Int(Jeq)),
            new("irelop", "Leq", Int(Jgt)),
            new("irelop", "Lt", Int(Jge)),
            new("irelop", "Neq", Int(Jeq)),

            new("arth", "pnum", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.A = p.Gen.GenLoadI(v[b + 1].H)),
            new("arth", "narth", Copy),
            new("narth", "pname LBracket arth RBracket", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.A = p.Gen.GenLoad(v[b + 1].I, v[b + 3].A!, 1)),
            new("narth", "pname LBracket arth Colon Num RBracket", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.A = p.Gen.GenLoad(v[b + 1].I, v[b + 3].A!, v[b + 5].H)),
            new("narth", "arth Plus arth", Arith(Add)),
            new("narth", "arth Minus arth", Arith(Sub)),
            new("narth", "arth Star arth", Arith(Mul)),
            new("narth", "arth Slash arth", Arith(Div)),
            new("narth", "arth Percent arth", Arith(Mod)),
            new("narth", "arth Amp arth", Arith(And)),
            new("narth", "arth Pipe arth", Arith(Or)),
            new("narth", "arth Caret arth", Arith(Xor)),
            new("narth", "arth Lsh arth", Arith(Lsh)),
            new("narth", "arth Rsh arth", Arith(Rsh)),
            new("narth", "Minus arth", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.A = p.Gen.GenNeg(v[b + 2].A!), "UMINUS"),
            new("narth", "paren narth RParen", Second),
            new("narth", "Len", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => d.A = p.Gen.GenLoadLen()),

            new("byteop", "Amp", Int('&')),
            new("byteop", "Pipe", Int('|')),
            new("byteop", "Lt", Int('<')),
            new("byteop", "Gt", Int('>')),
            new("byteop", "Eq", Int('=')),

            new("pnum", "Num", Copy),
            new("pnum", "paren pnum RParen", Second),

            new("atmtype", "Lane", Int(AtmKind.Lane)),
            new("atmtype", "Metac", Int(AtmKind.Metac)),
            new("atmtype", "Bcc", Int(AtmKind.Bcc)),
            new("atmtype", "Oamf4Ec", Int(AtmKind.Oamf4Ec)),
            new("atmtype", "Oamf4Sc", Int(AtmKind.Oamf4Sc)),
            new("atmtype", "Sc", Int(AtmKind.Sc)),
            new("atmtype", "Ilmic", Int(AtmKind.Ilmic)),
            new("atmmultitype", "Oam", Int(AtmKind.Oam)),
            new("atmmultitype", "Oamf4", Int(AtmKind.Oamf4)),
            new("atmmultitype", "ConnectMsg", Int(AtmKind.ConnectMsg)),
            new("atmmultitype", "MetaConnect", Int(AtmKind.MetaConnect)),
            new("atmfield", "Vpi", AtmField(AtmKind.Vpi)),
            new("atmfield", "Vci", AtmField(AtmKind.Vci)),
            new("atmvalue", "atmfieldvalue", Copy),
            new("atmvalue", "relop Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
                d.B = p.Gen.GenAtmfieldCode(v[b].AtmFieldType, v[b + 2].H, v[b + 1].I, false)),
            new("atmvalue", "irelop Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
                d.B = p.Gen.GenAtmfieldCode(v[b].AtmFieldType, v[b + 2].H, v[b + 1].I, true)),
            new("atmvalue", "paren atmlistvalue RParen", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { d.B = v[b + 2].B; d.Q = QErr; }),
            new("atmfieldvalue", "Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                d.AtmFieldType = v[b].AtmFieldType;
                if (d.AtmFieldType is AtmKind.Vpi or AtmKind.Vci)
                    d.B = p.Gen.GenAtmfieldCode(d.AtmFieldType, v[b + 1].H, Jeq, false);
            }),
            new("atmlistvalue", "atmfieldvalue", Copy),
            new("atmlistvalue", "atmlistvalue or atmfieldvalue", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenOr(v[b + 1].B!, v[b + 3].B!); d = v[b + 3]; }),

            new("mtp2type", "Fisu", Int(Mtp.Fisu)),
            new("mtp2type", "Lssu", Int(Mtp.Lssu)),
            new("mtp2type", "Msu", Int(Mtp.Msu)),
            new("mtp2type", "HFisu", Int(Mtp.HFisu)),
            new("mtp2type", "HLssu", Int(Mtp.HLssu)),
            new("mtp2type", "HMsu", Int(Mtp.HMsu)),
            new("mtp3field", "Sio", Mtp3Field(Mtp.Sio)),
            new("mtp3field", "Opc", Mtp3Field(Mtp.Opc)),
            new("mtp3field", "Dpc", Mtp3Field(Mtp.Dpc)),
            new("mtp3field", "Sls", Mtp3Field(Mtp.Sls)),
            new("mtp3field", "HSio", Mtp3Field(Mtp.HSio)),
            new("mtp3field", "HOpc", Mtp3Field(Mtp.HOpc)),
            new("mtp3field", "HDpc", Mtp3Field(Mtp.HDpc)),
            new("mtp3field", "HSls", Mtp3Field(Mtp.HSls)),
            new("mtp3value", "mtp3fieldvalue", Copy),
            new("mtp3value", "relop Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
                d.B = p.Gen.GenMtp3fieldCode(v[b].Mtp3FieldType, v[b + 2].H, v[b + 1].I, false)),
            new("mtp3value", "irelop Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
                d.B = p.Gen.GenMtp3fieldCode(v[b].Mtp3FieldType, v[b + 2].H, v[b + 1].I, true)),
            new("mtp3value", "paren mtp3listvalue RParen", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { d.B = v[b + 2].B; d.Q = QErr; }),
            new("mtp3fieldvalue", "Num", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) =>
            {
                d.Mtp3FieldType = v[b].Mtp3FieldType;
                if (d.Mtp3FieldType is Mtp.Sio or Mtp.Opc or Mtp.Dpc or Mtp.Sls or Mtp.HSio or Mtp.HOpc or Mtp.HDpc or Mtp.HSls)
                    d.B = p.Gen.GenMtp3fieldCode(d.Mtp3FieldType, v[b + 1].H, Jeq, false);
            }),
            new("mtp3listvalue", "mtp3fieldvalue", Copy),
            new("mtp3listvalue", "mtp3listvalue or mtp3fieldvalue", static (FilterParser p, ref SemanticValue d, Span<SemanticValue> v, int b) => { CodeGenerator.GenOr(v[b + 1].B!, v[b + 3].B!); d = v[b + 3]; }),
        };
        return r.ToArray();
    }
}
