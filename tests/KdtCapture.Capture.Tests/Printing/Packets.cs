using System.Buffers.Binary;
using KdtCapture.Filters;

namespace KdtCapture.Capture.Tests.Printing;

/// <summary>Builds test packets byte by byte, with correct lengths and checksums unless told otherwise.</summary>
internal static class Packets
{
    public static readonly byte[] MacA = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    public static readonly byte[] MacB = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
    public static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    public static byte[] Ip(string dotted) => System.Net.IPAddress.Parse(dotted).GetAddressBytes();

    public static byte[] Ethernet(byte[] dst, byte[] src, ushort type, byte[] payload)
    {
        var p = new byte[14 + payload.Length];
        dst.CopyTo(p, 0);
        src.CopyTo(p, 6);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(12), type);
        payload.CopyTo(p, 14);
        return p;
    }

    public static byte[] Vlan(ushort tci, ushort type, byte[] payload)
    {
        var p = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(p, tci);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), type);
        payload.CopyTo(p, 4);
        return p;
    }

    public static byte[] Ipv4(string src, string dst, byte proto, byte[] payload, byte ttl = 64, ushort id = 1,
        ushort flagsAndOffset = 0x4000, byte tos = 0, byte[]? options = null)
    {
        options ??= [];
        int hlen = 20 + options.Length;
        var p = new byte[hlen + payload.Length];
        p[0] = (byte)(0x40 | hlen / 4);
        p[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), flagsAndOffset);
        p[8] = ttl;
        p[9] = proto;
        Ip(src).CopyTo(p, 12);
        Ip(dst).CopyTo(p, 16);
        options.CopyTo(p, 20);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, hlen)));
        payload.CopyTo(p, hlen);
        FixTransportChecksum(p, hlen, proto, p.AsSpan(12, 4), p.AsSpan(16, 4), v6: false);
        return p;
    }

    public static byte[] Ipv6(string src, string dst, byte nextHeader, byte[] payload, byte hopLimit = 64, uint flow = 0)
    {
        var p = new byte[40 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(p, 0x60000000 | flow);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)payload.Length);
        p[6] = nextHeader;
        p[7] = hopLimit;
        Ip(src).CopyTo(p, 8);
        Ip(dst).CopyTo(p, 24);
        payload.CopyTo(p, 40);
        FixTransportChecksum(p, 40, nextHeader, p.AsSpan(8, 16), p.AsSpan(24, 16), v6: true);
        return p;
    }

    public static byte[] Tcp(ushort sport, ushort dport, uint seq, uint ack, byte flags, ushort win = 65535,
        byte[]? options = null, byte[]? payload = null)
    {
        options ??= [];
        payload ??= [];
        int hlen = 20 + options.Length;
        var p = new byte[hlen + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(p, sport);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), ack);
        p[12] = (byte)(hlen / 4 << 4);
        p[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(14), win);
        options.CopyTo(p, 20);
        payload.CopyTo(p, hlen);
        return p;
    }

    public static byte[] Udp(ushort sport, ushort dport, byte[] payload)
    {
        var p = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(p, sport);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)p.Length);
        payload.CopyTo(p, 8);
        return p;
    }

    public static byte[] IcmpEcho(bool request, ushort id, ushort seq, int dataLength = 8)
    {
        var p = new byte[8 + dataLength];
        p[0] = (byte)(request ? 8 : 0);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), seq);
        for (int i = 0; i < dataLength; i++)
            p[8 + i] = (byte)i;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), Checksum(p));
        return p;
    }

    public static byte[] Icmp6Echo(bool request, ushort id, ushort seq, int dataLength = 8)
    {
        var p = new byte[8 + dataLength];
        p[0] = (byte)(request ? 128 : 129);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), seq);
        return p;
    }

    public static byte[] ArpRequest(byte[] senderMac, string senderIp, string targetIp)
    {
        var p = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(p, 1);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), 0x0800);
        p[4] = 6;
        p[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), 1);
        senderMac.CopyTo(p, 8);
        Ip(senderIp).CopyTo(p, 14);
        Ip(targetIp).CopyTo(p, 24);
        return p;
    }

    /// <summary>A DNS query for one name (RD set).</summary>
    public static byte[] DnsQuery(ushort id, string name, ushort type)
    {
        var p = new List<byte>();
        p.AddRange([(byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            p.Add((byte)label.Length);
            p.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }
        p.Add(0);
        p.AddRange([(byte)(type >> 8), (byte)type, 0, 1]);
        return [.. p];
    }

    /// <summary>A DNS response answering <paramref name="name"/> with one A record.</summary>
    public static byte[] DnsAResponse(ushort id, string name, string address)
    {
        var q = DnsQuery(id, name, 1);
        q[2] = 0x81;
        q[3] = 0x80;
        q[7] = 1; // ancount
        var p = new List<byte>(q);
        p.AddRange([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        p.AddRange(Ip(address));
        return [.. p];
    }

    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
            sum += (uint)(data[i] << 8 | data[i + 1]);
        if ((data.Length & 1) != 0)
            sum += (uint)data[^1] << 8;
        while (sum >> 16 != 0)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    private static void FixTransportChecksum(byte[] p, int offset, byte proto, ReadOnlySpan<byte> src, ReadOnlySpan<byte> dst, bool v6)
    {
        int field = proto switch { 6 => 16, 17 => 6, 58 => 2, _ => -1 };
        int length = p.Length - offset;
        if (field < 0 || length < field + 2)
            return;
        var pseudo = new List<byte>();
        pseudo.AddRange(src.ToArray());
        pseudo.AddRange(dst.ToArray());
        if (v6)
            pseudo.AddRange([(byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length, 0, 0, 0, proto]);
        else
            pseudo.AddRange([0, proto, (byte)(length >> 8), (byte)length]);
        p[offset + field] = 0;
        p[offset + field + 1] = 0;
        pseudo.AddRange(p.AsSpan(offset).ToArray());
        ushort sum = Checksum(pseudo.ToArray());
        if (proto == 17 && sum == 0)
            sum = 0xffff;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(offset + field), sum);
    }

    /// <summary>A classic pcap file (µs time stamps) holding the packets, for tcpdump to read.</summary>
    public static byte[] PcapFile(LinkType linkType, IReadOnlyList<(long TimestampNanoseconds, byte[] Data, int WireLength)> packets)
    {
        var f = new List<byte>();
        var header = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), (uint)(linkType == LinkType.RAW ? 101 : (int)linkType));
        f.AddRange(header);
        foreach (var (ts, data, wire) in packets)
        {
            var rec = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(rec, (uint)(ts / 1_000_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(4), (uint)(ts % 1_000_000_000 / 1000));
            BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(8), (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(12), (uint)wire);
            f.AddRange(rec);
            f.AddRange(data);
        }
        return [.. f];
    }
}
