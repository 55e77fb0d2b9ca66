namespace KdtCapture.Capture.Printing;

/// <summary>
/// What a capture file may say about a packet beyond its bytes: pcapng's opt_comment options, the
/// Enhanced Packet Block's epb_flags word, and the name of the interface it came from (if_name).
/// tcpdump 4.99 ignores all three; the printer shows comments and flags with -v and the interface
/// name with <see cref="PacketPrinterOptions.InterfaceNames"/>.
/// </summary>
public readonly record struct PacketAnnotations(IReadOnlyList<string>? Comments = null, uint? Flags = null, string? InterfaceName = null)
{
    /// <summary>One comment.</summary>
    public static PacketAnnotations WithComment(string comment) => new([comment]);
}
