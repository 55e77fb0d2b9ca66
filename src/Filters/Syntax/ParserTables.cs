namespace KdtCapture.Filters.Syntax;

/// <summary>Access to the generated LALR(1) tables (ParserTables.g.cs).</summary>
internal static partial class ParserTables
{
    /// <summary>An explicit syntax error (a %nonassoc conflict).</summary>
    public const short Error = short.MinValue;

    /// <summary>Shifting the end of input in the final state: the expression is complete.</summary>
    public const short Accept = short.MaxValue;

    /// <summary>0: use the state's default; &gt; 0: shift to state (value - 1); &lt; 0: reduce by rule -value.</summary>
    public static int Action(int state, int terminal) => ActionTable[state * TerminalCount + terminal];

    /// <summary>The rule a state reduces by when its row has no entry for the token; 0 when that is an error.</summary>
    public static int DefaultReduction(int state) => DefaultTable[state];

    /// <summary>Whether the state must look at the next token (bison reads one only then).</summary>
    public static bool NeedsLookahead(int state) => LookaheadTable[state] != 0;

    public static int Goto(int state, int nonterminal) => GotoTable[state * NonterminalCount + nonterminal];

    public static int RuleLhs(int rule) => LhsTable[rule];

    public static int RuleLength(int rule) => LengthTable[rule];
}
