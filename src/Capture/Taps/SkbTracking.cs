using KdtCapture.Bpf;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Objects;

namespace KdtCapture.Capture.Taps;

/// <summary>
/// <c>--track-skb</c> in the kernel: the set of followed skbs (an LRU hash map in tap_capture.bpf.c,
/// <c>tracked_skbs</c>) created once and handed to every tap program of the capture, and the
/// programs that forget an skb where it is freed. A tap whose filter matches adds the skb; every tap
/// sends a tracked skb even when the filter no longer matches it (marked <see cref="TapRecord.Tracked"/>);
/// the freeing points — <c>tp_btf/kfree_skb</c>, <c>tp_btf/consume_skb</c> and, where trampolines are
/// allowed, <c>fentry/kfree_skbmem</c> — forget it, as taps when the capture taps them, else through a
/// cleanup program attached here. Skbs freed where none of these sees it (e.g. TCP's coalescing frees
/// with kmem_cache_free) stay until the LRU evicts them; an address reused meanwhile is followed too.
/// </summary>
internal sealed class SkbTracking : IDisposable
{
    /// <summary>The map's name in the object (what <see cref="BpfObjectOptions.MapReplacements"/> replaces).</summary>
    public const string MapName = "tracked_skbs";

    /// <summary>Skbs followed at once (KDT_TRACK_MAX).</summary>
    public const int Capacity = 16384;

    /// <summary>Where skbs are freed, in the order cleanup is attached: tracepoints first (they exist on every kernel with BTF).</summary>
    private static readonly string[] FreeingPoints = ["tp_btf/kfree_skb", "tp_btf/consume_skb", "fentry/kfree_skbmem"];

    private readonly List<BpfObject> _cleanup = [];

    private SkbTracking(BpfMap map)
    {
        Map = map;
        Replacements = new Dictionary<string, BpfMap> { [MapName] = map };
    }

    /// <summary>The shared set of tracked skbs (key: address, value: ktime it matched).</summary>
    public BpfMap Map { get; }

    /// <summary>What each tap object loads with, so all of them share <see cref="Map"/>.</summary>
    public IReadOnlyDictionary<string, BpfMap> Replacements { get; }

    /// <summary>The freeing points forgotten by a cleanup program (those the capture does not tap itself).</summary>
    public List<string> CleanupPoints { get; } = [];

    /// <summary>Ids of the cleanup programs and the map.</summary>
    public IEnumerable<uint> KernelObjectIds
    {
        get
        {
            yield return Map.Id;
            foreach (BpfObject o in _cleanup)
                foreach (var p in o.Programs.Values)
                    yield return p.Id;
        }
    }

    /// <summary>True when an skb is freed at <paramref name="tap"/>: the tap forgets it after sending it.</summary>
    public static bool FreesSkb(ResolvedTap tap) => tap.Kind switch
    {
        TapKind.TpBtf or TapKind.RawTracepoint => tap.Target is "kfree_skb" or "consume_skb",
        TapKind.Fentry or TapKind.Kprobe => tap.Target == "kfree_skbmem",
        _ => false,
    };

    /// <summary>Creates the map; cleanup is attached with <see cref="AttachCleanup"/> once the taps are known.</summary>
    public static SkbTracking Create()
    {
        try
        {
            return new SkbTracking(BpfMap.Create(new BpfMapCreateOptions
            {
                Type = BpfMapType.LruHash,
                KeySize = sizeof(ulong),
                ValueSize = sizeof(ulong),
                MaxEntries = Capacity,
                Name = "kdt_tracked",
            }));
        }
        catch (BpfException e)
        {
            throw new TapException($"--track-skb: {e.Message}", e);
        }
    }

    /// <summary>
    /// Attaches a cleanup program at every freeing point this kernel offers that <paramref name="taps"/>
    /// does not already tap. Points the kernel lacks or refuses (fentry here) are left out: the LRU
    /// bounds what is missed.
    /// </summary>
    public void AttachCleanup(IReadOnlyList<ResolvedTap> taps)
    {
        var resolver = TapResolver.ForKernel();
        foreach (string point in FreeingPoints)
        {
            TapSpec spec = TapSpec.Parse(point);
            bool tapped = false;
            foreach (ResolvedTap t in taps)
                tapped |= FreesSkb(t) && t.Target == spec.Name;
            if (tapped)
                continue;
            ResolvedTap resolved;
            try
            {
                resolved = resolver.Resolve(spec)[0];
            }
            catch (TapException)
            {
                continue;
            }
            string program = resolved.Kind == TapKind.TpBtf ? "kdt_track_forget_tp_btf" : "kdt_track_forget_fentry";
            ObjectSpec objectSpec = EmbeddedObjects.Open(TapSource.ObjectName);
            objectSpec.ReplaceProgram(objectSpec.Program(program) with { SectionName = point, AttachTarget = resolved.Target });
            objectSpec.RewriteConstant("skb_arg", (uint)resolved.SkbArgument);
            objectSpec.RewriteConstant("track_skb", 1u);
            objectSpec.RewriteConstant("track_free", 1u);
            BpfObject obj;
            try
            {
                obj = BpfObject.Load(objectSpec, new BpfObjectOptions { Programs = [program], MapReplacements = Replacements });
            }
            catch (BpfException e)
            {
                throw new TapException($"--track-skb: the cleanup at {point}: {e.Message}", e);
            }
            try
            {
                obj.Attach(program);
            }
            catch (BpfException e)
            {
                obj.Dispose();
                // A kernel that loads but will not attach there (e.g. a trampoline refused late): the LRU covers it.
                if (resolved.Kind == TapKind.TpBtf)
                    throw new TapException($"--track-skb: the cleanup at {point}: {e.Message}", e);
                continue;
            }
            _cleanup.Add(obj);
            CleanupPoints.Add(point);
        }
    }

    /// <summary>Follows <paramref name="skb"/> from now on (a match user space decided: the filter needed paged bytes).</summary>
    public void Follow(ulong skb, ulong monotonicNs)
    {
        try
        {
            Map.Update(skb, monotonicNs, BpfMapUpdate.NoExist);
        }
        catch (BpfException)
        {
            // Already followed (a tap decided in the kernel meanwhile): nothing to add.
        }
    }

    /// <summary>How many skbs are followed now (walks the map: for tests and statistics, not per packet).</summary>
    public int Count()
    {
        int n = 0;
        foreach (var entry in Map)
        {
            _ = entry;
            n++;
        }
        return n;
    }

    public void Dispose()
    {
        foreach (BpfObject o in _cleanup)
            o.Dispose();
        _cleanup.Clear();
        Map.Dispose();
    }
}
