using System.Runtime.InteropServices;
using System.Text;

namespace KdtCapture.Filters.CodeGen;

/// <summary>
/// Names to numbers the way libpcap resolves them: through the C library's name services
/// (/etc/hosts and DNS, /etc/services, /etc/protocols, /etc/networks, /etc/ethers), so that
/// a name means in kdt exactly what it means to tcpdump on the same machine.
/// </summary>
internal static unsafe partial class NameResolution
{
    private const string LibC = "libc";

    private const int AfInet = 2;
    private const int AfInet6 = 10;
    private const int SockStream = 1;
    private const int SockDgram = 2;
    private const int IpprotoTcp = 6;
    private const int IpprotoUdp = 17;
    private const int AiNumericHost = 0x0004;
    private const int EaiNoName = -2;
    private const int EaiService = -8;

    [StructLayout(LayoutKind.Sequential)]
    private struct AddrInfo
    {
        public int Flags;
        public int Family;
        public int SockType;
        public int Protocol;
        public uint AddrLen;
        public byte* Addr;
        public byte* CanonName;
        public AddrInfo* Next;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct NetEnt
    {
        public byte* Name;
        public byte** Aliases;
        public int AddrType;
        public uint Net;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ProtoEnt
    {
        public byte* Name;
        public byte** Aliases;
        public int Proto;
    }

    [LibraryImport(LibC, EntryPoint = "getaddrinfo", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetAddrInfo(string? node, string? service, AddrInfo* hints, AddrInfo** res);

    [LibraryImport(LibC, EntryPoint = "freeaddrinfo")]
    private static partial void FreeAddrInfo(AddrInfo* res);

    [LibraryImport(LibC, EntryPoint = "getnetbyname_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetNetByNameR(string name, NetEnt* resultBuf, byte* buf, nuint buflen, NetEnt** result, int* herrno);

    [LibraryImport(LibC, EntryPoint = "getprotobyname_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetProtoByNameR(string name, ProtoEnt* resultBuf, byte* buf, nuint buflen, ProtoEnt** result);

    [LibraryImport(LibC, EntryPoint = "ether_hostton", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int EtherHostton(string hostname, byte* addr);

    /// <summary>One address a host name resolved to: 4 bytes (IPv4) or 16 bytes (IPv6).</summary>
    internal readonly record struct HostAddress(byte[] Bytes)
    {
        public bool IsIPv6 => Bytes.Length == 16;
    }

    /// <summary>pcap_nametoaddrinfo: every address of a host, in the order getaddrinfo gives them; null when unknown.</summary>
    public static List<HostAddress>? LookupHost(string name)
    {
        AddrInfo hints = default;
        hints.Family = 0;
        hints.SockType = SockStream;
        hints.Protocol = IpprotoTcp;
        AddrInfo* res;
        if (GetAddrInfo(name, null, &hints, &res) != 0)
            return null;
        try
        {
            var list = new List<HostAddress>();
            for (var ai = res; ai != null; ai = ai->Next)
            {
                if (ai->Addr == null)
                    continue;
                if (ai->Family == AfInet)
                    list.Add(new HostAddress(new ReadOnlySpan<byte>(ai->Addr + 4, 4).ToArray()));
                else if (ai->Family == AfInet6)
                    list.Add(new HostAddress(new ReadOnlySpan<byte>(ai->Addr + 8, 16).ToArray()));
                else
                    list.Add(new HostAddress([]));
            }
            return list;
        }
        finally
        {
            FreeAddrInfo(res);
        }
    }

    /// <summary>What the lexer accepts as an IPv6 literal: a numeric AF_INET6 getaddrinfo succeeds.</summary>
    public static bool IsValidIPv6Literal(string text)
    {
        AddrInfo hints = default;
        hints.Family = AfInet6;
        hints.Flags = AiNumericHost;
        AddrInfo* res;
        if (GetAddrInfo(text, null, &hints, &res) != 0)
            return false;
        FreeAddrInfo(res);
        return true;
    }

    /// <summary>pcap_nametonetaddr: a network name from /etc/networks, 0 when unknown.</summary>
    public static uint LookupNetwork(string name)
    {
        NetEnt resultBuf;
        NetEnt* result = null;
        int herrno;
        byte* buf = stackalloc byte[1024];
        if (GetNetByNameR(name, &resultBuf, buf, 1024, &result, &herrno) != 0)
            return 0;
        return result != null ? result->Net : 0;
    }

    /// <summary>pcap_nametoproto: an IP protocol name from /etc/protocols, or <see cref="CodeGenerator.ProtoUndef"/>.</summary>
    public static int LookupProtocol(string name)
    {
        ProtoEnt resultBuf;
        ProtoEnt* result = null;
        byte* buf = stackalloc byte[1024];
        if (GetProtoByNameR(name, &resultBuf, buf, 1024, &result) != 0)
            return 0;
        return result != null ? result->Proto : CodeGenerator.ProtoUndef;
    }

    /// <summary>The first port of a service for one socket type; -1 when it has none; null on a lookup failure.</summary>
    private static int? ServicePort(string name, int sockType, int protocol)
    {
        AddrInfo hints = default;
        hints.SockType = sockType;
        hints.Protocol = protocol;
        AddrInfo* res;
        int error = GetAddrInfo(null, name, &hints, &res);
        if (error != 0)
            return error is EaiNoName or EaiService ? -1 : null;
        try
        {
            for (var ai = res; ai != null; ai = ai->Next)
            {
                if (ai->Addr == null)
                    continue;
                if (ai->Family is AfInet or AfInet6)
                    return (ai->Addr[2] << 8) | ai->Addr[3];
            }
            return -1;
        }
        finally
        {
            FreeAddrInfo(res);
        }
    }

    /// <summary>pcap_nametoport: a service name's port and the transport it is defined for (ProtoUndef when both).</summary>
    public static bool LookupPort(string name, out int port, out int proto)
    {
        port = 0;
        proto = 0;
        var tcp = ServicePort(name, SockStream, IpprotoTcp);
        if (tcp is null)
            return false;
        var udp = ServicePort(name, SockDgram, IpprotoUdp);
        if (udp is null)
            return false;
        if (tcp >= 0)
        {
            port = tcp.Value;
            proto = IpprotoTcp;
            if (udp >= 0 && udp == tcp)
                proto = CodeGenerator.ProtoUndef;
            return true;
        }
        if (udp >= 0)
        {
            port = udp.Value;
            proto = IpprotoUdp;
            return true;
        }
        return false;
    }

    /// <summary>pcap_nametoportrange: "N-M" numerically, else "name-name" through the services database.</summary>
    public static bool LookupPortRange(string name, out int port1, out int port2, out int proto)
    {
        if (TryScanRange(name, out port1, out port2))
        {
            proto = CodeGenerator.ProtoUndef;
            return true;
        }
        port2 = 0;
        proto = 0;
        int dash = name.IndexOf('-');
        if (dash < 0)
            return false;
        if (!LookupPort(name[..dash], out port1, out proto))
            return false;
        int saveProto = proto;
        if (!LookupPort(name[(dash + 1)..], out port2, out proto))
            return false;
        if (proto != saveProto)
            proto = CodeGenerator.ProtoUndef;
        return true;
    }

    /// <summary>sscanf(name, "%d-%d"): two decimal integers around a dash; anything may follow.</summary>
    private static bool TryScanRange(string s, out int a, out int b)
    {
        int i = 0;
        b = 0;
        if (!TryScanInt(s, ref i, out a))
            return false;
        if (i >= s.Length || s[i] != '-')
            return false;
        i++;
        return TryScanInt(s, ref i, out b);
    }

    /// <summary>scanf's %d: optional white space and sign, then at least one digit (wrapping like the C library on overflow).</summary>
    internal static bool TryScanInt(string s, ref int i, out int value)
    {
        value = 0;
        while (i < s.Length && char.IsWhiteSpace(s[i]))
            i++;
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            negative = s[i] == '-';
            i++;
        }
        int start = i;
        long v = 0;
        while (i < s.Length && s[i] is >= '0' and <= '9')
        {
            v = unchecked(v * 10 + (s[i] - '0'));
            i++;
        }
        if (i == start)
            return false;
        value = unchecked((int)(negative ? -v : v));
        return true;
    }

    /// <summary>pcap_nametoeproto: libpcap's built-in Ethernet protocol names.</summary>
    public static int LookupEtherProto(string name) => name switch
    {
        "aarp" => (int)EtherType.Aarp,
        "arp" => (int)EtherType.Arp,
        "atalk" => (int)EtherType.Atalk,
        "decnet" => (int)EtherType.Dn,
        "ip" => (int)EtherType.Ip,
        "ip6" => (int)EtherType.Ipv6,
        "lat" => (int)EtherType.Lat,
        "loopback" => (int)EtherType.Loopback,
        "mopdl" => (int)EtherType.MopDl,
        "moprc" => (int)EtherType.MopRc,
        "rarp" => (int)EtherType.RevArp,
        "sca" => (int)EtherType.Sca,
        _ => CodeGenerator.ProtoUndef,
    };

    /// <summary>pcap_nametollc: libpcap's built-in LLC SAP names.</summary>
    public static int LookupLlc(string name) => name switch
    {
        "iso" => (int)LlcSap.IsoNs,
        "stp" => (int)LlcSap.Stp8021D,
        "ipx" => (int)LlcSap.Ipx,
        "netbeui" => (int)LlcSap.Netbeui,
        _ => CodeGenerator.ProtoUndef,
    };

    /// <summary>pcap_ether_hostton: a host's MAC address from /etc/ethers (through NSS); null when unknown.</summary>
    public static byte[]? LookupEtherHost(string name)
    {
        // libpcap copies the name into a 1024-byte buffer first.
        if (Encoding.UTF8.GetByteCount(name) > 1023)
            name = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(name), 0, 1023);
        byte* a = stackalloc byte[6];
        if (EtherHostton(name, a) != 0)
            return null;
        return new ReadOnlySpan<byte>(a, 6).ToArray();
    }

    private static byte HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => (byte)(c - '0'),
        >= 'a' and <= 'f' => (byte)(c - 'a' + 10),
        _ => (byte)(c - 'A' + 10),
    };

    /// <summary>pcap_ether_aton: a MAC address in any of the lexer's forms, one or two hex digits a byte.</summary>
    public static byte[] EtherAton(string s)
    {
        // libpcap's buffer is 6 bytes; the lexer's forms never give more.
        var e = new byte[6];
        int n = 0;
        int i = 0;
        while (i < s.Length && n < e.Length)
        {
            if (s[i] is ':' or '.' or '-')
                i++;
            byte d = HexDigit(i < s.Length ? s[i] : '\0');
            i++;
            if (i < s.Length && char.IsAsciiHexDigit(s[i]))
            {
                d = (byte)((d << 4) | HexDigit(s[i]));
                i++;
            }
            e[n++] = d;
        }
        return e;
    }

    /// <summary>__pcap_atoin: dotted decimal with 1–4 parts; returns the number of bits given, or -1.</summary>
    public static int Atoin(string s, out uint addr)
    {
        addr = 0;
        int len = 0;
        int i = 0;
        while (true)
        {
            uint n = 0;
            while (i < s.Length && s[i] != '.')
            {
                if (n > 25)
                    return -1;
                n = unchecked(n * 10 + (uint)(s[i] - '0'));
                i++;
            }
            if (n > 255)
                return -1;
            addr <<= 8;
            addr |= n & 0xff;
            len += 8;
            if (i >= s.Length)
                return len;
            i++;
        }
    }

    /// <summary>__pcap_atodn: a DECnet address "area.node"; returns 32 on success, 0 otherwise.</summary>
    public static int Atodn(string s, out uint addr)
    {
        addr = 0;
        int i = 0;
        if (!TryScanInt(s, ref i, out int area))
            return 0;
        if (i >= s.Length || s[i] != '.')
            return 0;
        i++;
        if (!TryScanInt(s, ref i, out int node))
            return 0;
        addr = ((uint)area << 10) & 0xfc00; // area: 6 bits
        addr |= (uint)node & 0x3ff;          // node: 10 bits
        return 32;
    }
}
