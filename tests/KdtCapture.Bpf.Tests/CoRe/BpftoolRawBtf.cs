using System.Globalization;
using System.Text.RegularExpressions;
using KdtCapture.Bpf.Tests.Objects;

namespace KdtCapture.Bpf.Tests.CoRe;

/// <summary>
/// BTF as `bpftool btf dump file F format raw` prints it: the oracle the CO-RE tests compare
/// with. Only what they need: kinds, names, sizes, referred types, members and enumerators.
/// </summary>
internal sealed partial class BpftoolRawBtf
{
    internal sealed record Member(string Name, int TypeId, long BitOffset, int BitfieldSize);

    internal sealed class Type
    {
        public required int Id;
        public required string Kind;
        public required string Name;
        public long Size;
        public int TypeId;
        public readonly List<Member> Members = [];
        public readonly List<(string Name, long Value)> Values = [];
    }

    private readonly Dictionary<int, Type> _types = [];

    private static readonly Lazy<BpftoolRawBtf> s_kernel = new(() => Dump(KernelFacts.VmlinuxBtfPath));

    public static BpftoolRawBtf Kernel => s_kernel.Value;

    public static BpftoolRawBtf Dump(string file)
    {
        TestObjects.RequireTool("bpftool");
        var btf = new BpftoolRawBtf();
        Type? current = null;
        foreach (var line in TestObjects.Run("bpftool", "btf", "dump", "file", file, "format", "raw").Split('\n'))
        {
            var h = Header().Match(line);
            if (h.Success)
            {
                current = new Type { Id = Int(h.Groups[1].Value), Kind = h.Groups[2].Value, Name = h.Groups[3].Value };
                var size = SizeAttr().Match(line);
                if (size.Success)
                    current.Size = long.Parse(size.Groups[1].Value, CultureInfo.InvariantCulture);
                var type = TypeAttr().Match(line);
                if (type.Success)
                    current.TypeId = Int(type.Groups[1].Value);
                btf._types[current.Id] = current;
                continue;
            }
            if (current is null)
                continue;
            var m = MemberLine().Match(line);
            if (m.Success && current.Kind is "STRUCT" or "UNION")
            {
                current.Members.Add(new Member(m.Groups[1].Value, Int(m.Groups[2].Value), long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
                    m.Groups[4].Success ? Int(m.Groups[4].Value) : 0));
                continue;
            }
            var e = EnumLine().Match(line);
            if (e.Success)
                current.Values.Add((e.Groups[1].Value, long.TryParse(e.Groups[2].Value, CultureInfo.InvariantCulture, out long value)
                    ? value : unchecked((long)ulong.Parse(e.Groups[2].Value, CultureInfo.InvariantCulture))));
        }
        return btf;
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    public Type this[int id] => _types[id];

    public Type Find(string kind, string name) => _types.Values.Single(t => t.Kind == kind && t.Name == name);

    /// <summary>Typedefs and qualifiers peeled off.</summary>
    public Type Resolve(int id)
    {
        var t = _types[id];
        while (t.Kind is "TYPEDEF" or "CONST" or "VOLATILE" or "RESTRICT" or "TYPE_TAG")
            t = _types[t.TypeId];
        return t;
    }

    public long SizeOf(int id)
    {
        var t = Resolve(id);
        return t.Kind == "PTR" ? 8 : t.Size;
    }

    /// <summary>A member by name, looked for through anonymous members; its bit offset from the outer struct.</summary>
    public (Member Member, long BitOffset)? FindMember(Type composite, string name)
    {
        foreach (var m in composite.Members)
        {
            if (m.Name == "(anon)")
            {
                var inner = Resolve(m.TypeId);
                if (inner.Kind is "STRUCT" or "UNION" && FindMember(inner, name) is { } found)
                    return (found.Member, m.BitOffset + found.BitOffset);
            }
            else if (m.Name == name)
            {
                return (m, m.BitOffset);
            }
        }
        return null;
    }

    [GeneratedRegex(@"^\[(\d+)\] (\w+) '([^']*)'")]
    private static partial Regex Header();

    [GeneratedRegex(@"\bsize=(\d+)")]
    private static partial Regex SizeAttr();

    [GeneratedRegex(@"\btype_id=(\d+)")]
    private static partial Regex TypeAttr();

    [GeneratedRegex(@"^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?")]
    private static partial Regex MemberLine();

    [GeneratedRegex(@"^\t'([^']*)' val=(-?\d+)")]
    private static partial Regex EnumLine();
}
