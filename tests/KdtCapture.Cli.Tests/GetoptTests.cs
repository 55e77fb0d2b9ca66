using KdtCapture.Cli.Capture;
using KdtCapture.Cli.CommandLine;

namespace KdtCapture.Cli.Tests;

/// <summary>The parser against glibc getopt_long's behaviour, measured with tcpdump's option table.</summary>
public class GetoptTests
{
    private static (List<(char, string?)> Options, List<string> Operands) Parse(string commandLine, bool posixlyCorrect = false)
    {
        var getopt = new Getopt(CaptureOptionTable.ShortOptions, CaptureOptionTable.LongOptions);
        var operands = new List<string>();
        var options = getopt.Parse(Words.Split(commandLine), operands, posixlyCorrect)
            .Select(o => ((char)o.Id, o.Argument)).ToList();
        return (options, operands);
    }

    private static string Render(string commandLine, bool posixlyCorrect = false)
    {
        var (options, operands) = Parse(commandLine, posixlyCorrect);
        var parts = options.Select(o => o.Item2 is null ? $"-{o.Item1}" : $"-{o.Item1}[{o.Item2}]");
        return string.Join(' ', parts) + " | " + string.Join(' ', operands);
    }

    [Theory]
    [InlineData("-d ip", "-d | ip")]
    [InlineData("-dd ip", "-d -d | ip")]
    [InlineData("-ddd ip", "-d -d -d | ip")]
    [InlineData("-d -d ip", "-d -d | ip")]
    [InlineData("-nnd ip", "-n -n -d | ip")]
    [InlineData("-s0 -d", "-s[0] -d | ")]
    [InlineData("-s 0 -d", "-s[0] -d | ")]
    [InlineData("-ds0", "-d -s[0] | ")]
    [InlineData("-y EN10MB -d", "-y[EN10MB] -d | ")]
    [InlineData("-Q -d ip", "-Q[-d] | ip")]
    [InlineData("ip -d and tcp", "-d | ip and tcp")]
    [InlineData("-d -- -d ip", "-d | -d ip")]
    [InlineData("-d - ip", "-d | - ip")]
    [InlineData("-d '' ip", "-d |  ip")]
    [InlineData("--snapshot-length=5 -d", "-s[5] -d | ")]
    [InlineData("--snapshot-length 5", "-s[5] | ")]
    [InlineData("--snap=5", "-s[5] | ")]
    [InlineData("--sn -d", "-s[-d] | ")]
    [InlineData("--no-o ip", "-O | ip")]
    [InlineData("--linktype= -d", "-y[] -d | ")]
    [InlineData("--interface any", "-i[any] | ")]
    public void ParsesAsGlibcDoes(string commandLine, string expected)
        => Assert.Equal(expected, Render(commandLine));

    [Fact]
    public void PosixlyCorrectStopsAtFirstOperand()
        => Assert.Equal("-d | ip -n", Render("-d ip -n", posixlyCorrect: true));

    [Theory]
    [InlineData("-g", "invalid option -- 'g'")]
    [InlineData("-d:", "invalid option -- ':'")]
    [InlineData("-y", "option requires an argument -- 'y'")]
    [InlineData("-dy", "option requires an argument -- 'y'")]
    [InlineData("--bogus=1", "unrecognized option '--bogus=1'")]
    // kdt's --netns (after tcpdump's options in the table) joins the candidates.
    [InlineData("--n", "option '--n' is ambiguous; possibilities: '--nano' '--no-optimize' '--no-promiscuous-mode' '--number' '--netns'")]
    // glibc lists the candidates in table order: tcpdump's two, then kdt's own --drop-reason.
    [InlineData("--d=1", "option '--d=1' is ambiguous; possibilities: '--dont-verify-checksums' '--direction' '--drop-reason'")]
    [InlineData("--count=3", "option '--count' doesn't allow an argument")]
    [InlineData("--cou=3", "option '--count' doesn't allow an argument")]
    [InlineData("--snap", "option '--snapshot-length' requires an argument")]
    public void RefusesAsGlibcDoes(string commandLine, string message)
    {
        var e = Assert.Throws<GetoptException>(() => Parse(commandLine));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void OptionsComeOutBeforeALaterErrorIsSeen()
    {
        var getopt = new Getopt(CaptureOptionTable.ShortOptions, CaptureOptionTable.LongOptions);
        using var options = getopt.Parse(["-h", "-g"], []).GetEnumerator();
        Assert.True(options.MoveNext());
        Assert.Equal('h', options.Current.Id);
        Assert.Throws<GetoptException>(() => options.MoveNext());
    }

    [Fact]
    public void PrefixesOfEquivalentOptionsAreNotAmbiguous()
    {
        var getopt = new Getopt("v", [new("verbose", false, 'v'), new("verbosity", false, 'v'), new("version", false, 1)]);
        List<string> operands = [];
        Assert.Equal('v', getopt.Parse(["--verbo"], operands).Single().Id);
        Assert.Throws<GetoptException>(() => getopt.Parse(["--ver"], operands).ToList());
    }
}
