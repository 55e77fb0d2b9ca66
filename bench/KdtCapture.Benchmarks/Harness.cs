using System.Diagnostics;

namespace KdtCapture.Benchmarks;

/// <summary>Median and quartiles of a few measurements.</summary>
internal readonly record struct Summary(double Median, double Q1, double Q3, double Min, double Max, int Count)
{
    public static Summary Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
            return new Summary(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0);
        double[] v = [.. values];
        Array.Sort(v);
        return new Summary(Quantile(v, 0.5), Quantile(v, 0.25), Quantile(v, 0.75), v[0], v[^1], v.Length);
    }

    /// <summary>Half the interquartile range relative to the median: "±x%".</summary>
    public double Spread => Median == 0 ? 0 : (Q3 - Q1) / 2 / Median;

    private static double Quantile(double[] sorted, double q)
    {
        double pos = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}

/// <summary>
/// What one pass returns: a checksum (matches, instructions) that must be the same every pass, and
/// the Stopwatch ticks the measured work took, or -1 when the whole pass is the measured work.
/// </summary>
internal readonly record struct PassResult(long Checksum, long Ticks = -1);

/// <summary>One contender: a pass over the whole workload.</summary>
internal sealed class Contender(string name, long unitsPerPass, Func<PassResult> pass)
{
    public string Name { get; } = name;
    public long UnitsPerPass { get; } = unitsPerPass;
    public Func<PassResult> Pass { get; } = pass;
    /// <summary>What the last pass returned; every pass must return the same.</summary>
    public long Checksum { get; set; } = -1;
    /// <summary>Units per second, one value per round.</summary>
    public List<double> Rates { get; } = [];
}

/// <summary>
/// Runs contenders in interleaved rounds: each round gives every contender the same minimum time,
/// in forward order on even rounds and backward on odd ones, so that a change of machine load
/// falls on all of them; a garbage collection before each turn keeps one's garbage off another's
/// clock. Warm-up rounds of the same shape come first (tiered JIT, caches, page faults): two,
/// or more until <c>warmup</c> has passed.
/// </summary>
internal static class Harness
{
    public static void Run(IReadOnlyList<Contender> contenders, int rounds, TimeSpan minTurn, TimeSpan warmup = default)
    {
        // At least two warm-up rounds, more until the warm-up time is spent.
        int warmupRounds = 2;
        long warmupStart = Stopwatch.GetTimestamp();
        for (int round = -warmupRounds; round < rounds; round++)
        {
            if (round == -1 && Stopwatch.GetElapsedTime(warmupStart) < warmup)
                round = -2;
            bool backward = (round & 1) != 0;
            for (int n = 0; n < contenders.Count; n++)
            {
                Contender c = contenders[backward ? contenders.Count - 1 - n : n];
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long units = 0, measured = 0;
                long start = Stopwatch.GetTimestamp();
                do
                {
                    long before = Stopwatch.GetTimestamp();
                    PassResult r = c.Pass();
                    measured += r.Ticks >= 0 ? r.Ticks : Stopwatch.GetTimestamp() - before;
                    if (c.Checksum != -1 && r.Checksum != c.Checksum)
                        throw new InvalidOperationException($"{c.Name}: a pass returned {r.Checksum}, an earlier one {c.Checksum}");
                    c.Checksum = r.Checksum;
                    units += c.UnitsPerPass;
                }
                while (Stopwatch.GetElapsedTime(start) < minTurn);
                if (round >= 0)
                    c.Rates.Add(units / ((double)measured / Stopwatch.Frequency));
            }
        }
    }

    /// <summary>Ours ÷ theirs per round (the pair measured side by side), summarized.</summary>
    public static Summary PairedRatio(Contender ours, Contender theirs, bool inverse = false)
    {
        var ratios = new List<double>(ours.Rates.Count);
        for (int i = 0; i < Math.Min(ours.Rates.Count, theirs.Rates.Count); i++)
            ratios.Add(inverse ? theirs.Rates[i] / ours.Rates[i] : ours.Rates[i] / theirs.Rates[i]);
        return Summary.Of(ratios);
    }

    public static double GeometricMean(IEnumerable<double> values)
    {
        double logSum = 0;
        int n = 0;
        foreach (double v in values)
        {
            logSum += Math.Log(v);
            n++;
        }
        return n == 0 ? double.NaN : Math.Exp(logSum / n);
    }
}
