using System.Buffers.Binary;
using System.Text.Json;
using KdtCapture.Bpf.Maps;

namespace KdtCapture.Bpf.Tests.Kernel;

public sealed class MapTests : KernelObjectTest
{
    [Theory]
    [InlineData(BpfMapType.Hash)]
    [InlineData(BpfMapType.LruHash)]
    public void Hash_maps_store_update_and_delete(BpfMapType type)
    {
        RequireRoot();
        using var map = BpfMap.Create(new BpfMapCreateOptions { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = 64, Name = "kdt_test_hash" });

        Assert.False(map.TryLookup(7u, out ulong _));
        map.Update(7u, 700ul);
        map.Update(8u, 800ul);
        Assert.True(map.TryLookup(7u, out ulong seven));
        Assert.Equal(700ul, seven);

        // NoExist refuses an existing key, Exist refuses a missing one.
        var exists = Assert.Throws<BpfException>(() => map.Update(7u, 1ul, BpfMapUpdate.NoExist));
        Assert.Equal("EEXIST", exists.ErrnoName);
        var missing = Assert.Throws<BpfException>(() => map.Update(9u, 1ul, BpfMapUpdate.Exist));
        Assert.Equal("ENOENT", missing.ErrnoName);
        Assert.Contains("kdt_test_hash", missing.Message);

        map.Update(7u, 701ul, BpfMapUpdate.Exist);
        Assert.True(map.TryLookup(7u, out seven));
        Assert.Equal(701ul, seven);

        Assert.Equal([7u, 8u], map.Keys<uint>().Order());
        Assert.True(map.Delete(7u));
        Assert.False(map.Delete(7u));
        Assert.Equal([8u], map.Keys<uint>());
    }

    [Fact]
    public void Array_map_has_every_index_and_refuses_delete()
    {
        RequireRoot();
        using var map = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 8, Name = "kdt_test_array" });
        for (uint i = 0; i < 8; i++)
        {
            Assert.True(map.TryLookup(i, out uint zero));
            Assert.Equal(0u, zero);
            map.Update(i, i * 10);
        }
        Assert.False(map.TryLookup(8u, out uint _));
        var refused = Assert.Throws<BpfException>(() => map.Delete(3u));
        Assert.Equal("EINVAL", refused.ErrnoName);

        int entries = 0;
        foreach (var entry in map)
        {
            uint key = BinaryPrimitives.ReadUInt32LittleEndian(entry.Key);
            Assert.Equal(key * 10, BinaryPrimitives.ReadUInt32LittleEndian(entry.Value));
            entries++;
        }
        Assert.Equal(8, entries);
    }

    [Fact]
    public void Lru_hash_evicts_beyond_its_capacity_and_keeps_the_newest()
    {
        RequireRoot();
        using var map = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.LruHash, KeySize = 4, ValueSize = 4, MaxEntries = 16, Name = "kdt_test_lru" });
        for (uint i = 0; i < 1000; i++)
            map.Update(i, i);
        int count = map.Keys<uint>().Count;
        Assert.InRange(count, 1, 16);
        Assert.True(map.TryLookup(999u, out uint newest));
        Assert.Equal(999u, newest);
        Assert.False(map.TryLookup(0u, out uint _));
    }

    [Fact]
    public void Percpu_array_holds_one_value_per_possible_cpu()
    {
        RequireRoot();
        using var map = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.PerCpuArray, KeySize = 4, ValueSize = 4, MaxEntries = 2, Name = "kdt_test_pcpu" });
        int cpus = BpfMap.PossibleCpuCount;
        Assert.Equal(PossibleCpusFromSysfs(), cpus);
        Assert.Equal(cpus * 8, map.ValueBufferSize);

        byte[] values = new byte[map.ValueBufferSize];
        for (int cpu = 0; cpu < cpus; cpu++)
            BinaryPrimitives.WriteUInt32LittleEndian(values.AsSpan(cpu * 8), (uint)(100 + cpu));
        map.Update(BitConverter.GetBytes(1u), values);

        var read = new uint[cpus];
        Assert.True(map.TryLookupPerCpu(1u, read.AsSpan()));
        for (int cpu = 0; cpu < cpus; cpu++)
            Assert.Equal((uint)(100 + cpu), read[cpu]);

        // A plain-sized buffer is refused with the size the map needs.
        var wrong = Assert.Throws<ArgumentException>(() => map.Update(BitConverter.GetBytes(1u), new byte[4]));
        Assert.Contains("per-CPU", wrong.Message);
    }

    [Fact]
    public void Bpftool_sees_what_the_api_wrote()
    {
        RequireRoot();
        string bpftool = FindTool("bpftool") ?? "";
        if (bpftool.Length == 0)
            Assert.Skip("bpftool is not installed (apt-get install bpftool); it is the oracle for map contents");

        using var map = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 16, Name = "kdt_oracle" });
        map.Update(0x01020304u, 0x1122334455667788ul);
        map.Update(5u, 6ul);

        using var show = JsonDocument.Parse(Run(bpftool, "-j", "map", "show", "id", map.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("hash", show.RootElement.GetProperty("type").GetString());
        Assert.Equal("kdt_oracle", show.RootElement.GetProperty("name").GetString());
        Assert.Equal(4, show.RootElement.GetProperty("bytes_key").GetInt32());
        Assert.Equal(8, show.RootElement.GetProperty("bytes_value").GetInt32());
        Assert.Equal(16, show.RootElement.GetProperty("max_entries").GetInt32());

        using var dump = JsonDocument.Parse(Run(bpftool, "-j", "map", "dump", "id", map.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var entries = dump.RootElement.EnumerateArray().ToDictionary(e => HexBytes(e.GetProperty("key")), e => HexBytes(e.GetProperty("value")));
        Assert.Equal(2, entries.Count);
        Assert.Equal("8877665544332211", entries["04030201"]);
        Assert.Equal("0600000000000000", entries["05000000"]);

        var info = map.GetInfo();
        Assert.Equal(map.Id, info.Id);
        Assert.Equal("kdt_oracle", info.Name);
    }

    [Fact]
    public void Map_opened_by_id_is_the_same_map()
    {
        RequireRoot();
        using var map = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "kdt_byid" });
        map.Update(0u, 42u);
        using var again = BpfMap.FromId(map.Id);
        Assert.Equal(BpfMapType.Array, again.Type);
        Assert.Equal("kdt_byid", again.Name);
        Assert.True(again.TryLookup(0u, out uint value));
        Assert.Equal(42u, value);
    }

    [Fact]
    public void Invalid_map_is_one_line_error_with_errno_name()
    {
        RequireRoot();
        var error = Assert.Throws<BpfException>(() => BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 3, ValueSize = 4, MaxEntries = 1, Name = "bad" }));
        Assert.Equal("EINVAL", error.ErrnoName);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("create map 'bad' (array, key 3", error.Message);
    }

    [Fact]
    public void Queue_pops_in_order_and_hash_lookup_and_delete_removes()
    {
        RequireRoot();
        using var queue = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Queue, ValueSize = 4, MaxEntries = 4, Name = "kdt_queue" });
        foreach (uint value in new uint[] { 10, 20, 30 })
            queue.Update(default, BitConverter.GetBytes(value));
        var popped = new List<uint>();
        var buffer = new byte[4];
        while (queue.TryLookupAndDelete(default, buffer))
            popped.Add(BitConverter.ToUInt32(buffer));
        Assert.Equal([10u, 20u, 30u], popped);

        using var hash = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "kdt_take" });
        hash.Update(1u, 111u);
        Assert.True(hash.TryLookupAndDelete(BitConverter.GetBytes(1u), buffer));
        Assert.Equal(111u, BitConverter.ToUInt32(buffer));
        Assert.False(hash.TryLookup(1u, out uint _));
        Assert.False(hash.TryLookupAndDelete(BitConverter.GetBytes(1u), buffer));
    }

    [Fact]
    public void Frozen_map_refuses_user_space_writes()
    {
        RequireRoot();
        using var map = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "kdt_rodata" });
        map.Update(0u, 5u);
        map.Freeze();
        var refused = Assert.Throws<BpfException>(() => map.Update(0u, 6u));
        Assert.Equal("EPERM", refused.ErrnoName);
        Assert.True(map.TryLookup(0u, out uint value));
        Assert.Equal(5u, value);
    }

    [Fact]
    public void Pinned_map_outlives_its_descriptor_until_unpinned()
    {
        RequireRoot();
        if (!Directory.Exists("/sys/fs/bpf") || !File.ReadAllText("/proc/mounts").Contains(" /sys/fs/bpf bpf ", StringComparison.Ordinal))
            Assert.Skip("bpffs is not mounted at /sys/fs/bpf");
        string path = $"/sys/fs/bpf/kdt_test_{Environment.ProcessId}";
        uint id;
        using (var map = BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "kdt_pinned" }))
        {
            map.Update(0u, 77u);
            map.Pin(path);
            id = map.Id;
        }
        try
        {
            using var again = BpfMap.FromPin(path);
            Assert.Equal(id, again.Id);
            Assert.True(again.TryLookup(0u, out uint value));
            Assert.Equal(77u, value);
        }
        finally
        {
            File.Delete(path);
        }
        var gone = Assert.Throws<BpfException>(() => BpfMap.FromPin(path));
        Assert.Equal("ENOENT", gone.ErrnoName);
    }

    private static string HexBytes(JsonElement array) =>
        string.Concat(array.EnumerateArray().Select(b => b.GetString()!.Replace("0x", "", StringComparison.Ordinal)));

    private static int PossibleCpusFromSysfs()
    {
        string text = File.ReadAllText("/sys/devices/system/cpu/possible").Trim();
        int dash = text.LastIndexOfAny(['-', ',']);
        return int.Parse(text[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture) + 1;
    }
}
