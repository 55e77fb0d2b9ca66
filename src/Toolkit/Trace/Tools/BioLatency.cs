using System.Globalization;
using System.Text;
using KdtCapture.Bpf.Btf;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>
/// biolatency: block device I/O latency as bcc's biolatency: log2 histograms of the time from
/// issue to the device (or with -Q from insertion into the queue) to completion, one for all
/// disks, one per disk (-D) or one per request flags (-F, named as bcc names them).
/// </summary>
public sealed class BioLatency : HistogramTool
{
    private readonly Dictionary<uint, string> _disks = [];
    private RequestFlags? _flags;

    public override string Name => "biolatency";

    public override string Summary => "block device I/O latency as a log2 histogram, per disk (-D) or flags (-F)";

    public override IReadOnlyList<string> Tracepoints { get; } = ["block_rq_insert", "block_rq_issue", "block_rq_complete"];

    // Requests complete in interrupt context, for no process (bcc's biolatency has no -p either).
    public override bool SelectsProcesses => false;

    private protected override string ObjectName => "biolatency";

    private protected override string What => "block device I/O";

    private protected override string? SectionLabel(TraceToolOptions options) =>
        options.PerDisk ? "disk" : options.PerFlags ? "flags" : null;

    private protected override Dictionary<string, byte[]> Constants(TraceToolOptions options)
    {
        if (options.PerFlags)
            _flags ??= RequestFlags.FromKernel();
        return new()
        {
            ["queued"] = TraceSession.Flag(options.Queued),
            ["milliseconds"] = TraceSession.Flag(options.Milliseconds),
            ["per"] = BitConverter.GetBytes(options.PerDisk ? 1u : options.PerFlags ? 2u : 0u),
        };
    }

    private protected override string SectionName(uint id)
    {
        if (_flags is not null)
            return _flags.Describe(id);
        if (!_disks.TryGetValue(id, out var name))
            _disks[id] = name = DiskName(id >> 20, id & 0xfffff);
        return name;
    }

    /// <summary>A disk's name from its device number (/sys/dev/block/MAJ:MIN links to the device), or "MAJ:MIN".</summary>
    public static string DiskName(uint major, uint minor)
    {
        string numbers = string.Create(CultureInfo.InvariantCulture, $"{major}:{minor}");
        try
        {
            var target = new DirectoryInfo("/sys/dev/block/" + numbers).LinkTarget;
            if (target is not null)
                return Path.GetFileName(target);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return numbers;
    }

    /// <summary>
    /// A request's cmd_flags as bcc's biolatency -F names them ("Sync-Write", "ReadAhead-Read"):
    /// the flags it knows, then the operation. The bit numbers and operations come from the
    /// kernel's enum req_flag_bits and enum req_op (BTF), which change between versions.
    /// </summary>
    public sealed class RequestFlags
    {
        // bcc's order and spelling.
        private static readonly (string Bit, string Name)[] Known =
        [
            ("__REQ_NOWAIT", "NoWait"), ("__REQ_BACKGROUND", "Background"), ("__REQ_RAHEAD", "ReadAhead"),
            ("__REQ_PREFLUSH", "PreFlush"), ("__REQ_FUA", "FUA"), ("__REQ_INTEGRITY", "Integrity"),
            ("__REQ_IDLE", "Idle"), ("__REQ_NOMERGE", "NoMerge"), ("__REQ_PRIO", "Priority"),
            ("__REQ_META", "Metadata"), ("__REQ_SYNC", "Sync"),
        ];

        private readonly List<(uint Mask, string Name)> _flags;
        private readonly Dictionary<uint, string> _ops;
        private readonly uint _opMask;

        public RequestFlags(List<(uint Mask, string Name)> flags, Dictionary<uint, string> ops, uint opMask)
        {
            _flags = flags;
            _ops = ops;
            _opMask = opMask;
        }

        public static RequestFlags FromKernel()
        {
            var bits = new Dictionary<string, long>(StringComparer.Ordinal);
            var ops = new Dictionary<uint, string>();
            if (File.Exists(BtfData.KernelPath))
            {
                if (BtfData.Kernel.TryFind("req_flag_bits", BtfKind.Enum, out var flagType))
                {
                    foreach (var v in flagType.EnumValues)
                        bits[v.Name] = v.Value;
                }
                if (BtfData.Kernel.TryFind("req_op", BtfKind.Enum, out var opType))
                {
                    foreach (var v in opType.EnumValues)
                    {
                        if (v.Name.StartsWith("REQ_OP_", StringComparison.Ordinal) && v.Name != "REQ_OP_LAST")
                            ops[(uint)v.Value] = Pascal(v.Name["REQ_OP_".Length..]);
                    }
                }
            }
            if (bits.Count == 0 || ops.Count == 0)
                throw new TraceException("biolatency -F needs the kernel's enum req_flag_bits and enum req_op in its BTF, which this kernel lacks: use -D or no option");
            // The operation is the bits below the first flag (REQ_OP_BITS).
            long first = long.MaxValue;
            foreach (var (name, bit) in bits)
            {
                if (name.StartsWith("__REQ_", StringComparison.Ordinal) && name != "__REQ_NR_BITS")
                    first = Math.Min(first, bit);
            }
            var flags = new List<(uint, string)>();
            foreach (var (bit, name) in Known)
            {
                if (bits.TryGetValue(bit, out long b) && b < 32)
                    flags.Add((1u << (int)b, name));
            }
            return new RequestFlags(flags, ops, first is > 0 and < 32 ? (1u << (int)first) - 1 : 0xff);
        }

        /// <summary>"WRITE_ZEROES" → "WriteZeroes".</summary>
        private static string Pascal(string upper)
        {
            var text = new StringBuilder();
            foreach (string word in upper.Split('_', StringSplitOptions.RemoveEmptyEntries))
                text.Append(word[0]).Append(word[1..].ToLowerInvariant());
            return text.ToString();
        }

        public string Describe(uint cmdFlags)
        {
            var text = new StringBuilder();
            foreach (var (mask, name) in _flags)
            {
                if ((cmdFlags & mask) != 0)
                    text.Append(name).Append('-');
            }
            text.Append(_ops.TryGetValue(cmdFlags & _opMask, out var op) ? op : "Unknown");
            return text.ToString();
        }
    }
}
