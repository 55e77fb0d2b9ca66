using System.Globalization;

namespace KdtCapture.PcapNg;

/// <summary>
/// A packet timestamp exactly as a capture file holds it: an unsigned count of
/// <see cref="Resolution"/> units since 1970-01-01 UTC minus <see cref="OffsetSeconds"/>
/// (pcapng's <c>if_tsoffset</c>). Nothing is rounded until a caller asks for another
/// resolution; conversions use integer arithmetic only and truncate toward the past, as
/// libpcap does when it scales pcapng timestamps.
/// </summary>
public readonly struct PacketTimestamp : IEquatable<PacketTimestamp>, IComparable<PacketTimestamp>
{
    public PacketTimestamp(ulong ticks, TimestampResolution resolution, long offsetSeconds = 0)
    {
        Ticks = ticks;
        Resolution = resolution;
        OffsetSeconds = offsetSeconds;
    }

    /// <summary>Units of <see cref="Resolution"/> since the epoch plus <see cref="OffsetSeconds"/>.</summary>
    public ulong Ticks { get; }
    public TimestampResolution Resolution { get; }
    /// <summary>Seconds added to <see cref="Ticks"/> to get the absolute time (pcapng <c>if_tsoffset</c>).</summary>
    public long OffsetSeconds { get; }

    /// <summary>From seconds and nanoseconds since the epoch, at nanosecond resolution.</summary>
    public static PacketTimestamp FromUnixNanoseconds(long nanoseconds)
    {
        if (nanoseconds >= 0) return new((ulong)nanoseconds, TimestampResolution.Nanoseconds);
        // Before 1970: keep the tick count unsigned by moving whole seconds into the offset.
        long seconds = Math.DivRem(nanoseconds, 1_000_000_000L, out long rem);
        if (rem < 0) { seconds--; rem += 1_000_000_000L; }
        return new((ulong)rem, TimestampResolution.Nanoseconds, seconds);
    }

    /// <summary>From seconds and a fraction in units of <paramref name="resolution"/>.</summary>
    public static PacketTimestamp FromUnixSeconds(long seconds, ulong fraction, TimestampResolution resolution)
    {
        ulong units = resolution.UnitsPerSecond;
        if (fraction >= units) throw new ArgumentOutOfRangeException(nameof(fraction));
        if (seconds >= 0 && (ulong)seconds <= (ulong.MaxValue - fraction) / units)
        {
            return new((ulong)seconds * units + fraction, resolution);
        }
        return new(fraction, resolution, seconds);
    }

    public static PacketTimestamp FromDateTimeOffset(DateTimeOffset time)
    {
        long ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        return FromUnixNanoseconds(ticks * 100);
    }

    /// <summary>Whole seconds since the epoch (floor).</summary>
    public long UnixSeconds
    {
        get
        {
            ulong units = Resolution.UnitsPerSecond;
            return OffsetSeconds + (long)(Ticks / units);
        }
    }

    /// <summary>The sub-second part in units of <see cref="Resolution"/>.</summary>
    public ulong Fraction => Ticks % Resolution.UnitsPerSecond;

    /// <summary>The sub-second part in units of <paramref name="resolution"/>, truncated.</summary>
    public ulong GetFraction(TimestampResolution resolution)
    {
        ulong from = Resolution.UnitsPerSecond;
        ulong frac = Ticks % from;
        ulong to = resolution.UnitsPerSecond;
        if (from == to) return frac;
        return (ulong)((UInt128)frac * to / from);
    }

    /// <summary>Sub-second nanoseconds, truncated.</summary>
    public uint Nanoseconds => (uint)GetFraction(TimestampResolution.Nanoseconds);
    /// <summary>Sub-second microseconds, truncated.</summary>
    public uint Microseconds => (uint)GetFraction(TimestampResolution.Microseconds);

    /// <summary>Absolute time as units of <paramref name="resolution"/> since the epoch (truncated).</summary>
    public Int128 ToUnixUnits(TimestampResolution resolution)
    {
        ulong from = Resolution.UnitsPerSecond;
        Int128 seconds = (Int128)OffsetSeconds + (Int128)(Ticks / from);
        return seconds * resolution.UnitsPerSecond + (Int128)GetFraction(resolution);
    }

    /// <summary>Nanoseconds since the epoch, truncated; saturates outside the range of <see cref="long"/>.</summary>
    public long ToUnixNanoseconds()
    {
        Int128 ns = ToUnixUnits(TimestampResolution.Nanoseconds);
        return ns > long.MaxValue ? long.MaxValue : ns < long.MinValue ? long.MinValue : (long)ns;
    }

    /// <summary>Truncated to .NET's 100 ns ticks; saturates at DateTimeOffset's range.</summary>
    public DateTimeOffset ToDateTimeOffset()
    {
        Int128 t = ToUnixUnits(TimestampResolution.Decimal(7)) + DateTimeOffset.UnixEpoch.UtcTicks;
        if (t < DateTimeOffset.MinValue.UtcTicks) return DateTimeOffset.MinValue;
        if (t > DateTimeOffset.MaxValue.UtcTicks) return DateTimeOffset.MaxValue;
        return new DateTimeOffset((long)t, TimeSpan.Zero);
    }

    /// <summary>
    /// The same instant as a tick count at <paramref name="resolution"/> relative to
    /// <paramref name="offsetSeconds"/> (truncated when the resolution is coarser). Returns false
    /// when the instant cannot be represented (before the offset, or beyond 64 bits).
    /// </summary>
    public bool TryConvert(TimestampResolution resolution, long offsetSeconds, out ulong ticks)
    {
        if (resolution == Resolution && offsetSeconds == OffsetSeconds)
        {
            ticks = Ticks;
            return true;
        }
        Int128 units = ToUnixUnits(resolution) - (Int128)offsetSeconds * resolution.UnitsPerSecond;
        if (units < 0 || units > ulong.MaxValue)
        {
            ticks = 0;
            return false;
        }
        ticks = (ulong)units;
        return true;
    }

    /// <summary>The same instant at another resolution and offset, truncated; throws if it does not fit.</summary>
    public PacketTimestamp ConvertTo(TimestampResolution resolution, long offsetSeconds = 0) =>
        TryConvert(resolution, offsetSeconds, out ulong t)
            ? new PacketTimestamp(t, resolution, offsetSeconds)
            : throw new OverflowException("timestamp does not fit the requested resolution and offset");

    private Int128 CompareKey(out UInt128 frac, out ulong units)
    {
        units = Resolution.UnitsPerSecond;
        frac = Ticks % units;
        return (Int128)OffsetSeconds + (Int128)(Ticks / units);
    }

    /// <summary>Compares instants exactly, across resolutions.</summary>
    public int CompareTo(PacketTimestamp other)
    {
        Int128 a = CompareKey(out UInt128 fa, out ulong ua);
        Int128 b = other.CompareKey(out UInt128 fb, out ulong ub);
        int c = a.CompareTo(b);
        if (c != 0) return c;
        return (fa * ub).CompareTo(fb * ua);
    }

    /// <summary>Same instant (exactly), whatever the resolution or offset.</summary>
    public bool Equals(PacketTimestamp other) => CompareTo(other) == 0;
    public override bool Equals(object? obj) => obj is PacketTimestamp t && Equals(t);
    public override int GetHashCode() => ToUnixUnits(TimestampResolution.Decimal(TimestampResolution.MaxDecimalExponent)).GetHashCode();
    public static bool operator ==(PacketTimestamp a, PacketTimestamp b) => a.Equals(b);
    public static bool operator !=(PacketTimestamp a, PacketTimestamp b) => !a.Equals(b);
    public static bool operator <(PacketTimestamp a, PacketTimestamp b) => a.CompareTo(b) < 0;
    public static bool operator >(PacketTimestamp a, PacketTimestamp b) => a.CompareTo(b) > 0;
    public static bool operator <=(PacketTimestamp a, PacketTimestamp b) => a.CompareTo(b) <= 0;
    public static bool operator >=(PacketTimestamp a, PacketTimestamp b) => a.CompareTo(b) >= 0;

    /// <summary>"seconds.fraction" with as many fraction digits as the resolution has (decimal),
    /// or nanoseconds for binary resolutions.</summary>
    public override string ToString()
    {
        long s = UnixSeconds;
        if (Resolution.IsBinary)
        {
            return s.ToString(CultureInfo.InvariantCulture) + "." + Nanoseconds.ToString("D9", CultureInfo.InvariantCulture);
        }
        int digits = Resolution.Exponent;
        if (digits == 0) return s.ToString(CultureInfo.InvariantCulture);
        return s.ToString(CultureInfo.InvariantCulture) + "." + Fraction.ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
