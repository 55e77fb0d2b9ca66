namespace KdtCapture.Filters.Tests.Syntax;

public class ParserTableTests
{
    private static string TablesPath([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../../src/Filters/Syntax/ParserTables.g.cs"));

    [Fact]
    public void GrammarHasLibpcapsConflictCount()
    {
        // libpcap's grammar declares "%expect 38": 38 shift/reduce conflicts that bison settles by shifting.
        var builder = new LalrTableBuilder();
        builder.Build();
        Assert.Equal(38, builder.ShiftReduceConflicts);
        Assert.Equal(0, builder.ReduceReduceConflicts);
    }

    [Fact]
    public void GeneratedTablesAreCurrent()
    {
        var builder = new LalrTableBuilder();
        builder.Build();
        string text = builder.Emit();
        string path = TablesPath();
        if (Environment.GetEnvironmentVariable("KDT_REGENERATE_PARSER_TABLES") == "1")
            File.WriteAllText(path, text);
        Assert.True(File.Exists(path), $"{path} is missing; run with KDT_REGENERATE_PARSER_TABLES=1");
        Assert.Equal(text, File.ReadAllText(path));
    }
}
