using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace KdtCapture.PcapNg.Internal;

/// <summary>Reads and writes integers in a byte order chosen at run time (a section's or a file's).</summary>
internal static class Endian
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort U16(ReadOnlySpan<byte> s, bool big) =>
        big ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint U32(ReadOnlySpan<byte> s, bool big) =>
        big ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong U64(ReadOnlySpan<byte> s, bool big) =>
        big ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);

    /// <summary>pcapng's 64-bit timestamps: high word then low word, each in section order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Split64(ReadOnlySpan<byte> s, bool big) => ((ulong)U32(s, big) << 32) | U32(s[4..], big);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void W16(Span<byte> s, ushort v, bool big)
    {
        if (big) BinaryPrimitives.WriteUInt16BigEndian(s, v); else BinaryPrimitives.WriteUInt16LittleEndian(s, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void W32(Span<byte> s, uint v, bool big)
    {
        if (big) BinaryPrimitives.WriteUInt32BigEndian(s, v); else BinaryPrimitives.WriteUInt32LittleEndian(s, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void W64(Span<byte> s, ulong v, bool big)
    {
        if (big) BinaryPrimitives.WriteUInt64BigEndian(s, v); else BinaryPrimitives.WriteUInt64LittleEndian(s, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WSplit64(Span<byte> s, ulong v, bool big)
    {
        W32(s, (uint)(v >> 32), big);
        W32(s[4..], (uint)v, big);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Pad4(int n) => (n + 3) & ~3;
}
