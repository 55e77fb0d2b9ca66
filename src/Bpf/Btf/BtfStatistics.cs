using System.Diagnostics;

namespace KdtCapture.Bpf.Btf;

/// <summary>What a BTF blob holds: types per kind, section sizes, and how long reading it took.</summary>
public sealed class BtfStatistics
{
    private readonly int[] _perKind = new int[(int)BtfKind.Enum64 + 1];

    public int TypeCount { get; private init; }
    public int FirstLocalId { get; private init; }
    public long BlobBytes { get; private init; }
    public TimeSpan ParseTime { get; private init; }
    public TimeSpan NameIndexTime { get; private init; }

    public int Count(BtfKind kind) => _perKind[(int)kind];

    /// <summary>Reads and parses <paramref name="path"/>, timing the parse and the name index separately.</summary>
    public static (Btf Btf, BtfStatistics Statistics) Measure(string path, Btf? baseBtf)
    {
        var clock = Stopwatch.StartNew();
        var btf = Btf.Load(path, baseBtf);
        var parse = clock.Elapsed;
        clock.Restart();
        btf.FindAll("sk_buff");
        var index = clock.Elapsed;
        var stats = new BtfStatistics
        {
            TypeCount = btf.LocalTypeCount,
            FirstLocalId = btf.FirstLocalId,
            BlobBytes = btf.RawBytes.Length,
            ParseTime = parse,
            NameIndexTime = index,
        };
        foreach (var t in btf.LocalTypes)
            stats._perKind[(int)t.Kind]++;
        return (btf, stats);
    }
}
