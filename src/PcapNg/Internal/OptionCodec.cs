using System.Net;
using System.Text;

namespace KdtCapture.PcapNg.Internal;

/// <summary>Walks a pcapng option list. Stops at opt_endofopt, at the end of the data, or at
/// an option that overruns the data (reported through <see cref="Overrun"/>).</summary>
internal ref struct OptionReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly bool _big;
    private int _pos;

    public OptionReader(ReadOnlySpan<byte> data, bool bigEndian)
    {
        _data = data;
        _big = bigEndian;
        _pos = 0;
        Overrun = false;
    }

    public bool Overrun { get; private set; }

    public bool Next(out ushort code, out ReadOnlySpan<byte> value)
    {
        if (_data.Length - _pos < 4)
        {
            code = 0;
            value = default;
            return false;
        }
        code = Endian.U16(_data[_pos..], _big);
        int length = Endian.U16(_data[(_pos + 2)..], _big);
        if (code == 0)
        {
            value = default;
            return false;
        }
        int start = _pos + 4;
        if (length > _data.Length - start)
        {
            Overrun = true;
            value = default;
            return false;
        }
        value = _data.Slice(start, length);
        // The padding of the last option may be missing; never step past the end.
        _pos = (int)Math.Min(_data.Length, (long)start + Endian.Pad4(length));
        return true;
    }
}

/// <summary>Builds an option list in a reusable buffer, in the byte order of the section being written.</summary>
internal sealed class OptionEncoder
{
    private byte[] _buffer = new byte[256];
    private int _length;
    private bool _big;

    public void Reset(bool bigEndian)
    {
        _big = bigEndian;
        _length = 0;
    }

    public int Length => _length;
    public ReadOnlySpan<byte> Written => new(_buffer, 0, _length);

    /// <summary>Closes the list with opt_endofopt if it holds any option.</summary>
    public void End()
    {
        if (_length == 0) return;
        Span<byte> s = Reserve(4);
        s.Clear();
    }

    private Span<byte> Reserve(int n)
    {
        if (_buffer.Length - _length < n)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
        }
        Span<byte> s = _buffer.AsSpan(_length, n);
        _length += n;
        return s;
    }

    public void Add(ushort code, ReadOnlySpan<byte> value)
    {
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException($"option {code} is {value.Length} bytes long; pcapng options hold at most 65535");
        }
        int padded = Endian.Pad4(value.Length);
        Span<byte> s = Reserve(4 + padded);
        Endian.W16(s, code, _big);
        Endian.W16(s[2..], (ushort)value.Length, _big);
        value.CopyTo(s[4..]);
        s[(4 + value.Length)..].Clear();
    }

    public void AddString(ushort code, string? text)
    {
        if (text is null) return;
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (max <= 512)
        {
            Span<byte> tmp = stackalloc byte[max];
            int n = Encoding.UTF8.GetBytes(text, tmp);
            Add(code, tmp[..n]);
        }
        else
        {
            Add(code, Encoding.UTF8.GetBytes(text));
        }
    }

    public void AddU8(ushort code, byte v) => Add(code, [v]);

    public void AddU32(ushort code, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        Endian.W32(b, v, _big);
        Add(code, b);
    }

    public void AddU64(ushort code, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        Endian.W64(b, v, _big);
        Add(code, b);
    }

    /// <summary>A 64-bit timestamp as two 32-bit words, high first (isb_starttime/endtime).</summary>
    public void AddSplit64(ushort code, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        Endian.WSplit64(b, v, _big);
        Add(code, b);
    }

    public void AddPrefixed(ushort code, byte prefix, ReadOnlySpan<byte> data)
    {
        Span<byte> b = data.Length < 256 ? stackalloc byte[data.Length + 1] : new byte[data.Length + 1];
        b[0] = prefix;
        data.CopyTo(b[1..]);
        Add(code, b);
    }

    public void AddCustom(CustomOption option)
    {
        int n = option.Data.Length + 4;
        byte[] b = new byte[n];
        Endian.W32(b, option.PrivateEnterpriseNumber, _big);
        option.Data.Span.CopyTo(b.AsSpan(4));
        Add(option.Code, b);
    }

    public void AddComments(IReadOnlyList<string> comments)
    {
        for (int i = 0; i < comments.Count; i++) AddString(1, comments[i]);
    }

    public void AddCommon(PcapNgBlock block, bool copying)
    {
        AddComments(block.Comments);
        AddCustoms(block.CustomOptions, copying);
        AddUnknown(block.UnknownOptions);
    }

    public void AddCustoms(IReadOnlyList<CustomOption> options, bool copying)
    {
        for (int i = 0; i < options.Count; i++)
        {
            if (copying && !options[i].IsCopyable) continue;
            AddCustom(options[i]);
        }
    }

    public void AddUnknown(IReadOnlyList<PcapNgOption> options)
    {
        for (int i = 0; i < options.Count; i++)
        {
            PcapNgOption o = options[i];
            if (o.IsBigEndian != _big) continue; // opaque bytes: only valid in their own byte order
            Add(o.Code, o.Value.Span);
        }
    }
}

/// <summary>Decodes option lists into the block models.</summary>
internal static class OptionDecoder
{
    /// <summary>Common options (comment, custom) into the lists; false when the code is neither.</summary>
    public static bool TryCommon(ushort code, ReadOnlySpan<byte> value, bool big, ref List<string>? comments, ref List<CustomOption>? customs)
    {
        if (code == 1)
        {
            (comments ??= []).Add(OptionText.Decode(value));
            return true;
        }
        if (CustomOption.IsCustomCode(code))
        {
            if (value.Length < 4) return false;
            uint pen = Endian.U32(value, big);
            bool text = code is CustomOption.CodeCopyableText or CustomOption.CodeNoCopyText;
            bool copy = code is CustomOption.CodeCopyableText or CustomOption.CodeCopyableBinary;
            (customs ??= []).Add(new CustomOption(pen, value[4..].ToArray(), text, copy));
            return true;
        }
        return false;
    }

    public static void Unknown(ushort code, ReadOnlySpan<byte> value, bool big, ref List<PcapNgOption>? unknown) =>
        (unknown ??= []).Add(new PcapNgOption(code, value.ToArray(), big));

    public static IPAddress? Ip(ReadOnlySpan<byte> value) => new IPAddress(value);
}
