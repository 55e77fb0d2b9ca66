using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.Maps;

/// <summary>
/// A live BPF map owning its descriptor. Keys and values are raw byte spans (sizes checked) or
/// unmanaged structs; per-CPU maps take a value buffer of <see cref="ValueBufferSize"/> bytes,
/// one 8-byte-aligned value per possible CPU. Disposing closes the descriptor; the kernel frees
/// the map when no program or descriptor refers to it any more.
/// </summary>
public sealed unsafe class BpfMap : IDisposable
{
    private uint _id;

    private BpfMap(BpfFileDescriptor fd, BpfMapType type, int keySize, int valueSize, int maxEntries, BpfMapFlags flags, string name, uint id)
    {
        Fd = fd;
        Type = type;
        KeySize = keySize;
        ValueSize = valueSize;
        MaxEntries = maxEntries;
        Flags = flags;
        Name = name;
        _id = id;
        ValueBufferSize = type.IsPerCpu() ? RoundUp8(valueSize) * Cpus.PossibleCount : valueSize;
    }

    public BpfFileDescriptor Fd { get; }

    public BpfMapType Type { get; }

    public int KeySize { get; }

    public int ValueSize { get; }

    public int MaxEntries { get; }

    public BpfMapFlags Flags { get; }

    public string Name { get; }

    /// <summary>Bytes a lookup writes: <see cref="ValueSize"/>, or for per-CPU maps one 8-byte-aligned value per possible CPU.</summary>
    public int ValueBufferSize { get; }

    /// <summary>Number of per-CPU values a per-CPU lookup returns.</summary>
    public static int PossibleCpuCount => Cpus.PossibleCount;

    /// <summary>The kernel's id for the map (what bpftool lists).</summary>
    public uint Id
    {
        get
        {
            if (_id == 0)
                _id = ReadInfo(Fd, "map").Id;
            return _id;
        }
    }

    public static BpfMap Create(BpfMapCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string name = options.Name ?? "";
        var attr = new MapCreateAttr
        {
            MapType = (uint)options.Type,
            KeySize = (uint)options.KeySize,
            ValueSize = (uint)options.ValueSize,
            MaxEntries = (uint)options.MaxEntries,
            MapFlags = (uint)options.Flags,
            InnerMapFd = BpfSyscall.FdOf(options.InnerMap),
            NumaNode = options.NumaNode,
            MapName = ObjectName.From(name),
            BtfFd = BpfSyscall.FdOf(options.Btf),
            BtfKeyTypeId = options.BtfKeyTypeId,
            BtfValueTypeId = options.BtfValueTypeId,
            MapExtra = options.Extra,
        };
        int errno = BpfSyscall.CallForFd(BpfCommand.MapCreate, ref attr, out var fd);
        GC.KeepAlive(options.InnerMap);
        GC.KeepAlive(options.Btf);
        if (errno != 0)
            throw CreateError(options, name, errno);
        return new BpfMap(fd!, options.Type, options.KeySize, options.ValueSize, options.MaxEntries, options.Flags, name, 0);
    }

    /// <summary>Opens an existing map by its kernel id.</summary>
    public static BpfMap FromId(uint id)
    {
        int errno = BpfSyscall.FdById(BpfCommand.MapGetFdById, id, out var fd);
        if (errno != 0)
            throw new BpfException($"open map id {id}", errno);
        return FromDescriptor(fd!);
    }

    /// <summary>Wraps a map descriptor (taking ownership), reading its shape from the kernel.</summary>
    public static BpfMap FromDescriptor(BpfFileDescriptor fd)
    {
        MapInfoRaw info = ReadInfo(fd, "map");
        return new BpfMap(fd, (BpfMapType)info.Type, (int)info.KeySize, (int)info.ValueSize, (int)info.MaxEntries,
            (BpfMapFlags)info.MapFlags, info.Name.ToString(), info.Id);
    }

    /// <summary>Opens a map pinned in bpffs.</summary>
    public static BpfMap FromPin(string path) => FromDescriptor(BpfPins.Get(path, "map"));

    /// <summary>Pins the map in bpffs so that it outlives this process (only when asked).</summary>
    public void Pin(string path) => BpfPins.Pin(Fd, path, $"map '{Name}'");

    /// <summary>Reads the kernel's view of the map.</summary>
    public BpfMapInfo GetInfo()
    {
        MapInfoRaw raw = ReadInfo(Fd, $"map '{Name}'");
        return new BpfMapInfo((BpfMapType)raw.Type, raw.Id, (int)raw.KeySize, (int)raw.ValueSize, (int)raw.MaxEntries,
            (BpfMapFlags)raw.MapFlags, raw.Name.ToString(), raw.BtfId, raw.BtfKeyTypeId, raw.BtfValueTypeId);
    }

    // ---- byte-span API ----

    /// <summary>Copies the value for <paramref name="key"/>; false when the key is absent.</summary>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        CheckValue(value.Length);
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            int errno = BpfSyscall.MapElem(BpfCommand.MapLookupElem, Fd, k, v, 0);
            return errno == 0 || (errno == Errno.ENOENT ? false : throw Fail("look up", errno));
        }
    }

    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, BpfMapUpdate flags = BpfMapUpdate.Any)
    {
        CheckKey(key);
        CheckValue(value.Length);
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            int errno = BpfSyscall.MapElem(BpfCommand.MapUpdateElem, Fd, k, v, (ulong)flags);
            if (errno != 0)
                throw Fail("update", errno);
        }
    }

    /// <summary>Deletes <paramref name="key"/>; false when it was absent.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        fixed (byte* k = key)
        {
            int errno = BpfSyscall.MapElem(BpfCommand.MapDeleteElem, Fd, k, null, 0);
            return errno == 0 || (errno == Errno.ENOENT ? false : throw Fail("delete from", errno));
        }
    }

    /// <summary>The key after <paramref name="key"/> (empty span: the first key); false at the end.</summary>
    public bool TryGetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty)
            CheckKey(key);
        if (nextKey.Length != KeySize)
            throw new ArgumentException($"map '{Name}': next-key buffer of {nextKey.Length} bytes, the key is {KeySize}", nameof(nextKey));
        fixed (byte* k = key)
        fixed (byte* n = nextKey)
        {
            int errno = BpfSyscall.MapElem(BpfCommand.MapGetNextKey, Fd, key.IsEmpty ? null : k, n, 0);
            return errno == 0 || (errno == Errno.ENOENT ? false : throw Fail("iterate", errno));
        }
    }

    /// <summary>Copies and removes the value (queues/stacks: pass an empty key); false when absent.</summary>
    public bool TryLookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value)
    {
        if (!key.IsEmpty)
            CheckKey(key);
        CheckValue(value.Length);
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            int errno = BpfSyscall.MapElem(BpfCommand.MapLookupAndDeleteElem, Fd, key.IsEmpty ? null : k, v, 0);
            return errno == 0 || (errno == Errno.ENOENT ? false : throw Fail("look up and delete in", errno));
        }
    }

    /// <summary>Makes the map read-only for user space (done to .rodata before programs load).</summary>
    public void Freeze()
    {
        var attr = new FdAttr { Fd = BpfSyscall.FdOf(Fd) };
        int errno = BpfSyscall.Errno0(BpfSyscall.Call(BpfCommand.MapFreeze, ref attr));
        GC.KeepAlive(Fd);
        if (errno != 0)
            throw Fail("freeze", errno);
    }

    // ---- typed API ----

    public bool TryLookup<TKey, TValue>(in TKey key, out TValue value) where TKey : unmanaged where TValue : unmanaged
    {
        CheckTypedValue<TValue>();
        value = default;
        return TryLookup(AsBytes(in key), MemoryMarshal.AsBytes(new Span<TValue>(ref value)));
    }

    public void Update<TKey, TValue>(in TKey key, in TValue value, BpfMapUpdate flags = BpfMapUpdate.Any) where TKey : unmanaged where TValue : unmanaged
    {
        CheckTypedValue<TValue>();
        Update(AsBytes(in key), AsBytes(in value), flags);
    }

    public bool Delete<TKey>(in TKey key) where TKey : unmanaged => Delete(AsBytes(in key));

    /// <summary>Per-CPU lookup: one value per possible CPU into <paramref name="values"/> (length ≥ <see cref="PossibleCpuCount"/>).</summary>
    public bool TryLookupPerCpu<TKey, TValue>(in TKey key, Span<TValue> values) where TKey : unmanaged where TValue : unmanaged
    {
        if (!Type.IsPerCpu())
            throw new InvalidOperationException($"map '{Name}' ({Type.KernelName()}) is not a per-CPU map");
        int stride = RoundUp8(ValueSize);
        if (sizeof(TValue) != ValueSize)
            throw new ArgumentException($"map '{Name}': {typeof(TValue).Name} is {sizeof(TValue)} bytes, the value is {ValueSize}");
        int cpus = Cpus.PossibleCount;
        if (values.Length < cpus)
            throw new ArgumentException($"map '{Name}': room for {values.Length} values, {cpus} CPUs are possible", nameof(values));
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(ValueBufferSize);
        try
        {
            if (!TryLookup(AsBytes(in key), buffer.AsSpan(0, ValueBufferSize)))
                return false;
            for (int cpu = 0; cpu < cpus; cpu++)
                values[cpu] = MemoryMarshal.Read<TValue>(buffer.AsSpan(cpu * stride, ValueSize));
            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Iterates keys and values; each entry's spans are valid until the next MoveNext.</summary>
    public BpfMapEnumerator GetEnumerator() => new(this);

    /// <summary>All keys as <typeparamref name="TKey"/>, a snapshot in kernel iteration order.</summary>
    public List<TKey> Keys<TKey>() where TKey : unmanaged
    {
        if (sizeof(TKey) != KeySize)
            throw new ArgumentException($"map '{Name}': {typeof(TKey).Name} is {sizeof(TKey)} bytes, the key is {KeySize}");
        var keys = new List<TKey>();
        TKey current = default, next = default;
        bool first = true;
        while (TryGetNextKey(first ? default : AsBytes(in current), MemoryMarshal.AsBytes(new Span<TKey>(ref next))))
        {
            keys.Add(next);
            current = next;
            first = false;
        }
        return keys;
    }

    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"map '{Name}' ({Type.KernelName()}, key {KeySize}, value {ValueSize}, max {MaxEntries})";

    internal static ReadOnlySpan<byte> AsBytes<T>(in T value) where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value));

    private static int RoundUp8(int size) => (size + 7) & ~7;

    private void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
            throw new ArgumentException($"map '{Name}': key of {key.Length} bytes, the map's keys are {KeySize}", nameof(key));
    }

    private void CheckValue(int length)
    {
        if (length != ValueBufferSize)
        {
            string what = Type.IsPerCpu() ? $"{ValueBufferSize} (per-CPU: {Cpus.PossibleCount} × {RoundUp8(ValueSize)})" : ValueBufferSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new ArgumentException($"map '{Name}': value buffer of {length} bytes, the map needs {what}", "value");
        }
    }

    private void CheckTypedValue<TValue>() where TValue : unmanaged
    {
        if (Type.IsPerCpu())
            throw new InvalidOperationException($"map '{Name}' is per-CPU: use TryLookupPerCpu or a {ValueBufferSize}-byte buffer");
    }

    private BpfException Fail(string operation, int errno) => new($"{operation} map '{Name}'", errno);

    private static BpfException CreateError(BpfMapCreateOptions options, string name, int errno)
    {
        string what = $"create map '{name}' ({options.Type.KernelName()}, key {options.KeySize}, value {options.ValueSize}, max {options.MaxEntries})";
        if (errno == Errno.EPERM)
            return BpfException.WithMessage(what + ": EPERM: creating BPF maps needs root or CAP_BPF (kernels before 5.11 also charge RLIMIT_MEMLOCK)", errno);
        if (errno == Errno.EINVAL && options.Type == BpfMapType.RingBuf)
            return BpfException.WithMessage(what + ": EINVAL: a ring buffer's size must be a power of two and a multiple of the page size, with key and value sizes 0", errno);
        return new BpfException(what, errno);
    }

    internal static MapInfoRaw ReadInfo(BpfFileDescriptor fd, string what)
    {
        var info = default(MapInfoRaw);
        int errno = BpfSyscall.GetInfo(fd, ref info, out _);
        if (errno != 0)
            throw new BpfException($"get info of {what}", errno);
        return info;
    }
}

/// <summary>What the kernel reports about a map.</summary>
public sealed record BpfMapInfo(BpfMapType Type, uint Id, int KeySize, int ValueSize, int MaxEntries, BpfMapFlags Flags,
    string Name, uint BtfId, uint BtfKeyTypeId, uint BtfValueTypeId);

/// <summary>One map entry; the spans point into the enumerator's buffers.</summary>
public readonly ref struct BpfMapEntry
{
    public BpfMapEntry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        Key = key;
        Value = value;
    }

    public ReadOnlySpan<byte> Key { get; }

    public ReadOnlySpan<byte> Value { get; }
}

/// <summary>
/// Walks a map with GET_NEXT_KEY and LOOKUP, reusing two buffers. Entries deleted meanwhile are
/// skipped; as in the kernel, a hash map changed during the walk may restart from its first key.
/// </summary>
public ref struct BpfMapEnumerator
{
    private readonly BpfMap _map;
    private readonly byte[] _keys;
    private readonly byte[] _value;
    private bool _started;
    private bool _currentIsSecond;

    internal BpfMapEnumerator(BpfMap map)
    {
        _map = map;
        _keys = new byte[map.KeySize * 2];
        _value = new byte[map.ValueBufferSize];
    }

    public readonly BpfMapEntry Current => new(CurrentKey, _value);

    private readonly Span<byte> CurrentKey => _keys.AsSpan(_currentIsSecond ? _map.KeySize : 0, _map.KeySize);

    public bool MoveNext()
    {
        while (true)
        {
            Span<byte> previous = _started ? CurrentKey : default;
            Span<byte> next = _keys.AsSpan(_started && !_currentIsSecond ? _map.KeySize : 0, _map.KeySize);
            if (!_map.TryGetNextKey(previous, next))
                return false;
            _currentIsSecond = _started && !_currentIsSecond;
            _started = true;
            if (_map.TryLookup(CurrentKey, _value))
                return true;
        }
    }
}
