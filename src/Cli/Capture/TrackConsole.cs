using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// Printed lines of <c>kdt capture --track-skb</c> without <c>-w</c>, like pwru's: time, tap, skb
/// address, process, then tcpdump's one-line summary —
/// <c>01:27:43.876450 net_dev_queue 0xffff888004a3c000 ping[1234] IP 10.0.0.1 &gt; 10.0.0.2: ICMP echo request, ...</c>.
/// The frames come in the kernel's time order (see <see cref="TapSourceOptions.TrackSkb"/>), so one skb's
/// lines read as its path. One instance per printer: the prefix is built in its own buffer.
/// </summary>
internal sealed class TrackConsole
{
    private readonly byte[] _line = new byte[256];

    /// <summary>The printer's <see cref="PrinterSink.Prefix"/>: empty for frames of ordinary interfaces.</summary>
    public ReadOnlySpan<byte> Prefix(in Frame frame)
    {
        if (frame.Options.IsEmpty || !frame.Options.TryGet(1, out ReadOnlySpan<byte> comment))
            return default;
        return _line.AsSpan(0, TapComment.TrackPrefix(comment, _line));
    }
}
