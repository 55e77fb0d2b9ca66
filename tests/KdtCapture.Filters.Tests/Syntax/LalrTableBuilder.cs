using System.Collections;
using System.Text;
using KdtCapture.Filters.Syntax;

namespace KdtCapture.Filters.Tests.Syntax;

/// <summary>
/// Builds LALR(1) parse tables from <see cref="FilterGrammar"/> the way bison does: LR(0) states,
/// propagated lookaheads, shift/reduce conflicts settled by precedence (else shift), reduce/reduce
/// by rule order, explicit errors for %nonassoc, and the most frequent reduction of each state as
/// its default. It writes src/Filters/Syntax/ParserTables.g.cs.
/// </summary>
internal sealed class LalrTableBuilder
{
    private readonly List<string> _terminals = [];
    private readonly Dictionary<string, int> _terminalIndex = [];
    private readonly List<string> _nonterminals = [];
    private readonly Dictionary<string, int> _nonterminalIndex = [];
    private readonly Dictionary<string, (int Level, char Assoc)> _precedence = [];

    // Rule 0 is "$accept: prog End".
    private readonly List<(int Lhs, int[] Rhs, int Prec, char Assoc)> _rules = [];

    private int T => _terminals.Count;
    private const int Hash = -1; // the propagation marker, kept at bit index T

    private bool[] _nullable = [];
    private BitArray[] _first = [];

    private readonly List<(int Rule, int Dot)[]> _kernels = [];
    private readonly Dictionary<string, int> _kernelIds = [];
    private readonly List<Dictionary<int, int>> _transitions = []; // symbol (terminal i, nonterminal T+i) → state

    public int ShiftReduceConflicts { get; private set; }
    public int ReduceReduceConflicts { get; private set; }

    public int StateCount => _kernels.Count;

    // Outputs.
    private short[] _action = [];
    private short[] _default = [];
    private bool[] _needsLookahead = [];
    private short[] _goto = [];

    public LalrTableBuilder()
    {
        foreach (var name in Enum.GetNames<TokenKind>())
        {
            if (name == nameof(TokenKind.Count))
                continue;
            _terminalIndex[name] = _terminals.Count;
            _terminals.Add(name);
        }
        for (int level = 0; level < FilterGrammar.Precedence.Length; level++)
        {
            var (assoc, tokens) = FilterGrammar.Precedence[level];
            foreach (var t in tokens)
                _precedence[t] = (level + 1, assoc);
        }

        _nonterminalIndex["$accept"] = 0;
        _nonterminals.Add("$accept");
        foreach (var p in FilterGrammar.Rules)
        {
            if (!_nonterminalIndex.ContainsKey(p.Lhs))
            {
                _nonterminalIndex[p.Lhs] = _nonterminals.Count;
                _nonterminals.Add(p.Lhs);
            }
        }

        _rules.Add((0, [T + _nonterminalIndex[FilterGrammar.Start], _terminalIndex["End"]], 0, ' '));
        foreach (var p in FilterGrammar.Rules)
        {
            var rhs = p.Rhs.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Symbol).ToArray();
            // A rule's precedence is that of its last terminal, or of its %prec token.
            string? precToken = p.Prec;
            if (precToken is null)
            {
                for (int i = rhs.Length - 1; i >= 0; i--)
                {
                    if (rhs[i] < T)
                    {
                        precToken = _terminals[rhs[i]];
                        break;
                    }
                }
            }
            var prec = precToken is not null && _precedence.TryGetValue(precToken, out var pr) ? pr : (0, ' ');
            _rules.Add((_nonterminalIndex[p.Lhs], rhs, prec.Item1, prec.Item2));
        }
    }

    private int Symbol(string name)
    {
        if (_terminalIndex.TryGetValue(name, out int t))
            return t;
        if (_nonterminalIndex.TryGetValue(name, out int n))
            return T + n;
        throw new InvalidOperationException($"unknown grammar symbol '{name}'");
    }

    private bool IsTerminal(int symbol) => symbol < T;

    public void Build()
    {
        ComputeFirst();
        BuildLr0();
        var lookaheads = ComputeLalrLookaheads();
        BuildActions(lookaheads);
    }

    private void ComputeFirst()
    {
        int n = _nonterminals.Count;
        _nullable = new bool[n];
        _first = new BitArray[n];
        for (int i = 0; i < n; i++)
            _first[i] = new BitArray(T + 1);
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (lhs, rhs, _, _) in _rules)
            {
                bool allNullable = true;
                foreach (int s in rhs)
                {
                    if (IsTerminal(s))
                    {
                        if (!_first[lhs][s])
                        {
                            _first[lhs][s] = true;
                            changed = true;
                        }
                        allNullable = false;
                        break;
                    }
                    var before = (BitArray)_first[lhs].Clone();
                    _first[lhs].Or(_first[s - T]);
                    if (!SameBits(before, _first[lhs]))
                        changed = true;
                    if (!_nullable[s - T])
                    {
                        allNullable = false;
                        break;
                    }
                }
                if (allNullable && !_nullable[lhs])
                {
                    _nullable[lhs] = true;
                    changed = true;
                }
            }
        }
    }

    private static bool SameBits(BitArray a, BitArray b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i])
                return false;
        }
        return true;
    }

    private List<(int Rule, int Dot)> Closure0(IEnumerable<(int Rule, int Dot)> kernel)
    {
        var items = new List<(int, int)>(kernel);
        var seen = new HashSet<(int, int)>(items);
        for (int i = 0; i < items.Count; i++)
        {
            var (r, d) = items[i];
            var rhs = _rules[r].Rhs;
            if (d < rhs.Length && !IsTerminal(rhs[d]))
            {
                int nt = rhs[d] - T;
                for (int q = 0; q < _rules.Count; q++)
                {
                    if (_rules[q].Lhs == nt && seen.Add((q, 0)))
                        items.Add((q, 0));
                }
            }
        }
        return items;
    }

    private static string KernelKey((int Rule, int Dot)[] kernel) =>
        string.Join(";", kernel.Select(k => $"{k.Rule}.{k.Dot}"));

    private int AddState((int Rule, int Dot)[] kernel)
    {
        Array.Sort(kernel);
        var key = KernelKey(kernel);
        if (_kernelIds.TryGetValue(key, out int id))
            return id;
        id = _kernels.Count;
        _kernels.Add(kernel);
        _kernelIds[key] = id;
        _transitions.Add([]);
        return id;
    }

    private void BuildLr0()
    {
        AddState([(0, 0)]);
        for (int s = 0; s < _kernels.Count; s++)
        {
            var closure = Closure0(_kernels[s]);
            // Group by the symbol after the dot, in order of first appearance.
            var order = new List<int>();
            var next = new Dictionary<int, List<(int, int)>>();
            foreach (var (r, d) in closure)
            {
                var rhs = _rules[r].Rhs;
                if (d >= rhs.Length)
                    continue;
                int sym = rhs[d];
                if (!next.TryGetValue(sym, out var list))
                {
                    next[sym] = list = [];
                    order.Add(sym);
                }
                list.Add((r, d + 1));
            }
            foreach (int sym in order)
                _transitions[s][sym] = AddState(next[sym].ToArray());
        }
    }

    /// <summary>LR(1) closure of items with lookahead sets (bit T marks "propagate").</summary>
    private Dictionary<(int Rule, int Dot), BitArray> Closure1(IEnumerable<((int Rule, int Dot) Item, BitArray La)> seed)
    {
        var result = new Dictionary<(int, int), BitArray>();
        var work = new Queue<(int, int)>();
        foreach (var (item, la) in seed)
        {
            result[item] = (BitArray)la.Clone();
            work.Enqueue(item);
        }
        while (work.Count > 0)
        {
            var (r, d) = work.Dequeue();
            var rhs = _rules[r].Rhs;
            if (d >= rhs.Length || IsTerminal(rhs[d]))
                continue;
            // Lookahead for B → .γ: FIRST(β) plus this item's lookahead when β is nullable.
            var la = new BitArray(T + 1);
            bool betaNullable = true;
            for (int i = d + 1; i < rhs.Length; i++)
            {
                int s = rhs[i];
                if (IsTerminal(s))
                {
                    la[s] = true;
                    betaNullable = false;
                    break;
                }
                la.Or(_first[s - T]);
                if (!_nullable[s - T])
                {
                    betaNullable = false;
                    break;
                }
            }
            if (betaNullable)
                la.Or(result[(r, d)]);
            int nt = rhs[d] - T;
            for (int q = 0; q < _rules.Count; q++)
            {
                if (_rules[q].Lhs != nt)
                    continue;
                var key = (q, 0);
                if (!result.TryGetValue(key, out var existing))
                {
                    result[key] = (BitArray)la.Clone();
                    work.Enqueue(key);
                }
                else
                {
                    var before = (BitArray)existing.Clone();
                    existing.Or(la);
                    if (!SameBits(before, existing))
                        work.Enqueue(key);
                }
            }
        }
        return result;
    }

    /// <summary>Lookahead sets of every kernel item, by spontaneous generation and propagation.</summary>
    private Dictionary<(int State, int Rule, int Dot), BitArray> ComputeLalrLookaheads()
    {
        var la = new Dictionary<(int, int, int), BitArray>();
        var propagate = new Dictionary<(int, int, int), List<(int, int, int)>>();
        for (int s = 0; s < _kernels.Count; s++)
        {
            foreach (var k in _kernels[s])
                la[(s, k.Rule, k.Dot)] = new BitArray(T + 1);
        }

        for (int s = 0; s < _kernels.Count; s++)
        {
            foreach (var k in _kernels[s])
            {
                var marker = new BitArray(T + 1) { [T] = true };
                var closure = Closure1([(k, marker)]);
                foreach (var ((r, d), set) in closure)
                {
                    var rhs = _rules[r].Rhs;
                    if (d >= rhs.Length)
                        continue;
                    int target = _transitions[s][rhs[d]];
                    var targetItem = (target, r, d + 1);
                    for (int t = 0; t < T; t++)
                    {
                        if (set[t])
                            la[targetItem][t] = true;
                    }
                    if (set[T])
                    {
                        if (!propagate.TryGetValue((s, k.Rule, k.Dot), out var list))
                            propagate[(s, k.Rule, k.Dot)] = list = [];
                        list.Add(targetItem);
                    }
                }
            }
        }

        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (from, targets) in propagate)
            {
                var src = la[from];
                foreach (var to in targets)
                {
                    var dst = la[to];
                    for (int t = 0; t < T; t++)
                    {
                        if (src[t] && !dst[t])
                        {
                            dst[t] = true;
                            changed = true;
                        }
                    }
                }
            }
        }
        return la;
    }

    private void BuildActions(Dictionary<(int State, int Rule, int Dot), BitArray> kernelLa)
    {
        int n = _kernels.Count;
        int nts = _nonterminals.Count;
        _action = new short[n * T];
        _default = new short[n];
        _needsLookahead = new bool[n];
        _goto = new short[n * nts];
        Array.Fill(_goto, (short)-1);

        int acceptState = _transitions[0][T + _nonterminalIndex[FilterGrammar.Start]];

        for (int s = 0; s < n; s++)
        {
            var seed = _kernels[s].Select(k => ((k.Rule, k.Dot), kernelLa[(s, k.Rule, k.Dot)]));
            var closure = Closure1(seed);

            // Reductions in rule order, each with its lookahead set.
            var reductions = closure
                .Where(kv => kv.Key.Dot == _rules[kv.Key.Rule].Rhs.Length && kv.Key.Rule != 0)
                .Select(kv => (Rule: kv.Key.Rule, La: (BitArray)kv.Value.Clone()))
                .OrderBy(x => x.Rule)
                .ToList();

            var shifts = new Dictionary<int, int>();
            foreach (var (sym, target) in _transitions[s])
            {
                if (IsTerminal(sym))
                    shifts[sym] = target;
                else
                    _goto[s * nts + (sym - T)] = (short)target;
            }

            // Precedence settles shift/reduce conflicts where both sides have one.
            var errors = new List<int>();
            var lookaheadSet = new BitArray(T + 1);
            foreach (var t in shifts.Keys)
                lookaheadSet[t] = true;
            foreach (var (rule, set) in reductions)
            {
                var (_, _, rprec, _) = _rules[rule];
                if (rprec == 0)
                    continue;
                for (int t = 0; t < T; t++)
                {
                    if (!set[t] || !lookaheadSet[t])
                        continue;
                    if (!_precedence.TryGetValue(_terminals[t], out var tp))
                        continue;
                    if (tp.Level < rprec)
                    {
                        FlushShift(t);
                    }
                    else if (tp.Level > rprec)
                    {
                        set[t] = false;
                    }
                    else if (tp.Assoc == 'L')
                    {
                        FlushShift(t);
                    }
                    else if (tp.Assoc == 'R')
                    {
                        set[t] = false;
                    }
                    else
                    {
                        FlushShift(t);
                        set[t] = false;
                        errors.Add(t);
                    }
                }
            }

            void FlushShift(int t)
            {
                lookaheadSet[t] = false;
                shifts.Remove(t);
            }

            // Count what precedence left unresolved, as bison reports it.
            var shiftSet = new BitArray(T + 1);
            foreach (var t in shifts.Keys)
                shiftSet[t] = true;
            var seenReduce = new int[T];
            foreach (var (_, set) in reductions)
            {
                for (int t = 0; t < T; t++)
                {
                    if (!set[t])
                        continue;
                    if (shiftSet[t])
                        ShiftReduceConflicts++;
                    if (seenReduce[t]++ == 1)
                        ReduceReduceConflicts++;
                }
            }

            // The action row: reductions (first rule wins), then shifts over them, then explicit errors.
            var row = new int[T];
            for (int i = reductions.Count - 1; i >= 0; i--)
            {
                for (int t = 0; t < T; t++)
                {
                    if (reductions[i].La[t])
                        row[t] = -reductions[i].Rule;
                }
            }
            foreach (var (t, target) in shifts)
                row[t] = s == acceptState && t == _terminalIndex["End"] ? ParserTables.Accept : target + 1;
            const int explicitError = int.MinValue;
            foreach (int t in errors)
                row[t] = explicitError;

            // The most frequent reduction becomes the default (replacing its entries and the errors).
            int defaultRule = 0;
            int max = 0;
            foreach (var (rule, _) in reductions)
            {
                int count = row.Count(a => a == -rule);
                if (count > max)
                {
                    max = count;
                    defaultRule = rule;
                }
            }
            if (defaultRule != 0)
            {
                for (int t = 0; t < T; t++)
                {
                    if (row[t] == -defaultRule)
                        row[t] = 0;
                }
            }
            else
            {
                for (int t = 0; t < T; t++)
                {
                    if (row[t] == explicitError)
                        row[t] = 0;
                }
            }

            _default[s] = (short)defaultRule;
            bool needs = false;
            for (int t = 0; t < T; t++)
            {
                int a = row[t];
                _action[s * T + t] = a == explicitError ? ParserTables.Error : (short)a;
                if (a != 0)
                    needs = true;
            }
            _needsLookahead[s] = needs;
        }
    }

    /// <summary>The C# source of ParserTables.g.cs.</summary>
    public string Emit()
    {
        var sb = new StringBuilder();
        sb.AppendLine("// <auto-generated>");
        sb.AppendLine("// LALR(1) tables for FilterGrammar, written by the test project's LalrTableBuilder.");
        sb.AppendLine("// Regenerate: KDT_REGENERATE_PARSER_TABLES=1 dotnet test (in tests/KdtCapture.Filters.Tests).");
        sb.AppendLine("// </auto-generated>");
        sb.AppendLine("namespace KdtCapture.Filters.Syntax;");
        sb.AppendLine();
        sb.AppendLine("internal static partial class ParserTables");
        sb.AppendLine("{");
        sb.AppendLine($"    public const int StateCount = {_kernels.Count};");
        sb.AppendLine($"    public const int TerminalCount = {T};");
        sb.AppendLine($"    public const int NonterminalCount = {_nonterminals.Count};");
        sb.AppendLine($"    public const int RuleCount = {_rules.Count};");
        sb.AppendLine();
        EmitArray(sb, "short", "ActionTable", _action.Select(v => v.ToString()));
        EmitArray(sb, "short", "DefaultTable", _default.Select(v => v.ToString()));
        EmitArray(sb, "byte", "LookaheadTable", _needsLookahead.Select(v => v ? "1" : "0"));
        EmitArray(sb, "short", "GotoTable", _goto.Select(v => v.ToString()));
        EmitArray(sb, "short", "LhsTable", _rules.Select(r => r.Lhs.ToString()));
        EmitArray(sb, "byte", "LengthTable", _rules.Select(r => r.Rhs.Length.ToString()));
        sb.AppendLine("}");
        return sb.ToString();
    }

    private static void EmitArray(StringBuilder sb, string type, string name, IEnumerable<string> values)
    {
        sb.AppendLine($"    private static ReadOnlySpan<{type}> {name} =>");
        sb.AppendLine("    [");
        var list = values.ToList();
        for (int i = 0; i < list.Count; i += 24)
            sb.AppendLine("        " + string.Join(", ", list.Skip(i).Take(24)) + ",");
        sb.AppendLine("    ];");
        sb.AppendLine();
    }
}
