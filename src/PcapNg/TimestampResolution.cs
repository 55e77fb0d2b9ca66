using System.Globalization;

namespace KdtCapture.PcapNg;

/// <summary>
/// Resolution of timestamps, encoded as pcapng's <c>if_tsresol</c> octet: with the top bit clear
/// a unit is 10^-n seconds, with it set 2^-n seconds. Decimal exponents up to 19 and binary up
/// to 63 are supported, so one second always fits in an unsigned 64-bit number of units.
/// </summary>
public readonly struct TimestampResolution : IEquatable<TimestampResolution>
{
    public const int MaxDecimalExponent = 19;
    public const int MaxBinaryExponent = 63;

    private readonly byte _value;

    /// <summary>Wraps an <c>if_tsresol</c> octet; throws for exponents beyond the supported range.</summary>
    public TimestampResolution(byte ifTsresol)
    {
        if (!IsSupported(ifTsresol))
        {
            throw new ArgumentOutOfRangeException(nameof(ifTsresol), ifTsresol, "timestamp resolution exponent out of range");
        }
        _value = ifTsresol;
    }

    /// <summary>Microseconds (10^-6): pcapng's default when <c>if_tsresol</c> is absent.</summary>
    public static TimestampResolution Microseconds => new(6);
    /// <summary>Nanoseconds (10^-9).</summary>
    public static TimestampResolution Nanoseconds => new(9);

    /// <summary>10^-<paramref name="exponent"/> seconds.</summary>
    public static TimestampResolution Decimal(int exponent) =>
        (uint)exponent <= MaxDecimalExponent ? new((byte)exponent) : throw new ArgumentOutOfRangeException(nameof(exponent));

    /// <summary>2^-<paramref name="exponent"/> seconds.</summary>
    public static TimestampResolution Binary(int exponent) =>
        (uint)exponent <= MaxBinaryExponent ? new((byte)(0x80 | exponent)) : throw new ArgumentOutOfRangeException(nameof(exponent));

    public static bool IsSupported(byte ifTsresol) =>
        (ifTsresol & 0x80) == 0 ? ifTsresol <= MaxDecimalExponent : (ifTsresol & 0x7F) <= MaxBinaryExponent;

    /// <summary>The <c>if_tsresol</c> octet. The default struct value (0) means whole seconds.</summary>
    public byte Value => _value;
    public bool IsBinary => (_value & 0x80) != 0;
    public int Exponent => _value & 0x7F;

    /// <summary>Units in one second (10^n or 2^n).</summary>
    public ulong UnitsPerSecond => IsBinary ? 1UL << Exponent : Pow10[Exponent];

    internal static readonly ulong[] Pow10 = BuildPow10();

    private static ulong[] BuildPow10()
    {
        var p = new ulong[MaxDecimalExponent + 1];
        p[0] = 1;
        for (int i = 1; i < p.Length; i++) p[i] = p[i - 1] * 10;
        return p;
    }

    public bool Equals(TimestampResolution other) => _value == other._value;
    public override bool Equals(object? obj) => obj is TimestampResolution r && Equals(r);
    public override int GetHashCode() => _value;
    public static bool operator ==(TimestampResolution a, TimestampResolution b) => a._value == b._value;
    public static bool operator !=(TimestampResolution a, TimestampResolution b) => a._value != b._value;

    public override string ToString() => IsBinary
        ? "2^-" + Exponent.ToString(CultureInfo.InvariantCulture) + " s"
        : "10^-" + Exponent.ToString(CultureInfo.InvariantCulture) + " s";
}
