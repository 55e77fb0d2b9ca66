namespace KdtCapture.Bpf.Btf;

/// <summary>Nearest names for "no such function/type" messages: edit distance, then common prefix.</summary>
public static class BtfSuggestions
{
    public static IReadOnlyList<string> Nearest(Btf btf, string name, BtfKind kind, int max = 5) => Nearest(btf, name, kind, "", max);

    /// <summary>
    /// Nearest names among those starting with <paramref name="prefix"/> (e.g. "btf_trace_"),
    /// compared and returned without it.
    /// </summary>
    public static IReadOnlyList<string> Nearest(Btf btf, string name, BtfKind kind, string prefix, int max = 5)
    {
        var prefixUtf8 = System.Text.Encoding.UTF8.GetBytes(prefix);
        if (name.Length == 0 || name.Length > 128)
            return [];
        Span<byte> query = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(name.Length)];
        query = query[..System.Text.Encoding.UTF8.GetBytes(name, query)];
        int threshold = Math.Max(2, query.Length / 3);
        var best = new List<(int Distance, int Prefix, int Id)>();
        Span<int> row = stackalloc int[query.Length + 1];
        foreach (var t in btf.Types)
        {
            if (t.IsAnonymous || !SameFamily(t.Kind, kind))
                continue;
            var candidate = t.NameUtf8;
            if (!candidate.StartsWith(prefixUtf8))
                continue;
            candidate = candidate[prefixUtf8.Length..];
            if (Math.Abs(candidate.Length - query.Length) > threshold && candidate.IndexOf(query) < 0)
                continue;
            int d = Distance(query, candidate, row, threshold);
            int common = query.CommonPrefixLength(candidate);
            // A name that contains the query whole (ip_output → __ip_output) is a good guess too.
            if (d > threshold && !(candidate.IndexOf(query) >= 0 && query.Length >= 4))
                continue;
            best.Add((d, common, t.Id));
        }
        best.Sort((a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : b.Prefix.CompareTo(a.Prefix));
        var result = new List<string>();
        foreach (var (_, _, id) in best)
        {
            string n = btf.GetType(id).Name[prefix.Length..];
            if (!result.Contains(n))
                result.Add(n);
            if (result.Count == max)
                break;
        }
        return result;
    }

    private static bool SameFamily(BtfKind candidate, BtfKind wanted) => wanted switch
    {
        BtfKind.Function => candidate == BtfKind.Function,
        BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Typedef or BtfKind.Forward
            => candidate is BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Typedef,
        _ => candidate == wanted,
    };

    /// <summary>Levenshtein distance, giving up (returning limit + 1) once every cell of a row exceeds the limit.</summary>
    internal static int Distance(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<int> row, int limit)
    {
        for (int i = 0; i <= a.Length; i++)
            row[i] = i;
        for (int j = 1; j <= b.Length; j++)
        {
            int diagonal = row[0];
            row[0] = j;
            int rowMin = row[0];
            for (int i = 1; i <= a.Length; i++)
            {
                int above = row[i];
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                row[i] = Math.Min(Math.Min(row[i - 1] + 1, above + 1), diagonal + cost);
                diagonal = above;
                rowMin = Math.Min(rowMin, row[i]);
            }
            if (rowMin > limit)
                return limit + 1;
        }
        return row[a.Length];
    }
}
