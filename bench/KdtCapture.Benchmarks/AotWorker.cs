using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KdtCapture.Benchmarks;

/// <summary>
/// The fast interpreter is what the Native AOT <c>kdt</c> runs, so it is measured in a Native AOT
/// build of this very program (<c>--worker</c>), published on demand into .build/bench/aot. The
/// worker regenerates the same capture (same seed; the fingerprint proves it), measures the
/// interpreter against bpf_filter in interleaved rounds, and our compiler against pcap_compile,
/// and prints raw per-round numbers as tab-separated lines for the main process to report.
/// </summary>
internal static class AotWorker
{
    private const string ProjectName = "KdtCapture.Benchmarks";

    /// <summary>In the worker: measure and print.</summary>
    public static int Run(Options options)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.Out.WriteLine(string.Create(inv, $"runtime\t{RuntimeFeature.IsDynamicCodeCompiled}\t{RuntimeInformation.FrameworkDescription}"));
        Console.Out.WriteLine(string.Create(inv, $"overhead\t{LibPcap.MeasureCallOverhead(20_000_000):R}\t{FilterBenchmark.WarmBatchOverheadNanoseconds():R}"));

        CompileBenchmark.Result compile = CompileBenchmark.Run(Workloads.CompileExpressions, options.CompileRounds, options.CompileTurn);
        Console.Out.WriteLine($"compile\t{Rates(compile.Ours)}\t{Rates(compile.Libpcap)}");
        Console.Out.Flush();

        SyntheticCapture capture = SyntheticCapture.Generate(options.Packets, options.Mix);
        Console.Out.WriteLine(string.Create(inv, $"capture\t{capture.Count}\t{capture.TotalBytes}\t{capture.Fingerprint():x16}"));
        Console.Out.Flush();
        FilterBenchmark.Run(capture, Workloads.ExecutionFilters, OurEngines.FastInterpreter, options.Rounds, options.Turn, r =>
        {
            Console.Out.WriteLine(string.Create(inv,
                $"filter\t{r.Expression}\t{r.Matches}\t{r.Instructions}\t{Rates(r.Libpcap.Warm)}\t{Rates(r.Interpreter!.Warm)}\t{Rates(r.Libpcap.Cold)}\t{Rates(r.Interpreter.Cold)}"));
            Console.Out.Flush();
        });
        return 0;
    }

    private static string Rates(Contender c) => string.Join(',', c.Rates.Select(r => r.ToString("R", CultureInfo.InvariantCulture)));

    public static List<double> ParseRates(string s) =>
        [.. s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => double.Parse(x, CultureInfo.InvariantCulture))];

    /// <summary>
    /// Publishes the worker with Native AOT unless an up-to-date one exists; returns its path.
    /// Its own artifacts path keeps this build away from the obj/ and bin/ of IDE and test builds.
    /// </summary>
    public static string Publish(string repository, TextWriter log)
    {
        string outDir = Path.Combine(repository, ".build", "bench", "aot");
        string binary = Path.Combine(outDir, ProjectName);
        string project = Path.Combine(repository, "bench", ProjectName, ProjectName + ".csproj");
        if (File.Exists(binary) && !NewerInputExists(repository, File.GetLastWriteTimeUtc(binary)))
        {
            log.WriteLine($"  AOT worker is up to date: {Relative(repository, binary)}");
            return binary;
        }
        string rid = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "linux-x64",
            Architecture.Arm64 => "linux-arm64",
            var a => throw new PlatformNotSupportedException($"no Native AOT runtime identifier for {a}"),
        };
        log.WriteLine($"  publishing the AOT worker ({rid}, Native AOT) into {Relative(repository, outDir)} ...");
        log.Flush();
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in (string[])["publish", project, "-c", "Release", "-r", rid, "-p:PublishAot=true",
                     "--artifacts-path", Path.Combine(repository, ".build", "bench", "aot-artifacts"),
                     "-o", outDir, "--nologo", "-v", "quiet", "--disable-build-servers"])
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        var sw = Stopwatch.StartNew();
        DateTime started = DateTime.UtcNow;
        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(binary))
            throw new InvalidOperationException($"publishing the AOT worker failed (exit {p.ExitCode}):\n{stdout}{stderr.Result}");
        // The binary takes the time the build started, so that edits made during it count next time.
        File.SetLastWriteTimeUtc(binary, started);
        log.WriteLine($"  published in {sw.Elapsed.TotalSeconds:F0} s");
        return binary;
    }

    private static bool NewerInputExists(string repository, DateTime builtUtc)
    {
        foreach (string root in (string[])[Path.Combine(repository, "bench", ProjectName), Path.Combine(repository, "src", "Filters")])
        {
            if (Directory.Exists(root) && NewerIn(root, builtUtc))
                return true;
        }
        foreach (string f in Directory.EnumerateFiles(repository, "*.props").Append(Path.Combine(repository, "global.json")))
        {
            if (File.Exists(f) && File.GetLastWriteTimeUtc(f) > builtUtc)
                return true;
        }
        return false;
    }

    private static bool NewerIn(string directory, DateTime builtUtc)
    {
        if (Directory.GetLastWriteTimeUtc(directory) > builtUtc)
            return true;
        foreach (string f in Directory.EnumerateFiles(directory))
        {
            if (f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal) || f.EndsWith(".props", StringComparison.Ordinal))
            {
                if (File.GetLastWriteTimeUtc(f) > builtUtc)
                    return true;
            }
        }
        foreach (string d in Directory.EnumerateDirectories(directory))
        {
            string name = Path.GetFileName(d);
            if (name is "bin" or "obj")
                continue;
            if (NewerIn(d, builtUtc))
                return true;
        }
        return false;
    }

    public static string Relative(string repository, string path) => Path.GetRelativePath(repository, path);
}
