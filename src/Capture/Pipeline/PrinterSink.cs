using KdtCapture.Capture.Printing;

namespace KdtCapture.Capture.Pipeline;

/// <summary>Text to print before a frame's tcpdump line (after its time stamp), as UTF-8; empty for none.</summary>
public delegate ReadOnlySpan<byte> FramePrefix(in Frame frame);

/// <summary>Prints frames as tcpdump prints them (see <see cref="PacketPrinter"/>).</summary>
public sealed class PrinterSink : IFrameSink
{
    private readonly PacketPrinter _printer;
    private readonly TextWriter _output;
    private readonly bool _flushEachPacket;
    private readonly bool _flushAfterBatch;
    private readonly bool _annotate;
    private readonly bool _names;

    /// <param name="output">Where the text goes.</param>
    /// <param name="options">tcpdump's printing options.</param>
    /// <param name="flushEachPacket">tcpdump's <c>-l</c>: flush after every packet.</param>
    /// <param name="flushAfterBatch">Flush after every batch (for a terminal).</param>
    public PrinterSink(TextWriter output, PacketPrinterOptions? options = null, bool flushEachPacket = false, bool flushAfterBatch = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _printer = new PacketPrinter(output, options);
        _flushEachPacket = flushEachPacket;
        _flushAfterBatch = flushAfterBatch;
        _annotate = _printer.Options.Verbosity > 0;
        _names = _printer.Options.InterfaceNames;
    }

    public PacketPrinter Printer => _printer;

    /// <summary>
    /// Per-frame prefix, e.g. a kernel tap's function and process ("ip_output curl[1234]"), so a
    /// line says where in the stack and for whom the packet was seen.
    /// </summary>
    public FramePrefix? Prefix { get; init; }

    public void Consume(FrameBatch batch, FrameInterfaces interfaces)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(interfaces);
        for (int i = 0; i < batch.Count; i++)
        {
            Frame frame = batch[i];
            if ((_annotate && !frame.Options.IsEmpty) || _names)
            {
                // Only packets that carry comments or flags (and only with -v) pay for decoding them.
                IReadOnlyList<string>? comments = null;
                uint? flags = null;
                if (_annotate && !frame.Options.IsEmpty)
                {
                    IReadOnlyList<string> all = frame.Options.GetComments();
                    comments = all.Count > 0 ? all : null;
                    flags = frame.Options.Flags;
                }
                string? name = _names ? interfaces[frame.InterfaceIndex].Description.Name : null;
                _printer.Print(frame.LinkType, frame.TimestampNanoseconds, frame.Data, frame.OriginalLength,
                    Prefix is null ? default : Prefix(frame), new PacketAnnotations(comments, flags, name));
            }
            else
            {
                _printer.Print(frame.LinkType, frame.TimestampNanoseconds, frame.Data, frame.OriginalLength,
                    Prefix is null ? default : Prefix(frame));
            }
            if (_flushEachPacket) _output.Flush();
        }
        if (_flushAfterBatch) _output.Flush();
    }

    public void Complete(FrameInterfaces interfaces) => _output.Flush();
}
