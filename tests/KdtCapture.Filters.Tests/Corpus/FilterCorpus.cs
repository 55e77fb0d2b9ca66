using System.Runtime.CompilerServices;
using System.Text;

namespace KdtCapture.Testing;

/// <summary>One expression of the filter corpus.</summary>
/// <param name="Expression">The pcap-filter text, exactly as it is handed to the compiler.</param>
/// <param name="ExpectError">The corpus marks it as invalid on every link type ("error:" lines).</param>
/// <param name="Group">The "###" heading it sits under.</param>
/// <param name="Line">Its line in the corpus file (1-based).</param>
public sealed record CorpusEntry(string Expression, bool ExpectError, string Group, int Line)
{
    /// <summary>The expression as it is written in the corpus (quoted when it needs to be).</summary>
    public string Display => FilterCorpus.Quote(Expression);

    public override string ToString() => $"{Line}: {Display}";
}

/// <summary>
/// The pcap-filter expression corpus (Corpus/expressions.pcapf). Format, one expression a line:
/// <list type="bullet">
/// <item><c>### heading</c> starts a group; other lines starting with <c>#</c> are comments; blank lines are skipped.</item>
/// <item><c>error: EXPR</c> marks an expression libpcap must refuse on every link type.</item>
/// <item>An expression is taken verbatim (inner spacing kept, the line's ends trimmed) unless it is written
/// in double quotes; then <c>\t \n \r \" \\</c> are escapes (write pcap's backslash as <c>\\</c> there) and any other
/// backslash is literal, which gives leading/trailing blanks, tabs, newlines and the empty expression.</item>
/// </list>
/// </summary>
public static class FilterCorpus
{
    public const string FileName = "expressions.pcapf";
    public const string ErrorPrefix = "error:";

    private static readonly Lazy<IReadOnlyList<CorpusEntry>> Default = new(() => Load(DefaultPath));

    /// <summary>The corpus of the repository.</summary>
    public static IReadOnlyList<CorpusEntry> Entries => Default.Value;

    /// <summary>Where the corpus file is: found from the running assembly upwards, else next to this source file.</summary>
    public static string DefaultPath => FindDefaultPath();

    public static IReadOnlyList<CorpusEntry> Load(string path) => Parse(File.ReadLines(path));

    public static IReadOnlyList<CorpusEntry> Parse(IEnumerable<string> lines)
    {
        var entries = new List<CorpusEntry>();
        string group = "";
        int lineNo = 0;
        foreach (var raw in lines)
        {
            lineNo++;
            var line = raw.Trim(' ', '\t', '\r');
            if (line.Length == 0)
                continue;
            if (line.StartsWith("###", StringComparison.Ordinal))
            {
                group = line.TrimStart('#').Trim();
                continue;
            }
            if (line[0] == '#')
                continue;
            bool error = false;
            if (line.StartsWith(ErrorPrefix, StringComparison.Ordinal))
            {
                error = true;
                line = line[ErrorPrefix.Length..].TrimStart(' ', '\t');
            }
            string expr = line.Length >= 2 && line[0] == '"' && line[^1] == '"'
                ? Unquote(line[1..^1])
                : line;
            entries.Add(new CorpusEntry(expr, error, group, lineNo));
        }
        return entries;
    }

    /// <summary>Expressions given one a line (as in a file for FilterDiff -f): no markers, comments allowed.</summary>
    public static IReadOnlyList<CorpusEntry> FromExpressions(IEnumerable<string> expressions, string group = "")
    {
        int n = 0;
        return expressions.Select(e => new CorpusEntry(e, false, group, ++n)).ToList();
    }

    private static string Unquote(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c != '\\' || i + 1 == s.Length)
            {
                sb.Append(c);
                continue;
            }
            char next = s[i + 1];
            switch (next)
            {
                case 't': sb.Append('\t'); i++; break;
                case 'n': sb.Append('\n'); i++; break;
                case 'r': sb.Append('\r'); i++; break;
                case '"': sb.Append('"'); i++; break;
                case '\\': sb.Append('\\'); i++; break;
                default: sb.Append(c); break; // "\tcp" stays a backslash (pcap's escaped keyword) unless it is \t
            }
        }
        return sb.ToString();
    }

    /// <summary>The expression as a corpus line would carry it: verbatim when that reads back the same, else quoted.</summary>
    public static string Quote(string expression)
    {
        bool plain = expression.Length > 0
            && expression == expression.Trim(' ', '\t', '\r')
            && !expression.Contains('\n', StringComparison.Ordinal)
            && !expression.Contains('\r', StringComparison.Ordinal)
            && !expression.StartsWith('#')
            && !expression.StartsWith(ErrorPrefix, StringComparison.Ordinal)
            && !(expression.Length >= 2 && expression[0] == '"' && expression[^1] == '"');
        if (plain)
            return expression;
        var sb = new StringBuilder("\"");
        foreach (char c in expression)
        {
            sb.Append(c switch
            {
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                '"' => "\\\"",
                '\\' => "\\\\",
                _ => c.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }

    private static string FindDefaultPath([CallerFilePath] string sourceFile = "")
    {
        var rel = Path.Combine("tests", "KdtCapture.Filters.Tests", "Corpus", FileName);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, rel);
            if (File.Exists(candidate))
                return candidate;
        }
        var besideSource = Path.Combine(Path.GetDirectoryName(sourceFile) ?? ".", FileName);
        if (File.Exists(besideSource))
            return besideSource;
        throw new FileNotFoundException($"the filter corpus ({rel}) was not found above {AppContext.BaseDirectory}");
    }
}
