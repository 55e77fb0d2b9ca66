using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace KdtCapture.Capture.Printing.Internal;

/// <summary>
/// RFC 2385's TCP MD5 signature, for tcpdump's <c>-M secret</c>: MD5 over the pseudo-header, the fixed
/// TCP header with a zero checksum (options left out), the segment data and the key.
/// </summary>
internal static class TcpSignature
{
    public static bool Matches(ReadOnlySpan<byte> ipPacket, int ipOffset, int ipVersion, ReadOnlySpan<byte> tcpHeader,
        ReadOnlySpan<byte> data, string secret, ReadOnlySpan<byte> received)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        Span<byte> scratch = stackalloc byte[40];
        if (ipVersion == 4)
        {
            // Source and destination, a zero byte, the protocol, the TCP length (IP total length less the IP header).
            ipPacket.Slice(ipOffset + 12, 8).CopyTo(scratch);
            scratch[8] = 0;
            scratch[9] = ipPacket[ipOffset + 9];
            int ihl = (ipPacket[ipOffset] & 0x0f) * 4;
            BinaryPrimitives.WriteUInt16BigEndian(scratch[10..], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(ipPacket[(ipOffset + 2)..]) - ihl));
            md5.AppendData(scratch[..12]);
        }
        else
        {
            // IPv6: source and destination, the payload length as 32 bits, three zero bytes, next header 6.
            ipPacket.Slice(ipOffset + 8, 32).CopyTo(scratch);
            BinaryPrimitives.WriteUInt32BigEndian(scratch[32..], BinaryPrimitives.ReadUInt16BigEndian(ipPacket[(ipOffset + 4)..]));
            scratch[36] = 0;
            scratch[37] = 0;
            scratch[38] = 0;
            scratch[39] = 6;
            md5.AppendData(scratch);
        }
        tcpHeader[..16].CopyTo(scratch);
        scratch[16] = 0;
        scratch[17] = 0;
        tcpHeader.Slice(18, 2).CopyTo(scratch[18..]);
        md5.AppendData(scratch[..20]);
        md5.AppendData(data);
        md5.AppendData(Encoding.UTF8.GetBytes(secret));
        Span<byte> digest = stackalloc byte[16];
        md5.GetHashAndReset(digest);
        return digest.SequenceEqual(received);
    }
}
