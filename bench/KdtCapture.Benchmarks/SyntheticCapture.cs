using System.Buffers.Binary;

namespace KdtCapture.Benchmarks;

/// <summary>
/// An in-memory Ethernet capture the benchmark makes itself: packets back to back in one buffer,
/// as a pcap file read into memory holds them, each captured whole (captured = wire length).
/// The mix is that of a busy host or a LAN uplink: mostly TCP over IPv4 (HTTPS, HTTP, SSH,
/// databases, with full-size data segments, bare ACKs, handshakes and teardowns), UDP (DNS,
/// QUIC, NTP, RTP, DHCP, mDNS, some IPv4 fragments), IPv6 TCP/UDP, ICMP and ICMPv6 (echo,
/// errors, neighbour discovery), ARP, 802.1Q-tagged traffic (some of it QinQ), LLDP and STP.
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

    public static SyntheticCapture Generate(int count, ulong seed = DefaultSeed)
    {
        var gen = new Generator(seed);
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

    private sealed class Generator(ulong seed)
    {
        private const ushort EtherTypeIPv4 = 0x0800, EtherTypeArp = 0x0806, EtherTypeIPv6 = 0x86dd;
        private const ushort EtherTypeVlan = 0x8100, EtherTypeQinQ = 0x88a8, EtherTypeLldp = 0x88cc;
        private const byte Icmp = 1, Tcp = 6, Udp = 17, Icmp6 = 58, HopByHop = 0;

        private Rng _rng = new(seed);

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

        /// <summary>Writes one frame into <paramref name="f"/> (cleared), returns its length.</summary>
        public int Next(Span<byte> f)
        {
            int pick = _rng.Below(1000);
            int length = pick switch
            {
                < 530 => Ipv4Frame(f, Tcp),
                < 670 => Ipv4Frame(f, Udp),
                < 780 => Ipv6Frame(f, Tcp),
                < 820 => Ipv6Frame(f, Udp),
                < 840 => Ipv4Frame(f, Icmp),
                < 860 => Ipv6Frame(f, Icmp6),
                < 890 => ArpFrame(f),
                < 990 => VlanFrame(f),
                _ => OtherL2Frame(f),
            };
            return Math.Max(length, 60); // Ethernet minimum without FCS; padding bytes stay zero
        }

        private void Macs(Span<byte> f, bool broadcast = false)
        {
            (broadcast ? Broadcast : LanMacs[_rng.Below(LanMacs.Length)]).CopyTo(f);
            LanMacs[_rng.Below(LanMacs.Length)].CopyTo(f[6..]);
        }

        private int Ipv4Frame(Span<byte> f, byte protocol)
        {
            Macs(f);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeIPv4);
            return 14 + Ipv4(f[14..], protocol);
        }

        private int Ipv6Frame(Span<byte> f, byte protocol)
        {
            Macs(f);
            BinaryPrimitives.WriteUInt16BigEndian(f[12..], EtherTypeIPv6);
            return 14 + Ipv6(f[14..], protocol);
        }

        private int VlanFrame(Span<byte> f)
        {
            Macs(f);
            int at = 12;
            if (_rng.Percent(10))
            {
                // QinQ: a service tag outside the customer tag.
                BinaryPrimitives.WriteUInt16BigEndian(f[at..], EtherTypeQinQ);
                BinaryPrimitives.WriteUInt16BigEndian(f[(at + 2)..], (ushort)_rng.Between(1000, 1010));
                at += 4;
            }
            BinaryPrimitives.WriteUInt16BigEndian(f[at..], EtherTypeVlan);
            BinaryPrimitives.WriteUInt16BigEndian(f[(at + 2)..], (ushort)((_rng.Below(8) << 13) | VlanIds[_rng.Below(VlanIds.Length)]));
            at += 4;
            int inner = _rng.Below(10);
            ushort type = inner < 9 ? EtherTypeIPv4 : EtherTypeIPv6;
            BinaryPrimitives.WriteUInt16BigEndian(f[at..], type);
            at += 2;
            byte protocol = inner < 6 ? Tcp : inner < 9 ? Udp : Tcp;
            int payload = type == EtherTypeIPv4 ? Ipv4(f[at..], protocol, maxIpLength: 1496) : Ipv6(f[at..], protocol, maxIpLength: 1496);
            return at + payload;
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

        /// <summary>An IPv4 packet with a transport header and payload; returns its length.</summary>
        private int Ipv4(Span<byte> ip, byte protocol, int maxIpLength = 1500)
        {
            // A few packets carry options (router alert, record route): indirect loads must cope.
            int headerLength = _rng.Percent(0.5) ? 24 : 20;
            bool outbound = _rng.Percent(50);
            uint local = LanHosts[_rng.Below(LanHosts.Length)];
            uint remote = _rng.Percent(70) ? RemoteHosts[_rng.Below(RemoteHosts.Length)] : LanHosts[_rng.Below(LanHosts.Length)];
            uint src = outbound ? local : remote, dst = outbound ? remote : local;
            ushort flagsAndOffset = 0x4000; // DF

            Span<byte> l4 = ip[headerLength..];
            int l4Length;
            switch (protocol)
            {
                case Tcp:
                    l4Length = TcpSegment(l4, maxIpLength - headerLength - 20, outbound);
                    break;
                case Udp:
                    l4Length = UdpDatagram(l4, maxIpLength - headerLength, ref dst, ref flagsAndOffset);
                    break;
                default:
                    l4Length = IcmpMessage(l4);
                    break;
            }

            ip[0] = (byte)(0x40 | (headerLength / 4));
            ip[1] = (byte)(_rng.Percent(10) ? 0xb8 : 0); // some EF-marked traffic
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(headerLength + l4Length));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)_rng.UInt32());
            BinaryPrimitives.WriteUInt16BigEndian(ip[6..], flagsAndOffset);
            ip[8] = (byte)(_rng.Percent(50) ? 64 : _rng.Percent(50) ? 128 : _rng.Between(40, 255));
            ip[9] = protocol;
            BinaryPrimitives.WriteUInt32BigEndian(ip[12..], src);
            BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dst);
            if (headerLength == 24)
                BinaryPrimitives.WriteUInt32BigEndian(ip[20..], 0x94040000); // router alert
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..headerLength]));
            return headerLength + l4Length;
        }

        private int Ipv6(Span<byte> ip, byte protocol, int maxIpLength = 1500)
        {
            bool outbound = _rng.Percent(50);
            int next = 40;
            byte firstHeader = protocol;
            if (protocol == Icmp6 && _rng.Percent(10))
            {
                // MLD report behind a hop-by-hop header with router alert.
                firstHeader = HopByHop;
                ip[40] = Icmp6;
                ip[41] = 0;
                ip[42] = 5; // router alert option
                ip[43] = 2;
                next = 48;
            }
            Span<byte> l4 = ip[next..];
            int l4Length = protocol switch
            {
                Tcp => TcpSegment(l4, maxIpLength - next - 20, outbound),
                Udp => UdpDatagram6(l4, maxIpLength - next),
                _ => Icmp6Message(l4),
            };
            BinaryPrimitives.WriteUInt32BigEndian(ip, 0x60000000u | (_rng.UInt32() & 0xfffff));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(next - 40 + l4Length));
            ip[6] = firstHeader;
            ip[7] = (byte)(protocol == Icmp6 ? 255 : 64);
            Span<byte> local = ip.Slice(outbound ? 8 : 24, 16), remote = ip.Slice(outbound ? 24 : 8, 16);
            // 2001:db8:1::/48 here, the rest of the world in 2606:4700::/32 and 2a00:1450::/32.
            BinaryPrimitives.WriteUInt64BigEndian(local, 0x20010db800010000UL);
            BinaryPrimitives.WriteUInt64BigEndian(local[8..], _rng.Percent(40) ? 1UL : (ulong)_rng.Between(2, 40));
            BinaryPrimitives.WriteUInt64BigEndian(remote, _rng.Percent(50) ? 0x2606470000000000UL : 0x2a00145040010000UL | (uint)_rng.Below(16));
            BinaryPrimitives.WriteUInt64BigEndian(remote[8..], _rng.NextUInt64());
            if (protocol == Icmp6 && _rng.Percent(40))
            {
                // Neighbour discovery: link-local source, all-nodes / solicited-node destination.
                BinaryPrimitives.WriteUInt64BigEndian(ip[8..], 0xfe80000000000000UL);
                BinaryPrimitives.WriteUInt64BigEndian(ip[24..], 0xff02000000000000UL);
                BinaryPrimitives.WriteUInt64BigEndian(ip[32..], 1);
            }
            return next + l4Length;
        }

        private int TcpSegment(Span<byte> t, int maxPayload, bool outbound)
        {
            int serverPort = _rng.Percent(92) ? TcpServerPorts[_rng.Below(TcpServerPorts.Length)] : _rng.Between(1024, 65535);
            int clientPort = _rng.Between(32768, 60999);
            bool toServer = outbound ^ _rng.Percent(20); // mostly a client here, sometimes a server
            BinaryPrimitives.WriteUInt16BigEndian(t, (ushort)(toServer ? clientPort : serverPort));
            BinaryPrimitives.WriteUInt16BigEndian(t[2..], (ushort)(toServer ? serverPort : clientPort));
            BinaryPrimitives.WriteUInt32BigEndian(t[4..], _rng.UInt32());
            BinaryPrimitives.WriteUInt32BigEndian(t[8..], _rng.UInt32());

            // Flags: handshakes, bare ACKs, data, teardown, resets.
            int kind = _rng.Below(100);
            byte flags = kind switch
            {
                < 3 => 0x02,        // SYN
                < 6 => 0x12,        // SYN-ACK
                < 41 => 0x10,       // ACK
                < 89 => 0x18,       // PSH-ACK with data
                < 95 => 0x11,       // FIN-ACK
                _ => 0x14,          // RST-ACK
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
                payload = _rng.Percent(55) ? room : _rng.Between(1, Math.Min(600, room));
                Span<byte> data = t.Slice(headerLength, payload);
                if (toServer && (serverPort is 80 or 8080) && _rng.Percent(40))
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

        private int UdpDatagram(Span<byte> u, int maxLength, ref uint dst, ref ushort flagsAndOffset, bool ipv6 = false)
        {
            int kind = _rng.Below(100);
            if (ipv6 && kind is >= 92 and < 95)
                kind = 99; // no fragments over IPv6 here
            int srcPort = _rng.Between(32768, 60999), dstPort, payload;
            switch (kind)
            {
                case < 35: dstPort = 53; payload = _rng.Between(30, 300); break;                  // DNS
                case < 65: dstPort = 443; payload = _rng.Between(1200, 1350); break;              // QUIC
                case < 70: dstPort = 123; srcPort = 123; payload = 48; break;                      // NTP
                case < 85: dstPort = _rng.Between(5000, 5100); payload = _rng.Between(160, 200); break; // RTP
                case < 87: dstPort = 67; srcPort = 68; payload = 300; dst = 0xffffffff; break;     // DHCP
                case < 92: dstPort = 5353; srcPort = 5353; payload = _rng.Between(40, 400); dst = 0xe00000fb; break; // mDNS
                case < 95:
                    // A fragmented datagram (a large DNS or IKE answer): the first piece has
                    // the UDP header, a later piece only data.
                    if (_rng.Percent(50))
                    {
                        flagsAndOffset = 0x2000; // MF, offset 0
                        dstPort = 53;
                        payload = Math.Min(1472, maxLength - 8);
                        break;
                    }
                    flagsAndOffset = (ushort)(1480 / 8);
                    int rest = _rng.Between(100, 900);
                    FillPayload(u[..rest]);
                    return rest;
                default: dstPort = _rng.Between(1024, 65535); payload = _rng.Between(20, 1200); break;
            }
            payload = Math.Min(payload, maxLength - 8);
            bool reply = _rng.Percent(45) && dst != 0xffffffff && dst != 0xe00000fb;
            BinaryPrimitives.WriteUInt16BigEndian(u, (ushort)(reply ? dstPort : srcPort));
            BinaryPrimitives.WriteUInt16BigEndian(u[2..], (ushort)(reply ? srcPort : dstPort));
            BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)(8 + payload));
            BinaryPrimitives.WriteUInt16BigEndian(u[6..], (ushort)_rng.UInt32());
            FillPayload(u.Slice(8, payload));
            return 8 + payload;
        }

        private int UdpDatagram6(Span<byte> u, int maxLength)
        {
            uint ignoredDestination = 0;
            ushort ignoredFlags = 0;
            return UdpDatagram(u, maxLength, ref ignoredDestination, ref ignoredFlags, ipv6: true);
        }

        private int IcmpMessage(Span<byte> m)
        {
            int kind = _rng.Below(100);
            if (kind < 80)
            {
                m[0] = (byte)(_rng.Percent(50) ? 8 : 0); // echo request / reply
                BinaryPrimitives.WriteUInt16BigEndian(m[4..], (ushort)_rng.Below(65536));
                BinaryPrimitives.WriteUInt16BigEndian(m[6..], (ushort)_rng.Below(1000));
                FillPayload(m.Slice(8, 56));
                return 64;
            }
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
            return 8 + 28;
        }

        private int Icmp6Message(Span<byte> m)
        {
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
            m[0] = type;
            FillPayload(m.Slice(4, length - 4));
            return length;
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
