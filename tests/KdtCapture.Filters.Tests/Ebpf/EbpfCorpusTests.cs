using System.Collections.Concurrent;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Ebpf;
using KdtCapture.Filters.Tests.Cbpf;
using KdtCapture.Filters.Tests.Differential;
using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Ebpf;

/// <summary>
/// Every expression of the filter corpus, compiled for the two link types a tap gives frames
/// (EN10MB and RAW), optimized and not, translated to eBPF and run by <see cref="EbpfTestMachine"/> on
/// real packets of tcpdump's test captures and on truncations of them, returns what the reference
/// interpreter returns, packet by packet.
/// </summary>
public sealed class EbpfCorpusTests
{
    /// <summary>The frames a filter for <paramref name="linkType"/> runs on: a spread of the captures of that link type.</summary>
    internal sealed record Frame(byte[] Data, int Available, uint WireLength, string Source);

    private static readonly ConcurrentDictionary<LinkType, Frame[]> FrameCache = new();

    /// <summary>
    /// Up to two packets of every capture of the link type (RAW also takes raw IPv4/IPv6 captures), each
    /// whole and cut at one pseudo-random length, so that loads past the end are exercised on real headers.
    /// </summary>
    internal static Frame[] FramesFor(LinkType linkType) => FrameCache.GetOrAdd(linkType, static lt =>
    {
        var random = new Random(20251);
        var frames = new List<Frame>();
        foreach (var capture in CbpfTestData.Corpus)
        {
            bool fits = capture.LinkType == lt || (lt == LinkType.RAW && capture.LinkType is LinkType.IPV4 or LinkType.IPV6);
            if (!fits)
                continue;
            var picks = capture.Packets.Length == 1 ? [0] : new[] { 0, capture.Packets.Length / 2 + 1 };
            foreach (int i in picks.Where(i => i < capture.Packets.Length).Distinct())
            {
                var packet = capture.Packets[i];
                string source = $"{capture.Name} #{i + 1}";
                frames.Add(new Frame(packet.Data, packet.Data.Length, packet.WireLength, source));
                if (packet.Data.Length > 0)
                    frames.Add(new Frame(packet.Data, random.Next(packet.Data.Length), packet.WireLength, source + " (cut)"));
            }
        }
        return [.. frames];
    });

    /// <summary>What translating and running one corpus expression found.</summary>
    private sealed class Tally
    {
        public int Compiled, Translated, Runs, Accepted;
        public readonly ConcurrentDictionary<EbpfTranslationFailure, int> Refused = new();
        public readonly ConcurrentQueue<string> Problems = new();
        public readonly ConcurrentQueue<string> TooLarge = new();
        public int MaxLength, MaxStack;
    }

    [Fact]
    public void Every_corpus_expression_agrees_with_the_reference_on_real_frames()
    {
        CbpfTestData.RequireLibPcap();
        if (CbpfTestData.Corpus.Length == 0)
            Assert.Skip("the tcpdump-tests capture corpus (../shared/corpora/tcpdump-tests) is not on this machine");

        LinkType[] linkTypes = [LinkType.EN10MB, LinkType.RAW];
        var frames = linkTypes.ToDictionary(lt => lt, FramesFor);
        var tally = new Tally();
        var entries = FilterCorpus.Entries.Where(e => !e.ExpectError).ToArray();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 2 };
        Parallel.ForEach(entries, parallel, () => new EbpfTestMachine(), (entry, _, machine) =>
        {
            foreach (var lt in linkTypes)
            {
                foreach (bool optimize in new[] { true, false })
                {
                    CbpfProgram compiled;
                    try
                    {
                        compiled = FilterCompiler.Compile(entry.Expression, lt, FilterDifferential.Options(optimize));
                    }
                    catch (FilterCompileException)
                    {
                        continue;
                    }
                    Interlocked.Increment(ref tally.Compiled);
                    var program = compiled.ToArray();
                    // Optimized programs run with every prefix choice; unoptimized ones with the default.
                    var variants = optimize ? EbpfTranslatorTests.Variants : [EbpfTranslationOptions.Default];
                    foreach (var options in variants)
                    {
                        if (!EbpfTranslator.TryTranslate(program, options, out var translated, out var failure))
                        {
                            if (failure.Failure is EbpfTranslationFailure.InvalidProgram)
                                tally.Problems.Enqueue($"{entry} on {lt}: {failure.Message}");
                            if (options == EbpfTranslationOptions.Default)
                            {
                                tally.Refused.AddOrUpdate(failure.Failure, 1, (_, n) => n + 1);
                                if (failure.Failure == EbpfTranslationFailure.TooLarge)
                                    tally.TooLarge.Enqueue($"{entry.Display} on {lt}{(optimize ? "" : " (-O)")}: {program.Length} cBPF instructions");
                            }
                            break;
                        }
                        if (ComparesAvailableLength(translated) is int at)
                            tally.Problems.Enqueue($"{entry} on {lt}: instruction {at} compares R7, which the verifier would then track differently on every path");
                        if (options == EbpfTranslationOptions.Default)
                        {
                            Interlocked.Increment(ref tally.Translated);
                            InterlockedMax(ref tally.MaxLength, translated.Length);
                            InterlockedMax(ref tally.MaxStack, translated.StackBytes);
                        }
                        int accepted = 0, problems = 0;
                        foreach (var frame in frames[lt])
                        {
                            var problem = EbpfTranslatorTests.Disagreement(machine, program, translated, frame.Data, frame.Available, frame.WireLength);
                            if (problem is not null && problems++ < 2)
                                tally.Problems.Enqueue($"{entry} on {lt} (optimize {optimize}, prefix {options.PrefixBytes}), {frame.Source}: {problem}");
                            if (problem is null && CbpfInterpreter.Run(program, frame.Data.AsSpan(0, frame.Available), frame.WireLength) != 0)
                                accepted++;
                        }
                        Interlocked.Add(ref tally.Runs, frames[lt].Length);
                        Interlocked.Add(ref tally.Accepted, accepted);
                    }
                }
            }
            return machine;
        }, _ => { });

        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{entries.Length} expressions, {tally.Compiled} programs compiled (EN10MB/RAW, optimized and not), {tally.Translated} translated; " +
            $"refused: {string.Join(", ", tally.Refused.Select(kv => $"{kv.Key} {kv.Value}"))}");
        output?.WriteLine($"frames: EN10MB {frames[LinkType.EN10MB].Length}, RAW {frames[LinkType.RAW].Length}; {tally.Runs} runs, {tally.Accepted} accepted; " +
            $"longest translation {tally.MaxLength} instructions, deepest stack {tally.MaxStack} bytes");
        foreach (var large in tally.TooLarge)
            output?.WriteLine("too large: " + large);
        Assert.True(tally.Problems.IsEmpty, $"{tally.Problems.Count} disagreements:\n{string.Join("\n", tally.Problems.Take(30))}");
        // Only protochain loops, socket metadata and size may keep a program out of the kernel.
        Assert.True(tally.Refused.Keys.All(k => k is EbpfTranslationFailure.BackwardJump or EbpfTranslationFailure.KernelMetadata or EbpfTranslationFailure.TooLarge),
            $"refused for other reasons: {string.Join(", ", tally.Refused)}");
        Assert.True(tally.Translated >= tally.Compiled * 95 / 100, $"only {tally.Translated} of {tally.Compiled} programs translate");
        Assert.True(tally.Accepted > tally.Runs / 50 && tally.Accepted < tally.Runs, $"{tally.Accepted} of {tally.Runs} runs accepted: a vacuous sample");
        Assert.True(frames[LinkType.EN10MB].Length > 500 && frames[LinkType.RAW].Length > 20, "too few frames");
    }

    /// <summary>The first conditional jump with R7 (the available length) as an operand, or null.</summary>
    internal static int? ComparesAvailableLength(EbpfFilterProgram program)
    {
        var code = program.Instructions;
        for (int i = 0; i < code.Length; i++)
        {
            var insn = code[i];
            int cls = insn.OpCode & 0x07, op = insn.OpCode & 0xf0;
            bool conditional = (cls == 0x05 || cls == 0x06) && op is not (0x00 or 0x80 or 0x90);
            if (conditional && (insn.Destination == 7 || ((insn.OpCode & 0x08) != 0 && insn.Source == 7)))
                return i;
        }
        return null;
    }

    private static void InterlockedMax(ref int location, int value)
    {
        int current;
        while ((current = Volatile.Read(ref location)) < value && Interlocked.CompareExchange(ref location, value, current) != current)
        {
        }
    }
}
