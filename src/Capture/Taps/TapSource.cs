using System.Diagnostics;
using System.Text.Unicode;
using KdtCapture.Bpf;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Btf;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Objects;
using KdtCapture.Bpf.PerfEvents;
using KdtCapture.Bpf.Programs;
using KdtCapture.Bpf.Symbols;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Filters.Ebpf;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Taps;

/// <summary>
/// Kernel-side counts of one tap: every program run, and where the packets that were not delivered went.
/// <see cref="Undecided"/>: packets the kernel sent up because the filter read bytes past the linear
/// ones (paged data); user space ran the filter on the whole frame and kept <see cref="UndecidedMatched"/>.
/// </summary>
public readonly record struct TapCounters(long Runs, long Filtered, long Skipped, long Lost, long Undecided = 0, long UndecidedMatched = 0)
{
    /// <summary>Packets the filter accepted, in the kernel or (undecided there) in user space: tcpdump's "received by filter".</summary>
    public long Accepted => Runs - Filtered - Skipped - (Undecided - UndecidedMatched);
}

/// <summary>
/// Frames from kernel taps: one program per resolved tap (native/bpf-progs/tap_capture.bpf.c, the
/// filter spliced in for EN10MB and RAW), a perf buffer per tap, one reader thread (the pipeline's
/// source thread). Each (tap, link type) becomes a pipeline interface named after the tap spec when
/// its first frame arrives; every frame carries its metadata as the Enhanced Packet Block's comment
/// (see <see cref="TapComment"/>), its direction in epb_flags and the skb address as epb_packetid.
/// Kernel losses (perf ring full) are counted exactly by the program and reported with
/// <see cref="FrameProducer.ReportKernelDrops"/>. Disposing detaches and unloads everything; so does
/// the process's death (nothing is pinned).
/// </summary>
public sealed class TapSource : IFrameSource, IDisposable
{
    /// <summary>The embedded object holding the tap programs.</summary>
    public const string ObjectName = "tap_capture";

    private const int DefaultPerCpuBuffer = 4 << 20;
    private readonly List<LoadedTap> _taps = [];
    private readonly List<string> _notices = [];
    private readonly TapSourceOptions _options;
    private readonly CbpfFilter?[] _userFilters = new CbpfFilter?[4];
    private readonly byte[] _frame = new byte[TapRecord.PrefixMax + 65536];
    private readonly byte[] _packetOptions = new byte[1024];
    private readonly long _wallClockOffset;
    private KernelSymbols? _symbols;
    private readonly uint _ownNetns;
    private readonly Dictionary<int, byte[]> _deviceNames = [];
    private FrameProducer? _producer;
    private SkbTracking? _tracking;
    private DropReasonSelection? _dropReasons;
    private SkbTrackingOrder? _order;
    private long _accepted;
    private bool _limitReached;
    private bool _disposed;

    private TapSource(TapSourceOptions options)
    {
        _options = options;
        _wallClockOffset = WallClockOffset();
        _ownNetns = NetnsInode("/proc/self/ns/net");
    }

    /// <summary>The taps being captured (those <c>-Q</c> left).</summary>
    public IReadOnlyList<ResolvedTap> Taps => _taps.ConvertAll(t => t.Tap);

    /// <summary>Things the user should know (user-space filtering, taps left out by -Q), one line each.</summary>
    public IReadOnlyList<string> Notices => _notices;

    /// <summary>True when the filter runs in the kernel (or there is none).</summary>
    public bool FiltersInKernel { get; private set; } = true;

    /// <summary>True when <see cref="TapSourceOptions.MaxFrames"/> stopped the source.</summary>
    public bool ReachedMaxFrames => _limitReached;

    /// <summary>The link type frames are forced to, or null when chosen per packet.</summary>
    public LinkType? ForcedLinkType => _options.LinkType;

    /// <summary>
    /// Loads and attaches a program for every tap. Errors are one-line <see cref="TapException"/>s: a
    /// filter that does not compile, a refused attach kind, a verifier rejection.
    /// </summary>
    public static TapSource Open(IReadOnlyList<ResolvedTap> taps, TapSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(taps);
        options ??= new TapSourceOptions();
        if (taps.Count == 0)
            throw new TapException("no tap to capture from");
        if (options.SnapLength <= 0)
            throw new TapException($"invalid snapshot length {options.SnapLength}");
        var source = new TapSource(options);
        try
        {
            source.LoadAll(taps);
            return source;
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>tcpdump's "listening on" line for one tap.</summary>
    public string ListeningLine(ResolvedTap tap)
    {
        ArgumentNullException.ThrowIfNull(tap);
        string linkType = _options.LinkType is LinkType lt
            ? $"{LinkTypes.GetName(lt)} ({LinkTypes.GetDescription(lt)})"
            : "EN10MB (Ethernet) or RAW (Raw IP) per packet";
        // A module's function names its module as /proc/kallsyms does: "fentry/ieee80211_scan_rx [mac80211]".
        string module = tap.Module is null || tap.Spec.Text.Contains($"/{tap.Module}:", StringComparison.Ordinal) ? "" : $" [{tap.Module}]";
        return $"listening on {tap.Spec.Text}{module}, link-type {linkType}, snapshot length {_options.SnapLength} bytes";
    }

    /// <summary>Ids of the loaded programs and maps (what <c>bpftool prog/map show id N</c> takes).</summary>
    public IReadOnlyList<uint> KernelObjectIds
    {
        get
        {
            var ids = new List<uint>();
            foreach (LoadedTap t in _taps)
            {
                foreach (var p in t.Object.Programs.Values) ids.Add(p.Id);
                foreach (var m in t.Object.Maps.Values) ids.Add(m.Id);
            }
            if (_tracking is not null)
                foreach (uint id in _tracking.KernelObjectIds)
                    if (!ids.Contains(id)) ids.Add(id);
            return ids;
        }
    }

    /// <summary>The kernel's counts for every tap, in <see cref="Taps"/> order.</summary>
    public IReadOnlyList<TapCounters> ReadCounters() => _taps.ConvertAll(t => t.ReadCounters());

    /// <summary>With <see cref="TapSourceOptions.TrackSkb"/>: how many skbs are followed now (walks the kernel's map).</summary>
    public int TrackedSkbCount() => _tracking?.Count() ?? 0;

    private void LoadAll(IReadOnlyList<ResolvedTap> taps)
    {
        var filters = CompileFilters();
        if (_options.DropReasons is { } reasons)
        {
            _dropReasons = DropReasons.Parse(reasons);
            bool any = false;
            foreach (ResolvedTap t in taps)
                any |= t.ReasonArgument >= 0;
            if (!any)
                throw new TapException("--drop-reason selects frames of taps that have a drop reason: add -i tp_btf/kfree_skb");
        }
        if (_options.TrackSkb)
        {
            // Following is decided per packet in the kernel: a filter there is what starts it.
            if (!FiltersInKernel)
                throw new TapException("--track-skb needs the filter to run in the kernel, and this one cannot (" + string.Join("; ", _notices) + "): simplify the filter");
            _tracking = SkbTracking.Create();
            // A path reads hop by hop: frames of all taps go on in the kernel's time order.
            if (taps.Count > 1)
                _order = new SkbTrackingOrder();
        }
        foreach (ResolvedTap tap in taps)
        {
            if (Excluded(tap))
            {
                _notices.Add($"{tap.Spec.Text} sees only {(tap.Direction == TapDirection.Inbound ? "received" : "sent")} packets: left out by -Q {(_options.Direction == CaptureDirection.In ? "in" : "out")}");
                continue;
            }
            string? refusal = TapResolver.AttachKindRefusal(tap.Kind, tap.Target);
            if (refusal is not null)
                throw new TapException(refusal);
            _taps.Add(Load(tap, filters));
        }
        if (_taps.Count == 0)
            throw new TapException($"-Q {(_options.Direction == CaptureDirection.In ? "in" : "out")} leaves no tap: every tap given sees only the other direction");
        if (_tracking is not null)
        {
            _tracking.AttachCleanup(Taps);
            if (_tracking.CleanupPoints.Count > 0)
                _notices.Add($"--track-skb: freed skbs are forgotten at {string.Join(", ", _tracking.CleanupPoints)}");
        }
    }

    private bool Excluded(ResolvedTap tap) => _options.Direction switch
    {
        CaptureDirection.In => tap.Direction == TapDirection.Outbound,
        CaptureDirection.Out => tap.Direction == TapDirection.Inbound,
        _ => false,
    };

    /// <summary>The translated filter for each link slot (1 EN10MB, 2 RAW, 3 forced other), or null to keep the accept-all stub.</summary>
    private BpfInstruction[]?[] CompileFilters()
    {
        var code = new BpfInstruction[]?[4];
        string? expression = _options.Filter;
        if (string.IsNullOrWhiteSpace(expression))
            return code;
        var slots = new List<(int Slot, LinkType LinkType)>();
        if (_options.LinkType is LinkType forced)
            slots.Add((SlotOf(forced), forced));
        else
            slots.AddRange([(TapRecord.LinkEthernet, LinkType.EN10MB), (TapRecord.LinkRaw, LinkType.RAW)]);

        string? failedOn = null;
        foreach (var (slot, linkType) in slots)
        {
            CbpfProgram program;
            try
            {
                program = FilterCompiler.Compile(expression, linkType, new FilterCompileOptions
                {
                    Optimize = _options.Optimize,
                    Snaplen = _options.SnapLength,
                    Netmask = 0,
                });
            }
            catch (FilterCompileException e)
            {
                // Per packet, a filter that only makes sense for one link type rejects the other's frames.
                if (_options.LinkType is null && slot == TapRecord.LinkRaw)
                {
                    _notices.Add($"the filter does not apply to frames without a MAC header ({e.Message}): those frames are dropped");
                    code[slot] = [Asm.Mov64(BpfRegister.R0, 0), Asm.Exit()];
                    _userFilters[slot] = null;
                    continue;
                }
                throw new TapException(e.Message, e);
            }
            _userFilters[slot] = CbpfFilter.Create(program);
            if (!_options.KernelFilter)
                continue;
            if (EbpfTranslator.TryTranslate(program.Instructions, KernelTranslation, out var translated, out var failure))
                code[slot] = BpfInstruction.Decode(translated.ToBytes());
            else
                failedOn ??= failure.Message;
        }
        if (!_options.KernelFilter || failedOn is not null)
        {
            if (failedOn is not null)
                _notices.Add($"the filter cannot run in the kernel ({failedOn}); filtering in user space");
            FiltersInKernel = false;
            return new BpfInstruction[]?[4];
        }
        return code;
    }

    /// <summary>Loads past the linear bytes but within the packet leave the verdict to user space (see OnSample).</summary>
    private static readonly EbpfTranslationOptions KernelTranslation = new() { UndecidedBeyondAvailable = true };

    private byte SlotOf(LinkType linkType) => linkType switch
    {
        LinkType.EN10MB => TapRecord.LinkEthernet,
        LinkType.RAW => TapRecord.LinkRaw,
        _ => TapRecord.LinkData,
    };

    private static string ProgramFor(TapKind kind) => kind switch
    {
        TapKind.TpBtf => "kdt_tap_tp_btf",
        TapKind.Fentry => "kdt_tap_fentry",
        TapKind.Fexit => "kdt_tap_fexit",
        TapKind.RawTracepoint => "kdt_tap_raw_tp",
        TapKind.Kprobe => "kdt_tap_kprobe",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// The programs a tap loads, the one that attaches last first: fexit is two, its entry half
    /// (fentry, filter and copy into fexit_stash) and its exit half (sends the copy with the return value).
    /// </summary>
    private static string[] ProgramsFor(TapKind kind) => kind == TapKind.Fexit ? [FexitEntryProgram, ProgramFor(kind)] : [ProgramFor(kind)];

    private const string FexitEntryProgram = "kdt_tap_fexit_entry";

    /// <summary>Calls of one function in flight at once that an fexit tap keeps a copy for (nested and on every CPU).</summary>
    private static int FexitStashEntries => Math.Max(16, 8 * Environment.ProcessorCount);

    /// <summary>The programs that note sockets' owners (tap_capture.bpf.c), attached when selecting by process.</summary>
    private static readonly string[] OwnerPrograms = ["kdt_owner_send", "kdt_owner_recv", "kdt_owner_state"];

    private static readonly string[] FilterStubs = ["", "kdt_filter_en10mb", "kdt_filter_raw", "kdt_filter_data"];

    /// <summary>The object with the tap's program renamed to its target, constants set and filters spliced in.</summary>
    internal static ObjectSpec PrepareObject(ResolvedTap tap, TapSourceOptions options, BpfInstruction[]?[] filters, DropReasonSelection? dropReasons = null)
    {
        ObjectSpec spec = EmbeddedObjects.Open(ObjectName);
        foreach (string name in ProgramsFor(tap.Kind))
        {
            ProgramSpec program = spec.Program(name);
            string prefix = name == FexitEntryProgram ? "fentry" : TapSpec.KindPrefix(tap.Kind);
            program = program with { SectionName = $"{prefix}/{tap.Target}", AttachTarget = tap.Target, AttachModule = tap.Module };
            for (int slot = 1; slot < FilterStubs.Length; slot++)
                if (filters[slot] is { } code && program.Subprograms.Any(s => s.Name == FilterStubs[slot]))
                    program = program.WithSubprogramReplaced(FilterStubs[slot], code);
            spec.ReplaceProgram(program);
        }
        // Only fexit taps keep copies: the others' stash is one entry (a map is created for every map the object declares).
        MapSpec stash = spec.Map("fexit_stash");
        spec.ReplaceMap(stash with { MaxEntries = tap.Kind == TapKind.Fexit ? FexitStashEntries : 1 });

        byte force = options.LinkType switch
        {
            null => 0,
            LinkType.EN10MB => TapRecord.LinkEthernet,
            LinkType.RAW => TapRecord.LinkRaw,
            _ => TapRecord.LinkData,
        };
        spec.RewriteConstant("snap_len", (uint)Math.Min(options.SnapLength, 262144));
        spec.RewriteConstant("skb_arg", (uint)tap.SkbArgument);
        spec.RewriteConstant("retval_arg", tap.Kind == TapKind.Fexit ? tap.ArgumentCount : -1);
        spec.RewriteConstant("reason_arg", tap.ReasonArgument);
        spec.RewriteConstant("location_arg", tap.LocationArgument);
        spec.RewriteConstant("force_link", (uint)force);
        spec.RewriteConstant("tap_role", tap.Direction switch
        {
            TapDirection.Inbound => (uint)TapRecord.DirectionIn,
            TapDirection.Outbound => (uint)TapRecord.DirectionOut,
            _ => 0u,
        });
        ProcessSelection selection = options.Selection;
        spec.RewriteConstant("select_owner", selection.SelectsOwner ? 1u : 0u);
        spec.RewriteConstant("select_pid", selection.Pid);
        spec.RewriteConstant("select_cgroup", selection.CgroupId);
        spec.RewriteConstant("select_cgroup_level", (uint)selection.CgroupLevel);
        spec.RewriteConstant("select_netns", selection.NetnsInode);
        byte[] comm = new byte[16];
        if (selection.Comm is { } selectedComm)
            System.Text.Encoding.UTF8.GetBytes(selectedComm, comm);
        spec.RewriteConstants(new Dictionary<string, byte[]> { ["select_comm"] = comm });
        spec.RewriteConstant("want_direction", options.Direction switch
        {
            CaptureDirection.In => (uint)TapRecord.DirectionIn,
            CaptureDirection.Out => (uint)TapRecord.DirectionOut,
            _ => 0u,
        });
        if (dropReasons is not null && tap.ReasonArgument >= 0)
        {
            spec.RewriteConstant("reason_select", 1u);
            spec.RewriteConstants(new Dictionary<string, byte[]> { ["reason_keep"] = dropReasons.KeepBits() });
            spec.RewriteConstant("reason_keep_other", dropReasons.KeepsOthers ? 1u : 0u);
        }
        if (options.TrackSkb)
        {
            spec.RewriteConstant("track_skb", 1u);
            spec.RewriteConstant("track_free", SkbTracking.FreesSkb(tap) ? 1u : 0u);
        }
        return spec;
    }

    private LoadedTap Load(ResolvedTap tap, BpfInstruction[]?[] filters)
    {
        string[] names = ProgramsFor(tap.Kind);
        BpfObject obj;
        try
        {
            obj = BpfObject.Load(PrepareObject(tap, _options, filters, _dropReasons), new BpfObjectOptions
            {
                Programs = _options.Selection.SelectsOwner ? [.. names, .. OwnerPrograms] : names,
                MapReplacements = _tracking?.Replacements,
            });
        }
        catch (BpfVerifierException e) when (filters.Any(f => f is not null) && _options.TrackSkb)
        {
            throw new TapException($"{tap.Spec.Text}: the kernel refused the filter ({e.Message}); --track-skb needs it in the kernel: simplify the filter", e);
        }
        catch (BpfVerifierException e) when (filters.Any(f => f is not null))
        {
            // A filter the verifier gives up on: filter in user space rather than not at all.
            _notices.Add($"{tap.Spec.Text}: the kernel refused the filter ({e.Message}); filtering in user space");
            FiltersInKernel = false;
            return Load(tap, new BpfInstruction[]?[4]);
        }
        catch (BpfException e)
        {
            throw new TapException($"{tap.Spec.Text}: {e.Message}", e);
        }
        try
        {
            // fexit: the exit half first, so that every copy the entry half makes has a taker.
            for (int i = names.Length - 1; i >= 0; i--)
                obj.Attach(names[i]);
            if (_options.Selection.SelectsOwner)
                foreach (string owner in OwnerPrograms)
                    obj.Attach(owner);
            int cpus = Math.Max(1, Environment.ProcessorCount);
            int perCpu = _options.BufferSizeKiB is int kib ? Math.Max(64 << 10, (int)Math.Min(int.MaxValue, (long)kib * 1024 / cpus)) : DefaultPerCpuBuffer;
            var reader = new PerfEventArrayReader(obj.Map("events"), new PerfEventArrayReaderOptions
            {
                PerCpuBufferSize = perCpu,
                // Without --immediate-mode, wake the reader only when a ring is an eighth full (it also
                // looks every 100 ms), as libpcap's buffering does.
                WakeupBytes = _options.Immediate ? 0 : perCpu / 8,
            });
            return new LoadedTap(this, tap, obj, reader, obj.Map("counters"));
        }
        catch (BpfException e)
        {
            obj.Dispose();
            throw new TapException($"{tap.Spec.Text}: {e.Message}", e);
        }
        catch
        {
            obj.Dispose();
            throw;
        }
    }

    public void Run(FrameProducer producer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _producer = producer;
        if (_options.MaxFrames is <= 0)
            return;
        TimeSpan wait = TimeSpan.FromMilliseconds(_taps.Count == 1 ? 100 : Math.Max(5, 100 / _taps.Count));
        // Buffered (not immediate) mode reads in batches: wait for the kernel's wakeup (a ring an
        // eighth full) or the timeout, then drain every ring. Looking at the rings again as soon as a
        // drain ends would find a few new samples each time during a flood and keep a CPU busy beside
        // the sender (measured: kdt's CPU per captured packet halved by waiting; bench/RESULTS.md).
        // With several taps, a wait covers only one of them: drain all at least every 10 ms.
        TimeSpan batchedWait = _taps.Count == 1 ? wait : TimeSpan.FromMilliseconds(10);
        long lastReport = Stopwatch.GetTimestamp();
        int next = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested && !_limitReached)
            {
                int samples = 0;
                if (!_options.Immediate)
                {
                    LoadedTap waitOn = _taps[next];
                    next = (next + 1) % _taps.Count;
                    waitOn.Reader.Wait(batchedWait, cancellationToken);
                    foreach (LoadedTap t in _taps)
                        samples += t.Reader.Poll(t, HandleSample);
                    // Hand each drain on at once: the sinks see what arrived within the wait's bound.
                    producer.Flush();
                }
                else
                {
                    if (_taps.Count > 1)
                        foreach (LoadedTap t in _taps)
                            samples += t.Reader.Poll(t, HandleSample);
                    if (samples == 0)
                    {
                        LoadedTap t = _taps[next];
                        next = (next + 1) % _taps.Count;
                        samples = t.Reader.Read(t, HandleSample, wait, cancellationToken);
                    }
                }
                _order?.Release(producer, (ulong)MonotonicNanoseconds(Stopwatch.GetTimestamp()) - (ulong)SkbTrackingOrder.Window.Ticks * 100);
                if (samples == 0 || _options.Immediate)
                    producer.Flush();
                if (Stopwatch.GetElapsedTime(lastReport) > TimeSpan.FromMilliseconds(500))
                {
                    ReportCounters();
                    lastReport = Stopwatch.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        // What the kernel wrote before the stop is still in the rings: hand it on.
        if (!_limitReached)
            foreach (LoadedTap t in _taps)
                t.Reader.Poll(t, HandleSample);
        _order?.Release(producer, ulong.MaxValue);
        ReportCounters(final: true);
        producer.Flush();
    }

    private void ReportCounters(bool final = false)
    {
        foreach (LoadedTap t in _taps)
        {
            TapCounters c = t.ReadCounters();
            FrameInterface? first = t.FirstInterface;
            if (first is null && final && c.Runs > 0)
                first = t.InterfaceFor(_options.LinkType is null ? TapRecord.LinkEthernet : SlotOf(_options.LinkType.Value));
            if (first is null)
                continue;
            FrameProducer.ReportKernelDrops(first, c.Lost);
            if (final)
            {
                // The packets the program saw but did not send up count as received, not accepted.
                long unseen = c.Filtered + c.Skipped; // undecided frames user space rejected are counted as they come
                if (unseen > 0)
                    FrameProducer.Count(first, received: unseen, accepted: 0);
            }
        }
    }

    private static readonly PerfSampleHandler<LoadedTap> HandleSample = static (tap, cpu, sample) => tap.Source.OnSample(tap, sample);

    private void OnSample(LoadedTap tap, ReadOnlySpan<byte> sample)
    {
        if (_limitReached || !TapRecord.TryRead(sample, out TapRecord record))
            return;
        FrameProducer producer = _producer!;
        byte slot = record.Link is TapRecord.LinkEthernet or TapRecord.LinkRaw or TapRecord.LinkData ? record.Link : TapRecord.LinkData;
        FrameInterface frameInterface = tap.InterfaceFor(slot);

        ReadOnlySpan<byte> prefix = record.Prefix;
        ReadOnlySpan<byte> tail = record.Tail;
        ReadOnlySpan<byte> data;
        if (prefix.IsEmpty)
            data = tail;
        else
        {
            int n = Math.Min(tail.Length, _frame.Length - prefix.Length);
            prefix.CopyTo(_frame);
            tail[..n].CopyTo(_frame.AsSpan(prefix.Length));
            data = _frame.AsSpan(0, prefix.Length + n);
        }
        uint wire = Math.Max(record.WireLength, (uint)data.Length);
        bool tracked = (record.Flags & (TapRecord.Tracked | TapRecord.FilterUndecided)) == TapRecord.Tracked;
        if ((record.Flags & TapRecord.FilterUndecided) != 0 && _userFilters[slot] is { } whole)
        {
            // The kernel's filter read past the linear bytes: decide on the whole frame (for the
            // linear-only taps, the linear bytes are all there is: those loads fail, as libpcap's do).
            uint verdict = whole.Run(data, wire);
            if (verdict == 0 && (record.Flags & TapRecord.Tracked) == 0)
            {
                FrameProducer.Count(frameInterface, received: 1, accepted: 0);
                return;
            }
            if (verdict == 0)
                tracked = true; // --track-skb follows the skb: kept although the filter does not match
            else
            {
                Interlocked.Increment(ref tap.UndecidedMatched);
                if ((uint)data.Length > verdict)
                    data = data[..(int)verdict];
                // A match decided here starts following the skb, as the kernel does for the ones it decides.
                if (_tracking is not null && (record.Flags & TapRecord.Tracked) == 0)
                    _tracking.Follow(record.SkbAddress, record.MonotonicNanoseconds);
            }
        }
        if (data.Length > _options.SnapLength)
            data = data[.._options.SnapLength];

        if (!FiltersInKernel && _userFilters[slot] is { } filter && filter.Run(data, wire) == 0)
        {
            FrameProducer.Count(frameInterface, received: 1, accepted: 0);
            return;
        }
        FrameProducer.Count(frameInterface);
        int optionsLength = WriteOptions(tap, record, tracked);
        var timestamp = PacketTimestamp.FromUnixNanoseconds((long)record.MonotonicNanoseconds + _wallClockOffset);
        var header = new FrameHeader(timestamp, frameInterface.Index, frameInterface.LinkType, wire);
        if (_order is not null)
            _order.Add(record.MonotonicNanoseconds, header, data, _packetOptions.AsSpan(0, optionsLength));
        else
            producer.Write(header, data, _packetOptions.AsSpan(0, optionsLength));
        if (_options.MaxFrames is long max && ++_accepted >= max)
            _limitReached = true;
    }

    /// <summary>opt_comment (the metadata), epb_flags (direction), epb_packetid (the skb), end of options.</summary>
    private int WriteOptions(LoadedTap tap, in TapRecord record, bool tracked)
    {
        Span<byte> o = _packetOptions;
        int at = 4;
        int comment = TapComment.Format(o[at..^32], tap, record, this, tracked);
        WriteOptionHeader(o, 0, 1, comment);
        at += Align4(comment);
        // The direction the program decided per packet (none when neither the tap's place nor the skb tells).
        uint flags = (record.Flags & (TapRecord.DirectionIn | TapRecord.DirectionOut)) switch
        {
            TapRecord.DirectionIn => PacketFlags.Create(PacketDirection.Inbound),
            TapRecord.DirectionOut => PacketFlags.Create(PacketDirection.Outbound),
            _ => 0,
        };
        if (flags != 0)
        {
            WriteOptionHeader(o, at, 2, 4);
            BitConverter.TryWriteBytes(o[(at + 4)..], flags);
            at += 8;
        }
        WriteOptionHeader(o, at, 5, 8);
        BitConverter.TryWriteBytes(o[(at + 4)..], record.SkbAddress);
        at += 12;
        WriteOptionHeader(o, at, 0, 0);
        return at + 4;
    }

    private static int Align4(int n) => (n + 3) & ~3;

    private static void WriteOptionHeader(Span<byte> o, int at, ushort code, int length)
    {
        BitConverter.TryWriteBytes(o[at..], code);
        BitConverter.TryWriteBytes(o[(at + 2)..], (ushort)length);
        // Padding must be zero.
        int end = at + 4 + length;
        o[end..Math.Min(o.Length, at + 4 + Align4(length))].Clear();
    }

    internal string? ReasonName(uint reason)
    {
        return DropReasons.Names.TryGetValue(reason, out string? name) ? name : null;
    }

    internal KernelSymbols Symbols => _symbols ??= KernelSymbols.Load();

    /// <summary>The container the owner's cgroup names (from /proc/PID/cgroup when the cgroup is first seen), or empty.</summary>
    internal ReadOnlySpan<byte> ContainerOf(uint pid, ulong cgroupId)
    {
        if (cgroupId == 0 || pid == 0)
            return default;
        // A flood comes from one cgroup: the last answer spares a lookup per frame.
        if (cgroupId == _lastCgroup)
            return _lastContainer;
        if (!_containers.TryGetValue(cgroupId, out byte[]? id))
        {
            id = ContainerId.OfProcess(pid) is { } found ? System.Text.Encoding.UTF8.GetBytes(found) : [];
            _containers[cgroupId] = id;
        }
        _lastCgroup = cgroupId;
        _lastContainer = id;
        return id;
    }

    private readonly Dictionary<ulong, byte[]> _containers = [];
    private ulong _lastCgroup;
    private byte[] _lastContainer = [];

    /// <summary>The device's name, when it lives in this process's network namespace (names elsewhere are not ours to look up).</summary>
    internal ReadOnlySpan<byte> DeviceName(int ifindex, uint netns)
    {
        if (ifindex <= 0 || netns != _ownNetns || _ownNetns == 0)
            return default;
        if (!_deviceNames.TryGetValue(ifindex, out byte[]? name))
        {
            name = IndexToName(ifindex);
            _deviceNames[ifindex] = name;
        }
        return name;
    }

    private static byte[] IndexToName(int ifindex)
    {
        Span<byte> buffer = stackalloc byte[16];
        unsafe
        {
            fixed (byte* p = buffer)
                if (TapNative.IndexToName((uint)ifindex, p) == null)
                    return [];
        }
        int nul = buffer.IndexOf((byte)0);
        return buffer[..(nul < 0 ? buffer.Length : nul)].ToArray();
    }

    /// <summary>CLOCK_REALTIME − CLOCK_MONOTONIC in ns (Stopwatch reads CLOCK_MONOTONIC on Linux), from the closest pair of 5 reads.</summary>
    private static long WallClockOffset()
    {
        long best = 0, spread = long.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long before = Stopwatch.GetTimestamp();
            long wall = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
            long after = Stopwatch.GetTimestamp();
            long mono = MonotonicNanoseconds((before + after) / 2);
            if (after - before < spread)
            {
                spread = after - before;
                best = wall - mono;
            }
        }
        return best;
    }

    private static long MonotonicNanoseconds(long stopwatchTicks) =>
        Stopwatch.Frequency == 1_000_000_000 ? stopwatchTicks : (long)((double)stopwatchTicks * 1e9 / Stopwatch.Frequency);

    private static uint NetnsInode(string path)
    {
        try
        {
            // "net:[4026531840]"
            var target = File.ResolveLinkTarget(path, returnFinalTarget: false)?.ToString() ?? new FileInfo(path).LinkTarget;
            if (target is null) return 0;
            int open = target.IndexOf('['), close = target.IndexOf(']');
            return open >= 0 && close > open && uint.TryParse(target.AsSpan(open + 1, close - open - 1), out uint inode) ? inode : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (LoadedTap t in _taps)
            t.Dispose();
        _taps.Clear();
        _tracking?.Dispose();
        _tracking = null;
        _order?.Dispose();
    }

    /// <summary>One attached tap program with its reader and the interfaces its frames go to.</summary>
    internal sealed class LoadedTap : IDisposable
    {
        private readonly FrameInterface?[] _interfaces = new FrameInterface?[4];
        private readonly BpfMap _counters;
        private readonly long[] _perCpu = new long[Math.Max(1, BpfMap.PossibleCpuCount)];

        public LoadedTap(TapSource source, ResolvedTap tap, BpfObject obj, PerfEventArrayReader reader, BpfMap counters)
        {
            Source = source;
            Tap = tap;
            Object = obj;
            Reader = reader;
            _counters = counters;
            TargetUtf8 = System.Text.Encoding.UTF8.GetBytes(tap.Target);
        }

        public TapSource Source { get; }
        public ResolvedTap Tap { get; }
        public BpfObject Object { get; }
        public PerfEventArrayReader Reader { get; }
        public byte[] TargetUtf8 { get; }

        /// <summary>The start of the last frame's comment (see <see cref="TapComment.PrefixCache"/>).</summary>
        internal TapComment.PrefixCache CommentPrefix { get; } = new();

        public FrameInterface? FirstInterface
        {
            get
            {
                foreach (var i in _interfaces)
                    if (i is not null) return i;
                return null;
            }
        }

        public FrameInterface InterfaceFor(byte slot)
        {
            if (_interfaces[slot] is { } known)
                return known;
            LinkType linkType = slot switch
            {
                TapRecord.LinkEthernet => LinkType.EN10MB,
                TapRecord.LinkRaw => LinkType.RAW,
                _ => Source._options.LinkType ?? LinkType.RAW,
            };
            var description = new InterfaceDescription
            {
                LinkType = LinkTypeValues.FromLinuxDlt((int)linkType),
                SnapLength = (uint)Source._options.SnapLength,
                Name = Tap.Spec.Text,
                Description = Tap.Description,
                TimestampResolution = TimestampResolution.Nanoseconds,
                Filter = string.IsNullOrWhiteSpace(Source._options.Filter) ? null : InterfaceFilter.FromExpression(Source._options.Filter),
                OperatingSystem = Environment.OSVersion.VersionString,
            };
            FrameInterface added = Source._producer!.AddInterface(description);
            _interfaces[slot] = added;
            return added;
        }

        /// <summary>Undecided frames (see <see cref="TapCounters.Undecided"/>) the filter accepted in user space.</summary>
        public long UndecidedMatched;

        public TapCounters ReadCounters() => new(Sum(0), Sum(1), Sum(2), Sum(3), Sum(4), Interlocked.Read(ref UndecidedMatched));

        private long Sum(uint index)
        {
            Span<long> values = _perCpu;
            if (!_counters.TryLookupPerCpu(index, values))
                return 0;
            long total = 0;
            foreach (long v in values) total += v;
            return total;
        }

        public void Dispose()
        {
            Reader.Dispose();
            Object.Dispose();
        }
    }
}
