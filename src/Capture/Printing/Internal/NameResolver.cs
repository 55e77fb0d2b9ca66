using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace KdtCapture.Capture.Printing.Internal;

/// <summary>
/// Names for numbers when -n is not given, looked up as tcpdump looks them up: ports in /etc/services
/// (first entry per port and protocol wins, as getservent walks the file), MAC addresses in /etc/ethers,
/// hosts in /etc/hosts then reverse DNS. Every answer, name or not, is cached per printer.
/// </summary>
internal sealed class NameResolver
{
    private readonly bool _dns;
    private readonly bool _withoutDomain;
    private Dictionary<int, string>? _tcpPorts;
    private Dictionary<int, string>? _udpPorts;
    private Dictionary<uint, string?>? _hosts4;
    private Dictionary<UInt128, string?>? _hosts6;
    private Dictionary<ulong, string?>? _ethers;
    private Dictionary<uint, string>? _etcHosts4;
    private Dictionary<UInt128, string>? _etcHosts6;

    /// <param name="useDns">Ask reverse DNS for addresses /etc/hosts does not name.</param>
    /// <param name="withoutDomain">tcpdump's -N: keep a host name up to its first dot.</param>
    public NameResolver(bool useDns, bool withoutDomain = false)
    {
        _dns = useDns;
        _withoutDomain = withoutDomain;
    }

    private string? Shorten(string? name)
    {
        if (!_withoutDomain || name is null)
            return name;
        int dot = name.IndexOf('.');
        return dot < 0 ? name : name[..dot];
    }

    public string? TcpPort(ushort port)
    {
        if (_tcpPorts is null)
            LoadServices();
        return _tcpPorts!.GetValueOrDefault(port);
    }

    public string? UdpPort(ushort port)
    {
        if (_udpPorts is null)
            LoadServices();
        return _udpPorts!.GetValueOrDefault(port);
    }

    private void LoadServices()
    {
        _tcpPorts = [];
        _udpPorts = [];
        foreach (var line in ReadLines("/etc/services"))
        {
            var fields = Fields(line);
            if (fields.Count < 2)
                continue;
            int slash = fields[1].IndexOf('/');
            if (slash <= 0 || !int.TryParse(fields[1].AsSpan(0, slash), out int port) || port is < 0 or > 65535)
                continue;
            var proto = fields[1].AsSpan(slash + 1);
            var table = proto.SequenceEqual("tcp") ? _tcpPorts : proto.SequenceEqual("udp") ? _udpPorts : null;
            table?.TryAdd(port, fields[0]);
        }
    }

    /// <summary>The host name of an IPv4 address (network order in <paramref name="address"/>), or null.</summary>
    public string? Host4(uint address)
    {
        _hosts4 ??= [];
        if (_hosts4.TryGetValue(address, out var name))
            return name;
        LoadEtcHosts();
        if (!_etcHosts4!.TryGetValue(address, out name))
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, address);
            name = ReverseDns(new IPAddress(bytes));
        }
        name = Shorten(name);
        _hosts4[address] = name;
        return name;
    }

    public string? Host6(UInt128 address)
    {
        _hosts6 ??= [];
        if (_hosts6.TryGetValue(address, out var name))
            return name;
        LoadEtcHosts();
        if (!_etcHosts6!.TryGetValue(address, out name))
        {
            Span<byte> bytes = stackalloc byte[16];
            BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
            name = ReverseDns(new IPAddress(bytes));
        }
        name = Shorten(name);
        _hosts6[address] = name;
        return name;
    }

    private string? ReverseDns(IPAddress address)
    {
        if (!_dns)
            return null;
        try
        {
            var entry = Dns.GetHostEntry(address);
            var name = entry.HostName;
            // .NET answers with the address itself when nothing names it; tcpdump then prints the number.
            return string.IsNullOrEmpty(name) || IPAddress.TryParse(name, out _) ? null : name;
        }
        catch (SocketException)
        {
            return null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private void LoadEtcHosts()
    {
        if (_etcHosts4 is not null)
            return;
        _etcHosts4 = [];
        _etcHosts6 = [];
        Span<byte> bytes = stackalloc byte[16];
        foreach (var line in ReadLines("/etc/hosts"))
        {
            var fields = Fields(line);
            if (fields.Count < 2 || !IPAddress.TryParse(fields[0], out var ip))
                continue;
            // glibc's files backend answers with the first line naming the address: its canonical name.
            if (ip.AddressFamily == AddressFamily.InterNetwork && ip.TryWriteBytes(bytes, out _))
                _etcHosts4.TryAdd(BinaryPrimitives.ReadUInt32BigEndian(bytes), fields[1]);
            else if (ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.TryWriteBytes(bytes, out _))
                _etcHosts6!.TryAdd(BinaryPrimitives.ReadUInt128BigEndian(bytes), fields[1]);
        }
    }

    /// <summary>The /etc/ethers name of a MAC address (48 bits in the low bits), or null.</summary>
    public string? Ether(ulong mac)
    {
        if (_ethers is null)
        {
            _ethers = [];
            foreach (var line in ReadLines("/etc/ethers"))
            {
                var fields = Fields(line);
                if (fields.Count >= 2 && TryParseMac(fields[0], out ulong m))
                    _ethers.TryAdd(m, fields[1]);
            }
        }
        return _ethers.GetValueOrDefault(mac);
    }

    private static bool TryParseMac(string s, out ulong mac)
    {
        mac = 0;
        var parts = s.Split(':');
        if (parts.Length != 6)
            return false;
        foreach (var part in parts)
        {
            if (part.Length is < 1 or > 2 || !byte.TryParse(part, System.Globalization.NumberStyles.HexNumber, null, out byte b))
                return false;
            mac = mac << 8 | b;
        }
        return true;
    }

    private static IEnumerable<string> ReadLines(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException)
        {
            yield break;
        }
        catch (UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (var line in lines)
            yield return line;
    }

    private static List<string> Fields(string line)
    {
        int hash = line.IndexOf('#');
        if (hash >= 0)
            line = line[..hash];
        return [.. line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)];
    }
}
