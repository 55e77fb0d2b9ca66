using System.Buffers.Binary;

namespace KdtCapture.Benchmarks;

/// <summary>How consecutive packets relate.</summary>
internal enum TrafficMix
{
    /// <summary>
    /// Conversations: 64 flows are active at a time; a packet continues the previous packet's
    /// flow with probability 1/2 (trains of two on average), else comes from a random active
    /// flow, which now and then ends and is replaced; one packet in eleven is a one-off (ARP,
    /// ICMP, neighbour discovery, LLDP, STP, DHCP, mDNS, fragments). As on a busy LAN uplink.
    /// </summary>
    Flows,
    /// <summary>Every packet drawn independently from the same mix: the worst case for branch prediction.</summary>
    Independent,
}

/// <summary>
/// An in-memory Ethernet capture the benchmark makes itself: packets back to back in one buffer,
/// as a pcap file read into memory holds them, each captured whole (captured = wire length).
/// The mix is that of a busy host or a LAN uplink: mostly TCP over IPv4 (HTTPS, HTTP, SSH,
/// databases, with full-size data segments, bare ACKs, handshakes and teardowns), UDP (DNS,
/// QUIC, NTP, RTP, DHCP, mDNS, some IPv4 fragments), IPv6 TCP/UDP, ICMP and ICMPv6 (echo,
/// errors, neighbour discovery), ARP, 802.1Q-tagged traffic (some of it QinQ), LLDP and STP,
/// in conversations (<see cref="TrafficMix"/>).
/// The same seed gives the same bytes in every process (its own generator, no System.Random).
/// </summary>
internal sealed class SyntheticCapture
{
    public const ulong DefaultSeed = 0x6b6474636170_7475;

    private SyntheticCapture(byte[] data, int[] offsets, int[] lengths)
    {
        Data = data;
        Offsets = offsets;
        Lengths = lengths;
    }

    /// <summary>All packets, back to back.</summary>
    public byte[] Data { get; }

    /// <summary>Where packet i starts in <see cref="Data"/>.</summary>
    public int[] Offsets { get; }

    /// <summary>Packet i's length (captured and on the wire).</summary>
    public int[] Lengths { get; }

    public int Count => Offsets.Length;

    public long TotalBytes => Offsets.Length == 0 ? 0 : (long)Offsets[^1] + Lengths[^1];

    /// <summary>A fingerprint of the bytes, so that two processes can check they measured the same capture.</summary>
    public ulong Fingerprint()
    {
        ulong h = 14695981039346656037UL;
        ReadOnlySpan<ulong> words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(Data.AsSpan(0, (int)(TotalBytes & ~7L)));
        foreach (ulong w in words)
            h = (h ^ w) * 1099511628211UL;
        return h ^ (ulong)Count;
    }

    /// <summary>The mix, for the report: link and network layers, transports, sizes.</summary>
    public string Describe()
    {
        long ipv4 = 0, ipv6 = 0, arp = 0, vlan = 0, other = 0, tcp = 0, udp = 0, icmp = 0;
        for (int i = 0; i < Count; i++)
        {
            ReadOnlySpan<byte> p = Data.AsSpan(Offsets[i], Lengths[i]);
            int at = 12;
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(p[at..]);
            if (type is 0x8100 or 0x88a8)
            {
                vlan++;
                while (type is 0x8100 or 0x88a8)
                {
                    at += 4;
                    type = BinaryPrimitives.ReadUInt16BigEndian(p[at..]);
                }
            }
            int l3 = at + 2;
            byte protocol = 0;
            switch (type)
            {
                case 0x0800: ipv4++; protocol = p[l3 + 9]; break;
                case 0x86dd: ipv6++; protocol = p[l3 + 6] == 0 ? p[l3 + 40] : p[l3 + 6]; break;
                case 0x0806: arp++; break;
                default: other++; break;
            }
            switch (protocol)
            {
                case 6: tcp++; break;
                case 17: udp++; break;
                case 1 or 58: icmp++; break;
            }
        }
        double n = Math.Max(Count, 1);
        string Pct(long x) => (x / n * 100).ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + "%";
        return $"IPv4 {Pct(ipv4)}, IPv6 {Pct(ipv6)}, ARP {Pct(arp)}, other {Pct(other)}; VLAN-tagged {Pct(vlan)}; " +
            $"TCP {Pct(tcp)}, UDP {Pct(udp)}, ICMP/ICMPv6 {Pct(icmp)}; " +
            $"{Lengths.Min()}-{Lengths.Max()} bytes, mean {TotalBytes / n:F0}";
    }

    public static SyntheticCapture Generate(int count, TrafficMix mix = TrafficMix.Flows, ulong seed = DefaultSeed)
    {
        var gen = new Generator(seed, mix);
        var offsets = new int[count];
        var lengths = new int[count];
        var data = new byte[checked(count * 640)];
        Span<byte> frame = stackalloc byte[2048];
        int used = 0;
        for (int i = 0; i < count; i++)
        {
            frame.Clear();
            int length = gen.Next(frame);
            if (used + length > data.Length)
                Array.Resize(ref data, checked(Math.Max(data.Length + data.Length / 2, used + length)));
            frame[..length].CopyTo(data.AsSpan(used));
            offsets[i] = used;
            lengths[i] = length;
            used += length;
        }
        Array.Resize(ref data, used + 8);
        return new SyntheticCapture(data, offsets, lengths);
    }

    /// <summary>xoshiro256** seeded by splitmix64: fast, and the same everywhere.</summary>
    private struct Rng
    {
        private ulong _s0, _s1, _s2, _s3;

        public Rng(ulong seed)
        {
            _s0 = SplitMix(ref seed);
            _s1 = SplitMix(ref seed);
            _s2 = SplitMix(ref seed);
            _s3 = SplitMix(ref seed);
        }

        private static ulong SplitMix(ref ulong x)
        {
            ulong z = x += 0x9e3779b97f4a7c15UL;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
            return z ^ (z >> 31);
        }

        public ulong NextUInt64()
        {
            ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = ulong.RotateLeft(_s3, 45);
            return result;
        }

        /// <summary>0 ≤ result &lt; n.</summary>
        public int Below(int n) => (int)((NextUInt64() >> 32) * (ulong)n >> 32);

        /// <summary>lo ≤ result ≤ hi.</summary>
        public int Between(int lo, int hi) => lo + Below(hi - lo + 1);

        /// <summary>True with probability percent/100.</summary>
        public bool Percent(double percent) => (NextUInt64() >> 11) * (1.0 / (1UL << 53)) * 100 < percent;

        public uint UInt32() => (uint)(NextUInt64() >> 32);
    }

    /// <summary>One conversation: fixed addresses, ports, tags; each packet varies direction, flags and size.</summary>
    private sealed class Flow
    {
        public byte[] LocalMac = [];
        public byte[] RemoteMac = [];
        public int OuterVlan = -1;
        public int Vlan = -1;
        public int Priority;
        public bool V6;
        public uint LocalV4, RemoteV4;
        public ulong LocalV6Low, RemoteV6High, RemoteV6Low;
        public byte Protocol;
        public int ServerPort, ClientPort;
        public bool LocalIsClient;
        /// <summary>TCP: who sends the bulk of the data (0 server, 1 client, 2 both: interactive). UDP: the application.</summary>
        public int Kind;
        public byte LocalTtl, RemoteTtl;
        public byte Tos;
    }

    private sealed class Generator
    {
        private const ushort EtherTypeIPv4 = 0x0800, EtherTypeArp = 0x0806, EtherTypeIPv6 = 0x86dd;
        private const ushort EtherTypeVlan = 0x8100, EtherTypeQinQ = 0x88a8, EtherTypeLldp = 0x88cc;
        private const byte Icmp = 1, Tcp = 6, Udp = 17, Icmp6 = 58, HopByHop = 0;
        private const int UdpDns = 0, UdpQuic = 1, UdpNtp = 2, UdpRtp = 3, UdpOther = 4;

        private const int ActiveFlows = 64;
        private const double ContinuePercent = 50;
        private const double FlowEndPercent = 1;
        private const double OneOffPercent = 9;

        // The host this capture is taken on (a "host X" filter matches a good share) and its LAN.
        private static readonly uint[] LanHosts =
        [
            0xc0a8010a, 0xc0a8010a, 0xc0a8010a, 0xc0a8010a, // 192.168.1.10, the capturing host
            0xc0a80101, 0xc0a80114, 0xc0a80115, 0xc0a8011e, 0xc0a80128, 0xc0a80132, 0xc0a8013c,
            0x0a000005, 0x0a000105, 0x0a0a0a0a, 0x0a010203, 0x0a010204, 0x0a141e28,
        ];
        private static readonly uint[] RemoteHosts =
        [
            0x5db8d822, 0x8efa4a4e, 0x8efab52e, 0x97650141, 0x97654181, 0x01010101, 0x08080808,
            0x68101a22, 0xac40a1c8, 0x0d6b2ac2, 0x34d2c7a0, 0x11fd90e2, 0xc0000201, 0xcb007107,
        ];
        private static readonly int[] TcpServerPorts = [443, 443, 443, 443, 443, 443, 443, 443, 443, 80, 80, 22, 22, 8080, 3306, 5432, 993, 25, 6379, 8443];
        private static readonly byte[][] LanMacs =
        [
            [0x52, 0x54, 0x00, 0x12, 0x34, 0x56], [0x00, 0x11, 0x22, 0x33, 0x44, 0x55], [0x3c, 0xfd, 0xfe, 0xa1, 0x02, 0x03],
            [0xa4, 0xbb, 0x6d, 0x10, 0x20, 0x30], [0xf8, 0x75, 0xa4, 0x01, 0x9c, 0x7e], [0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc],
        ];
        private static readonly int[] VlanIds = [100, 100, 200, 300];
        private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

        private Rng _rng;
        private readonly TrafficMix _mix;
        private readonly Flow[] _flows = new Flow[ActiveFlows];
        private int _previous;

        public Generator(ulong seed, TrafficMix mix)
        {
            _rng = new Rng(seed);
            _mix = mix;
            for (int i = 0; i < _flows.Length; i++)
                _flows[i] = NewFlow();
        }

        /// <summary>Writes one frame into <paramref name="f"/> (cleared), returns its length.</summary>
        public int Next(Span<byte> f)
        {
            int length;
            if (_rng.Percent(OneOffPercent))
            {
                length = OneOff(f);
            }
            else if (_mix == TrafficMix.Independent)
            {
                length = FlowPacket(f, NewFlow());
            }
            else
            {
                if (!_rng.Percent(ContinuePercent))
                {
                    _previous = _rng.Below(_flows.Length);
                    if (_rng.Percent(FlowEndPercent))
                        _flows[_previous] = NewFlow();
                }
                length = FlowPacket(f, _flows[_previous]);
            }
            return Math.Max(length, 60); // Ethernet minimum without FCS; padding bytes stay zero
        }

        private Flow NewFlow()
        {
            var flow = new Flow
            {
                LocalMac = LanMacs[_rng.Below(LanMacs.Length)],
                RemoteMac = LanMacs[_rng.Below(LanMacs.Length)],
                LocalV4 = LanHosts[_rng.Below(LanHosts.Length)],
                RemoteV4 = _rng.Percent(70) ? RemoteHosts[_rng.Below(RemoteHosts.Length)] : LanHosts[_rng.Below(LanHosts.Length)],
                LocalV6Low = _rng.Percent(40) ? 1UL : (ulong)_rng.Between(2, 40),
                RemoteV6High = _rng.Percent(50) ? 0x2606470000000000UL : 0x2a00145040010000UL | (uint)_rng.Below(16),
                RemoteV6Low = _rng.NextUInt64(),
                LocalIsClient = _rng.Percent(80), // mostly a client here, sometimes a server
                ClientPort = _rng.Between(32768, 60999),
                LocalTtl = 64,
                RemoteTtl = (byte)(_rng.Percent(50) ? 64 - _rng.Below(20) : _rng.Percent(50) ? 128 - _rng.Below(20) : _rng.Between(40, 255)),
                Tos = (byte)(_rng.Percent(10) ? 0xb8 : 0), // some EF-marked traffic
            };
            // Of the conversations: IPv4 TCP 58%, IPv4 UDP 15%, IPv6 TCP 12%, IPv6 UDP 4%, 802.1Q-tagged 11%.
            int pick = _rng.Below(100);
            if (pick >= 89)
            {
                flow.Vlan = VlanIds[_rng.Below(VlanIds.Length)];
                flow.Priority = _rng.Below(8);
                if (_rng.Percent(10))
                    flow.OuterVlan = _rng.Between(1000, 1010); // QinQ
                int inner = _rng.Below(10);
                flow.V6 = inner == 9;
                flow.Protocol = inner is < 6 or 9 ? Tcp : Udp;
            }
            else
            {
                flow.V6 = pick >= 73;
                flow.Protocol = pick switch { < 58 => Tcp, < 73 => Udp, < 85 => Tcp, _ => Udp };
            }
            if (flow.Protocol == Tcp)
            {
                flow.ServerPort = _rng.Percent(92) ? TcpServerPorts[_rng.Below(TcpServerPorts.Length)] : _rng.Between(1024, 65535);
                int k = _rng.Below(100);
                flow.Kind = k < 70 ? 0 : k < 85 ? 1 : 2;
            }
            else
            {
                int k = _rng.Below(100);
                (flow.Kind, flow.ServerPort) = k switch
                {
                    < 38 => (UdpDns, 53),
                    < 71 => (UdpQuic, 443),
                    < 76 => (UdpNtp, 123),
                    < 92 => (UdpRtp, _rng.Between(5000, 5100)),
                    _ => (UdpOther, _rng.Between(1024, 65535)),
                };
                if (flow.Kind == UdpNtp)
                    flow.ClientPort = 123;
            }
            return flow;
        }

        // ------------------------------------------------------------ conversation packets

        private int FlowPacket(Span<byte> f, Flow flow)
        {
            bool outbound = _rng.Percent(50);
            (outbound ? flow.RemoteMac : flow.LocalMac).CopyTo(f);
            (outbound ? flow.LocalMac : flow.RemoteMac).CopyTo(f[6..]);
            int at = 12;
            int maxIp = 1500;
            if (flow.OuterVlan >= 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(f[at..], EtherTypeQinQ);
                BinaryPrimitives.WriteUInt16BigEndian(f[(at + 2)..], (ushort)flow.OuterVlan);
                at += 4;
                maxIp -= 4;
            }
            if (flow.Vlan >= 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(f[at..], EtherTypeVlan);
                BinaryPrimitives.WriteUInt16BigEndian(f[(at + 2)..], (ushort)((flow.Priority << 13) | flow.Vlan));
                at += 4;
                maxIp = Math.Min(maxIp, 1496);
            }
            BinaryPrimitives.WriteUInt16BigEndian(f[at..], flow.V6 ? EtherTypeIPv6 : EtherTypeIPv4);
            at += 2;
            Span<byte> ip = f[at..];
            int ipHeader = flow.V6 ? 40 : _rng.Percent(0.5) ? 24 : 20; // a few IPv4 packets carry options
            Span<byte> l4 = ip[ipHeader..];
            bool fromClient = outbound == flow.LocalIsClient;
            int l4Length = flow.Protocol == Tcp
                ? TcpSegment(l4, flow, fromClient, maxIp - ipHeader - 20)
                : UdpDatagram(l4, flow, fromClient, maxIp - ipHeader - 8);
            if (flow.V6)
            {
                Ipv6Header(ip, flow.Protocol, l4Length, outbound ? 64 : flow.RemoteTtl);
                Ipv6Addresses(ip, flow.LocalV6Low, flow.RemoteV6High, flow.RemoteV6Low, outbound);
            }
            else
            {
                Ipv4Header(ip, ipHeader, flow.Protocol, l4Length, 0x4000, flow.Tos, outbound ? flow.LocalTtl : flow.RemoteTtl,
                    outbound ? flow.LocalV4 : flow.RemoteV4, outbound ? flow.RemoteV4 : flow.LocalV4);
            }
            return at + ipHeader + l4Length;
        }

        private int TcpSegment(Span<byte> t, Flow flow, bool fromClient, int maxPayload)
        {
            BinaryPrimitives.WriteUInt16BigEndian(t, (ushort)(fromClient ? flow.ClientPort : flow.ServerPort));
            BinaryPrimitives.WriteUInt16BigEndian(t[2..], (ushort)(fromClient ? flow.ServerPort : flow.ClientPort));
            BinaryPrimitives.WriteUInt32BigEndian(t[4..], _rng.UInt32());
            BinaryPrimitives.WriteUInt32BigEndian(t[8..], _rng.UInt32());

            // The bulk sender sends data, the other side mostly bare ACKs; interactive flows both.
            bool sender = flow.Kind == 2 || (flow.Kind == 0) != fromClient;
            int kind = _rng.Below(100);
            byte flags = kind switch
            {
                < 3 => fromClient ? (byte)0x02 : (byte)0x12, // SYN / SYN-ACK
                < 6 => 0x11,                                    // FIN-ACK
                < 8 => 0x14,                                    // RST-ACK
                _ => sender && kind < 85 ? (byte)0x18 : (byte)0x10, // data / bare ACK
            };
            int headerLength = flags is 0x02 or 0x12 ? 40 : flags == 0x14 ? 20 : 32;
            t[12] = (byte)(headerLength / 4 << 4);
            t[13] = flags;
            BinaryPrimitives.WriteUInt16BigEndian(t[14..], (ushort)_rng.Between(500, 65535));
            BinaryPrimitives.WriteUInt16BigEndian(t[16..], (ushort)_rng.UInt32());
            if (headerLength == 40)
            {
                ReadOnlySpan<byte> synOptions = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7];
                synOptions.CopyTo(t[20..]);
            }
            else if (headerLength == 32)
            {
                t[20] = 1;
                t[21] = 1;
                t[22] = 8;
                t[23] = 10;
                BinaryPrimitives.WriteUInt64BigEndian(t[24..], _rng.NextUInt64());
            }

            int payload = 0;
            if (flags == 0x18)
            {
                int room = maxPayload - (headerLength - 20);
                payload = flow.Kind != 2 && _rng.Percent(75) ? room : _rng.Between(1, Math.Min(600, room));
                Span<byte> data = t.Slice(headerLength, payload);
                if (fromClient && flow.ServerPort is 80 or 8080 && _rng.Percent(40))
                    HttpRequest(data, ref payload);
                else
                    FillPayload(data);
            }
            return headerLength + payload;
        }

        private static void HttpRequest(Span<byte> data, ref int payload)
        {
            ReadOnlySpan<byte> get = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"u8;
            ReadOnlySpan<byte> post = "POST /api/v1/items HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n"u8;
            ReadOnlySpan<byte> request = (payload & 1) == 0 ? get : post;
            int n = Math.Min(request.Length, data.Length);
            request[..n].CopyTo(data);
            payload = n;
        }

        private int UdpDatagram(Span<byte> u, Flow flow, bool fromClient, int maxPayload)
        {
            int payload = flow.Kind switch
            {
                UdpDns => fromClient ? _rng.Between(30, 60) : _rng.Between(60, 300),
                UdpQuic => _rng.Percent(70) ? _rng.Between(1200, 1350) : _rng.Between(40, 100),
                UdpNtp => 48,
                UdpRtp => _rng.Between(160, 200),
                _ => _rng.Between(20, 1200),
            };
            payload = Math.Min(payload, maxPayload);
            WriteUdp(u, fromClient ? flow.ClientPort : flow.ServerPort, fromClient ? flow.ServerPort : flow.ClientPort, payload);
            return 8 + payload;
        }

        private void WriteUdp(Span<byte> u, int srcPort, int dstPort, int payload)
        {
            BinaryPrimitives.WriteUInt16BigEndian(u, (ushort)srcPort);
            BinaryPrimitives.WriteUInt16BigEndian(u[2..], (ushort)dstPort);
            BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)(8 + payload));
            BinaryPrimitives.WriteUInt16BigEndian(u[6..], (ushort)_rng.UInt32());
            FillPayload(u.Slice(8, payload));
        }

        // ------------------------------------------------------------ one-off packets

        private int OneOff(Span<byte> f)
        {
            int pick = _rng.Below(90);
            return pick switch
            {
                < 30 => ArpFrame(f),
                < 50 => IcmpFrame(f),
                < 70 => Icmp6Frame(f),
                < 80 => OtherL2Frame(f),
                < 82 => DhcpFrame(f),
                < 85 => MdnsFrame(f),
                _ => FragmentFrame(f),
            };
        }

        private void Macs(Span<byte> f, bool broadcast = false)
        {
            (broadcast ? Broadcast : LanMacs[_rng.Below(LanMacs.Length)]).CopyTo(f);
            LanMacs[_rng.Below(LanMacs.Length)].CopyTo(f[6..]);
        }

        private int ArpFrame(Span<byte> f)
        {
            bool request = _rng.Percent(65);
            Macs(f, broadcast: request);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeArp);
            Span<byte> a = f[14..];
            BinaryPrimitives.WriteUInt16BigEndian(a, 1);         // Ethernet
            BinaryPrimitives.WriteUInt16BigEndian(a[2..], 0x0800); // IPv4
            a[4] = 6;
            a[5] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(a[6..], (ushort)(request ? 1 : 2));
            f.Slice(6, 6).CopyTo(a[8..]);
            BinaryPrimitives.WriteUInt32BigEndian(a[14..], LanHosts[_rng.Below(LanHosts.Length)]);
            if (!request)
                f[..6].CopyTo(a[18..]);
            BinaryPrimitives.WriteUInt32BigEndian(a[24..], LanHosts[_rng.Below(LanHosts.Length)]);
            return 14 + 28;
        }

        private int IcmpFrame(Span<byte> f)
        {
            Macs(f);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeIPv4);
            Span<byte> ip = f[14..];
            Span<byte> m = ip[20..];
            int length;
            int kind = _rng.Below(100);
            if (kind < 80)
            {
                m[0] = (byte)(_rng.Percent(50) ? 8 : 0); // echo request / reply
                BinaryPrimitives.WriteUInt16BigEndian(m[4..], (ushort)_rng.Below(65536));
                BinaryPrimitives.WriteUInt16BigEndian(m[6..], (ushort)_rng.Below(1000));
                FillPayload(m.Slice(8, 56));
                length = 64;
            }
            else
            {
                m[0] = (byte)(kind < 95 ? 3 : 11); // destination unreachable / time exceeded
                m[1] = (byte)(kind < 95 ? 3 : 0);
                // The offending datagram's IP header and first 8 bytes.
                Span<byte> inner = m[8..];
                inner[0] = 0x45;
                BinaryPrimitives.WriteUInt16BigEndian(inner[2..], 76);
                inner[8] = 1;
                inner[9] = Udp;
                BinaryPrimitives.WriteUInt32BigEndian(inner[12..], LanHosts[_rng.Below(LanHosts.Length)]);
                BinaryPrimitives.WriteUInt32BigEndian(inner[16..], RemoteHosts[_rng.Below(RemoteHosts.Length)]);
                BinaryPrimitives.WriteUInt16BigEndian(inner[20..], (ushort)_rng.Between(32768, 60999));
                BinaryPrimitives.WriteUInt16BigEndian(inner[22..], 33434);
                length = 8 + 28;
            }
            bool outbound = _rng.Percent(50);
            uint local = LanHosts[_rng.Below(LanHosts.Length)], remote = RemoteHosts[_rng.Below(RemoteHosts.Length)];
            Ipv4Header(ip, 20, Icmp, length, 0, 0, (byte)(outbound ? 64 : 57), outbound ? local : remote, outbound ? remote : local);
            return 14 + 20 + length;
        }

        private int Icmp6Frame(Span<byte> f)
        {
            Macs(f);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeIPv6);
            Span<byte> ip = f[14..];
            int kind = _rng.Below(100);
            (byte type, int length) = kind switch
            {
                < 40 => ((byte)(_rng.Percent(50) ? 128 : 129), 64), // echo
                < 70 => ((byte)135, 32),  // neighbour solicitation
                < 85 => ((byte)136, 32),  // neighbour advertisement
                < 90 => ((byte)133, 16),  // router solicitation
                < 95 => ((byte)134, 64),  // router advertisement
                _ => ((byte)143, 28),     // MLDv2 report
            };
            int next = 40;
            if (type == 143)
            {
                // MLD report behind a hop-by-hop header with router alert.
                ip[40] = Icmp6;
                ip[41] = 0;
                ip[42] = 5;
                ip[43] = 2;
                next = 48;
            }
            Span<byte> m = ip[next..];
            m[0] = type;
            FillPayload(m.Slice(4, length - 4));
            Ipv6Header(ip, type == 143 ? HopByHop : Icmp6, next - 40 + length, 255);
            bool outbound = _rng.Percent(50);
            Ipv6Addresses(ip, _rng.Percent(40) ? 1UL : (ulong)_rng.Between(2, 40), 0x2606470000000000UL, _rng.NextUInt64(), outbound);
            if (type is not (128 or 129))
            {
                // Neighbour discovery and MLD: link-local source, all-nodes / solicited-node destination.
                BinaryPrimitives.WriteUInt64BigEndian(ip[8..], 0xfe80000000000000UL);
                BinaryPrimitives.WriteUInt64BigEndian(ip[24..], 0xff02000000000000UL);
                BinaryPrimitives.WriteUInt64BigEndian(ip[32..], type == 143 ? 0x16UL : 1UL);
            }
            return 14 + next + length;
        }

        private int OtherL2Frame(Span<byte> f)
        {
            LanMacs[_rng.Below(LanMacs.Length)].CopyTo(f[6..]);
            if (_rng.Percent(60))
            {
                // LLDP to the nearest-bridge group address: chassis, port, TTL, end TLVs.
                ReadOnlySpan<byte> dst = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
                dst.CopyTo(f);
                BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeLldp);
                int n = _rng.Between(60, 200);
                FillPayload(f.Slice(14, n));
                return 14 + n;
            }
            // Spanning tree: an 802.3 length field and LLC SAP 0x42.
            ReadOnlySpan<byte> stp = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
            stp.CopyTo(f);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], 39);
            f[14] = 0x42;
            f[15] = 0x42;
            f[16] = 0x03;
            FillPayload(f.Slice(17, 36));
            return 14 + 39;
        }

        private int DhcpFrame(Span<byte> f)
        {
            Macs(f, broadcast: true);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeIPv4);
            WriteUdp(f[34..], 68, 67, 300);
            Ipv4Header(f[14..], 20, Udp, 308, 0, 0, 64, 0, 0xffffffff);
            return 14 + 20 + 308;
        }

        private int MdnsFrame(Span<byte> f)
        {
            ReadOnlySpan<byte> group = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
            group.CopyTo(f);
            LanMacs[_rng.Below(LanMacs.Length)].CopyTo(f[6..]);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeIPv4);
            int payload = _rng.Between(40, 400);
            WriteUdp(f[34..], 5353, 5353, payload);
            Ipv4Header(f[14..], 20, Udp, 8 + payload, 0, 0, 255, LanHosts[_rng.Below(LanHosts.Length)], 0xe00000fb);
            return 14 + 20 + 8 + payload;
        }

        /// <summary>A piece of a fragmented datagram (a large DNS or IKE answer): the first has the UDP header, a later one only data.</summary>
        private int FragmentFrame(Span<byte> f)
        {
            Macs(f);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeIPv4);
            uint local = LanHosts[_rng.Below(LanHosts.Length)], remote = RemoteHosts[_rng.Below(RemoteHosts.Length)];
            if (_rng.Percent(50))
            {
                WriteUdp(f[34..], 53, _rng.Between(32768, 60999), 1472);
                Ipv4Header(f[14..], 20, Udp, 1480, 0x2000, 0, 57, remote, local); // MF, offset 0
                return 14 + 1500;
            }
            int rest = _rng.Between(100, 900);
            FillPayload(f.Slice(34, rest));
            Ipv4Header(f[14..], 20, Udp, rest, 1480 / 8, 0, 57, remote, local);
            return 14 + 20 + rest;
        }

        // ------------------------------------------------------------ headers

        private void Ipv4Header(Span<byte> ip, int headerLength, byte protocol, int l4Length, ushort flagsAndOffset, byte tos, byte ttl, uint src, uint dst)
        {
            ip[0] = (byte)(0x40 | (headerLength / 4));
            ip[1] = tos;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(headerLength + l4Length));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)_rng.UInt32());
            BinaryPrimitives.WriteUInt16BigEndian(ip[6..], flagsAndOffset);
            ip[8] = ttl;
            ip[9] = protocol;
            BinaryPrimitives.WriteUInt32BigEndian(ip[12..], src);
            BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dst);
            if (headerLength == 24)
                BinaryPrimitives.WriteUInt32BigEndian(ip[20..], 0x94040000); // router alert
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..headerLength]));
        }

        private void Ipv6Header(Span<byte> ip, byte nextHeader, int payloadLength, int hopLimit)
        {
            BinaryPrimitives.WriteUInt32BigEndian(ip, 0x60000000u | (_rng.UInt32() & 0xfffff));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)payloadLength);
            ip[6] = nextHeader;
            ip[7] = (byte)hopLimit;
        }

        /// <summary>2001:db8:1::/48 here, the rest of the world in 2606:4700::/32 and 2a00:1450::/32.</summary>
        private static void Ipv6Addresses(Span<byte> ip, ulong localLow, ulong remoteHigh, ulong remoteLow, bool outbound)
        {
            Span<byte> local = ip.Slice(outbound ? 8 : 24, 16), remote = ip.Slice(outbound ? 24 : 8, 16);
            BinaryPrimitives.WriteUInt64BigEndian(local, 0x20010db800010000UL);
            BinaryPrimitives.WriteUInt64BigEndian(local[8..], localLow);
            BinaryPrimitives.WriteUInt64BigEndian(remote, remoteHigh);
            BinaryPrimitives.WriteUInt64BigEndian(remote[8..], remoteLow);
        }

        private void FillPayload(Span<byte> s)
        {
            int i = 0;
            for (; i + 8 <= s.Length; i += 8)
                BinaryPrimitives.WriteUInt64LittleEndian(s[i..], _rng.NextUInt64());
            for (; i < s.Length; i++)
                s[i] = (byte)_rng.NextUInt64();
        }

        private static ushort Checksum(ReadOnlySpan<byte> header)
        {
            uint sum = 0;
            for (int i = 0; i + 1 < header.Length; i += 2)
                sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
            while (sum >> 16 != 0)
                sum = (sum & 0xffff) + (sum >> 16);
            return (ushort)~sum;
        }
    }
}
