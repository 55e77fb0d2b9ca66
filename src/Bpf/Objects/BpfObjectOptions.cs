using KdtCapture.Bpf.Maps;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Bpf.Objects;

/// <summary>How <see cref="BpfObject.Load"/> loads an object. Defaults: every program, the running kernel's BTF, a verifier log only on failure.</summary>
public sealed class BpfObjectOptions
{
    /// <summary>The programs to load by name; null loads them all (an object may hold programs for other kernels).</summary>
    public IReadOnlyCollection<string>? Programs { get; init; }

    /// <summary>The BTF CO-RE relocations and attach targets are resolved against; null: /sys/kernel/btf/vmlinux.</summary>
    public BtfData? KernelBtf { get; init; }

    /// <summary>
    /// Maps to use instead of creating the object's own, by map name: several objects then share one
    /// map (e.g. the set of tracked skbs every tap program of a capture reads). Each must have the
    /// spec's type, key and value sizes; the object borrows it and does not close it.
    /// </summary>
    public IReadOnlyDictionary<string, BpfMap>? MapReplacements { get; init; }

    /// <summary>0: verifier log only when a load fails; 1 or 2: keep it for loaded programs too.</summary>
    public int LogLevel { get; init; }
}
