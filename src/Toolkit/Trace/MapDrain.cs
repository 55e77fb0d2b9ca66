using System.Runtime.InteropServices;
using KdtCapture.Bpf.Maps;

namespace KdtCapture.Toolkit.Trace;

/// <summary>Reads and empties a summary map in one pass (lookup-and-delete per key), so counts
/// the kernel adds while we read go to the next interval instead of being lost.</summary>
internal static class MapDrain
{
    public delegate void EntryHandler<TKey, TState>(TState state, TKey key, ReadOnlySpan<byte> value) where TKey : unmanaged;

    public static void Drain<TKey, TState>(BpfMap map, TState state, EntryHandler<TKey, TState> handler) where TKey : unmanaged
    {
        var value = new byte[map.ValueBufferSize];
        foreach (var key in map.Keys<TKey>())
        {
            var k = key;
            if (map.TryLookupAndDelete(MemoryMarshal.AsBytes(new ReadOnlySpan<TKey>(in k)), value))
                handler(state, key, value.AsSpan(0, map.ValueSize));
        }
    }
}
