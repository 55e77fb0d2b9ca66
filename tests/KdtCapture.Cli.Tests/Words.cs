namespace KdtCapture.Cli.Tests;

/// <summary>Splits a test's command line into words the way sh does for plain words and '...' quotes.</summary>
public static class Words
{
    public static string[] Split(string commandLine)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        bool inWord = false, quoted = false;
        foreach (char c in commandLine)
        {
            if (quoted)
            {
                if (c == '\'')
                    quoted = false;
                else
                    current.Append(c);
            }
            else if (c == '\'')
            {
                quoted = true;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }
        if (quoted)
            throw new ArgumentException($"unbalanced quote in {commandLine}");
        if (inWord)
            words.Add(current.ToString());
        return [.. words];
    }
}
