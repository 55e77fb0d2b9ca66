using System.Globalization;
using System.Text;

namespace KdtCapture.Toolkit.Trace;

/// <summary>
/// A power-of-two histogram as bcc keeps it: slot 0 counts zeros, slot i (1..63) counts values
/// in [2^(i-1), 2^i). <see cref="Render"/> draws it the way bcc's print_log2_hist does: rows from
/// slot 1 to the highest non-empty slot, "low -> high : count |stars|", 40 stars wide (20 when
/// values pass 2^32), the zero slot never drawn.
/// </summary>
public sealed class Log2Histogram
{
    public const int Slots = 64;

    private readonly ulong[] _counts = new ulong[Slots];

    public ReadOnlySpan<ulong> Counts => _counts;

    public ulong Total
    {
        get
        {
            ulong sum = 0;
            foreach (ulong c in _counts)
                sum += c;
            return sum;
        }
    }

    /// <summary>The slot a value falls in (bcc's bpf_log2l: 0 for 0, else floor(log2 v) + 1).</summary>
    public static int SlotOf(ulong value) => value == 0 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount(value);

    public void Add(int slot, ulong count) => _counts[Math.Clamp(slot, 0, Slots - 1)] += count;

    public void AddValue(ulong value) => Add(SlotOf(value), 1);

    public void Clear() => Array.Clear(_counts);

    /// <summary>The histogram as bcc prints it, with <paramref name="unit"/> ("usecs") in the header; empty when all slots above 0 are empty.</summary>
    public string Render(string unit)
    {
        var text = new StringBuilder();
        Render(text, unit);
        return text.ToString();
    }

    public void Render(StringBuilder text, string unit)
    {
        int top = -1;
        ulong max = 0;
        for (int i = 0; i < Slots; i++)
        {
            if (_counts[i] > 0)
                top = i;
            if (_counts[i] > max)
                max = _counts[i];
        }
        if (top <= 0)
            return;
        bool wide = top > 32;
        int width = wide ? 20 : 40;
        int rangeWidth = wide ? 20 : 10;
        var inv = CultureInfo.InvariantCulture;
        text.Append(' ', wide ? 15 : 5).Append(unit.PadRight(wide ? 29 : 19)).Append(" : count     distribution\n");
        for (int i = 1; i <= top; i++)
        {
            ulong low = (1UL << i) >> 1;
            ulong high = i == 64 ? ulong.MaxValue : (1UL << i) - 1;
            if (low == high)
                low--;
            ulong count = _counts[i];
            text.Append(low.ToString(inv).PadLeft(rangeWidth)).Append(" -> ")
                .Append(high.ToString(inv).PadRight(rangeWidth)).Append(" : ")
                .Append(count.ToString(inv).PadRight(8)).Append(" |");
            int stars = Stars(count, max, width);
            text.Append('*', stars).Append(' ', width - stars).Append("|\n");
        }
    }

    /// <summary>bcc's star count: as many whole stars as count/max of the width.</summary>
    internal static int Stars(ulong count, ulong max, int width)
    {
        if (max == 0)
            return 0;
        return (int)Math.Min((ulong)width, (ulong)width * count / max);
    }
}
