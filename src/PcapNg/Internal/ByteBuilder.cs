namespace KdtCapture.PcapNg.Internal;

/// <summary>A reusable growable byte buffer for assembling block bodies that are not on the
/// per-packet path.</summary>
internal sealed class ByteBuilder
{
    private byte[] _buffer = new byte[256];
    private int _length;
    private bool _big;

    public void Reset(bool bigEndian)
    {
        _big = bigEndian;
        _length = 0;
    }

    public ReadOnlySpan<byte> Written => new(_buffer, 0, _length);

    private Span<byte> Reserve(int n)
    {
        if (_buffer.Length - _length < n) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
        Span<byte> s = _buffer.AsSpan(_length, n);
        _length += n;
        return s;
    }

    public void Append(ReadOnlySpan<byte> data) => data.CopyTo(Reserve(data.Length));
    public void U16(ushort v) => Endian.W16(Reserve(2), v, _big);
    public void U32(uint v) => Endian.W32(Reserve(4), v, _big);
    public void Split64(ulong v) => Endian.WSplit64(Reserve(8), v, _big);

    public void Pad4()
    {
        int pad = Endian.Pad4(_length) - _length;
        if (pad > 0) Reserve(pad).Clear();
    }
}
