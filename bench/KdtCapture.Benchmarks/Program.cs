using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using KdtCapture.Benchmarks;

try
{
    Options options = Options.Parse(args);
    return options.Worker ? AotWorker.Run(options) : new BenchmarkRun(options).Run();
}
catch (HelpRequestedException)
{
    Console.WriteLine(Options.Usage);
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"bench: {e.Message}");
    Console.Error.WriteLine(Options.Usage);
    return 2;
}
catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException or IOException)
{
    Console.Out.Flush();
    Console.Error.WriteLine($"bench: {e.Message}");
    return 1;
}

namespace KdtCapture.Benchmarks
{
    /// <summary>The main run: prepares the binaries, measures each part, prints every ratio beside its target.</summary>
    internal sealed class BenchmarkRun(Options options)
    {
        private const double CompileTarget = 2.0;
        private const double IlTarget = 3.0;
        private const double InterpreterTarget = 1.0;
        private const double StartupTarget = 2.0;
        private const double FilesTarget = 0.7;

        private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
        private readonly TextWriter _out = Console.Out;
        private readonly List<(string What, string Measured, string Target, bool? Met)> _summary = [];
        private readonly List<string> _missed = [];

        public int Run()
        {
            string repository = FindRepository(options.Repository);
            _out.WriteLine($"KdtCapture benchmarks against {LibPcap.Version}" + (FindTcpdump() is { } t ? $" and {TcpdumpVersion(t)}" : ""));
            _out.WriteLine($"machine: {Environment.ProcessorCount} CPUs ({CpuModel()}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
            _out.WriteLine($"load average at start: {LoadAverage()}");
            _out.WriteLine("method: contenders interleaved round by round (order alternating), a GC before each turn, warm-up rounds first;");
            _out.WriteLine("        rates are medians of rounds, '±' is half the interquartile range over the median,");
            _out.WriteLine("        a ratio is the median of per-round ratios with the lowest and highest round in brackets.");
            _out.WriteLine();

            // Builds first: nothing is measured while a compiler runs in this run.
            string? kdt = null, aotWorker = null;
            _out.WriteLine("Preparing");
            if (options.Startup || options.Files || options.Taps)
                kdt = PrepareKdt(repository);
            string? sender = options.Taps && Environment.IsPrivilegedProcess ? TapsBenchmark.BuildSender(repository, _out) : null;
            if (options.Aot)
                aotWorker = AotWorker.Publish(repository, _out);
            _out.WriteLine($"  overheads (JIT): a call of a trivial libpcap function {LibPcap.MeasureCallOverhead(20_000_000):F2} ns (at most what interop adds per bpf_filter call); clock per warm batch {FilterBenchmark.WarmBatchOverheadNanoseconds():F0} ns (/{FilterBenchmark.Batch} packets, every runner alike)");
            _out.WriteLine();

            if (options.Compile)
                MeasureCompile();

            ulong fingerprint = 0;
            Dictionary<string, long>? matches = null;
            string? bigFile = null;
            if (options.Filters || options.Aot || options.Files)
            {
                var sw = Stopwatch.StartNew();
                SyntheticCapture capture = SyntheticCapture.Generate(options.Packets, options.Mix);
                fingerprint = capture.Fingerprint();
                _out.WriteLine($"Capture: {capture.Count:N0} packets, {capture.TotalBytes / 1e6:F0} MB, generated in memory in {sw.Elapsed.TotalSeconds:F1} s (seed 0x{SyntheticCapture.DefaultSeed:x}, --mix {(options.Mix == TrafficMix.Flows ? "flows: packets in conversations" : "independent: each packet drawn on its own")})");
                _out.WriteLine($"  {capture.Describe()}");
                if (capture.Count < 1_000_000)
                    _out.WriteLine("  note: fewer than 1,000,000 packets (--packets/--quick): not a reportable run");
                _out.WriteLine();
                if (options.Files)
                    bigFile = FilesBenchmark.EnsureCaptureFile(repository, capture, fingerprint, _out);
                if (options.Filters)
                    matches = MeasureFiltersJit(capture);
            }
            GC.Collect();

            if (aotWorker is not null)
                MeasureAot(aotWorker, fingerprint, matches);

            if (kdt is not null && options.Startup)
                MeasureStartup(kdt, repository);

            if (kdt is not null && bigFile is not null)
                MeasureFiles(kdt, bigFile, repository);

            if (kdt is not null && options.Taps)
                MeasureTaps(kdt, sender, repository);

            PrintSummary();
            return 0;
        }

        // ---------------------------------------------------------------- compile

        private void MeasureCompile()
        {
            _out.WriteLine($"1. Compile throughput: FilterCompiler.Compile vs pcap_compile, optimized, EN10MB, {options.CompileRounds} rounds of >= {options.CompileTurn.TotalMilliseconds:F0} ms each");
            _out.Flush();
            CompileBenchmark.Result r = CompileBenchmark.Run(Workloads.CompileExpressions, options.CompileRounds, options.CompileTurn);
            Summary ours = Summary.Of(r.Ours.Rates), theirs = Summary.Of(r.Libpcap.Rates);
            Summary ratio = Harness.PairedRatio(r.Ours, r.Libpcap);
            _out.WriteLine($"   {r.Expressions} expressions per pass; our programs equal libpcap's for {r.SameProgram}/{r.Expressions}");
            _out.WriteLine($"   ours (JIT)           {Rate(ours, "expr/s")}");
            _out.WriteLine($"   libpcap pcap_compile {Rate(theirs, "expr/s")}");
            bool met = ratio.Median >= CompileTarget;
            _out.WriteLine($"   ours / libpcap       {RatioText(ratio)}   target >= {CompileTarget}x   {Mark(met)}");
            foreach (string note in r.Notes)
                _out.WriteLine($"   note: {note}");
            _out.WriteLine();
            _summary.Add(("compile throughput, ours / pcap_compile (JIT)", $"{ratio.Median:F2}x", $">= {CompileTarget}x", met));
            if (!met)
                _missed.Add("compile");
        }

        // ---------------------------------------------------------------- filters on the JIT

        private Dictionary<string, long> MeasureFiltersJit(SyntheticCapture capture)
        {
            _out.WriteLine($"2. Filter execution on the JIT: our IL filter (CbpfFilter, IL engine) vs libpcap's bpf_filter; {options.Rounds} rounds of >= {options.Turn.TotalMilliseconds:F0} ms per runner and mode");
            PrintFilterMethod();
            _out.WriteLine("   The fast interpreter on the JIT is shown for information; its target is judged under Native AOT in part 3.");
            _out.WriteLine($"   {"",-58}| warm (judged)                                                        | cold sweep");
            _out.WriteLine($"   {"filter",-40} {"insns",5} {"same",4} {"match",5} | {"bpf_filter",-16} {"IL (ours)",-16} {"IL/bpf",-18} {"",-6} {"interp/bpf",-10} | {"bpf_filter",-10} {"IL/bpf",-8}");
            _out.Flush();
            var warm = new List<(string Expression, double Ratio)>();
            var cold = new List<double>();
            var matches = new Dictionary<string, long>();
            FilterBenchmark.Run(capture, Workloads.ExecutionFilters, OurEngines.IlCompiler | OurEngines.FastInterpreter, options.Rounds, options.Turn, r =>
            {
                Summary ratio = Harness.PairedRatio(r.Il!.Warm, r.Libpcap.Warm);
                Summary interp = Harness.PairedRatio(r.Interpreter!.Warm, r.Libpcap.Warm);
                Summary coldRatio = Harness.PairedRatio(r.Il.Cold, r.Libpcap.Cold);
                warm.Add((r.Expression, ratio.Median));
                cold.Add(coldRatio.Median);
                matches[r.Expression] = r.Matches;
                _out.WriteLine($"   {Truncate(r.Expression, 40),-40} {r.Instructions,5} {(r.OursCompilesSame ? "yes" : "no"),4} {r.Matches * 100.0 / capture.Count,4:F1}% | " +
                    $"{PacketRate(Summary.Of(r.Libpcap.Warm.Rates)),-16} {PacketRate(Summary.Of(r.Il.Warm.Rates)),-16} {RatioText(ratio),-18} {Mark(ratio.Median >= IlTarget),-6} {interp.Median,9:F2}x | " +
                    $"{Summary.Of(r.Libpcap.Cold.Rates).Median / 1e6,6:F1} M/s {coldRatio.Median,7:F2}x");
                _out.Flush();
            });
            double geomean = Harness.GeometricMean(warm.Select(x => x.Ratio));
            int meeting = warm.Count(x => x.Ratio >= IlTarget);
            var lowest = warm.MinBy(x => x.Ratio);
            bool met = geomean >= IlTarget;
            _out.WriteLine($"   IL / bpf_filter, warm, geometric mean over {warm.Count} filters: {geomean:F2}x   target >= {IlTarget}x   {Mark(met)}" +
                $"   ({meeting}/{warm.Count} filters meet it on their own; lowest {lowest.Ratio:F2}x on \"{lowest.Expression}\")");
            _out.WriteLine($"   IL / bpf_filter, cold sweep (memory-bound, for information): geometric mean {Harness.GeometricMean(cold):F2}x");
            _out.WriteLine();
            _summary.Add(($"IL filter / bpf_filter (warm, geomean of {warm.Count} filters)", $"{geomean:F2}x", $">= {IlTarget}x", met));
            _summary.Add(("  (same, cold sweep through the capture)", $"{Harness.GeometricMean(cold):F2}x", "-", null));
            if (!met)
                _missed.Add("il");
            return matches;
        }

        private void PrintFilterMethod()
        {
            _out.WriteLine("   The program is libpcap's pcap_compile output, the same instructions for every runner ('same': ours compiles it identically).");
            _out.WriteLine($"   warm: packets in batches of {FilterBenchmark.Batch}, each batch's headers read (untimed) just before its filter calls are timed,");
            _out.WriteLine("         as in a capture loop that has just received or copied the packet; the targets are judged on this.");
            _out.WriteLine("   cold: one timed sweep through the whole capture; headers come from DRAM, which costs every runner alike.");
        }

        // ---------------------------------------------------------------- fast interpreter under Native AOT

        private void MeasureAot(string worker, ulong fingerprint, Dictionary<string, long>? jitMatches)
        {
            _out.WriteLine($"3. Filter execution under Native AOT (as the published kdt runs filters): our fast interpreter vs bpf_filter, both in {AotWorker.Relative(FindRepository(options.Repository), worker)}");
            if (!options.Filters)
                PrintFilterMethod();
            _out.Flush();
            var psi = new ProcessStartInfo(worker) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in options.WorkerArguments())
                psi.ArgumentList.Add(a);
            using Process p = Process.Start(psi)!;
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            var warm = new List<(string Expression, double Ratio)>();
            var cold = new List<double>();
            int packets = options.Packets;
            bool header = false;
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null)
            {
                string[] f = line.Split('\t');
                switch (f[0])
                {
                    case "runtime":
                        if (f[1] != "False")
                            _out.WriteLine($"   warning: the worker compiles dynamic code ({f[2]}): it is not a Native AOT build");
                        break;
                    case "overhead":
                        _out.WriteLine($"   overheads (AOT): a call of a trivial libpcap function {double.Parse(f[1], Inv):F2} ns; clock per warm batch {double.Parse(f[2], Inv):F0} ns (/{FilterBenchmark.Batch} packets, every runner alike)");
                        break;
                    case "compile":
                    {
                        var ours = new Contender("ours", 0, () => default);
                        var theirs = new Contender("libpcap", 0, () => default);
                        ours.Rates.AddRange(AotWorker.ParseRates(f[1]));
                        theirs.Rates.AddRange(AotWorker.ParseRates(f[2]));
                        Summary ratio = Harness.PairedRatio(ours, theirs);
                        _out.WriteLine($"   compile throughput as kdt compiles (Native AOT, for information): ours {Rate(Summary.Of(ours.Rates), "expr/s")}, " +
                            $"pcap_compile {Rate(Summary.Of(theirs.Rates), "expr/s")}, ours/libpcap {RatioText(ratio)}");
                        _summary.Add(("  (compile throughput under Native AOT, ours / pcap_compile)", $"{ratio.Median:F2}x", "-", null));
                        break;
                    }
                    case "capture":
                        packets = int.Parse(f[1], Inv);
                        ulong theirPrint = ulong.Parse(f[3], NumberStyles.HexNumber, Inv);
                        if (fingerprint != 0 && theirPrint != fingerprint)
                            throw new InvalidOperationException("the AOT worker generated a different capture");
                        _out.WriteLine($"   capture regenerated in the worker: {packets:N0} packets, fingerprint {theirPrint:x16}{(fingerprint != 0 ? ", the same as part 2's" : "")}");
                        break;
                    case "filter":
                    {
                        if (!header)
                        {
                            _out.WriteLine($"   {"",-52}| warm (judged)                                                    | cold sweep");
                            _out.WriteLine($"   {"filter",-40} {"insns",5} {"match",5} | {"bpf_filter",-16} {"interpreter",-16} {"interp/bpf",-18} {"",-6} | {"bpf_filter",-10} {"interp/bpf",-10}");
                            header = true;
                        }
                        string expression = f[1];
                        long matched = long.Parse(f[2], Inv);
                        if (jitMatches is not null && jitMatches.TryGetValue(expression, out long m) && m != matched)
                            throw new InvalidOperationException($"\"{expression}\": {matched} matches under AOT, {m} on the JIT");
                        Contender Parsed(string rates)
                        {
                            var c = new Contender("", 0, () => default);
                            c.Rates.AddRange(AotWorker.ParseRates(rates));
                            return c;
                        }
                        Contender libWarm = Parsed(f[4]), interpWarm = Parsed(f[5]), libCold = Parsed(f[6]), interpCold = Parsed(f[7]);
                        Summary ratio = Harness.PairedRatio(interpWarm, libWarm);
                        Summary coldRatio = Harness.PairedRatio(interpCold, libCold);
                        warm.Add((expression, ratio.Median));
                        cold.Add(coldRatio.Median);
                        _out.WriteLine($"   {Truncate(expression, 40),-40} {int.Parse(f[3], Inv),5} {matched * 100.0 / packets,4:F1}% | " +
                            $"{PacketRate(Summary.Of(libWarm.Rates)),-16} {PacketRate(Summary.Of(interpWarm.Rates)),-16} {RatioText(ratio),-18} {Mark(ratio.Median >= InterpreterTarget),-6} | " +
                            $"{Summary.Of(libCold.Rates).Median / 1e6,6:F1} M/s {coldRatio.Median,9:F2}x");
                        break;
                    }
                }
                _out.Flush();
            }
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"the AOT worker failed (exit {p.ExitCode}): {stderr.Result}");
            double geomean = Harness.GeometricMean(warm.Select(x => x.Ratio));
            var lowest = warm.MinBy(x => x.Ratio);
            bool met = geomean >= InterpreterTarget;
            _out.WriteLine($"   interpreter / bpf_filter, warm, geometric mean over {warm.Count} filters: {geomean:F2}x   target >= {InterpreterTarget}x   {Mark(met)}" +
                $"   ({warm.Count(x => x.Ratio >= InterpreterTarget)}/{warm.Count} filters meet it on their own; lowest {lowest.Ratio:F2}x on \"{lowest.Expression}\")");
            _out.WriteLine($"   interpreter / bpf_filter, cold sweep (memory-bound, for information): geometric mean {Harness.GeometricMean(cold):F2}x");
            _out.WriteLine();
            _summary.Add(($"AOT fast interpreter / bpf_filter (warm, geomean of {warm.Count})", $"{geomean:F2}x", $">= {InterpreterTarget}x", met));
            _summary.Add(("  (same, cold sweep through the capture)", $"{Harness.GeometricMean(cold):F2}x", "-", null));
            if (!met)
                _missed.Add("interpreter");
        }

        // ---------------------------------------------------------------- start-up

        private string? PrepareKdt(string repository)
        {
            string launcher = Path.Combine(repository, "kdt");
            _out.WriteLine("  kdt: ./kdt --version (the launcher builds .build/kdt when sources changed) ...");
            _out.Flush();
            var psi = new ProcessStartInfo(launcher, ["--version"]) { UseShellExecute = false, RedirectStandardOutput = true };
            using (Process p = Process.Start(psi)!)
            {
                string version = p.StandardOutput.ReadToEnd().Trim();
                p.WaitForExit();
                if (p.ExitCode != 0)
                    throw new InvalidOperationException($"./kdt --version failed (exit {p.ExitCode}); cannot measure start-up");
                string binary = Path.Combine(repository, ".build", "kdt", "kdt");
                string modeFile = Path.Combine(repository, ".build", "kdt.mode");
                string mode = File.Exists(modeFile) ? File.ReadAllText(modeFile).Trim() : "unknown build";
                if (!File.Exists(binary))
                    throw new InvalidOperationException($"{binary} does not exist after ./kdt built it");
                _out.WriteLine($"  kdt: {AotWorker.Relative(repository, binary)} ({mode}), {version}");
                return binary;
            }
        }

        private void MeasureStartup(string kdt, string repository)
        {
            string? tcpdump = FindTcpdump();
            _out.WriteLine($"4. Start-up: the published kdt binary (not the ./kdt launcher) vs tcpdump, {options.StartupRuns} timed runs each after 3 untimed, interleaved");
            if (tcpdump is null)
            {
                _out.WriteLine("   tcpdump is not installed: not measured");
                _summary.Add(("kdt start-up / tcpdump's", "not measured", $"<= {StartupTarget}x", null));
                return;
            }
            var ours = new StartupBenchmark.Command("kdt capture -d ip", kdt, ["capture", "-d", "ip"]);
            var theirs = new StartupBenchmark.Command("tcpdump -d ip", tcpdump, ["-d", "ip"]);
            var floor = new StartupBenchmark.Command("/bin/true (spawn floor)", "/bin/true", []);
            var (oursExit, oursText, _) = StartupBenchmark.RunOnce(ours);
            var (theirsExit, theirsText, _) = StartupBenchmark.RunOnce(theirs);
            if (oursExit != 0 || theirsExit != 0)
                throw new InvalidOperationException($"start-up commands failed: kdt exit {oursExit}, tcpdump exit {theirsExit}");
            _out.WriteLine($"   output: {(oursText == theirsText ? "kdt prints exactly what tcpdump prints" : "kdt's output DIFFERS from tcpdump's")} ({theirsText.Count(c => c == '\n')} lines)");
            _out.Flush();
            StartupBenchmark.Measure([ours, theirs, floor], options.StartupRuns, warmups: 3);
            Summary o = Summary.Of(ours.Milliseconds), t = Summary.Of(theirs.Milliseconds), fl = Summary.Of(floor.Milliseconds);
            var ratios = new List<double>();
            for (int i = 0; i < ours.Milliseconds.Count; i++)
                ratios.Add(ours.Milliseconds[i] / theirs.Milliseconds[i]);
            Summary ratio = Summary.Of(ratios);
            bool met = ratio.Median <= StartupTarget;
            _out.WriteLine($"   {ours.Name,-24} {Millis(o)}   ({AotWorker.Relative(repository, kdt)})");
            _out.WriteLine($"   {theirs.Name,-24} {Millis(t)}   ({tcpdump})");
            _out.WriteLine($"   {floor.Name,-24} {Millis(fl)}");
            _out.WriteLine($"   kdt / tcpdump            {RatioText(ratio)}   target <= {StartupTarget}x   {Mark(met)}");
            _out.WriteLine($"   (over the spawn floor: kdt {o.Median - fl.Median:F2} ms, tcpdump {t.Median - fl.Median:F2} ms, ratio {(o.Median - fl.Median) / (t.Median - fl.Median):F2}x)");
            _out.WriteLine();
            _summary.Add(("kdt start-up / tcpdump's (median wall time)", $"{ratio.Median:F2}x", $"<= {StartupTarget}x", met));
            if (!met)
                _missed.Add("startup");
        }

        // ---------------------------------------------------------------- files

        private void MeasureFiles(string kdt, string big, string repository)
        {
            string? tcpdump = FindTcpdump();
            _out.WriteLine($"5. Files: whole runs of the published kdt vs tcpdump on one capture file, {options.FileRounds} timed rounds after 1 untimed, interleaved");
            if (tcpdump is null)
            {
                _out.WriteLine("   tcpdump is not installed: not measured");
                _summary.Add(("kdt -r -w 'tcp port 80' / tcpdump's", "not measured", $"<= {FilesTarget}x", null));
                return;
            }
            _out.Flush();
            FilesBenchmark.Result r = FilesBenchmark.Run(kdt, tcpdump, big, repository, options.FileRounds, _out);
            double mb = r.FileBytes / 1e6;
            Summary kf = Summary.Of(r.KdtFilter.Milliseconds), tf = Summary.Of(r.TcpdumpFilter.Milliseconds);
            Summary kr = Summary.Of(r.KdtRead.Milliseconds), tr = Summary.Of(r.TcpdumpRead.Milliseconds);
            Summary kl = Summary.Of(r.KdtLz4.Milliseconds);
            Summary filterRatio = Paired(r.KdtFilter.Milliseconds, r.TcpdumpFilter.Milliseconds);
            Summary readRatio = Paired(r.TcpdumpRead.Milliseconds, r.KdtRead.Milliseconds);
            bool met = filterRatio.Median <= FilesTarget;
            _out.WriteLine($"   input: {r.Packets:N0} packets, {mb:F0} MB classic pcap; '{FilesBenchmark.Expression}' selects {r.Selected:N0}");
            _out.WriteLine($"   {r.KdtFilter.Name,-44} {Millis(kf)}");
            _out.WriteLine($"   {r.TcpdumpFilter.Name,-44} {Millis(tf)}");
            _out.WriteLine($"   kdt / tcpdump (wall time)                    {RatioText(filterRatio)}   target <= {FilesTarget}x   {Mark(met)}");
            Summary cpuRatio = Paired(r.KdtFilter.CpuMilliseconds, r.TcpdumpFilter.CpuMilliseconds);
            _out.WriteLine($"   CPU time (user+system, all threads): kdt {Summary.Of(r.KdtFilter.CpuMilliseconds).Median:F0} ms, tcpdump {Summary.Of(r.TcpdumpFilter.CpuMilliseconds).Median:F0} ms, kdt / tcpdump {RatioText(cpuRatio)} (less disturbed by other load)");
            _out.WriteLine($"   {r.KdtRead.Name,-44} {Millis(kr)}   {mb / (kr.Median / 1000),6:F0} MB/s");
            _out.WriteLine($"   {r.TcpdumpRead.Name,-44} {Millis(tr)}   {mb / (tr.Median / 1000),6:F0} MB/s");
            _out.WriteLine($"   read rate kdt / tcpdump                      {RatioText(readRatio)}");
            _out.WriteLine($"   {r.KdtLz4.Name,-44} {Millis(kl)}   {mb / (kl.Median / 1000),6:F0} MB/s of input; " +
                $"LZ4 {r.Lz4Bytes / 1e6:F0} MB for {r.PcapngBytes / 1e6:F0} MB of pcapng ({(double)r.PcapngBytes / r.Lz4Bytes:F2}:1)");
            _out.WriteLine();
            _summary.Add(($"kdt -r -w '{FilesBenchmark.Expression}' / tcpdump's (wall time)", $"{filterRatio.Median:F2}x", $"<= {FilesTarget}x", met));
            _summary.Add(("  (same, CPU time user+system)", $"{cpuRatio.Median:F2}x", "-", null));
            _summary.Add(("  (plain read rate, kdt / tcpdump, --count)", $"{readRatio.Median:F2}x", "-", null));
            _summary.Add(("  (LZ4 pcapng write: input MB/s, compression ratio)", string.Create(Inv, $"{mb / (kl.Median / 1000):F0} MB/s {(double)r.PcapngBytes / r.Lz4Bytes:F2}:1"), "-", null));
            if (!met)
                _missed.Add("files");
        }

        // ---------------------------------------------------------------- taps

        private void MeasureTaps(string kdt, string? sender, string repository)
        {
            string? tcpdump = FindTcpdump();
            _out.WriteLine($"6. Taps: a UDP loopback flood of {options.TapPackets:N0} datagrams from one thread, alone, under kdt and under tcpdump,");
            _out.WriteLine($"   for each payload size ({string.Join(", ", options.TapSizes)} bytes): {options.TapRounds} timed rounds after 1 untimed, order alternating;");
            _out.WriteLine("   both capture to a file and filter on the flood's port in the kernel");
            if (sender is null || tcpdump is null)
            {
                string why = sender is null ? "needs root (BPF programs, AF_PACKET)" : "tcpdump is not installed";
                _out.WriteLine($"   not measured: {why}");
                _summary.Add(("tap capture: sender overhead, kdt / tcpdump", "not measured", "< 1x", null));
                _out.WriteLine();
                return;
            }
            foreach (int size in options.TapSizes)
                MeasureTapSize(kdt, tcpdump, sender, repository, size);
        }

        private void MeasureTapSize(string kdt, string tcpdump, string sender, string repository, int size)
        {
            _out.WriteLine($"   {size}-byte payloads; load average before: {LoadAverage()}");
            _out.Flush();
            TapsBenchmark.Result r = TapsBenchmark.Measure(kdt, tcpdump, sender, repository, options.TapPackets, size, options.TapRounds, _out);
            int rounds = r.Alone.Runs.Count;
            var kdtOverhead = new List<double>();
            var tcpdumpOverhead = new List<double>();
            var difference = new List<double>();
            for (int i = 0; i < rounds; i++)
            {
                double alone = r.Alone.Runs[i].Rate;
                kdtOverhead.Add(1 - r.Kdt.Runs[i].Rate / alone);
                tcpdumpOverhead.Add(1 - r.Tcpdump.Runs[i].Rate / alone);
                difference.Add(kdtOverhead[^1] - tcpdumpOverhead[^1]);
            }
            _out.WriteLine($"   kdt:     {AotWorker.Relative(repository, kdt)} capture -i {TapsBenchmark.Tap} -w out.pcapng 'udp dst port {r.Port}'");
            _out.WriteLine($"   tcpdump: tcpdump -Z root -i lo -w out.pcap 'udp dst port {r.Port}'");
            _out.WriteLine($"   {"sender",-36} {"rate",-26} {"overhead",-22} {"sender CPU/pkt (sys)",-21} {"capture CPU/pkt",-16} captured / sent, lost");
            foreach (TapsBenchmark.Contender c in (TapsBenchmark.Contender[])[r.Alone, r.Kdt, r.Tcpdump])
            {
                Summary rate = Summary.Of(c.Runs.ConvertAll(x => x.Rate));
                Summary system = Summary.Of(c.Runs.ConvertAll(x => x.SenderSystemSeconds / x.Sent * 1e6));
                string overhead = c == r.Alone ? "" : RatioPercent(Summary.Of(c == r.Kdt ? kdtOverhead : tcpdumpOverhead));
                string captureCpu = c == r.Alone ? "" : string.Create(Inv, $"{Summary.Of(c.Runs.ConvertAll(x => x.CaptureCpuSeconds / x.Sent * 1e6)).Median:F2} µs");
                string counts = c == r.Alone ? "" : string.Create(Inv,
                    $"{c.Runs.Sum(x => x.Captured):N0} / {c.Runs.Sum(x => x.Sent):N0}, lost {c.Runs.Sum(x => x.Lost):N0} (in {c.Runs.Count(x => x.Lost > 0)} of {rounds} rounds)");
                _out.WriteLine(string.Create(Inv, $"   {c.Name,-36} {rate.Median,10:N0} pkt/s ±{rate.Spread * 100,4:F1}%   {overhead,-22} {system.Median,6:F2} µs {"",12} {captureCpu,-16} {counts}"));
            }
            long unaccounted = r.Kdt.Runs.Sum(x => Math.Abs(x.Sent - x.Captured - x.Lost));
            _out.WriteLine(unaccounted == 0
                ? $"   kdt accounts for every datagram in every round: sent = captured + reported drops"
                : $"   WARNING: kdt's counts differ from what was sent by {unaccounted:N0} datagrams over the rounds (sent != captured + reported drops)");
            long tcpdumpUnaccounted = r.Tcpdump.Runs.Sum(x => Math.Abs(x.Sent - x.Captured - x.Lost));
            if (tcpdumpUnaccounted != 0)
                _out.WriteLine($"   note: tcpdump's counts differ from what was sent by {tcpdumpUnaccounted:N0} datagrams over the rounds");

            Summary diff = Summary.Of(difference);
            bool overheadMet = diff.Median < 0;
            long kdtLost = r.Kdt.Runs.Sum(x => x.Lost), tcpdumpLost = r.Tcpdump.Runs.Sum(x => x.Lost);
            bool lossMet = kdtLost == 0 && unaccounted == 0;
            _out.WriteLine(string.Create(Inv, $"   overhead kdt - tcpdump (per round, percentage points) {diff.Median * 100:+0.0;-0.0} [{diff.Min * 100:+0.0;-0.0} .. {diff.Max * 100:+0.0;-0.0}]   target < 0   {Mark(overheadMet)}"));
            _out.WriteLine($"   losses: kdt {kdtLost:N0}, tcpdump {tcpdumpLost:N0}   target: kdt 0   {Mark(lossMet)}" +
                (tcpdumpLost == 0 ? "   (tcpdump lost none at this rate either)" : ""));
            _out.WriteLine($"   load average after: {LoadAverage()}");
            _out.WriteLine();
            _summary.Add(($"tap capture, {size} B: sender overhead kdt - tcpdump (points)", string.Create(Inv, $"{diff.Median * 100:+0.0;-0.0}"), "< 0", overheadMet));
            _summary.Add(("  (sender overhead: kdt, tcpdump)", string.Create(Inv, $"{Summary.Of(kdtOverhead).Median * 100:F0}% {Summary.Of(tcpdumpOverhead).Median * 100:F0}%"), "-", null));
            _summary.Add(($"tap capture, {size} B: datagrams lost by kdt (tcpdump's in brackets)", $"{kdtLost:N0} ({tcpdumpLost:N0})", "0", lossMet));
            if (!overheadMet)
                _missed.Add($"taps-overhead-{size}");
            if (!lossMet)
                _missed.Add($"taps-loss-{size}");
        }

        private static string RatioPercent(Summary s) => string.Create(Inv, $"{s.Median * 100,5:F1}% [{s.Min * 100:F0}..{s.Max * 100:F0}]");

        /// <summary>Median of per-round ratios a/b, with the extreme rounds.</summary>
        private static Summary Paired(List<double> a, List<double> b)
        {
            var ratios = new List<double>();
            for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
                ratios.Add(a[i] / b[i]);
            return Summary.Of(ratios);
        }

        // ---------------------------------------------------------------- summary and formatting

        private void PrintSummary()
        {
            _out.WriteLine($"load average at end: {LoadAverage()}");
            _out.WriteLine();
            _out.WriteLine("Summary");
            _out.WriteLine($"   {"measurement",-62} {"measured",-14} {"target",-8} result");
            foreach (var (what, measured, target, met) in _summary)
                _out.WriteLine($"   {what,-62} {measured,-14} {target,-8} {(met is null ? "" : Mark(met.Value))}");
            _out.WriteLine(_missed.Count == 0
                ? "   all targets met"
                : $"   targets missed: {string.Join(", ", _missed)} (see bench/README.md for how to profile)");
        }

        private static string Mark(bool met) => met ? "MET" : "MISSED";

        private static string RatioText(Summary r) => string.Create(Inv, $"{r.Median:F2}x [{r.Min:F2}-{r.Max:F2}]");

        private static string Rate(Summary s, string unit) => string.Create(Inv, $"{s.Median,12:N0} {unit} ±{s.Spread * 100:F1}%");

        private static string PacketRate(Summary s) => string.Create(Inv, $"{s.Median / 1e6,5:F1} M/s ±{s.Spread * 100:F0}%");

        private static string Millis(Summary s) => string.Create(Inv, $"{s.Median,7:F2} ms ±{s.Spread * 100:F0}%  (min {s.Min:F2}, max {s.Max:F2})");

        private static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

        private static string FindRepository(string? given)
        {
            if (given is not null)
                return File.Exists(Path.Combine(given, "KdtCapture.sln")) ? Path.GetFullPath(given)
                    : throw new InvalidOperationException($"{given} holds no KdtCapture.sln");
            foreach (string start in (string[])[Environment.CurrentDirectory, AppContext.BaseDirectory])
            {
                for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
                {
                    if (File.Exists(Path.Combine(d.FullName, "KdtCapture.sln")))
                        return d.FullName;
                }
            }
            throw new InvalidOperationException("cannot find the repository (KdtCapture.sln); run from inside it or pass --repo");
        }

        private static string? FindTcpdump()
        {
            foreach (string p in (string[])["/usr/sbin/tcpdump", "/usr/bin/tcpdump"])
            {
                if (File.Exists(p))
                    return p;
            }
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                string p = Path.Combine(dir, "tcpdump");
                if (File.Exists(p))
                    return p;
            }
            return null;
        }

        private static string TcpdumpVersion(string tcpdump)
        {
            try
            {
                var (_, stdout, stderr) = StartupBenchmark.RunOnce(new StartupBenchmark.Command("tcpdump", tcpdump, ["--version"]));
                return (stdout + stderr).Split('\n')[0].Trim();
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return "tcpdump";
            }
        }

        private static string LoadAverage()
        {
            try
            {
                return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
            }
            catch (IOException)
            {
                return "unknown";
            }
        }

        private static string CpuModel()
        {
            try
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal))
                        return line[(line.IndexOf(':') + 1)..].Trim();
                }
            }
            catch (IOException)
            {
            }
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }
}
