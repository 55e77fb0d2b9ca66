using System.Net;
using System.Text;

namespace KdtCapture.PcapNg;

/// <summary>An option this library does not interpret, kept as read. <see cref="IsBigEndian"/>
/// is the byte order of the section it came from: a writer copies the value only into a
/// section of the same byte order, since it cannot know which of its bytes are numbers.</summary>
public sealed record PcapNgOption(ushort Code, ReadOnlyMemory<byte> Value, bool IsBigEndian = false);

/// <summary>
/// A custom option (codes 2988, 2989, 19372, 19373): a Private Enterprise Number and data,
/// UTF-8 text or binary. <see cref="IsCopyable"/> false marks the "do not copy" codes, which a
/// rewriting program drops (see <see cref="PcapNgWriter.CopyBlock"/>).
/// </summary>
public sealed record CustomOption(uint PrivateEnterpriseNumber, ReadOnlyMemory<byte> Data, bool IsText, bool IsCopyable = true)
{
    public const ushort CodeCopyableText = 2988;
    public const ushort CodeCopyableBinary = 2989;
    public const ushort CodeNoCopyText = 19372;
    public const ushort CodeNoCopyBinary = 19373;

    public static CustomOption Text(uint privateEnterpriseNumber, string text, bool copyable = true) =>
        new(privateEnterpriseNumber, Encoding.UTF8.GetBytes(text), true, copyable);

    public static CustomOption Binary(uint privateEnterpriseNumber, ReadOnlyMemory<byte> data, bool copyable = true) =>
        new(privateEnterpriseNumber, data, false, copyable);

    public ushort Code => IsText
        ? (IsCopyable ? CodeCopyableText : CodeNoCopyText)
        : (IsCopyable ? CodeCopyableBinary : CodeNoCopyBinary);

    /// <summary>The data as UTF-8 text (stopping at a NUL, as the spec asks readers to).</summary>
    public string GetText() => OptionText.Decode(Data.Span);

    internal static bool IsCustomCode(ushort code) =>
        code is CodeCopyableText or CodeCopyableBinary or CodeNoCopyText or CodeNoCopyBinary;
}

/// <summary>An IPv4 address of an interface with its netmask (<c>if_IPv4addr</c>).</summary>
public sealed record InterfaceIPv4Address(IPAddress Address, IPAddress Netmask);

/// <summary>An IPv6 address of an interface with its prefix length (<c>if_IPv6addr</c>).</summary>
public sealed record InterfaceIPv6Address(IPAddress Address, byte PrefixLength);

/// <summary>The capture filter of an interface (<c>if_filter</c>): type 0 is a libpcap filter
/// string, type 1 BPF bytecode; other types are kept as bytes.</summary>
public sealed record InterfaceFilter(byte Type, ReadOnlyMemory<byte> Data)
{
    public const byte TypeLibpcapString = 0;
    public const byte TypeBpfProgram = 1;

    public static InterfaceFilter FromExpression(string expression) => new(TypeLibpcapString, Encoding.UTF8.GetBytes(expression));

    /// <summary>The filter expression when <see cref="Type"/> is 0, else null.</summary>
    public string? Expression => Type == TypeLibpcapString ? OptionText.Decode(Data.Span) : null;
}

/// <summary>A packet hash (<c>epb_hash</c>): algorithm octet and hash bytes.</summary>
public sealed record PacketHash(byte Algorithm, ReadOnlyMemory<byte> Value)
{
    public const byte TwosComplement = 0, Xor = 1, Crc32 = 2, Md5 = 3, Sha1 = 4, Toeplitz = 5;
}

/// <summary>A packet verdict (<c>epb_verdict</c>): type octet (0 hardware, 1 Linux TC, 2 XDP) and data.</summary>
public sealed record PacketVerdict(byte Type, ReadOnlyMemory<byte> Value)
{
    public const byte Hardware = 0, LinuxEbpfTc = 1, LinuxEbpfXdp = 2;
}

/// <summary>Process and thread that originated a packet (<c>epb_processid_threadid</c>).</summary>
public readonly record struct ProcessThreadId(uint ProcessId, uint ThreadId);

/// <summary>Direction bits of <c>epb_flags</c>.</summary>
public enum PacketDirection
{
    Unknown = 0,
    Inbound = 1,
    Outbound = 2,
}

/// <summary>Reception type bits of <c>epb_flags</c>.</summary>
public enum PacketReceptionType
{
    NotSpecified = 0,
    Unicast = 1,
    Multicast = 2,
    Broadcast = 3,
    Promiscuous = 4,
}

/// <summary>Builds and decodes the 32-bit <c>epb_flags</c> word.</summary>
public static class PacketFlags
{
    public static PacketDirection GetDirection(uint flags) => (PacketDirection)(flags & 3);
    public static PacketReceptionType GetReceptionType(uint flags) => (PacketReceptionType)((flags >> 2) & 7);
    /// <summary>FCS length in octets (0 when unknown).</summary>
    public static int GetFcsLength(uint flags) => (int)((flags >> 5) & 0xF);
    /// <summary>Link-layer dependent error bits (upper 16 bits).</summary>
    public static ushort GetLinkLayerErrors(uint flags) => (ushort)(flags >> 16);

    public static uint Create(PacketDirection direction, PacketReceptionType reception = PacketReceptionType.NotSpecified, int fcsLength = 0, ushort linkLayerErrors = 0) =>
        ((uint)direction & 3) | (((uint)reception & 7) << 2) | (((uint)fcsLength & 0xF) << 5) | ((uint)linkLayerErrors << 16);
}

internal static class OptionText
{
    /// <summary>UTF-8, ending at the first NUL if any (strings are not NUL-terminated, but a
    /// reader must treat a zero octet as a terminator).</summary>
    public static string Decode(ReadOnlySpan<byte> value)
    {
        int nul = value.IndexOf((byte)0);
        if (nul >= 0) value = value[..nul];
        return Encoding.UTF8.GetString(value);
    }
}
