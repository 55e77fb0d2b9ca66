using System.Globalization;
using System.Text;

namespace KdtCapture.Toolkit.Trace;

/// <summary>
/// Latency over time as an SVG heatmap: one column per interval, one row per log2 slot
/// (low latencies at the bottom), each cell shaded by its count relative to the busiest cell,
/// with a tooltip naming the time, the range and the count. Written with mode 0600.
/// </summary>
public sealed class LatencyHeatmap
{
    private readonly List<(DateTime Time, ulong[] Counts)> _columns = [];

    public int Columns => _columns.Count;

    /// <summary>Adds one interval's histogram (copied).</summary>
    public void AddColumn(DateTime time, ReadOnlySpan<ulong> counts) => _columns.Add((time, counts.ToArray()));

    public string ToSvg(string title, string unit)
    {
        const int cell = 12, left = 150, top = 40, bottom = 40;
        int maxSlot = 1;
        ulong max = 0;
        foreach (var (_, counts) in _columns)
        {
            for (int i = 1; i < counts.Length; i++)
            {
                if (counts[i] > 0)
                    maxSlot = Math.Max(maxSlot, i);
                max = Math.Max(max, counts[i]);
            }
        }
        int width = left + Math.Max(1, _columns.Count) * cell + 20;
        int height = top + maxSlot * cell + bottom;
        var inv = CultureInfo.InvariantCulture;
        var svg = new StringBuilder();
        svg.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"monospace\" font-size=\"10\">\n");
        svg.Append(inv, $"<title>{Escape(title)}</title>\n");
        svg.Append(inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(inv, $"<text x=\"{left}\" y=\"20\" font-size=\"14\">{Escape(title)} ({unit}, log2 buckets; darker is more)</text>\n");
        for (int slot = 1; slot <= maxSlot; slot++)
        {
            int y = top + (maxSlot - slot) * cell;
            svg.Append(inv, $"<text x=\"{left - 6}\" y=\"{y + cell - 2}\" text-anchor=\"end\">{Range(slot)}</text>\n");
        }
        for (int c = 0; c < _columns.Count; c++)
        {
            var (time, counts) = _columns[c];
            int x = left + c * cell;
            for (int slot = 1; slot <= maxSlot && slot < counts.Length; slot++)
            {
                ulong n = counts[slot];
                if (n == 0)
                    continue;
                // Logarithmic shading: a bucket with a tenth of the peak is still visible.
                double level = max <= 1 ? 1 : Math.Log(1 + n) / Math.Log(1 + max);
                int shade = (int)Math.Round(235 - 200 * level);
                int y = top + (maxSlot - slot) * cell;
                svg.Append(inv, $"<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb(255,{shade},{shade / 2})\">");
                svg.Append(inv, $"<title>{time:HH:mm:ss} {Range(slot)} {unit}: {n}</title></rect>\n");
            }
            if (c % 10 == 0)
                svg.Append(inv, $"<text x=\"{x}\" y=\"{height - bottom + 14}\">{time:HH:mm:ss}</text>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    public void Write(string path, string title, string unit)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false));
        writer.Write(ToSvg(title, unit));
    }

    private static string Range(int slot)
    {
        ulong low = (1UL << slot) >> 1, high = slot == 64 ? ulong.MaxValue : (1UL << slot) - 1;
        if (low == high)
            low--;
        return string.Create(CultureInfo.InvariantCulture, $"{low}-{high}");
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
