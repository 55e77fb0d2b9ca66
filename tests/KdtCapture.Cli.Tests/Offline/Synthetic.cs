using System.Buffers.Binary;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Tests.Offline;

/// <summary>Small captures the tests make themselves (never copied into the repository).</summary>
internal static class Synthetic
{
    /// <summary>Ethernet/IPv4/UDP frames of <paramref name="frameLength"/> bytes, one per millisecond; ports 1000+i%50 → 80+i%3.</summary>
    public static void WriteUdpPcap(string path, int count, int frameLength)
    {
        using var w = CaptureWriter.Create(path, new CaptureWriterOptions { Format = CaptureFileFormat.Pcap });
        w.AddInterface(new InterfaceDescription { LinkType = LinkTypeValues.Ethernet, SnapLength = 262144 });
        var frame = new byte[frameLength];
        for (int i = 0; i < count; i++)
        {
            FillUdp(frame, i);
            w.WritePacket(0, PacketTimestamp.FromUnixNanoseconds(1_700_000_000_000_000_000L + i * 1_000_000L), frame);
        }
    }

    public static void FillUdp(byte[] frame, int i)
    {
        Array.Clear(frame);
        frame.AsSpan(0, 6).Fill(0x02);
        frame.AsSpan(6, 6).Fill(0x04);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        Span<byte> ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(frame.Length - 14));
        ip[8] = 64;
        ip[9] = 17;
        ip[12] = 192; ip[13] = 0; ip[14] = 2; ip[15] = (byte)(1 + i % 200);
        ip[16] = 198; ip[17] = 51; ip[18] = 100; ip[19] = 7;
        uint sum = 0;
        for (int k = 0; k < 20; k += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(ip[k..]);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        Span<byte> udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)(1000 + i % 50));
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], (ushort)(80 + i % 3));
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(frame.Length - 34));
        for (int k = 8; k < udp.Length; k++) udp[k] = (byte)(i + k);
    }
}
