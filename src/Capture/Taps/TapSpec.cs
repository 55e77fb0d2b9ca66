using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace KdtCapture.Capture.Taps;

/// <summary>How a tap attaches to the kernel, as the spec's prefix names it.</summary>
public enum TapKind
{
    /// <summary><c>fentry/FUNC</c>: a BPF trampoline at function entry.</summary>
    Fentry,
    /// <summary><c>fexit/FUNC</c>: at function return; also records the return value.</summary>
    Fexit,
    /// <summary><c>kprobe/FUNC</c>: where trampolines are refused and kprobes exist.</summary>
    Kprobe,
    /// <summary><c>tp_btf/TP</c>: a BTF-typed tracepoint.</summary>
    TpBtf,
    /// <summary><c>raw_tp/TP</c>: a raw tracepoint (untyped arguments).</summary>
    RawTracepoint,
}

/// <summary>
/// A kernel tap as <c>-i</c> names it: <c>KIND/NAME</c> with an optional <c>:N</c> forcing the skb
/// argument (<c>fentry/ip_output</c>, <c>tp_btf/kfree_skb</c>, <c>fentry/tcp_v4_*</c>,
/// <c>fexit/__dev_queue_xmit:0</c>), and for functions an optional <c>MODULE:</c> naming the kernel
/// module that holds them (<c>fentry/mac80211:ieee80211_scan_rx</c>). Names of functions may be
/// globs (<c>*</c>, <c>?</c>, <c>[...]</c>).
/// </summary>
public sealed record TapSpec
{
    private TapSpec(TapKind kind, string name, int? argument, string text, string? module = null)
    {
        Kind = kind;
        Name = name;
        SkbArgument = argument;
        Text = text;
        Module = module;
    }

    public TapKind Kind { get; }

    /// <summary>The module given with <c>MODULE:</c> (<c>mac80211</c>), or null: vmlinux, then the loaded modules.</summary>
    public string? Module { get; }

    /// <summary>The function or tracepoint name (a glob when <see cref="IsGlob"/>).</summary>
    public string Name { get; }

    /// <summary>The argument index given with <c>:N</c>; null lets BTF find the first <c>struct sk_buff *</c>.</summary>
    public int? SkbArgument { get; }

    /// <summary>The spec as written.</summary>
    public string Text { get; }

    public bool IsGlob => Name.AsSpan().IndexOfAny('*', '?', '[') >= 0;

    /// <summary>True for a tracepoint kind (tp_btf, raw_tp), false for a function kind.</summary>
    public bool IsTracepoint => Kind is TapKind.TpBtf or TapKind.RawTracepoint;

    /// <summary>The spec's prefix: "fentry", "tp_btf", ...</summary>
    public string Prefix => KindPrefix(Kind);

    public static string KindPrefix(TapKind kind) => kind switch
    {
        TapKind.Fentry => "fentry",
        TapKind.Fexit => "fexit",
        TapKind.Kprobe => "kprobe",
        TapKind.TpBtf => "tp_btf",
        TapKind.RawTracepoint => "raw_tp",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The tap kinds, as <c>-D</c> lists them.</summary>
    public static IReadOnlyList<TapKind> Kinds { get; } = [TapKind.Fentry, TapKind.Fexit, TapKind.Kprobe, TapKind.TpBtf, TapKind.RawTracepoint];

    /// <summary>Whether <paramref name="text"/> starts like a tap spec (<c>KIND/</c> with a known kind),
    /// so that an <c>-i</c> argument goes to the taps rather than to libpcap.</summary>
    public static bool LooksLikeTapSpec(string? text) => text is not null && TryParseKind(text, out _, out _);

    /// <summary>Parses a spec; on failure <paramref name="error"/> is one line saying what is wrong.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out TapSpec? spec, [NotNullWhen(false)] out string? error)
    {
        spec = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty tap spec: expected KIND/NAME, e.g. tp_btf/net_dev_queue or fentry/ip_output";
            return false;
        }
        if (!TryParseKind(text, out TapKind kind, out int slash))
        {
            error = $"'{text}' is not a tap spec: expected fentry/FUNC, fexit/FUNC, kprobe/FUNC, tp_btf/TRACEPOINT or raw_tp/TRACEPOINT";
            return false;
        }
        string rest = text[(slash + 1)..];
        int? argument = null;
        string? module = null;
        int colon = rest.LastIndexOf(':');
        // MODULE:FUNC[:N]: a colon followed by a name (not a number) ends the module's name.
        int moduleColon = rest.IndexOf(':');
        if (moduleColon >= 0 && (moduleColon != colon || (colon + 1 < rest.Length && !char.IsAsciiDigit(rest[colon + 1]))) && kind is not (TapKind.TpBtf or TapKind.RawTracepoint))
        {
            module = rest[..moduleColon];
            rest = rest[(moduleColon + 1)..];
            colon = rest.LastIndexOf(':');
            if (module.Length == 0 || module.AsSpan().IndexOfAnyExcept(ModuleNameCharacters) >= 0)
            {
                error = $"'{text}': '{module}' before ':' is not a module name (MODULE:FUNCTION, e.g. fentry/mac80211:ieee80211_scan_rx)";
                return false;
            }
        }
        if (colon >= 0)
        {
            string digits = rest[(colon + 1)..];
            if (digits.Length == 0 || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n > 11)
            {
                error = $"'{text}': the skb argument after ':' must be a number from 0 to 11";
                return false;
            }
            argument = n;
            rest = rest[..colon];
        }
        if (rest.Length == 0)
        {
            error = $"'{text}' names no {(kind is TapKind.TpBtf or TapKind.RawTracepoint ? "tracepoint" : "function")} after '{KindPrefix(kind)}/'";
            return false;
        }
        foreach (char c in rest)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '*' or '?' or '[' or ']' or '!' or '-'))
            {
                error = $"'{text}': '{c}' cannot appear in a kernel symbol name";
                return false;
            }
        }
        spec = new TapSpec(kind, rest, argument, text, module);
        error = null;
        return true;
    }

    private static readonly System.Buffers.SearchValues<char> ModuleNameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

    /// <summary>Parses a spec or throws <see cref="TapException"/> with the reason.</summary>
    public static TapSpec Parse(string text) =>
        TryParse(text, out TapSpec? spec, out string? error) ? spec : throw new TapException(error);

    /// <summary>This spec for one function a glob matched.</summary>
    internal TapSpec WithName(string name) =>
        new(Kind, name, SkbArgument, $"{Prefix}/{(Module is null ? "" : Module + ":")}{name}{(SkbArgument is int n ? $":{n}" : "")}", Module);

    /// <summary>This spec with the module that holds its function (found in the loaded modules' BTF).</summary>
    internal TapSpec WithModule(string module) => new(Kind, Name, SkbArgument, Text, module);

    private static bool TryParseKind(string text, out TapKind kind, out int slash)
    {
        kind = default;
        slash = text.IndexOf('/');
        if (slash <= 0)
            return false;
        ReadOnlySpan<char> prefix = text.AsSpan(0, slash);
        foreach (TapKind k in Kinds)
        {
            if (prefix.SequenceEqual(KindPrefix(k)))
            {
                kind = k;
                return true;
            }
        }
        return false;
    }

    public override string ToString() => Text;
}

/// <summary>A tap that cannot be used, with one line saying why (and what to use instead).</summary>
public sealed class TapException : Exception
{
    public TapException(string message) : base(message)
    {
    }

    public TapException(string message, Exception inner) : base(message, inner)
    {
    }

    public TapException()
    {
    }

    /// <summary>Names the nearest existing names, when the tap's name was not found.</summary>
    public IReadOnlyList<string> Suggestions { get; init; } = [];
}
