using System.Diagnostics;
using System.Text;
using KdtCapture.Bpf.Btf;

namespace KdtCapture.Bpf.Tests.Btf;

/// <summary>bpftool, the oracle for BTF: runs it, and formats our parse the way its "format raw" prints.</summary>
internal static class Bpftool
{
    private static readonly Lazy<string?> s_path = new(() =>
        new[] { "/usr/sbin/bpftool", "/usr/bin/bpftool", "/sbin/bpftool" }.FirstOrDefault(File.Exists));

    public static string? Path => s_path.Value;

    public static void SkipUnlessPresent()
    {
        if (Path is null)
            Assert.Skip("bpftool is not installed (apt-get install bpftool; ./test.sh installs it)");
    }

    public static string Run(params string[] args)
    {
        var start = new ProcessStartInfo(Path!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"bpftool {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}");
        return stdout;
    }

    /// <summary>One type as bpftool 7's "btf dump ... format raw" prints it (written from its documented output shape).</summary>
    public static void FormatRaw(BtfType t, StringBuilder o)
    {
        var btf = t.Btf;
        o.Append('[').Append(t.Id).Append("] ").Append(t.Kind.ToKernelName()).Append(" '").Append(Name(t.IsAnonymous, t.Name)).Append('\'');
        switch (t.Kind)
        {
            case BtfKind.Int:
                o.Append($" size={t.Size} bits_offset={t.IntBitOffset} nr_bits={t.IntBits} encoding=");
                o.Append(t.IntEncoding switch
                {
                    BtfIntEncoding.None => "(none)",
                    BtfIntEncoding.Signed => "SIGNED",
                    BtfIntEncoding.Char => "CHAR",
                    BtfIntEncoding.Bool => "BOOL",
                    _ => "UNKN",
                });
                break;
            case BtfKind.Pointer or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.Typedef or BtfKind.TypeTag:
                o.Append($" type_id={t.TypeId}");
                break;
            case BtfKind.Array:
                var a = t.Array;
                o.Append($" type_id={a.ElementTypeId} index_type_id={a.IndexTypeId} nr_elems={a.Count}");
                break;
            case BtfKind.Struct or BtfKind.Union:
                o.Append($" size={t.Size} vlen={t.Vlen}");
                foreach (var m in t.Members)
                {
                    o.Append($"\n\t'{Name(m.IsAnonymous, m.Name)}' type_id={m.TypeId} bits_offset={m.BitOffset}");
                    if (m.BitfieldSize != 0)
                        o.Append($" bitfield_size={m.BitfieldSize}");
                }
                break;
            case BtfKind.Enum or BtfKind.Enum64:
                o.Append($" encoding={(t.IsSignedEnum ? "SIGNED" : "UNSIGNED")} size={t.Size} vlen={t.Vlen}");
                foreach (var v in t.EnumValues)
                {
                    o.Append($"\n\t'{Name(v.NameOffset == 0, v.Name)}' val=");
                    if (t.Kind == BtfKind.Enum)
                        o.Append(t.IsSignedEnum ? v.Value.ToString() : ((uint)v.Value).ToString());
                    else
                        o.Append(t.IsSignedEnum ? $"{v.Value}LL" : $"{v.UnsignedValue}ULL");
                }
                break;
            case BtfKind.Forward:
                o.Append($" fwd_kind={(t.IsForwardUnion ? "union" : "struct")}");
                break;
            case BtfKind.Function:
                o.Append($" type_id={t.TypeId} linkage=").Append(t.Vlen switch { 0 => "static", 1 => "global", 2 => "extern", _ => "(unknown)" });
                break;
            case BtfKind.FunctionProto:
                o.Append($" ret_type_id={t.TypeId} vlen={t.Vlen}");
                foreach (var p in t.Parameters)
                    o.Append($"\n\t'{Name(p.NameOffset == 0, p.Name)}' type_id={p.TypeId}");
                break;
            case BtfKind.Variable:
                o.Append($" type_id={t.TypeId}, linkage=").Append((int)t.VariableLinkage switch { 0 => "static", 1 => "global", 2 => "extern", _ => "(unknown)" });
                break;
            case BtfKind.DataSection:
                o.Append($" size={t.Size} vlen={t.Vlen}");
                foreach (var v in t.SectionVariables)
                {
                    o.Append($"\n\ttype_id={v.TypeId} offset={v.Offset} size={v.Size}");
                    var vt = btf.GetType(v.TypeId);
                    o.Append($" ({vt.Kind.ToKernelName()} '{Name(vt.IsAnonymous, vt.Name)}')");
                }
                break;
            case BtfKind.Float:
                o.Append($" size={t.Size}");
                break;
            case BtfKind.DeclTag:
                o.Append($" type_id={t.TypeId} component_idx={t.ComponentIndex}");
                break;
        }
        o.Append('\n');
    }

    private static string Name(bool anonymous, string name) => anonymous ? "(anon)" : name;
}
