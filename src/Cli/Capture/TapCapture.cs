using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// Kernel taps for <c>kdt capture -i KIND/NAME</c>: the live-capture runner hands the <c>-i</c>
/// arguments that are tap specs to <see cref="Open"/> and runs the returned source beside its
/// interfaces. Errors are one line on stderr and an exit code, never an exception.
/// </summary>
internal static class TapCapture
{
    /// <summary>Whether an <c>-i</c> argument names a kernel tap (fentry/, fexit/, kprobe/, tp_btf/, raw_tp/).</summary>
    public static bool IsTapSpec(string name) => TapSpec.LooksLikeTapSpec(name);

    /// <summary>
    /// Resolves the specs against the kernel's BTF and loads a program for each (globs expanded);
    /// prints the notices and one "listening on" line per tap to <paramref name="stderr"/> unless
    /// <paramref name="quiet"/>. On failure prints the reason and returns null with <paramref name="exitCode"/> set.
    /// </summary>
    public static TapSource? Open(IReadOnlyList<string> specs, TapSourceOptions options, TextWriter stderr, bool quiet, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(stderr);
        exitCode = 0;
        var parsed = new List<TapSpec>();
        foreach (string text in specs)
        {
            if (!TapSpec.TryParse(text, out TapSpec? spec, out string? error))
            {
                exitCode = CaptureCommand.Fail(stderr, error);
                return null;
            }
            parsed.Add(spec);
        }
        TapSource source;
        try
        {
            var taps = TapResolver.ForKernel().Resolve(parsed);
            source = TapSource.Open(taps, options);
        }
        catch (TapException e)
        {
            exitCode = CaptureCommand.Fail(stderr, e.Message);
            return null;
        }
        foreach (string notice in source.Notices)
            stderr.WriteLine("kdt: " + notice);
        if (!quiet)
            foreach (ResolvedTap tap in source.Taps)
                stderr.WriteLine("kdt: " + source.ListeningLine(tap));
        return source;
    }

    /// <summary>The tap and process a printed line starts with, from the frame's comment, then the direction
    /// from epb_flags as tcpdump prints it for cooked captures ("ip_output curl[1234] Out"); empty for frames
    /// of ordinary interfaces.</summary>
    public static ReadOnlySpan<byte> ConsolePrefix(in Frame frame)
    {
        if (frame.Options.IsEmpty || !frame.Options.TryGet(1, out ReadOnlySpan<byte> comment))
            return default;
        ReadOnlySpan<byte> prefix = TapComment.ConsolePrefix(comment);
        ReadOnlySpan<byte> direction = frame.Options.Flags is uint flags ? PacketFlags.GetDirection(flags) switch
        {
            PacketDirection.Inbound => " In"u8,
            PacketDirection.Outbound => " Out"u8,
            _ => default,
        } : default;
        if (prefix.IsEmpty || direction.IsEmpty)
            return prefix;
        // The printer copies the prefix before it asks for the next one: one buffer per printing thread.
        byte[] buffer = _prefixBuffer ??= new byte[256];
        int n = Math.Min(prefix.Length, buffer.Length - direction.Length);
        prefix[..n].CopyTo(buffer);
        direction.CopyTo(buffer.AsSpan(n));
        return buffer.AsSpan(0, n + direction.Length);
    }

    [ThreadStatic]
    private static byte[]? _prefixBuffer;
}
