using KdtCapture.Toolkit.Trace;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>
/// Log2Histogram against bcc's print_log2_hist (bcc/src/python/bcc/table.py): header
/// "     %-19s : count     distribution", rows "%10d -> %-10d : %-8d |%-40s|" from slot 1
/// to the highest non-empty slot, stars = floor(40 * count / max); past slot 32 the wide
/// form ("%20d -> %-20d", 20 stars, header indented 15 and "%-29s"). The expected texts below
/// are written from those format strings by hand.
/// </summary>
public sealed class HistogramTests
{
    [Fact]
    public void DrawsRowsFromOneToTheLastNonEmptySlot()
    {
        var h = new Log2Histogram();
        h.AddValue(1);          // slot 1: "0 -> 1" (bcc prints low-1 when low == high)
        for (int i = 0; i < 4; i++)
            h.AddValue(5);      // slot 3: 4 -> 7
        h.AddValue(8);
        h.AddValue(15);         // slot 4: 8 -> 15
        string expected =
            "     usecs               : count     distribution\n" +
            "         0 -> 1          : 1        |**********                              |\n" +
            "         2 -> 3          : 0        |                                        |\n" +
            "         4 -> 7          : 4        |****************************************|\n" +
            "         8 -> 15         : 2        |********************                    |\n";
        Assert.Equal(expected, h.Render("usecs"));
    }

    [Fact]
    public void StarsAreRoundedDown()
    {
        var h = new Log2Histogram();
        h.Add(1, 7);
        h.Add(2, 3);    // 40 * 3 / 7 = 17.1 -> 17
        h.Add(3, 1);    // 40 / 7 = 5.7 -> 5
        string expected =
            "     msecs               : count     distribution\n" +
            "         0 -> 1          : 7        |****************************************|\n" +
            "         2 -> 3          : 3        |*****************                       |\n" +
            "         4 -> 7          : 1        |*****                                   |\n";
        Assert.Equal(expected, h.Render("msecs"));
    }

    [Fact]
    public void ZerosAreCountedButNeverDrawnAndAnEmptyHistogramPrintsNothing()
    {
        var h = new Log2Histogram();
        Assert.Equal("", h.Render("usecs"));
        h.AddValue(0);
        h.AddValue(0);
        Assert.Equal(2UL, h.Total);
        Assert.Equal("", h.Render("usecs"));
        h.AddValue(2);
        // The zeros still set the scale: bcc's maximum is over every slot, slot 0 included.
        Assert.Equal(
            "     usecs               : count     distribution\n" +
            "         0 -> 1          : 0        |                                        |\n" +
            "         2 -> 3          : 1        |********************                    |\n",
            h.Render("usecs"));
    }

    [Fact]
    public void PastSlot32TheRowsAreWideAndTheBarsHalf()
    {
        var h = new Log2Histogram();
        h.Add(33, 2);   // 2^32 .. 2^33-1
        h.Add(2, 1);
        var lines = h.Render("nsecs").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("               nsecs                         : count     distribution", lines[0]);
        Assert.Equal(34, lines.Length);
        Assert.Equal("                   0 -> 1                    : 0        |                    |", lines[1]);
        Assert.Equal("                   2 -> 3                    : 1        |**********          |", lines[2]);
        Assert.Equal("          4294967296 -> 8589934591           : 2        |********************|", lines[33]);
    }

    [Theory]
    [InlineData(0UL, 0)]
    [InlineData(1UL, 1)]
    [InlineData(2UL, 2)]
    [InlineData(3UL, 2)]
    [InlineData(4UL, 3)]
    [InlineData(1023UL, 10)]
    [InlineData(1024UL, 11)]
    [InlineData(ulong.MaxValue, 64)]
    public void SlotsAreBccsLog2(ulong value, int slot) =>
        Assert.Equal(slot, Log2Histogram.SlotOf(value));

    [Fact]
    public void HeatmapHasACellPerNonEmptyBucketAndInterval()
    {
        var map = new LatencyHeatmap();
        var t0 = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Local);
        var a = new ulong[64];
        a[1] = 3;
        a[4] = 10;
        var b = new ulong[64];
        b[2] = 1;
        map.AddColumn(t0, a);
        map.AddColumn(t0.AddSeconds(1), b);
        var svg = System.Xml.Linq.XDocument.Parse(map.ToSvg("runqlat", "usecs"));
        System.Xml.Linq.XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        var cells = svg.Root.Elements(ns + "rect").Skip(1).Select(r => r.Element(ns + "title")!.Value).ToList();
        Assert.Equal(["03:04:05 0-1 usecs: 3", "03:04:05 8-15 usecs: 10", "03:04:06 2-3 usecs: 1"], cells);
    }
}
