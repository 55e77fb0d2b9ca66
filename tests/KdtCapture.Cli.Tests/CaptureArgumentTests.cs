using KdtCapture.Cli.Capture;
using KdtCapture.Cli.CommandLine;

namespace KdtCapture.Cli.Tests;

/// <summary>How kdt capture reads -s values and -F files, as tcpdump does.</summary>
public class CaptureArgumentTests
{
    [Theory]
    [InlineData("0", 262144)]
    [InlineData("100", 100)]
    [InlineData("0x100", 256)]
    [InlineData("0X1f", 31)]
    [InlineData("010", 8)]
    [InlineData("+5", 5)]
    [InlineData(" \t5", 5)]
    [InlineData("262144", 262144)]
    [InlineData("4294967301", 5)] // strtol's long truncated to tcpdump's int
    public void AcceptedSnaplen(string text, int expected)
    {
        Assert.True(CaptureCommand.TryParseSnaplen(text, out int snaplen));
        Assert.Equal(expected, snaplen);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("abc")]
    [InlineData("5 ")]
    [InlineData("-1")]
    [InlineData("262145")]
    [InlineData("08")]
    [InlineData("0x")]
    [InlineData("99999999999999999999")]
    public void RefusedSnaplen(string text)
        => Assert.False(CaptureCommand.TryParseSnaplen(text, out _));

    [Theory]
    [InlineData("0x", 0, 1)]
    [InlineData("-0x10", -16, 5)]
    [InlineData("077z", 63, 3)]
    [InlineData("-9223372036854775808", long.MinValue, 20)]
    [InlineData("9223372036854775808", long.MaxValue, 19)]
    [InlineData("- 5", 0, 0)]
    public void StrToL(string text, long value, int end)
    {
        Assert.Equal(value, CNumber.StrToL(text, out int actualEnd));
        Assert.Equal(end, actualEnd);
    }

    [Theory]
    [InlineData("ip # web\nand tcp", "ip      \nand tcp")]
    [InlineData("# only a comment", "                ")]
    [InlineData("ip and # a # b\n#\nudp", "ip and        \n \nudp")]
    [InlineData("host '#x'", "host '   ")]
    [InlineData("no comment", "no comment")]
    public void CommentsBlankedToEndOfLine(string text, string expected)
        => Assert.Equal(expected, CaptureCommand.StripComments(text));

    [Fact]
    public void FilterFileStopsAtNul()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, "ip # x\0udp"u8.ToArray());
            Assert.True(CaptureCommand.TryReadExpressionFile(path, out string expression, out _));
            Assert.Equal("ip    ", expression);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FilterFileErrorsUseTcpdumpWording()
    {
        Assert.False(CaptureCommand.TryReadExpressionFile("/nonexistent/f", out _, out string? missing));
        Assert.Equal("can't open /nonexistent/f: No such file or directory", missing);
        Assert.False(CaptureCommand.TryReadExpressionFile("/", out _, out string? directory));
        Assert.Equal("read /: Is a directory", directory);
    }
}
