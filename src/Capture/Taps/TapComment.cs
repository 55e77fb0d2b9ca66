using System.Text.Unicode;

namespace KdtCapture.Capture.Taps;

/// <summary>
/// The text a tap frame carries as its pcapng comment (what Wireshark shows and
/// <c>tshark -T fields -e frame.comment</c> prints):
/// <code>ip_output curl[1234] tid=1235 cpu=1 ifindex=2(eth0) netns=4026531840 skb=0xffff888004a3c000 len=74 mark=0x0 ret=0 reason=NO_SOCKET location=tcp_v4_rcv+0x1a4</code>
/// The first two words are the console prefix (<see cref="ConsolePrefix"/>): the tap's function or
/// tracepoint and the sending/receiving process with its pid. The rest are key=value pairs; the
/// device name appears only for devices of the capturing process's own network namespace, ret only
/// for fexit, reason and location only at kfree_skb-like tracepoints.
/// </summary>
public static class TapComment
{
    /// <summary>The console prefix of a tap frame's comment ("ip_output curl[1234]"), or empty when the comment is not a tap's.</summary>
    public static ReadOnlySpan<char> ConsolePrefix(ReadOnlySpan<char> comment)
    {
        int first = comment.IndexOf(' ');
        if (first <= 0) return default;
        int second = comment[(first + 1)..].IndexOf(' ');
        ReadOnlySpan<char> prefix = second < 0 ? comment : comment[..(first + 1 + second)];
        return prefix.EndsWith("]") ? prefix : default;
    }

    /// <summary>The console prefix of a tap frame's comment as UTF-8 bytes (the raw <c>opt_comment</c> value,
    /// e.g. from <c>frame.Options.TryGet(1, out var comment)</c>): no string is made per frame.</summary>
    public static ReadOnlySpan<byte> ConsolePrefix(ReadOnlySpan<byte> commentUtf8)
    {
        int first = commentUtf8.IndexOf((byte)' ');
        if (first <= 0) return default;
        int second = commentUtf8[(first + 1)..].IndexOf((byte)' ');
        ReadOnlySpan<byte> prefix = second < 0 ? commentUtf8 : commentUtf8[..(first + 1 + second)];
        return prefix.EndsWith("]"u8) ? prefix : default;
    }

    /// <summary>Writes the comment of <paramref name="record"/> as UTF-8; returns its length (cut to fit).</summary>
    internal static int Format(Span<byte> destination, TapSource.LoadedTap tap, in TapRecord record, TapSource source)
    {
        int at = 0;
        Append(destination, ref at, tap.TargetUtf8);
        Append(destination, ref at, " "u8);
        ReadOnlySpan<byte> comm = record.Comm;
        for (int i = 0; i < comm.Length && at < destination.Length; i++)
            destination[at++] = comm[i] is >= 0x20 and < 0x7f and not (byte)' ' ? comm[i] : (byte)'?';
        if (!Utf8.TryWrite(destination[at..], $"[{record.ProcessId}] tid={record.ThreadId} cpu={record.Cpu} ifindex={record.InterfaceIndex}", out int w))
            return at;
        at += w;
        ReadOnlySpan<byte> device = source.DeviceName(record.InterfaceIndex, record.NetnsInode);
        if (!device.IsEmpty)
        {
            Append(destination, ref at, "("u8);
            Append(destination, ref at, device);
            Append(destination, ref at, ")"u8);
        }
        if (!Utf8.TryWrite(destination[at..], $" netns={record.NetnsInode} skb=0x{record.SkbAddress:x} len={record.SkbLength} mark=0x{record.Mark:x}", out w))
            return at;
        at += w;
        byte flags = record.Flags;
        if ((flags & TapRecord.HasReturnValue) != 0)
        {
            if (!Utf8.TryWrite(destination[at..], $" ret={(long)record.ReturnValue}", out w))
                return at;
            at += w;
        }
        if ((flags & TapRecord.HasReason) != 0)
        {
            string? reason = source.ReasonName(record.Reason);
            bool ok = reason is null
                ? Utf8.TryWrite(destination[at..], $" reason={record.Reason}", out w)
                : Utf8.TryWrite(destination[at..], $" reason={reason}", out w);
            if (!ok) return at;
            at += w;
        }
        if ((flags & TapRecord.HasLocation) != 0 && record.Location != 0)
        {
            bool ok = source.Symbols.TryResolve(record.Location, out string symbol, out ulong offset)
                ? Utf8.TryWrite(destination[at..], $" location={symbol}+0x{offset:x}", out w)
                : Utf8.TryWrite(destination[at..], $" location=0x{record.Location:x}", out w);
            if (ok) at += w;
        }
        return at;
    }

    private static void Append(Span<byte> destination, ref int at, ReadOnlySpan<byte> bytes)
    {
        int n = Math.Min(bytes.Length, destination.Length - at);
        bytes[..n].CopyTo(destination[at..]);
        at += n;
    }
}
