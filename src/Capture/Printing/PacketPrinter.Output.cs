using System.Buffers.Binary;
using KdtCapture.Capture.Printing.Internal;

namespace KdtCapture.Capture.Printing;

// Time stamps, raw byte dumps, pcapng annotations and the address/port spellings every decoder uses.
public sealed partial class PacketPrinter
{
    private const long NanosPerSecond = 1_000_000_000;

    private bool _timeReferenceSet;
    private long _refSeconds;
    private long _refFraction;

    // The UTC offset of the local zone is looked up once per quarter hour of capture time, not per packet.
    private long _zoneCacheStart = long.MaxValue;
    private long _zoneOffsetSeconds;

    private void PrintTimestamp(long ns)
    {
        long seconds = Math.DivRem(ns, NanosPerSecond, out long fraction);
        if (fraction < 0)
        {
            seconds--;
            fraction += NanosPerSecond;
        }
        bool nano = Options.Precision == TimestampPrecision.Nanoseconds;
        if (!nano)
            fraction /= 1000;

        switch (Options.Timestamps)
        {
            case TimestampFormat.TimeOfDay:
                PrintClock(seconds, fraction, withDate: false, local: true);
                _o.Append(' ');
                break;
            case TimestampFormat.None:
                break;
            case TimestampFormat.Unix:
                if (((uint)seconds & 0x80000000) != 0)
                    _o.Append("[Error converting time]");
                else
                {
                    _o.Append((uint)seconds);
                    PrintFraction(fraction);
                }
                _o.Append(' ');
                break;
            case TimestampFormat.DeltaSincePrevious:
            case TimestampFormat.DeltaSinceFirst:
                PrintDelta(seconds, fraction, nano);
                break;
            case TimestampFormat.DateAndTime:
                PrintClock(seconds, fraction, withDate: true, local: true);
                _o.Append(' ');
                break;
        }
    }

    private void PrintDelta(long seconds, long fraction, bool nano)
    {
        // tcpdump keeps a "time value is set" test, so a first packet at exactly the epoch sets nothing.
        if (!_timeReferenceSet || (_refSeconds == 0 && _refFraction == 0))
        {
            _refSeconds = seconds;
            _refFraction = fraction;
            _timeReferenceSet = true;
        }
        long unit = nano ? NanosPerSecond : 1_000_000;
        bool negative = seconds < _refSeconds || (seconds == _refSeconds && fraction < _refFraction);
        long ds, df;
        if (negative)
        {
            ds = _refSeconds - seconds;
            df = _refFraction - fraction;
        }
        else
        {
            ds = seconds - _refSeconds;
            df = fraction - _refFraction;
        }
        if (df < 0)
        {
            ds--;
            df += unit;
        }
        _o.Append(negative ? '-' : ' ');
        PrintClock(ds, df, withDate: false, local: false);
        _o.Append(' ');
        if (Options.Timestamps == TimestampFormat.DeltaSincePrevious)
        {
            _refSeconds = seconds;
            _refFraction = fraction;
        }
    }

    /// <summary>tcpdump's ts_date_hmsfrac_print: [YYYY-MM-DD ]HH:MM:SS.frac, local or UTC.</summary>
    private void PrintClock(long seconds, long fraction, bool withDate, bool local)
    {
        if (((uint)seconds & 0x80000000) != 0)
        {
            _o.Append("[Error converting time]");
            return;
        }
        long t = seconds;
        if (local)
            t += ZoneOffset(seconds);
        long days = Math.DivRem(t, 86400, out long secondOfDay);
        if (secondOfDay < 0)
        {
            secondOfDay += 86400;
            days--;
        }
        if (withDate)
        {
            var date = DateOnly.FromDayNumber((int)(days + 719162)); // 719162 = day number of 1970-01-01
            _o.AppendPadded((ulong)date.Year, 4, '0');
            _o.Append('-');
            _o.AppendPadded((ulong)date.Month, 2, '0');
            _o.Append('-');
            _o.AppendPadded((ulong)date.Day, 2, '0');
            _o.Append(' ');
        }
        _o.AppendPadded((ulong)(secondOfDay / 3600), 2, '0');
        _o.Append(':');
        _o.AppendPadded((ulong)(secondOfDay / 60 % 60), 2, '0');
        _o.Append(':');
        _o.AppendPadded((ulong)(secondOfDay % 60), 2, '0');
        PrintFraction(fraction);
    }

    private void PrintFraction(long fraction)
    {
        _o.Append('.');
        _o.AppendPadded((ulong)fraction, Options.Precision == TimestampPrecision.Nanoseconds ? 9 : 6, '0');
    }

    private long ZoneOffset(long seconds)
    {
        long quarter = seconds - seconds % 900;
        if (quarter != _zoneCacheStart)
        {
            var zone = Options.TimeZone ?? TimeZoneInfo.Local;
            var utc = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, -62135596800, 253402300799));
            _zoneOffsetSeconds = (long)zone.GetUtcOffset(utc).TotalSeconds;
            // Zones change offset on whole quarter hours, so the offset holds for the whole quarter.
            _zoneCacheStart = quarter;
        }
        return _zoneOffsetSeconds;
    }

    private void PrintAnnotations(in PacketAnnotations annotations)
    {
        if (annotations.Flags is uint flags)
        {
            _o.Append("\n\tflags 0x");
            _o.AppendHex(flags, 8);
            // pcapng epb_flags: bits 0-1 direction, bits 2-4 reception type.
            string? direction = (flags & 3) switch { 1 => "inbound", 2 => "outbound", _ => null };
            string? reception = ((flags >> 2) & 7) switch
            {
                1 => "unicast",
                2 => "multicast",
                3 => "broadcast",
                4 => "promiscuous",
                _ => null,
            };
            if (direction is not null || reception is not null)
            {
                _o.Append(" (");
                _o.Append(direction);
                if (direction is not null && reception is not null)
                    _o.Append(", ");
                _o.Append(reception);
                _o.Append(')');
            }
        }
        if (annotations.Comments is { } comments)
        {
            for (int i = 0; i < comments.Count; i++)
            {
                _o.Append("\n\tcomment: ");
                // A comment may hold several lines; keep each indented so the packet stays one block.
                var text = comments[i].AsSpan();
                while (true)
                {
                    int nl = text.IndexOf('\n');
                    if (nl < 0)
                    {
                        _o.Append(text.TrimEnd('\r'));
                        break;
                    }
                    _o.Append(text[..nl].TrimEnd('\r'));
                    _o.Append("\n\t  ");
                    text = text[(nl + 1)..];
                }
            }
        }
    }

    private void PrintRawBytes(ReadOnlySpan<byte> data, uint caplen)
    {
        int skip = _llHeaderLength;
        switch (Options.HexDump)
        {
            case HexDumpMode.HexAndAsciiWithLinkHeader:
                HexAsciiPrint(data, 0, caplen, "\n\t");
                break;
            case HexDumpMode.HexAndAscii:
                if (caplen > (uint)skip)
                    HexAsciiPrint(data, skip, caplen - (uint)skip, "\n\t");
                break;
            case HexDumpMode.HexWithLinkHeader:
                HexPrint(data, 0, caplen, "\n\t");
                break;
            case HexDumpMode.Hex:
                if (caplen > (uint)skip)
                    HexPrint(data, skip, caplen - (uint)skip, "\n\t");
                break;
            case HexDumpMode.AsciiWithLinkHeader:
                AsciiPrint(data, 0, caplen);
                break;
            case HexDumpMode.Ascii:
                if (caplen > (uint)skip)
                    AsciiPrint(data, skip, caplen - (uint)skip);
                break;
        }
    }

    private static bool IsGraph(byte c) => c > 0x20 && c <= 0x7e;

    /// <summary>
    /// tcpdump's hex_and_ascii_print: 16 bytes a line, "0x0000:  4500 003c ...  E..&lt;". Raises a
    /// truncation after printing what there is when <paramref name="length"/> runs past the captured bytes.
    /// </summary>
    private void HexAsciiPrint(ReadOnlySpan<byte> p, int offset, uint length, string indent, uint lineOffset = 0)
    {
        uint available = offset <= p.Length && offset >= 0 ? (uint)(p.Length - offset) : 0;
        bool truncated = false;
        if (length > available)
        {
            length = available;
            truncated = true;
        }
        Span<char> ascii = stackalloc char[16];
        int i = 0;
        int hexStart = 0;
        for (uint n = 0; n < length; n++)
        {
            if (i == 0)
            {
                _o.Append(indent);
                _o.Append("0x");
                _o.AppendHex(lineOffset, 4);
                _o.Append(": ");
                hexStart = _o.Length;
            }
            byte b = p[offset + (int)n];
            if ((i & 1) == 0)
                _o.Append(' ');
            _o.AppendHexByte(b);
            ascii[i] = IsGraph(b) ? (char)b : '.';
            i++;
            if (i == 16 || n + 1 == length)
            {
                // The hex column is padded to 40 chars, then two spaces, then the ASCII.
                _o.Append(' ', 40 - (_o.Length - hexStart));
                _o.Append("  ");
                _o.Append(ascii[..i]);
                i = 0;
                lineOffset += 16;
            }
        }
        if (truncated)
            throw TruncatedException.Instance;
    }

    /// <summary>tcpdump's hex_print: "0x0000:  4500 003c ..." without the ASCII column.</summary>
    private void HexPrint(ReadOnlySpan<byte> p, int offset, uint length, string indent, uint lineOffset = 0)
    {
        uint available = offset <= p.Length && offset >= 0 ? (uint)(p.Length - offset) : 0;
        bool truncated = false;
        if (length > available)
        {
            length = available;
            truncated = true;
        }
        for (uint n = 0; n < length; n++)
        {
            if (n % 16 == 0)
            {
                _o.Append(indent);
                _o.Append("0x");
                _o.AppendHex(lineOffset, 4);
                _o.Append(": ");
                lineOffset += 16;
            }
            if ((n & 1) == 0)
                _o.Append(' ');
            _o.AppendHexByte(p[offset + (int)n]);
        }
        if (truncated)
            throw TruncatedException.Instance;
    }

    /// <summary>tcpdump's ascii_print (-A): printable bytes as they are, others as '.', CRs dropped before LFs.</summary>
    private void AsciiPrint(ReadOnlySpan<byte> p, int offset, uint length)
    {
        uint available = offset <= p.Length && offset >= 0 ? (uint)(p.Length - offset) : 0;
        if (length > available)
            length = available;
        _o.Append('\n');
        for (uint n = 0; n < length; n++)
        {
            byte c = p[offset + (int)n];
            uint left = length - n - 1;
            if (c == '\r')
            {
                if (left > 1 && p[offset + (int)n + 1] != '\n')
                    _o.Append('.');
            }
            else if (!IsGraph(c) && c != '\t' && c != ' ' && c != '\n')
                _o.Append('.');
            else
                _o.Append((char)c);
        }
    }

    /// <summary>tcpdump's default printer for payloads it does not decode (ND_DEFAULTPRINT).</summary>
    private void DefaultPrint(ReadOnlySpan<byte> p, int offset, uint length) => HexAsciiPrint(p, offset, length, "\n\t");

    /// <summary>
    /// ND_DEFAULTPRINT where tcpdump first checks ndo_suppress_default_print: skipped with -q, and with -x/-X,
    /// which dump the whole packet anyway.
    /// </summary>
    private void DefaultPrintUnlessSuppressed(ReadOnlySpan<byte> p, int offset, uint length)
    {
        if (_qflag || Options.HexDump is HexDumpMode.Hex or HexDumpMode.HexWithLinkHeader or HexDumpMode.HexAndAscii
                or HexDumpMode.HexAndAsciiWithLinkHeader)
            return;
        DefaultPrint(p, offset, length);
    }

    /// <summary>tcpdump's fn_print_char: printable ASCII as is, others as M- and ^ escapes.</summary>
    private void PrintEscapedChar(byte c)
    {
        if (c >= 0x80)
        {
            c &= 0x7f;
            _o.Append("M-");
        }
        if (c < 0x20 || c == 0x7f)
        {
            c ^= 0x40;
            _o.Append('^');
        }
        _o.Append((char)c);
    }

    // ---- addresses and ports ----

    /// <summary>GET_IPADDR_STRING: the IPv4 address at <paramref name="offset"/>, named without -n.</summary>
    private void Ip4(ReadOnlySpan<byte> p, int offset)
    {
        uint a = Bytes.U32(p, offset);
        // -f: addresses outside the capture interface's network stay numbers.
        if (Options.LocalNetwork is { } local && (a & local.Netmask) != local.Network)
        {
            AppendIp4(a);
            return;
        }
        if (_names?.Host4(a) is { } name)
        {
            _o.Append(name);
            return;
        }
        AppendIp4(a);
    }

    private void AppendIp4(uint a)
    {
        _o.Append(a >> 24);
        _o.Append('.');
        _o.Append((a >> 16) & 0xff);
        _o.Append('.');
        _o.Append((a >> 8) & 0xff);
        _o.Append('.');
        _o.Append(a & 0xff);
    }

    /// <summary>GET_IP6ADDR_STRING: the IPv6 address at <paramref name="offset"/>, named without -n.</summary>
    private void Ip6(ReadOnlySpan<byte> p, int offset)
    {
        Bytes.Check(p, offset, 16);
        if (_names is not null && _names.Host6(BinaryPrimitives.ReadUInt128BigEndian(p[offset..])) is { } name)
        {
            _o.Append(name);
            return;
        }
        AppendIp6(p.Slice(offset, 16));
    }

    /// <summary>tcpdump's addrtostr6: the longest run (≥ 2) of zero words as "::", embedded IPv4 for ::a.b.c.d and ::ffff:a.b.c.d.</summary>
    private void AppendIp6(ReadOnlySpan<byte> a)
    {
        Span<ushort> w = stackalloc ushort[8];
        for (int i = 0; i < 8; i++)
            w[i] = (ushort)(a[2 * i] << 8 | a[2 * i + 1]);
        int bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
        for (int i = 0; i < 8; i++)
        {
            if (w[i] == 0)
            {
                if (curBase == -1)
                {
                    curBase = i;
                    curLen = 1;
                }
                else
                    curLen++;
            }
            else if (curBase != -1)
            {
                if (bestBase == -1 || curLen > bestLen)
                {
                    bestBase = curBase;
                    bestLen = curLen;
                }
                curBase = -1;
            }
        }
        if (curBase != -1 && (bestBase == -1 || curLen > bestLen))
        {
            bestBase = curBase;
            bestLen = curLen;
        }
        if (bestBase != -1 && bestLen < 2)
            bestBase = -1;
        for (int i = 0; i < 8; i++)
        {
            if (bestBase != -1 && i >= bestBase && i < bestBase + bestLen)
            {
                if (i == bestBase)
                    _o.Append(':');
                continue;
            }
            if (i != 0)
                _o.Append(':');
            if (i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)))
            {
                AppendIp4(BinaryPrimitives.ReadUInt32BigEndian(a[12..]));
                break;
            }
            _o.AppendHex(w[i]);
        }
        if (bestBase != -1 && bestBase + bestLen == 8)
            _o.Append(':');
    }

    /// <summary>GET_ETHERADDR_STRING: xx:xx:xx:xx:xx:xx; without -n an /etc/ethers name, "Broadcast", or the OUI's vendor.</summary>
    private void Mac(ReadOnlySpan<byte> p, int offset)
    {
        Bytes.Check(p, offset, 6);
        var m = p.Slice(offset, 6);
        if (_names is not null)
        {
            ulong value = (ulong)BinaryPrimitives.ReadUInt16BigEndian(m) << 32 | BinaryPrimitives.ReadUInt32BigEndian(m[2..]);
            if (_names.Ether(value) is { } name)
            {
                _o.Append(name);
                return;
            }
            if (value == 0xffff_ffff_ffff)
            {
                _o.Append("Broadcast");
                return;
            }
        }
        for (int i = 0; i < 6; i++)
        {
            if (i > 0)
                _o.Append(':');
            _o.AppendHexByte(m[i]);
        }
        if (_names is not null)
        {
            _o.Append(" (oui ");
            _o.Append(NameTables.Oui((uint)(m[0] << 16 | m[1] << 8 | m[2])) ?? "Unknown");
            _o.Append(')');
        }
    }

    /// <summary>GET_LINKADDR_STRING: Ethernet spelling for 6-byte addresses, else hex bytes joined by ':'.</summary>
    private void LinkAddr(ReadOnlySpan<byte> p, int offset, int length, bool ether)
    {
        if (length == 0)
        {
            _o.Append("<empty>");
            return;
        }
        Bytes.Check(p, offset, length);
        if (ether && length == 6)
        {
            Mac(p, offset);
            return;
        }
        for (int i = 0; i < length; i++)
        {
            if (i > 0)
                _o.Append(':');
            _o.AppendHexByte(p[offset + i]);
        }
    }

    private void TcpPort(ushort port)
    {
        if (_names?.TcpPort(port) is { } name)
            _o.Append(name);
        else
            _o.Append(port);
    }

    private void UdpPort(ushort port)
    {
        if (_names?.UdpPort(port) is { } name)
            _o.Append(name);
        else
            _o.Append(port);
    }
}
