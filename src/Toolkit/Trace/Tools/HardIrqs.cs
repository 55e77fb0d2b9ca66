using System.Globalization;
using System.Runtime.InteropServices;

namespace KdtCapture.Toolkit.Trace.Tools;

/// <summary>hardirqs: time spent in each hard interrupt handler (irq_handler_entry/exit), as
/// bcc's hardirqs: a table of totals per handler name (µs, -N ns, --count counts) or, with
/// --dist, a log2 histogram per handler. Rows are per irq line, named by its handler.</summary>
public sealed class HardIrqs : IrqTimeTool
{
    private const int NameLength = 32;

    private readonly Dictionary<uint, string> _names = [];

    public override string Name => "hardirqs";

    public override string Summary => "time spent in each hard interrupt handler: totals, counts or histograms";

    public override IReadOnlyList<string> Tracepoints { get; } = ["irq_handler_entry", "irq_handler_exit"];

    private protected override string ObjectName => "hardirqs";

    private protected override string What => "hard irq event time";

    private protected override string Kind => "hardirq";

    private protected override int NameWidth => 26;

    private protected override string SectionName(uint id) =>
        _names.TryGetValue(id, out var name) ? name : id.ToString(CultureInfo.InvariantCulture);

    private protected override void CollectExtra(TraceSession session, TraceToolOptions options)
    {
        // Names first: a line first seen now gets its name in the same summary.
        var names = session.Object.Map("names");
        var value = new byte[names.ValueBufferSize];
        foreach (uint irq in names.Keys<uint>())
        {
            uint k = irq;
            if (!_names.ContainsKey(irq) && names.TryLookup(MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in k)), value))
                _names[irq] = TraceText.CString(value.AsSpan(0, NameLength));
        }
        base.CollectExtra(session, options);
    }
}
