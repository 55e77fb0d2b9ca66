using System.Globalization;

namespace KdtCapture.Benchmarks;

/// <summary>Command-line options; defaults are the measurement README.md describes.</summary>
internal sealed class Options
{
    public int Packets { get; private set; } = 1_000_000;
    public int Rounds { get; private set; } = 11;
    public TimeSpan Turn { get; private set; } = TimeSpan.FromMilliseconds(150);
    public int CompileRounds { get; private set; } = 15;
    public TimeSpan CompileTurn { get; private set; } = TimeSpan.FromMilliseconds(200);
    public int StartupRuns { get; private set; } = 50;
    public TrafficMix Mix { get; private set; } = TrafficMix.Flows;
    public bool Compile { get; private set; } = true;
    public bool Filters { get; private set; } = true;
    public bool Aot { get; private set; } = true;
    public bool Startup { get; private set; } = true;
    public bool Files { get; private set; } = true;
    public int FileRounds { get; private set; } = 7;
    public bool Taps { get; private set; } = true;
    public int TapPackets { get; private set; } = 200_000;
    /// <summary>Payload sizes of part 6, one flood series each: small datagrams judge the overhead (the
    /// per-packet cost dominates), large ones fill both captures' buffers several times faster.</summary>
    public IReadOnlyList<int> TapSizes { get; private set; } = [64, 1400];
    public int TapRounds { get; private set; } = 7;
    /// <summary>Internal: this process is the Native AOT worker the main run started.</summary>
    public bool Worker { get; private set; }
    public string? Repository { get; private set; }

    public const string Usage = """
        usage: bench/run [options]     (or: dotnet run -c Release --project bench/KdtCapture.Benchmarks -- [options])

        Measures KdtCapture against libpcap and tcpdump in one run and prints each ratio beside its target:
          1. compile throughput: FilterCompiler.Compile vs pcap_compile (optimized, Ethernet)
          2. filter execution on a generated capture: our IL filter vs bpf_filter (JIT process)
          3. filter execution: our fast interpreter vs bpf_filter, in a Native AOT build of this benchmark
          4. start-up: the published kdt (`kdt capture -d ip`) vs `tcpdump -d ip`
          5. files: `kdt capture -r big.pcap -w out.pcapng 'tcp port 80'` vs tcpdump's, plain read
             rate (--count), LZ4 write rate and ratio, on the generated capture written as a file
          6. taps (as root): a UDP loopback flood alone, under `kdt capture -i tp_btf/net_dev_queue -w`
             and under `tcpdump -i lo -w`: sender rate and overhead, losses, CPU of both captures

        options:
          --packets N        packets in the generated capture (default 1000000)
          --mix flows|independent  packets in conversations (default) or each drawn on its own
          --rounds N         interleaved rounds per filter (default 11)
          --turn-ms N        minimum time per contender per round (default 150)
          --compile-rounds N rounds of compile throughput (default 15)
          --compile-turn-ms N  minimum time per compiler per round (default 200)
          --startup-runs N   timed runs per command (default 50)
          --file-rounds N    timed rounds of the file commands (default 7)
          --tap-packets N    datagrams per flood in part 6 (default 200000)
          --tap-size N[,N..] UDP payload bytes per datagram, a series per size (default 64,1400)
          --tap-rounds N     timed rounds of part 6 (default 7)
          --only LIST        comma-separated subset of: compile,filters,aot,startup,files,taps
          --quick            a short run for trying things out (not for reporting)
          --repo DIR         the repository root (default: found from the current directory)
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int Number() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
                ? n : throw new ArgumentException($"{a} needs a positive number");
            switch (a)
            {
                case "--packets": o.Packets = Number(); break;
                case "--rounds": o.Rounds = Number(); break;
                case "--turn-ms": o.Turn = TimeSpan.FromMilliseconds(Number()); break;
                case "--compile-rounds": o.CompileRounds = Number(); break;
                case "--compile-turn-ms": o.CompileTurn = TimeSpan.FromMilliseconds(Number()); break;
                case "--startup-runs": o.StartupRuns = Number(); break;
                case "--file-rounds": o.FileRounds = Number(); break;
                case "--tap-packets": o.TapPackets = Number(); break;
                case "--tap-size":
                {
                    string list = Value();
                    var sizes = new List<int>();
                    foreach (string part in list.Split(','))
                        sizes.Add(int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 8 && n <= 65507
                            ? n : throw new ArgumentException($"{a} takes payload sizes from 8 to 65507 bytes, comma-separated: {list}"));
                    o.TapSizes = sizes;
                    break;
                }
                case "--tap-rounds": o.TapRounds = Number(); break;
                case "--repo": o.Repository = Value(); break;
                case "--mix":
                    o.Mix = Value() switch
                    {
                        "flows" => TrafficMix.Flows,
                        "independent" => TrafficMix.Independent,
                        var m => throw new ArgumentException($"--mix: '{m}' is neither 'flows' nor 'independent'"),
                    };
                    break;
                case "--worker": o.Worker = true; break;
                case "--quick":
                    o.Packets = 200_000;
                    o.Rounds = 5;
                    o.Turn = TimeSpan.FromMilliseconds(60);
                    o.CompileRounds = 5;
                    o.CompileTurn = TimeSpan.FromMilliseconds(100);
                    o.StartupRuns = 10;
                    o.FileRounds = 3;
                    o.TapPackets = 100_000;
                    o.TapRounds = 3;
                    break;
                case "--only":
                    string[] parts = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    o.Compile = parts.Contains("compile");
                    o.Filters = parts.Contains("filters");
                    o.Aot = parts.Contains("aot");
                    o.Startup = parts.Contains("startup");
                    o.Files = parts.Contains("files");
                    o.Taps = parts.Contains("taps");
                    if (parts.Except(["compile", "filters", "aot", "startup", "files", "taps"]).FirstOrDefault() is { } bad)
                        throw new ArgumentException($"--only: unknown part '{bad}'");
                    break;
                case "-h" or "--help":
                    throw new HelpRequestedException();
                default:
                    throw new ArgumentException($"unknown option '{a}'");
            }
        }
        return o;
    }

    /// <summary>The arguments that make the AOT worker measure what this run measures.</summary>
    public string[] WorkerArguments() =>
    [
        "--worker",
        "--packets", Packets.ToString(CultureInfo.InvariantCulture),
        "--mix", Mix == TrafficMix.Flows ? "flows" : "independent",
        "--rounds", Rounds.ToString(CultureInfo.InvariantCulture),
        "--turn-ms", ((int)Turn.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
        "--compile-rounds", CompileRounds.ToString(CultureInfo.InvariantCulture),
        "--compile-turn-ms", ((int)CompileTurn.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
    ];
}

internal sealed class HelpRequestedException : Exception;
