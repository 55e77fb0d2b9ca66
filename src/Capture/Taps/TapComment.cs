using System.Globalization;
using System.Text;

namespace KdtCapture.Capture.Taps;

/// <summary>
/// The text a tap frame carries as its pcapng comment (what Wireshark shows and
/// <c>tshark -T fields -e frame.comment</c> prints):
/// <code>ip_output curl[1234] tid=1235 cpu=1 ifindex=2(eth0) netns=4026531840 skb=0xffff888004a3c000 len=74 mark=0x0 ret=0 reason=NO_SOCKET location=tcp_v4_rcv+0x1a4</code>
/// The first two words are the console prefix (<see cref="ConsolePrefix"/>): the tap's function or
/// tracepoint and the sending/receiving process with its pid. The rest are key=value pairs; the
/// device name appears only for devices of the capturing process's own network namespace, ret only
/// for fexit, reason and location only at kfree_skb-like tracepoints, container=ID only when the
/// owner's cgroup names a container (<see cref="ContainerId"/>); a final <c>track</c> marks a
/// frame sent only because <c>--track-skb</c> follows its skb (the filter does not match it here).
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

    /// <summary>
    /// The <c>--track-skb</c> console prefix, as pwru lays out a hop: tap, skb address, process
    /// ("net_dev_queue 0xffff888004a3c000 ping[1234]"), written to <paramref name="destination"/> from a
    /// tap comment (UTF-8); returns its length, 0 when the comment is not a tap's.
    /// </summary>
    public static int TrackPrefix(ReadOnlySpan<byte> commentUtf8, Span<byte> destination)
    {
        ReadOnlySpan<byte> prefix = ConsolePrefix(commentUtf8);
        int space = prefix.IndexOf((byte)' ');
        int skb = commentUtf8.IndexOf(" skb="u8);
        if (prefix.IsEmpty || space < 0 || skb < 0)
            return 0;
        ReadOnlySpan<byte> address = commentUtf8[(skb + 5)..];
        int end = address.IndexOf((byte)' ');
        if (end >= 0)
            address = address[..end];
        int at = 0;
        Append(destination, ref at, prefix[..space]);
        Append(destination, ref at, " "u8);
        Append(destination, ref at, address);
        Append(destination, ref at, prefix[space..]);
        return at;
    }

    /// <summary>
    /// The drop's words of a tap comment (UTF-8) for a printed line, " reason=NO_SOCKET location=udp_rcv+0x1a",
    /// written to <paramref name="destination"/>; returns their length, 0 when the frame is not a drop.
    /// </summary>
    public static int DropWords(ReadOnlySpan<byte> commentUtf8, Span<byte> destination)
    {
        int at = 0;
        AppendWord(commentUtf8, " reason="u8, destination, ref at);
        AppendWord(commentUtf8, " location="u8, destination, ref at);
        return at;
    }

    /// <summary>Writes the comment of <paramref name="record"/> as UTF-8; returns its length (cut to fit).</summary>
    /// <remarks>Numbers are written digit by digit (no interpolated handler, no TryFormat's general path):
    /// nothing is allocated per frame.</remarks>
    /// <param name="tracked">--track-skb kept the frame although the filter does not match it (" track").</param>
    internal static int Format(Span<byte> destination, TapSource.LoadedTap tap, in TapRecord record, TapSource source, bool tracked)
    {
        int at = 0;
        ReadOnlySpan<byte> comm = record.Comm;
        PrefixCache cache = tap.CommentPrefix;
        if (cache.Matches(record, comm))
        {
            Append(destination, ref at, cache.Bytes.AsSpan(0, cache.Length));
        }
        else
        {
            at = FormatPrefix(destination, tap, record, comm, source);
            if (at < destination.Length && at <= cache.Bytes.Length)
                cache.Remember(record, comm, destination[..at]);
        }
        Hex(destination, ref at, record.SkbAddress);
        Append(destination, ref at, " len="u8);
        Number(destination, ref at, record.SkbLength);
        Append(destination, ref at, " mark=0x"u8);
        Hex(destination, ref at, record.Mark);
        return FormatRest(destination, at, record, source, tracked);
    }

    /// <summary>
    /// The comment up to and including " skb=0x" for the last frame of one tap. In a flood the same
    /// process, thread, CPU, device and namespace come frame after frame: copying this part instead
    /// of formatting it again halves the comment's cost.
    /// </summary>
    internal sealed class PrefixCache
    {
        private readonly byte[] _comm = new byte[16];
        private ulong _pidTgid;
        private int _cpu = -1, _interfaceIndex, _commLength;
        private uint _netns;

        public byte[] Bytes { get; } = new byte[256];
        public int Length { get; private set; } = -1;

        public bool Matches(in TapRecord record, ReadOnlySpan<byte> comm) =>
            Length >= 0 && _cpu == record.Cpu && _pidTgid == ((ulong)record.ProcessId << 32 | record.ThreadId) &&
            _interfaceIndex == record.InterfaceIndex && _netns == record.NetnsInode && comm.SequenceEqual(_comm.AsSpan(0, _commLength));

        public void Remember(in TapRecord record, ReadOnlySpan<byte> comm, ReadOnlySpan<byte> prefix)
        {
            _cpu = record.Cpu;
            _pidTgid = (ulong)record.ProcessId << 32 | record.ThreadId;
            _interfaceIndex = record.InterfaceIndex;
            _netns = record.NetnsInode;
            _commLength = Math.Min(comm.Length, _comm.Length);
            comm[.._commLength].CopyTo(_comm);
            prefix.CopyTo(Bytes);
            Length = prefix.Length;
        }
    }

    private static int FormatPrefix(Span<byte> destination, TapSource.LoadedTap tap, in TapRecord record, ReadOnlySpan<byte> comm, TapSource source)
    {
        int at = 0;
        Append(destination, ref at, tap.TargetUtf8);
        Append(destination, ref at, " "u8);
        for (int i = 0; i < comm.Length && at < destination.Length; i++)
            destination[at++] = comm[i] is >= 0x20 and < 0x7f and not (byte)' ' ? comm[i] : (byte)'?';
        Append(destination, ref at, "["u8);
        Number(destination, ref at, record.ProcessId);
        Append(destination, ref at, "] tid="u8);
        Number(destination, ref at, record.ThreadId);
        Append(destination, ref at, " cpu="u8);
        Number(destination, ref at, (uint)record.Cpu);
        Append(destination, ref at, " ifindex="u8);
        Number(destination, ref at, (uint)record.InterfaceIndex);
        ReadOnlySpan<byte> device = source.DeviceName(record.InterfaceIndex, record.NetnsInode);
        if (!device.IsEmpty)
        {
            Append(destination, ref at, "("u8);
            Append(destination, ref at, device);
            Append(destination, ref at, ")"u8);
        }
        Append(destination, ref at, " netns="u8);
        Number(destination, ref at, record.NetnsInode);
        Append(destination, ref at, " skb=0x"u8);
        return at;
    }

    private static int FormatRest(Span<byte> destination, int at, in TapRecord record, TapSource source, bool tracked)
    {
        byte flags = record.Flags;
        if ((flags & TapRecord.HasReturnValue) != 0)
        {
            Append(destination, ref at, " ret="u8);
            long ret = (long)record.ReturnValue;
            if (ret.TryFormat(destination[at..], out int w, default, CultureInfo.InvariantCulture)) at += w;
        }
        if ((flags & TapRecord.HasReason) != 0)
        {
            Append(destination, ref at, " reason="u8);
            string? reason = source.ReasonName(record.Reason);
            if (reason is null)
                Number(destination, ref at, record.Reason);
            else if (Encoding.UTF8.TryGetBytes(reason, destination[at..], out int w))
                at += w;
        }
        ReadOnlySpan<byte> container = source.ContainerOf(record.ProcessId, record.CgroupId);
        if (!container.IsEmpty)
        {
            Append(destination, ref at, " container="u8);
            Append(destination, ref at, container);
        }
        if ((flags & TapRecord.HasLocation) != 0 && record.Location != 0)
        {
            Append(destination, ref at, " location="u8);
            if (source.Symbols.TryResolve(record.Location, out string symbol, out ulong offset) &&
                Encoding.UTF8.TryGetBytes(symbol, destination[at..], out int w))
            {
                at += w;
                Append(destination, ref at, "+0x"u8);
                Hex(destination, ref at, offset);
            }
            else
            {
                Append(destination, ref at, "0x"u8);
                Hex(destination, ref at, record.Location);
            }
        }
        if (tracked)
            Append(destination, ref at, " track"u8);
        return at;
    }

    /// <summary>Appends " key=value" of the comment when it has the key.</summary>
    private static void AppendWord(ReadOnlySpan<byte> comment, ReadOnlySpan<byte> key, Span<byte> destination, ref int at)
    {
        int start = comment.IndexOf(key);
        if (start < 0)
            return;
        ReadOnlySpan<byte> word = comment[(start + 1)..];
        int end = word.IndexOf((byte)' ');
        Append(destination, ref at, " "u8);
        Append(destination, ref at, end < 0 ? word : word[..end]);
    }

    // Number and Hex write digits by hand: ulong.TryFormat into UTF-8 (format parsing, culture
    // lookup, its general path for 64-bit values) was a fifth of kdt's CPU per tap frame in a flood
    // (perf, bench part 6). Like TryFormat, they write nothing when the number does not fit.
    private static void Number(Span<byte> destination, ref int at, ulong value)
    {
        int digits = 1;
        for (ulong rest = value; rest >= 10; rest /= 10)
            digits++;
        if (digits > destination.Length - at)
            return;
        Span<byte> d = destination.Slice(at, digits);
        for (int i = digits - 1; i >= 0; i--)
        {
            ulong quotient = value / 10;
            d[i] = (byte)('0' + (int)(value - quotient * 10));
            value = quotient;
        }
        at += digits;
    }

    private static void Hex(Span<byte> destination, ref int at, ulong value)
    {
        int digits = value == 0 ? 1 : (64 - System.Numerics.BitOperations.LeadingZeroCount(value) + 3) / 4;
        if (digits > destination.Length - at)
            return;
        Span<byte> d = destination.Slice(at, digits);
        for (int i = digits - 1; i >= 0; i--)
        {
            d[i] = "0123456789abcdef"u8[(int)(value & 0xf)];
            value >>= 4;
        }
        at += digits;
    }

    private static void Append(Span<byte> destination, ref int at, ReadOnlySpan<byte> bytes)
    {
        int n = Math.Min(bytes.Length, destination.Length - at);
        bytes[..n].CopyTo(destination[at..]);
        at += n;
    }
}
