using System.Text;

namespace KdtCapture.Bpf.Btf;

/// <summary>
/// Text for listings of kernel functions and tracepoints, in the shape of <c>bpftrace -lv</c>:
/// the attach point, then one typed argument a line, the skb argument marked.
/// </summary>
public sealed class BtfListing(Btf btf)
{
    private readonly BtfCFormatter _c = new(btf) { InlineAnonymous = false };

    /// <summary>"fentry/NAME" and its arguments; arguments are numbered from 0 as in "fentry/NAME:N".</summary>
    /// <summary>A function as <c>fentry/NAME</c>, or <c>fentry/MODULE:NAME</c> for a module's, then one argument a line.</summary>
    public void AppendFunction(StringBuilder o, BtfType function, string? module = null)
    {
        o.Append("fentry/");
        if (module is not null)
            o.Append(module).Append(':');
        o.Append(function.Name).Append('\n');
        int skb = function.FindSkbArgument();
        var parameters = function.Parameters;
        for (int i = 0; i < parameters.Count; i++)
            AppendArgument(o, parameters[i], i, i == skb, i == parameters.Count - 1 && function.Prototype.IsVariadic);
        var ret = function.ReturnType;
        if (!ret.IsVoid)
            o.Append("    ").Append(_c.Declaration(ret, "retval")).Append('\n');
    }

    public void AppendTracepoint(StringBuilder o, BtfTracepoint tracepoint)
    {
        o.Append("tp_btf/").Append(tracepoint.Name).Append('\n');
        int skb = tracepoint.FindSkbArgument();
        for (int i = 0; i < tracepoint.ArgumentCount; i++)
            AppendArgument(o, tracepoint.Argument(i), i, i == skb, false);
    }

    private void AppendArgument(StringBuilder o, BtfParameter p, int index, bool isSkb, bool variadic)
    {
        o.Append("    ");
        if (variadic && p.TypeId == 0)
        {
            o.Append("...\n");
            return;
        }
        string name = p.NameOffset == 0 ? $"arg{index}" : p.Name;
        o.Append(_c.Declaration(p.Type, name));
        if (isSkb)
            o.Append("    /* skb: arg").Append(index).Append(" */");
        o.Append('\n');
    }
}
