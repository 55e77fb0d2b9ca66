using System.Globalization;

namespace KdtCapture.Capture.Printing.Internal;

/// <summary>
/// A growable char buffer reused for every packet: the printer appends a packet's text here and hands the
/// whole span to the writer once, so formatting numbers and addresses allocates nothing.
/// </summary>
internal sealed class TextBuffer
{
    private const string HexDigits = "0123456789abcdef";
    private char[] _chars = new char[1024];
    private int _length;

    /// <summary>The number of chars written; setting a smaller value drops the tail (tcpdump prints nothing of a failed snprintf).</summary>
    public int Length
    {
        get => _length;
        set
        {
            if ((uint)value > (uint)_length)
                throw new ArgumentOutOfRangeException(nameof(value));
            _length = value;
        }
    }

    public ReadOnlySpan<char> Span => _chars.AsSpan(0, _length);

    public char this[int index] => _chars[index];

    public void Clear() => _length = 0;

    public override string ToString() => new(_chars, 0, _length);

    private Span<char> Reserve(int count)
    {
        if (_chars.Length - _length < count)
            Grow(count);
        return _chars.AsSpan(_length);
    }

    private void Grow(int count)
    {
        int size = Math.Max(_chars.Length * 2, _length + count);
        Array.Resize(ref _chars, size);
    }

    public void Append(char c)
    {
        if (_length == _chars.Length)
            Grow(1);
        _chars[_length++] = c;
    }

    public void Append(char c, int repeat)
    {
        if (repeat <= 0)
            return;
        Reserve(repeat)[..repeat].Fill(c);
        _length += repeat;
    }

    public void Append(string? s)
    {
        if (string.IsNullOrEmpty(s))
            return;
        s.AsSpan().CopyTo(Reserve(s.Length));
        _length += s.Length;
    }

    public void Append(ReadOnlySpan<char> s)
    {
        s.CopyTo(Reserve(s.Length));
        _length += s.Length;
    }

    /// <summary>Unsigned decimal, as printf's %u.</summary>
    public void Append(ulong value)
    {
        if (value < 10)
        {
            Append((char)('0' + (int)value));
            return;
        }
        value.TryFormat(Reserve(20), out int n, default, CultureInfo.InvariantCulture);
        _length += n;
    }

    public void Append(uint value) => Append((ulong)value);

    /// <summary>Signed decimal, as printf's %d.</summary>
    public void Append(long value)
    {
        value.TryFormat(Reserve(20), out int n, default, CultureInfo.InvariantCulture);
        _length += n;
    }

    public void Append(int value) => Append((long)value);

    /// <summary>printf's %*u: right-aligned in <paramref name="width"/> columns.</summary>
    public void AppendPadded(ulong value, int width, char pad = ' ')
    {
        int start = _length;
        Append(value);
        PadLeft(start, width, pad);
    }

    /// <summary>printf's %-*s.</summary>
    public void AppendLeftAligned(string s, int width)
    {
        Append(s);
        Append(' ', width - s.Length);
    }

    /// <summary>printf's %*s.</summary>
    public void AppendRightAligned(string s, int width)
    {
        Append(' ', width - s.Length);
        Append(s);
    }

    /// <summary>Lower-case hex, at least <paramref name="minDigits"/> digits (printf's %0Nx; 0 = %x).</summary>
    public void AppendHex(ulong value, int minDigits = 0)
    {
        Span<char> tmp = stackalloc char[16];
        int i = tmp.Length;
        do
        {
            tmp[--i] = HexDigits[(int)(value & 0xf)];
            value >>= 4;
        } while (value != 0);
        int digits = tmp.Length - i;
        if (minDigits > digits)
            Append('0', minDigits - digits);
        Append(tmp[i..]);
    }

    /// <summary>Two lower-case hex digits (%02x).</summary>
    public void AppendHexByte(byte b)
    {
        var span = Reserve(2);
        span[0] = HexDigits[b >> 4];
        span[1] = HexDigits[b & 0xf];
        _length += 2;
    }

    /// <summary>Moves the text written since <paramref name="start"/> right, padding on the left up to <paramref name="width"/>.</summary>
    public void PadLeft(int start, int width, char pad = ' ')
    {
        int written = _length - start;
        if (written >= width)
            return;
        int shift = width - written;
        Reserve(shift);
        Array.Copy(_chars, start, _chars, start + shift, written);
        _chars.AsSpan(start, shift).Fill(pad);
        _length += shift;
    }

    /// <summary>Whether the text ends with <paramref name="s"/>.</summary>
    public bool EndsWith(string s) => Span.EndsWith(s.AsSpan(), StringComparison.Ordinal);
}
