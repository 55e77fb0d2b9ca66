using System.Text;

namespace KdtCapture.Bpf.Btf;

/// <summary>A raw tracepoint as BTF describes it: <c>typedef void (*btf_trace_NAME)(void *, ARGS...)</c>.</summary>
public readonly struct BtfTracepoint(string name, BtfType prototype)
{
    public const string TypedefPrefix = "btf_trace_";

    /// <summary>The tracepoint's name: "net_dev_queue".</summary>
    public string Name { get; } = name;

    /// <summary>The whole prototype, including the leading <c>void *__data</c> that programs do not see.</summary>
    public BtfType Prototype { get; } = prototype;

    /// <summary>The arguments a tp_btf/raw_tp program receives: the prototype's parameters after the first.</summary>
    public int ArgumentCount => Math.Max(0, Prototype.Parameters.Count - 1);

    public BtfParameter Argument(int index) => Prototype.Parameters[index + 1];
}

/// <summary>Queries over kernel functions and tracepoints: by name or glob, by an skb argument, with suggestions.</summary>
public static class BtfFunctions
{
    private static ReadOnlySpan<byte> SkBuff => "sk_buff"u8;

    /// <summary>
    /// The index of the first parameter of type <c>struct sk_buff *</c> (through typedefs and
    /// qualifiers) of a FUNC or FUNC_PROTO, or -1. For a tracepoint use <see cref="FindSkbArgument(BtfTracepoint)"/>.
    /// </summary>
    public static int FindSkbArgument(this BtfType function)
    {
        var parameters = function.Parameters;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p.TypeId != 0 && p.Type.IsPointerToStruct(SkBuff))
                return i;
        }
        return -1;
    }

    /// <summary>The index among the tracepoint's program-visible arguments of its first <c>struct sk_buff *</c>, or -1.</summary>
    public static int FindSkbArgument(this BtfTracepoint tracepoint)
    {
        for (int i = 0; i < tracepoint.ArgumentCount; i++)
        {
            var p = tracepoint.Argument(i);
            if (p.TypeId != 0 && p.Type.IsPointerToStruct(SkBuff))
                return i;
        }
        return -1;
    }

    /// <summary>The FUNC named <paramref name="name"/>; unknown names raise <see cref="BtfNotFoundException"/> naming the nearest ones.</summary>
    public static BtfType FindFunction(this Btf btf, string name) => btf.Find(name, BtfKind.Function);

    /// <summary>FUNCs whose names match a glob (all when null), optionally only those taking an skb; in id order.</summary>
    public static List<BtfType> MatchFunctions(this Btf btf, string? glob, bool skbOnly = false)
    {
        var result = new List<BtfType>();
        if (glob is not null && !BtfGlob.HasWildcards(glob))
        {
            foreach (int id in btf.FindAll(glob))
            {
                var t = btf.GetType(id);
                if (t.Kind == BtfKind.Function && (!skbOnly || t.FindSkbArgument() >= 0))
                    result.Add(t);
            }
            return result;
        }
        byte[]? pattern = glob is null ? null : Encoding.UTF8.GetBytes(glob);
        foreach (var t in btf.Types)
        {
            if (t.Kind != BtfKind.Function)
                continue;
            if (pattern is not null && !BtfGlob.IsMatch(pattern, t.NameUtf8))
                continue;
            if (skbOnly && t.FindSkbArgument() < 0)
                continue;
            result.Add(t);
        }
        return result;
    }

    /// <summary>
    /// Raw tracepoints (from the <c>btf_trace_*</c> typedefs) whose names match a glob (all when
    /// null), optionally only those with an skb argument; in id order.
    /// </summary>
    public static List<BtfTracepoint> MatchTracepoints(this Btf btf, string? glob, bool skbOnly = false)
    {
        var result = new List<BtfTracepoint>();
        byte[]? pattern = glob is null ? null : Encoding.UTF8.GetBytes(glob);
        var prefix = "btf_trace_"u8;
        foreach (var t in btf.Types)
        {
            if (t.Kind != BtfKind.Typedef)
                continue;
            var name = t.NameUtf8;
            if (!name.StartsWith(prefix))
                continue;
            if (pattern is not null && !BtfGlob.IsMatch(pattern, name[prefix.Length..]))
                continue;
            if (!TryTracepointPrototype(t, out var proto))
                continue;
            var tp = new BtfTracepoint(Encoding.UTF8.GetString(name[prefix.Length..]), proto);
            if (skbOnly && tp.FindSkbArgument() < 0)
                continue;
            result.Add(tp);
        }
        return result;
    }

    /// <summary>The tracepoint named <paramref name="name"/> ("net_dev_queue"), or <see cref="BtfNotFoundException"/> with the nearest.</summary>
    public static BtfTracepoint FindTracepoint(this Btf btf, string name)
    {
        if (btf.TryFind(BtfTracepoint.TypedefPrefix + name, BtfKind.Typedef, out var t) && TryTracepointPrototype(t, out var proto))
            return new BtfTracepoint(name, proto);
        var near = BtfSuggestions.Nearest(btf, name, BtfKind.Typedef, BtfTracepoint.TypedefPrefix);
        string hint = near.Count == 0 ? "" : $" (did you mean {string.Join(", ", near)}?)";
        throw new BtfNotFoundException($"no tracepoint named '{name}' in BTF{hint}", near);
    }

    private static bool TryTracepointPrototype(BtfType typedef, out BtfType prototype)
    {
        var pointer = typedef.Target.SkipQualifiers();
        prototype = default;
        if (pointer.Kind != BtfKind.Pointer)
            return false;
        var proto = pointer.Target.SkipQualifiers();
        if (proto.Kind != BtfKind.FunctionProto)
            return false;
        prototype = proto;
        return true;
    }
}
