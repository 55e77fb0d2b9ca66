using KdtCapture.Capture.Printing;
using KdtCapture.Filters;

namespace KdtCapture.Capture.Tests.Printing;

/// <summary>
/// pcapng packet comments and flags, which tcpdump 4.99 does not print: with -v each comment follows the packet's
/// text on its own line, "\tcomment: TEXT" (further lines of a comment indented by two more spaces), and flags as
/// "\tflags 0x00000001 (inbound)". Without -v the packet's text is tcpdump's alone.
/// </summary>
public sealed class PrinterAnnotationTests
{
    private static readonly byte[] Echo = Packets.Ethernet(Packets.MacB, Packets.MacA, 0x0800,
        Packets.Ipv4("10.0.0.1", "10.0.0.2", 1, Packets.IcmpEcho(request: true, id: 7, seq: 1)));

    private static PacketPrinterOptions Options(int verbosity) =>
        new() { Numeric = true, TimeZone = TimeZoneInfo.Utc, Verbosity = verbosity, Timestamps = TimestampFormat.None };

    private static string Print(int verbosity, in PacketAnnotations annotations) =>
        new PacketPrinter(Options(verbosity)).Format(LinkType.EN10MB, 0, Echo, Echo.Length, annotations);

    [Fact]
    public void Comments_are_not_shown_without_verbose()
    {
        string plain = Print(0, default);
        Assert.Equal(plain, Print(0, PacketAnnotations.WithComment("seen at tp_btf/net_dev_queue")));
        Assert.Equal("IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 16\n", plain);
    }

    [Fact]
    public void Each_comment_follows_the_packet_on_its_own_indented_line_with_verbose()
    {
        string plain = Print(1, default);
        string text = Print(1, new PacketAnnotations(["first", "second\r\nline two"]));
        Assert.Equal(plain.TrimEnd('\n') + "\n\tcomment: first\n\tcomment: second\n\t  line two\n", text);
    }

    [Fact]
    public void Flags_show_direction_and_reception_type_with_verbose()
    {
        string plain = Print(1, default);
        Assert.Equal(plain.TrimEnd('\n') + "\n\tflags 0x00000009 (inbound, multicast)\n", Print(1, new PacketAnnotations(Flags: 9)));
        Assert.Equal(plain.TrimEnd('\n') + "\n\tflags 0x00000000\n", Print(1, new PacketAnnotations(Flags: 0)));
    }

    [Fact]
    public void Comments_come_before_the_hex_dump()
    {
        var options = Options(1) with { HexDump = HexDumpMode.Hex };
        string text = new PacketPrinter(options).Format(LinkType.EN10MB, 0, Echo, Echo.Length, PacketAnnotations.WithComment("c"));
        var lines = text.TrimEnd('\n').Split('\n');
        int comment = Array.IndexOf(lines, "\tcomment: c");
        Assert.True(comment > 0, text);
        Assert.StartsWith("\t0x0000:", lines[comment + 1], StringComparison.Ordinal);
    }
}
