using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// What a printed tap frame starts with, after the time stamp. Ordinarily the tap, the process and
/// the direction (<see cref="TapCapture.ConsolePrefix"/>); with <c>--track-skb</c>, like pwru's lines:
/// tap, skb address, process —
/// <c>01:27:43.876450 net_dev_queue 0xffff888004a3c000 ping[1234] IP 10.0.0.1 &gt; 10.0.0.2: ICMP echo request, ...</c>
/// (the frames come in the kernel's time order, so one skb's lines read as its path). Frames of a drop
/// (tp_btf/kfree_skb) add the reason and where it happened, as their comment has them:
/// <c>kfree_skb python3[42] reason=NO_SOCKET location=__udp4_lib_rcv+0x4bc IP ...</c>.
/// One instance per printer: the prefix is built in its own buffer.
/// </summary>
internal sealed class TrackConsole(bool track)
{
    private readonly byte[] _line = new byte[512];

    /// <summary>The printer's <see cref="PrinterSink.Prefix"/>: empty for frames of ordinary interfaces.</summary>
    public ReadOnlySpan<byte> Prefix(in Frame frame)
    {
        if (frame.Options.IsEmpty || !frame.Options.TryGet(1, out ReadOnlySpan<byte> comment))
            return default;
        int n;
        if (track)
            n = TapComment.TrackPrefix(comment, _line);
        else
        {
            ReadOnlySpan<byte> prefix = TapCapture.ConsolePrefix(frame);
            n = Math.Min(prefix.Length, _line.Length / 2);
            prefix[..n].CopyTo(_line);
        }
        if (n == 0)
            return default;
        n += TapComment.DropWords(comment, _line.AsSpan(n));
        return _line.AsSpan(0, n);
    }
}
