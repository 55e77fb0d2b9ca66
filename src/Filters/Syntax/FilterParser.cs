using KdtCapture.Filters.CodeGen;

namespace KdtCapture.Filters.Syntax;

/// <summary>
/// An LALR(1) parser over the tables built from <see cref="FilterGrammar"/>. It behaves like a
/// bison parser: it reads a token only when the state needs one (so code generation and lexical
/// errors happen in the same order as in libpcap), and reduces by a state's default rule on any
/// token that has no action of its own.
/// </summary>
internal sealed class FilterParser
{
    private const string SyntaxErrorMessage = "can't parse filter expression: syntax error";

    /// <summary>Actions by table rule number (rule 0 is the start rule, which has none).</summary>
    private static readonly RuleAction?[] Actions = [null, .. FilterGrammar.Rules.Select(r => r.Action)];

    private readonly Lexer _lexer;

    public CodeGenerator Gen { get; }

    private FilterParser(string text, CodeGenerator gen)
    {
        Gen = gen;
        _lexer = new Lexer(text, gen);
    }

    /// <summary>Parses <paramref name="text"/>, generating code as rules reduce; throws <see cref="FilterCompileException"/> with libpcap's message.</summary>
    public static void Parse(string text, CodeGenerator gen) => new FilterParser(text, gen).Run();

    /// <summary>A string token the lexer marked bad: stop with the lexer's message.</summary>
    public string Checked(string? s) => s ?? throw Stop();

    /// <summary>A grammar action's own check failed: record the message (unless an earlier one exists) and stop.</summary>
    public void Abort(string message)
    {
        Gen.SetError(message);
        throw Stop();
    }

    private FilterCompileException Stop() => new(Gen.PendingError ?? SyntaxErrorMessage);

    [ThreadStatic]
    private static int[]? t_states;

    [ThreadStatic]
    private static SemanticValue[]? t_values;

    private void Run()
    {
        // The stacks are reused across parses on a thread; values keep no references afterwards.
        var states = t_states ?? new int[64];
        var values = t_values ?? new SemanticValue[66];
        t_states = null;
        t_values = null;
        int used = 0;
        try
        {
            used = Run(ref states, ref values);
        }
        finally
        {
            // Drop references to this parse's blocks and strings (the slot above the top too).
            Array.Clear(values, 0, Math.Min(values.Length, used + 2));
            t_states = states;
            t_values = values;
        }
    }

    /// <summary>Runs the automaton; returns the deepest stack depth reached.</summary>
    private int Run(ref int[] states, ref SemanticValue[] values)
    {
        int sp = 0;
        int deepest = 0;
        states[0] = 0;
        int lookahead = -1;

        while (true)
        {
            int state = states[sp];
            int action;
            if (!ParserTables.NeedsLookahead(state))
            {
                action = -ParserTables.DefaultReduction(state);
            }
            else
            {
                if (lookahead < 0)
                    lookahead = (int)_lexer.Next();
                action = ParserTables.Action(state, lookahead);
                if (action == 0)
                {
                    int rule = ParserTables.DefaultReduction(state);
                    action = rule != 0 ? -rule : ParserTables.Error;
                }
            }

            if (action == ParserTables.Accept)
                return deepest;

            if (action == ParserTables.Error || action == 0)
            {
                Gen.SetError(SyntaxErrorMessage);
                throw Stop();
            }

            if (action > 0)
            {
                // Shift: the token's value is whatever the lexer holds now, as with yylval.
                if (sp + 2 >= states.Length)
                    Grow(ref states, ref values);
                sp++;
                if (sp > deepest)
                    deepest = sp;
                states[sp] = action - 1;
                values[sp] = _lexer.Value;
                lookahead = -1;
                continue;
            }

            // Reduce: $$ starts as $1 (for an empty rule, the stale slot above the top, as in yacc).
            int r = -action;
            int len = ParserTables.RuleLength(r);
            int b = sp - len;
            if (sp + 2 >= states.Length)
                Grow(ref states, ref values);
            // $$ is built in place: it lands where $1 was (for an empty rule, in the stale slot above
            // the top), so starting from $1's value is yacc's "$$ = $1".
            Actions[r]?.Invoke(this, ref values[b + 1], values, b);
            sp = b + 1;
            if (sp > deepest)
                deepest = sp;
            states[sp] = ParserTables.Goto(states[b], ParserTables.RuleLhs(r));
        }
    }

    private static void Grow(ref int[] states, ref SemanticValue[] values)
    {
        Array.Resize(ref states, states.Length * 2);
        Array.Resize(ref values, states.Length + 2);
    }
}
