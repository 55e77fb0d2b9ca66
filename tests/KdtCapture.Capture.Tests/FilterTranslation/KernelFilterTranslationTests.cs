using System.Diagnostics;
using KdtCapture.Bpf;
using KdtCapture.Bpf.Programs;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Ebpf;
using KdtCapture.Testing;

namespace KdtCapture.Capture.Tests.FilterTranslation;

/// <summary>Kernel filter tests load many programs; they run alone so that they do not starve the others of descriptors.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelFilterCollection
{
    public const string Name = "kernel filter translation";
}

/// <summary>
/// Translated filters run by the kernel: the verifier accepts the translation of every corpus expression
/// (EN10MB and RAW, optimized and not) that the translator does not refuse, and the kernel's verdict on
/// real frames of tcpdump's test captures, whole and cut, is the reference interpreter's.
/// </summary>
[Collection(KernelFilterCollection.Name)]
public sealed class KernelFilterTranslationTests
{
    private const string CaptureDirectory = "/work/shared/corpora/tcpdump-tests";
    private const int Batch = 128;

    private static readonly LinkType[] TapLinkTypes = [LinkType.EN10MB, LinkType.RAW];

    /// <summary>A frame: the packet's bytes, how many of them are available, its wire length.</summary>
    private sealed record Frame(byte[] Data, int Available, uint WireLength, string Source);

    /// <summary>One compiled corpus expression and its translation.</summary>
    private sealed record Case(string Expression, LinkType LinkType, bool Optimize, CbpfInstruction[] Program, EbpfFilterProgram Translated)
    {
        public override string ToString() => $"'{Expression}' on {LinkType}{(Optimize ? "" : " (-O)")}";
    }

    private static readonly Lazy<Dictionary<LinkType, Frame[]>> Frames = new(LoadFrames);

    private static void RequireKernel()
    {
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("needs root (CAP_BPF, CAP_PERFMON) to load BPF programs");
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed to read the captures");
        if (!Directory.Exists(CaptureDirectory))
            Assert.Skip("the tcpdump-tests capture corpus is not on this machine");
    }

    /// <summary>Up to two packets of every capture of the link type (RAW also takes raw IPv4/IPv6 captures), whole and cut at one pseudo-random length.</summary>
    private static Dictionary<LinkType, Frame[]> LoadFrames()
    {
        var random = new Random(20251);
        var frames = TapLinkTypes.ToDictionary(lt => lt, _ => new List<Frame>());
        foreach (string path in Directory.EnumerateFiles(CaptureDirectory).Order(StringComparer.Ordinal))
        {
            if (!path.EndsWith(".pcap", StringComparison.Ordinal) && !path.EndsWith(".pcapng", StringComparison.Ordinal))
                continue;
            if (LibPcapOracle.ReadFile(path, out _) is not { } file || file.Packets.Count == 0)
                continue;
            LinkType lt = file.LinkType is LinkType.IPV4 or LinkType.IPV6 ? LinkType.RAW : file.LinkType;
            if (!frames.TryGetValue(lt, out var list))
                continue;
            foreach (int i in new[] { 0, file.Packets.Count / 2 + 1 }.Where(i => i < file.Packets.Count).Distinct())
            {
                var packet = file.Packets[i];
                string source = $"{Path.GetFileName(path)} #{i + 1}";
                list.Add(new Frame(packet.Data, Math.Min(packet.Data.Length, FilterHarness.MaxFrame), packet.WireLength, source));
                if (packet.Data.Length > 0)
                    list.Add(new Frame(packet.Data, random.Next(Math.Min(packet.Data.Length, FilterHarness.MaxFrame)), packet.WireLength, source + " (cut)"));
            }
        }
        return frames.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
    }

    /// <summary>The corpus expressions that compile, translated with <paramref name="options"/>; the refusals counted by reason.</summary>
    private static List<Case> CorpusCases(EbpfTranslationOptions options, Dictionary<string, int> refused, bool unoptimizedToo = true)
    {
        var cases = new List<Case>();
        foreach (var entry in FilterCorpus.Entries)
        {
            if (entry.ExpectError)
                continue;
            foreach (var lt in TapLinkTypes)
            {
                foreach (bool optimize in unoptimizedToo ? new[] { true, false } : [true])
                {
                    CbpfInstruction[] program;
                    try
                    {
                        program = FilterCompiler.Compile(entry.Expression, lt, new FilterCompileOptions { Optimize = optimize, Netmask = 0 }).ToArray();
                    }
                    catch (FilterCompileException)
                    {
                        continue;
                    }
                    if (EbpfTranslator.TryTranslate(program, options, out var translated, out var failure))
                    {
                        cases.Add(new Case(entry.Expression, lt, optimize, program, translated));
                        continue;
                    }
                    string reason = failure.Failure.ToString();
                    refused[reason] = refused.GetValueOrDefault(reason) + 1;
                }
            }
        }
        return cases;
    }

    /// <summary>Loads the cases in batches, runs each on every frame of its link type, and collects rejections and disagreements.</summary>
    private static (int Loaded, long Runs, long Accepted, TimeSpan LoadTime, uint MaxVerified) LoadAndCompare(
        FilterHarness harness, List<Case> cases, FrameAddressKind kind, int frameStride, List<string> problems)
    {
        int loaded = 0;
        long runs = 0, accepted = 0;
        uint maxVerified = 0;
        var loadTime = new Stopwatch();
        foreach (var lt in TapLinkTypes)
        {
            var ofType = cases.Where(c => c.LinkType == lt).ToList();
            Frame[] frames = Frames.Value[lt];
            for (int start = 0; start < ofType.Count; start += Batch)
            {
                var batch = new List<(Case Case, BpfProgram Program)>();
                try
                {
                    foreach (var c in ofType.Skip(start).Take(Batch))
                    {
                        loadTime.Start();
                        try
                        {
                            var program = harness.Load(c.Translated, kind);
                            batch.Add((c, program));
                            loaded++;
                        }
                        catch (BpfVerifierException e)
                        {
                            problems.Add($"{c}: the verifier refuses the translation ({c.Translated.Length} instructions): {BpfVerifierException.LastLines(e.Log, 3)}");
                        }
                        finally
                        {
                            loadTime.Stop();
                        }
                    }
                    foreach (var (_, program) in batch)
                        maxVerified = Math.Max(maxVerified, program.GetInfo().VerifiedInstructions);

                    for (int f = 0; f < frames.Length; f += frameStride)
                    {
                        var frame = frames[f];
                        harness.SetFrame(frame.Data);
                        var seen = frame.Data.AsSpan(0, frame.Available);
                        foreach (var (c, program) in batch)
                        {
                            uint expected = CbpfInterpreter.Run(c.Program, seen, frame.WireLength);
                            uint actual = FilterHarness.Run(program, frame.Available, frame.WireLength);
                            runs++;
                            if (actual != 0)
                                accepted++;
                            if (actual != expected && problems.Count < 40)
                                problems.Add($"{c}, {frame.Source} ({frame.Available}/{frame.Data.Length} bytes): kernel {actual}, reference {expected}");
                        }
                    }
                }
                finally
                {
                    foreach (var (_, program) in batch)
                        program.Dispose();
                }
            }
        }
        return (loaded, runs, accepted, loadTime.Elapsed, maxVerified);
    }

    [Fact]
    public void The_verifier_accepts_every_corpus_translation_and_the_kernel_agrees_with_the_reference()
    {
        RequireKernel();
        var refused = new Dictionary<string, int>();
        var cases = CorpusCases(EbpfTranslationOptions.Default, refused);
        using var harness = new FilterHarness();
        var problems = new List<string>();
        var (loaded, runs, accepted, loadTime, maxVerified) = LoadAndCompare(harness, cases, FrameAddressKind.Scalar, 1, problems);

        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{cases.Count} translations (EN10MB and RAW, optimized and not), {loaded} accepted by the verifier in {loadTime.TotalSeconds:0.0} s " +
            $"(at most {maxVerified} instructions processed, longest translation {cases.Max(c => c.Translated.Length)}); " +
            $"refused by the translator: {string.Join(", ", refused.Select(kv => $"{kv.Key} {kv.Value}"))}");
        output?.WriteLine($"frames: EN10MB {Frames.Value[LinkType.EN10MB].Length}, RAW {Frames.Value[LinkType.RAW].Length}; {runs} kernel runs, {accepted} accepted");
        Assert.True(problems.Count == 0, $"{problems.Count} problems:\n{string.Join("\n", problems)}");
        Assert.Equal(cases.Count, loaded);
        // Under the default size limit only loops and socket metadata keep a corpus program out of the kernel.
        Assert.True(refused.Keys.All(r => r is nameof(EbpfTranslationFailure.BackwardJump) or nameof(EbpfTranslationFailure.KernelMetadata)),
            string.Join(", ", refused));
        Assert.True(cases.Count > 3000, $"only {cases.Count} translations");
        Assert.True(accepted > runs / 50 && accepted < runs, $"{accepted} of {runs} runs accepted: a vacuous sample");
    }

    [Fact]
    public void Verifier_pointer_frames_and_every_prefix_choice_agree_too()
    {
        RequireKernel();
        using var harness = new FilterHarness();
        var problems = new List<string>();
        var output = TestContext.Current.TestOutputHelper;
        foreach (var options in new[] { new EbpfTranslationOptions { PrefixBytes = 0 }, new EbpfTranslationOptions { PrefixBytes = EbpfTranslationOptions.MaxPrefixBytes } })
        {
            var cases = CorpusCases(options, [], unoptimizedToo: false).Where((_, i) => i % 4 == 0).ToList();
            var (loaded, runs, _, loadTime, maxVerified) = LoadAndCompare(harness, cases, FrameAddressKind.MapValuePointer, 3, problems);
            output?.WriteLine($"prefix {options.PrefixBytes}, frame address as a map-value pointer: {loaded} of {cases.Count} loaded in {loadTime.TotalSeconds:0.0} s " +
                $"(at most {maxVerified} instructions processed), {runs} runs");
            Assert.Equal(cases.Count, loaded + problems.Count(p => p.Contains("verifier", StringComparison.Ordinal)));
        }
        Assert.True(problems.Count == 0, $"{problems.Count} problems:\n{string.Join("\n", problems)}");
    }

    private static CbpfInstruction S(int code, uint k = 0) => CbpfInstruction.Stmt(code, k);

    private static CbpfInstruction J(int code, uint k, byte jt, byte jf) => CbpfInstruction.Jump(code, k, jt, jf);

    /// <summary>
    /// Where a JIT could part from the reference: division and modulo by zero, shifts by 32 and more,
    /// X + k past 2^32, unaligned words, wrapping arithmetic, compares with k above 2^31, scratch memory.
    /// </summary>
    private static readonly (string What, CbpfInstruction[] Program)[] EdgePrograms =
    [
        ("division by X", [S(Cbpf.Ld | Cbpf.B | Cbpf.Abs, 1), S(Cbpf.Misc | Cbpf.Tax), S(Cbpf.Ld | Cbpf.Imm, 100), S(Cbpf.Alu | Cbpf.Div | Cbpf.X), S(Cbpf.Alu | Cbpf.Add | Cbpf.K, 1), S(Cbpf.Ret | Cbpf.A)]),
        ("modulo by X", [S(Cbpf.Ld | Cbpf.B | Cbpf.Abs, 1), S(Cbpf.Misc | Cbpf.Tax), S(Cbpf.Ld | Cbpf.Imm, 100), S(Cbpf.Alu | Cbpf.Mod | Cbpf.X), S(Cbpf.Alu | Cbpf.Add | Cbpf.K, 1), S(Cbpf.Ret | Cbpf.A)]),
        ("division and modulo by constants above 2^31", [S(Cbpf.Ld | Cbpf.W | Cbpf.Abs, 0), S(Cbpf.Alu | Cbpf.Div | Cbpf.K, 0x80000001), S(Cbpf.Alu | Cbpf.Add | Cbpf.K, 0xfffffff0), S(Cbpf.Alu | Cbpf.Mod | Cbpf.K, 0x90000007), S(Cbpf.Ret | Cbpf.A)]),
        ("shifts by X", [S(Cbpf.Ld | Cbpf.B | Cbpf.Abs, 2), S(Cbpf.Misc | Cbpf.Tax), S(Cbpf.Ld | Cbpf.Imm, 0xdeadbeef), S(Cbpf.Alu | Cbpf.Lsh | Cbpf.X), S(Cbpf.St, 0), S(Cbpf.Ld | Cbpf.Imm, 0x80000001), S(Cbpf.Alu | Cbpf.Rsh | Cbpf.X), S(Cbpf.Ldx | Cbpf.Mem, 0), S(Cbpf.Alu | Cbpf.Xor | Cbpf.X), S(Cbpf.Alu | Cbpf.Or | Cbpf.K, 1), S(Cbpf.Ret | Cbpf.A)]),
        ("shifts by constants past 31", [S(Cbpf.Ld | Cbpf.W | Cbpf.Abs, 0), S(Cbpf.Alu | Cbpf.Lsh | Cbpf.K, 33), S(Cbpf.Alu | Cbpf.Rsh | Cbpf.K, 63), S(Cbpf.Alu | Cbpf.Or | Cbpf.K, 1), S(Cbpf.Ret | Cbpf.A)]),
        ("negation and multiplication wrap", [S(Cbpf.Ld | Cbpf.W | Cbpf.Abs, 4), S(Cbpf.Alu | Cbpf.Neg), S(Cbpf.Alu | Cbpf.Mul | Cbpf.K, 0x9e3779b9), S(Cbpf.Alu | Cbpf.Sub | Cbpf.K, 5), S(Cbpf.Ret | Cbpf.A)]),
        ("X + k past 2^32", [S(Cbpf.Ldx | Cbpf.Imm, 0xfffffffe), S(Cbpf.Ld | Cbpf.B | Cbpf.Ind, 3), S(Cbpf.Alu | Cbpf.Or | Cbpf.K, 1), S(Cbpf.Ret | Cbpf.A)]),
        ("indirect from the IP header length", [S(Cbpf.Ldx | Cbpf.Msh | Cbpf.B, 14), S(Cbpf.Ld | Cbpf.W | Cbpf.Ind, 13), S(Cbpf.Alu | Cbpf.Or | Cbpf.K, 1), S(Cbpf.Ret | Cbpf.A)]),
        ("unaligned words and halves", [S(Cbpf.Ld | Cbpf.W | Cbpf.Abs, 1), S(Cbpf.Misc | Cbpf.Tax), S(Cbpf.Ld | Cbpf.W | Cbpf.Abs, 26), S(Cbpf.Alu | Cbpf.Xor | Cbpf.X), S(Cbpf.Misc | Cbpf.Tax), S(Cbpf.Ld | Cbpf.H | Cbpf.Abs, 63), S(Cbpf.Alu | Cbpf.Add | Cbpf.X), S(Cbpf.Alu | Cbpf.Or | Cbpf.K, 1), S(Cbpf.Ret | Cbpf.A)]),
        ("compares with k above 2^31", [S(Cbpf.Ld | Cbpf.W | Cbpf.Abs, 0), J(Cbpf.Jmp | Cbpf.Jgt | Cbpf.K, 0x80000000, 0, 1), S(Cbpf.Ret | Cbpf.K, 1), J(Cbpf.Jmp | Cbpf.Jset | Cbpf.K, 0x80000001, 0, 1), S(Cbpf.Ret | Cbpf.K, 2), S(Cbpf.Ret | Cbpf.K, 3)]),
        ("scratch memory and len", [S(Cbpf.Ld | Cbpf.Mem, 3), S(Cbpf.Ldx | Cbpf.W | Cbpf.Len), S(Cbpf.Alu | Cbpf.Add | Cbpf.X), S(Cbpf.St, 15), S(Cbpf.Ldx | Cbpf.Mem, 15), S(Cbpf.Misc | Cbpf.Txa), S(Cbpf.Alu | Cbpf.Add | Cbpf.K, 1), S(Cbpf.Ret | Cbpf.A)]),
    ];

    [Fact]
    public void Edge_programs_give_the_reference_verdict_in_the_kernel_on_every_truncation()
    {
        RequireKernel();
        var random = new Random(11);
        using var harness = new FilterHarness();
        var problems = new List<string>();
        int runs = 0;
        foreach (var (what, program) in EdgePrograms)
        {
            foreach (int prefix in new[] { 64, 0 })
            {
                var translated = EbpfTranslator.Translate(program, new EbpfTranslationOptions { PrefixBytes = prefix });
                using var loaded = harness.Load(translated, FrameAddressKind.Scalar);
                for (int trial = 0; trial < 4; trial++)
                {
                    var packet = new byte[72];
                    random.NextBytes(packet);
                    packet[1] = (byte)(trial == 0 ? 0 : packet[1]); // X = 0 for the divisions
                    packet[2] = (byte)(trial switch { 0 => 0, 1 => 31, 2 => 32, _ => 200 }); // shift counts at the edge
                    packet[14] = (byte)(0x40 | (trial * 5));
                    harness.SetFrame(packet);
                    for (int available = 0; available <= packet.Length; available++)
                    {
                        uint wire = trial == 3 ? 0xfffffff0u : (uint)available + (uint)trial;
                        uint expected = CbpfInterpreter.Run(program, packet.AsSpan(0, available), wire);
                        uint actual = FilterHarness.Run(loaded, available, wire);
                        runs++;
                        if (actual != expected && problems.Count < 20)
                            problems.Add($"{what} (prefix {prefix}) on {available} of [{Convert.ToHexString(packet)}] wire {wire}: kernel {actual}, reference {expected}");
                    }
                }
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"{EdgePrograms.Length} programs, {runs} kernel runs");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Undecided_translations_verify_and_settle_to_the_reference_verdict_on_the_whole_frame()
    {
        // What a tap does with an skb whose bytes are partly paged: the kernel runs the filter on the
        // linear bytes (a cut of the frame), and a load past them but within the wire length leaves
        // the verdict to user space, which runs the same cBPF on the whole frame.
        RequireKernel();
        var options = new EbpfTranslationOptions { UndecidedBeyondAvailable = true };
        var cases = CorpusCases(options, [], unoptimizedToo: false).Where((_, i) => i % 3 == 0).ToList();
        using var harness = new FilterHarness();
        var problems = new List<string>();
        int loaded = 0;
        long runs = 0, undecided = 0;
        foreach (var lt in TapLinkTypes)
        {
            var ofType = cases.Where(c => c.LinkType == lt).ToList();
            Frame[] frames = Frames.Value[lt].Where(f => f.Available == Math.Min(f.Data.Length, FilterHarness.MaxFrame)).ToArray();
            for (int start = 0; start < ofType.Count; start += Batch)
            {
                var batch = new List<(Case Case, BpfProgram Program)>();
                try
                {
                    foreach (var c in ofType.Skip(start).Take(Batch))
                    {
                        try
                        {
                            batch.Add((c, harness.Load(c.Translated, FrameAddressKind.Scalar)));
                            loaded++;
                        }
                        catch (BpfVerifierException e)
                        {
                            problems.Add($"{c}: the verifier refuses the translation: {BpfVerifierException.LastLines(e.Log, 3)}");
                        }
                    }
                    for (int f = 0; f < frames.Length; f += 2)
                    {
                        var frame = frames[f];
                        harness.SetFrame(frame.Data);
                        byte[] whole = frame.Data.AsSpan(0, frame.Available).ToArray();
                        // Linear parts: headers only (as TCP over loopback has them), and half the frame.
                        foreach (int linear in new[] { Math.Min(whole.Length, lt == LinkType.EN10MB ? 54 : 40), whole.Length / 2 })
                        {
                            foreach (var (c, program) in batch)
                            {
                                uint expected = CbpfInterpreter.Run(c.Program, whole, frame.WireLength);
                                uint actual = FilterHarness.Run(program, linear, frame.WireLength);
                                runs++;
                                if (actual == FilterHarness.Undecided)
                                {
                                    undecided++;
                                    actual = CbpfInterpreter.Run(c.Program, whole, frame.WireLength);
                                }
                                if (actual != expected && problems.Count < 40)
                                    problems.Add($"{c}, {frame.Source} ({linear} linear of {whole.Length}): kernel {actual}, reference on the whole frame {expected}");
                            }
                        }
                    }
                }
                finally
                {
                    foreach (var (_, program) in batch)
                        program.Dispose();
                }
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"{cases.Count} translations with undecided loads, {loaded} verified; {runs} kernel runs, {undecided} left to the whole frame");
        Assert.True(problems.Count == 0, $"{problems.Count} problems:\n{string.Join("\n", problems)}");
        Assert.Equal(cases.Count, loaded);
        Assert.True(undecided > runs / 100 && undecided < runs, $"{undecided} of {runs} runs undecided: a vacuous sample");
    }

    [Fact]
    public void The_largest_translation_under_the_size_limit_verifies()
    {
        RequireKernel();
        // The default limit is the reach of a 16-bit jump; the verifier must take what lies just under it.
        // "port 1 or port 2 or ..." unoptimized grows by about 240 instructions a term.
        var output = TestContext.Current.TestOutputHelper;
        var unoptimized = new FilterCompileOptions { Optimize = false, Netmask = 0 };
        EbpfFilterProgram? largest = null;
        int terms = 0;
        for (int n = 100; ; n += 2)
        {
            var program = FilterCompiler.Compile(string.Join(" or ", Enumerable.Range(1, n).Select(p => $"port {p}")), LinkType.EN10MB, unoptimized);
            if (!EbpfTranslator.TryTranslate(program.Instructions, null, out var translated, out var failure))
            {
                Assert.Equal(EbpfTranslationFailure.TooLarge, failure.Failure);
                break;
            }
            largest = translated;
            terms = n;
        }
        Assert.NotNull(largest);
        Assert.True(largest.Length > EbpfTranslationOptions.Default.MaxInstructions - 600, $"the largest translation has {largest.Length} instructions");
        using var harness = new FilterHarness();
        var watch = Stopwatch.StartNew();
        using var loaded = harness.Load(largest, FrameAddressKind.Scalar);
        output?.WriteLine($"{terms} ports: {largest.Length} eBPF instructions verified in {watch.ElapsedMilliseconds} ms, " +
            $"{loaded.GetInfo().VerifiedInstructions} instructions processed (limit {EbpfTranslationOptions.Default.MaxInstructions})");
        // UDP from port 65520 to port 7 (one of the terms), then to port 255 (past the last term).
        byte[] udp = Convert.FromHexString("02000000000102000000000208004500001c000100004011f9cc0a0000010a000002" + "fff0" + "0007" + "00080000");
        harness.SetFrame(udp);
        Assert.Equal(262144u, FilterHarness.Run(loaded, udp.Length, (uint)udp.Length));
        udp[37] = 0xff;
        harness.SetFrame(udp);
        Assert.Equal(terms >= 255 ? 262144u : 0u, FilterHarness.Run(loaded, udp.Length, (uint)udp.Length));
    }

    [Fact]
    public void Time_per_filter_run_in_the_kernel_is_reported()
    {
        RequireKernel();
        // A measurement for the report, not an assertion: the kernel's own run-time statistics
        // (kernel.bpf_stats_enabled, restored afterwards) over many test runs. The empty filter
        // (a lone ret) gives the harness's floor (map lookup and call) to subtract.
        const string StatsSwitch = "/proc/sys/kernel/bpf_stats_enabled";
        if (!File.Exists(StatsSwitch))
            Assert.Skip("this kernel has no kernel.bpf_stats_enabled");
        byte[] frame = Convert.FromHexString(
            "0200000000010200000000020800450000340001400040061c6e0a0000010a00000201bb005000000001000000008012ffff3a1f0000020405b40103030801010402");
        using var harness = new FilterHarness();
        harness.SetFrame(frame);
        var output = TestContext.Current.TestOutputHelper;
        string[] expressions = ["", "tcp port 80", "host 10.0.0.2 and tcp[tcpflags] & tcp-syn != 0", "ip6 or udp port 53", "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420"];
        const int runs = 50_000;
        double floor = 0;
        string before = File.ReadAllText(StatsSwitch).Trim();
        File.WriteAllText(StatsSwitch, "1");
        try
        {
            foreach (string expression in expressions)
            {
                var program = FilterCompiler.Compile(expression, LinkType.EN10MB);
                uint expected = CbpfInterpreter.Run(program.Instructions, frame, (uint)frame.Length);
                var line = new List<string>();
                foreach (int prefix in new[] { 64, 0 })
                {
                    var translated = EbpfTranslator.Translate(program, new EbpfTranslationOptions { PrefixBytes = prefix });
                    using var loaded = harness.Load(translated, FrameAddressKind.Scalar);
                    for (int i = 0; i < runs; i++)
                        Assert.Equal(expected, FilterHarness.Run(loaded, frame.Length, (uint)frame.Length));
                    var info = loaded.GetInfo();
                    double ns = info.RunCount == 0 ? double.NaN : (double)info.RunTimeNs / info.RunCount;
                    if (expression.Length == 0 && prefix == 64)
                        floor = ns;
                    line.Add($"prefix {prefix}: {ns - floor:0} ns ({translated.Length} instructions, {translated.HelperCallSites} probe-read sites)");
                }
                output?.WriteLine($"'{expression}' ({program.Length} cBPF instructions, verdict {expected}): {string.Join("; ", line)}");
            }
        }
        finally
        {
            File.WriteAllText(StatsSwitch, before);
        }
        output?.WriteLine($"floor (harness: map lookup, call, ret): {floor:0} ns per run");
    }
}
