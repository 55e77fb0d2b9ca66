using System.Text.RegularExpressions;

namespace KdtCapture.PcapNg.Tests;

/// <summary>Every capture of tcpdump's test suite reads without an exception escaping, with the
/// packet count `tcpdump -r FILE --count` reports (or a typed error where tcpdump fails too).</summary>
public sealed partial class TcpdumpCorpusTests
{
    public static TheoryData<string> Files() => new(Corpora.TcpdumpFiles());

    [GeneratedRegex(@"^(\d+) packets?\s*$", RegexOptions.Multiline)]
    private static partial Regex CountLine();

    private static (long Count, string? Error) OurCount(string path)
    {
        long n = 0;
        try
        {
            using var r = CaptureReader.Open(path);
            while (r.TryReadPacket(out _)) n++;
            return (n, r.Truncation);
        }
        catch (CaptureFileException e)
        {
            Assert.DoesNotContain('\n', e.Message);
            return (n, e.Message);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Same_packet_count_as_tcpdump(string file)
    {
        string path = Path.Combine(Corpora.Require("tcpdump-tests"), file);
        (long ours, string? error) = OurCount(path);
        Tools.SkipUnless("tcpdump");
        Tools.Result t = Tools.Run("tcpdump", "-r", path, "--count");
        Match m = CountLine().Match(t.Stdout + t.Stderr);
        if (t.ExitCode == 0 && m.Success)
        {
            Assert.True(error is null, $"tcpdump reads {file} ({m.Groups[1].Value} packets) but we report: {error}");
            Assert.Equal(long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), ours);
        }
        else
        {
            Assert.True(error is not null, $"tcpdump fails on {file} ({t.Stderr.Trim()}) but we read {ours} packets without complaint");
        }
    }
}
