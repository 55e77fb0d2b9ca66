using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

// Address comparisons: IPv4/IPv6 hosts and nets, link-layer (MAC) addresses per link type, DECnet.
internal sealed partial class CodeGenerator
{
    // 802.11 frame control fields.
    internal const uint Ieee80211TypeMask = 0x0c;
    internal const uint Ieee80211TypeMgt = 0x00;
    internal const uint Ieee80211TypeCtl = 0x04;
    internal const uint Ieee80211TypeData = 0x08;
    internal const uint Ieee80211SubtypeMask = 0xf0;
    private const uint Ieee80211SubtypeCts = 0xc0;
    private const uint Ieee80211SubtypeAck = 0xd0;
    internal const uint Ieee80211DirMask = 0x03;
    internal const uint Ieee80211DirNoDs = 0x00;
    internal const uint Ieee80211DirToDs = 0x01;
    internal const uint Ieee80211DirFromDs = 0x02;
    internal const uint Ieee80211DirDsToDs = 0x03;

    private static FilterCompileException NotAnIpQualifier(int dir) => dir switch
    {
        QDir.Addr1 => Error("'addr1' and 'address1' are not valid qualifiers for addresses other than 802.11 MAC addresses"),
        QDir.Addr2 => Error("'addr2' and 'address2' are not valid qualifiers for addresses other than 802.11 MAC addresses"),
        QDir.Addr3 => Error("'addr3' and 'address3' are not valid qualifiers for addresses other than 802.11 MAC addresses"),
        QDir.Addr4 => Error("'addr4' and 'address4' are not valid qualifiers for addresses other than 802.11 MAC addresses"),
        QDir.Ra => Error("'ra' is not a valid qualifier for addresses other than 802.11 MAC addresses"),
        QDir.Ta => Error("'ta' is not a valid qualifier for addresses other than 802.11 MAC addresses"),
        _ => throw new InvalidOperationException($"unexpected direction qualifier {dir}"),
    };

    /// <summary>For Ethernet ("802.11 with 802.11 headers" is meant literally: 802.11 here means the MAC header is 802.11).</summary>
    private static FilterCompileException OnlyOn80211WithHeaders(int dir) => dir switch
    {
        QDir.Addr1 => Error("'addr1' and 'address1' are only supported on 802.11 with 802.11 headers"),
        QDir.Addr2 => Error("'addr2' and 'address2' are only supported on 802.11 with 802.11 headers"),
        QDir.Addr3 => Error("'addr3' and 'address3' are only supported on 802.11 with 802.11 headers"),
        QDir.Addr4 => Error("'addr4' and 'address4' are only supported on 802.11 with 802.11 headers"),
        QDir.Ra => Error("'ra' is only supported on 802.11 with 802.11 headers"),
        QDir.Ta => Error("'ta' is only supported on 802.11 with 802.11 headers"),
        _ => throw new InvalidOperationException($"unexpected direction qualifier {dir}"),
    };

    private static FilterCompileException OnlyOn80211(int dir) => dir switch
    {
        QDir.Addr1 => Error("'addr1' and 'address1' are only supported on 802.11"),
        QDir.Addr2 => Error("'addr2' and 'address2' are only supported on 802.11"),
        QDir.Addr3 => Error("'addr3' and 'address3' are only supported on 802.11"),
        QDir.Addr4 => Error("'addr4' and 'address4' are only supported on 802.11"),
        QDir.Ra => Error("'ra' is only supported on 802.11"),
        QDir.Ta => Error("'ta' is only supported on 802.11"),
        _ => throw new InvalidOperationException($"unexpected direction qualifier {dir}"),
    };

    private Block GenHostop(uint addr, uint mask, int dir, uint llProto, uint srcOff, uint dstOff)
    {
        uint offset;
        Block b0, b1;
        switch (dir)
        {
            case QDir.Src:
                offset = srcOff;
                break;
            case QDir.Dst:
                offset = dstOff;
                break;
            case QDir.And:
                b0 = GenHostop(addr, mask, QDir.Src, llProto, srcOff, dstOff);
                b1 = GenHostop(addr, mask, QDir.Dst, llProto, srcOff, dstOff);
                GenAnd(b0, b1);
                return b1;
            case QDir.Default:
            case QDir.Or:
                b0 = GenHostop(addr, mask, QDir.Src, llProto, srcOff, dstOff);
                b1 = GenHostop(addr, mask, QDir.Dst, llProto, srcOff, dstOff);
                GenOr(b0, b1);
                return b1;
            default:
                throw NotAnIpQualifier(dir);
        }
        b0 = GenLinktype(llProto);
        b1 = GenMcmp(OffsetBase.LinkPayload, offset, W, addr, mask);
        GenAnd(b0, b1);
        return b1;
    }

    /// <summary>IPv6 address under a mask; <paramref name="addr"/> and <paramref name="mask"/> are 16 bytes each.</summary>
    private Block GenHostop6(ReadOnlySpan<byte> addr, ReadOnlySpan<byte> mask, int dir, uint llProto, uint srcOff, uint dstOff)
    {
        uint offset;
        Block b0, b1;
        switch (dir)
        {
            case QDir.Src:
                offset = srcOff;
                break;
            case QDir.Dst:
                offset = dstOff;
                break;
            case QDir.And:
                b0 = GenHostop6(addr, mask, QDir.Src, llProto, srcOff, dstOff);
                b1 = GenHostop6(addr, mask, QDir.Dst, llProto, srcOff, dstOff);
                GenAnd(b0, b1);
                return b1;
            case QDir.Default:
            case QDir.Or:
                b0 = GenHostop6(addr, mask, QDir.Src, llProto, srcOff, dstOff);
                b1 = GenHostop6(addr, mask, QDir.Dst, llProto, srcOff, dstOff);
                GenOr(b0, b1);
                return b1;
            default:
                throw NotAnIpQualifier(dir);
        }
        // Last word first: libpcap compares from the end, which the optimizer's output reflects.
        b1 = GenMcmp(OffsetBase.LinkPayload, offset + 12, W, Word(addr, 3), Word(mask, 3));
        b0 = GenMcmp(OffsetBase.LinkPayload, offset + 8, W, Word(addr, 2), Word(mask, 2));
        GenAnd(b0, b1);
        b0 = GenMcmp(OffsetBase.LinkPayload, offset + 4, W, Word(addr, 1), Word(mask, 1));
        GenAnd(b0, b1);
        b0 = GenMcmp(OffsetBase.LinkPayload, offset + 0, W, Word(addr, 0), Word(mask, 0));
        GenAnd(b0, b1);
        b0 = GenLinktype(llProto);
        GenAnd(b0, b1);
        return b1;

        static uint Word(ReadOnlySpan<byte> a, int i) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(a[(4 * i)..]);
    }

    /// <summary>Ethernet source/destination address.</summary>
    private Block GenEhostop(ReadOnlySpan<byte> eaddr, int dir)
    {
        Block b0, b1;
        switch (dir)
        {
            case QDir.Src:
                return GenBcmp(OffsetBase.LinkHeader, 6, 6, eaddr);
            case QDir.Dst:
                return GenBcmp(OffsetBase.LinkHeader, 0, 6, eaddr);
            case QDir.And:
                b0 = GenEhostop(eaddr, QDir.Src);
                b1 = GenEhostop(eaddr, QDir.Dst);
                GenAnd(b0, b1);
                return b1;
            case QDir.Default:
            case QDir.Or:
                b0 = GenEhostop(eaddr, QDir.Src);
                b1 = GenEhostop(eaddr, QDir.Dst);
                GenOr(b0, b1);
                return b1;
            default:
                throw OnlyOn80211WithHeaders(dir);
        }
    }

    /// <summary>Two-address MAC header at fixed offsets (FDDI, Token Ring, IP over FC).</summary>
    private Block GenFixedMacHostop(ReadOnlySpan<byte> eaddr, int dir, uint srcOffset, uint dstOffset)
    {
        Block b0, b1;
        switch (dir)
        {
            case QDir.Src:
                return GenBcmp(OffsetBase.LinkHeader, srcOffset, 6, eaddr);
            case QDir.Dst:
                return GenBcmp(OffsetBase.LinkHeader, dstOffset, 6, eaddr);
            case QDir.And:
                b0 = GenFixedMacHostop(eaddr, QDir.Src, srcOffset, dstOffset);
                b1 = GenFixedMacHostop(eaddr, QDir.Dst, srcOffset, dstOffset);
                GenAnd(b0, b1);
                return b1;
            case QDir.Default:
            case QDir.Or:
                b0 = GenFixedMacHostop(eaddr, QDir.Src, srcOffset, dstOffset);
                b1 = GenFixedMacHostop(eaddr, QDir.Dst, srcOffset, dstOffset);
                GenOr(b0, b1);
                return b1;
            default:
                throw OnlyOn80211(dir);
        }
    }

    // FDDI: frame control byte, then destination and source (no padding on Linux).
    private Block GenFhostop(ReadOnlySpan<byte> eaddr, int dir) => GenFixedMacHostop(eaddr, dir, 6 + 1, 0 + 1);

    // Token Ring: access control and frame control bytes first.
    private Block GenThostop(ReadOnlySpan<byte> eaddr, int dir) => GenFixedMacHostop(eaddr, dir, 8, 2);

    // IP over Fibre Channel (RFC 2625 network header).
    private Block GenIpfchostop(ReadOnlySpan<byte> eaddr, int dir) => GenFixedMacHostop(eaddr, dir, 10, 2);

    /// <summary>Tests the frame-control byte at <paramref name="offset"/> of the 802.11 header against a bit.</summary>
    private Block GenWlanFcBit(uint offset, uint bit)
    {
        var s = GenLoadA(OffsetBase.LinkHeader, offset, B);
        var b = NewBlock(JmpK(Jset));
        b.S.K = bit;
        b.Stmts = s;
        return b;
    }

    /// <summary>
    /// 802.11 addresses: which of addr1..addr4 is the source or destination depends on the frame
    /// type and the To DS/From DS bits.
    /// </summary>
    private Block GenWlanhostop(ReadOnlySpan<byte> eaddr, int dir)
    {
        Block b0, b1, b2;
        switch (dir)
        {
            case QDir.Src:
                // Data frame with both DS bits: SA is addr4.
                b1 = GenWlanFcBit(1, 0x01);
                b0 = GenBcmp(OffsetBase.LinkHeader, 24, 6, eaddr);
                GenAnd(b1, b0);
                // From DS only: SA is addr3.
                b2 = GenWlanFcBit(1, 0x01);
                GenNot(b2);
                b1 = GenBcmp(OffsetBase.LinkHeader, 16, 6, eaddr);
                GenAnd(b2, b1);
                GenOr(b1, b0);
                b1 = GenWlanFcBit(1, 0x02);
                GenAnd(b1, b0);
                // Not From DS: SA is addr2.
                b2 = GenWlanFcBit(1, 0x02);
                GenNot(b2);
                b1 = GenBcmp(OffsetBase.LinkHeader, 10, 6, eaddr);
                GenAnd(b2, b1);
                GenOr(b1, b0);
                // The above holds for data frames; management frames have SA in addr2.
                b1 = GenWlanFcBit(0, 0x08);
                GenAnd(b1, b0);
                b2 = GenWlanFcBit(0, 0x08);
                GenNot(b2);
                b1 = GenBcmp(OffsetBase.LinkHeader, 10, 6, eaddr);
                GenAnd(b2, b1);
                GenOr(b1, b0);
                // Control frames have no SA.
                b1 = GenWlanFcBit(0, 0x04);
                GenNot(b1);
                GenAnd(b1, b0);
                return b0;

            case QDir.Dst:
                // To DS: DA is addr3.
                b1 = GenWlanFcBit(1, 0x01);
                b0 = GenBcmp(OffsetBase.LinkHeader, 16, 6, eaddr);
                GenAnd(b1, b0);
                // Not To DS: DA is addr1.
                b2 = GenWlanFcBit(1, 0x01);
                GenNot(b2);
                b1 = GenBcmp(OffsetBase.LinkHeader, 4, 6, eaddr);
                GenAnd(b2, b1);
                GenOr(b1, b0);
                b1 = GenWlanFcBit(0, 0x08);
                GenAnd(b1, b0);
                b2 = GenWlanFcBit(0, 0x08);
                GenNot(b2);
                b1 = GenBcmp(OffsetBase.LinkHeader, 4, 6, eaddr);
                GenAnd(b2, b1);
                GenOr(b1, b0);
                b1 = GenWlanFcBit(0, 0x04);
                GenNot(b1);
                GenAnd(b1, b0);
                return b0;

            case QDir.And:
                b0 = GenWlanhostop(eaddr, QDir.Src);
                b1 = GenWlanhostop(eaddr, QDir.Dst);
                GenAnd(b0, b1);
                return b1;

            case QDir.Default:
            case QDir.Or:
                b0 = GenWlanhostop(eaddr, QDir.Src);
                b1 = GenWlanhostop(eaddr, QDir.Dst);
                GenOr(b0, b1);
                return b1;

            case QDir.Addr1:
                return GenBcmp(OffsetBase.LinkHeader, 4, 6, eaddr);

            case QDir.Addr2:
                // Every frame but CTS and ACK control frames has addr2.
                b0 = GenMcmp(OffsetBase.LinkHeader, 0, B, Ieee80211TypeCtl, Ieee80211TypeMask);
                GenNot(b0);
                b1 = GenMcmp(OffsetBase.LinkHeader, 0, B, Ieee80211SubtypeCts, Ieee80211SubtypeMask);
                GenNot(b1);
                b2 = GenMcmp(OffsetBase.LinkHeader, 0, B, Ieee80211SubtypeAck, Ieee80211SubtypeMask);
                GenNot(b2);
                GenAnd(b1, b2);
                GenOr(b0, b2);
                b1 = GenBcmp(OffsetBase.LinkHeader, 10, 6, eaddr);
                GenAnd(b2, b1);
                return b1;

            case QDir.Addr3:
                // Control frames have no addr3.
                b0 = GenMcmp(OffsetBase.LinkHeader, 0, B, Ieee80211TypeCtl, Ieee80211TypeMask);
                GenNot(b0);
                b1 = GenBcmp(OffsetBase.LinkHeader, 16, 6, eaddr);
                GenAnd(b0, b1);
                return b1;

            case QDir.Addr4:
                // Only frames with both DS bits have addr4.
                b0 = GenMcmp(OffsetBase.LinkHeader, 1, B, Ieee80211DirDsToDs, Ieee80211DirMask);
                b1 = GenBcmp(OffsetBase.LinkHeader, 24, 6, eaddr);
                GenAnd(b0, b1);
                return b1;

            case QDir.Ra:
                // Data frames: the receiver is addr1.
                b1 = GenWlanFcBit(0, 0x08);
                b0 = GenBcmp(OffsetBase.LinkHeader, 4, 6, eaddr);
                GenAnd(b1, b0);
                return b0;

            case QDir.Ta:
                b0 = GenMcmp(OffsetBase.LinkHeader, 0, B, Ieee80211TypeCtl, Ieee80211TypeMask);
                GenNot(b0);
                b1 = GenMcmp(OffsetBase.LinkHeader, 0, B, Ieee80211SubtypeCts, Ieee80211SubtypeMask);
                GenNot(b1);
                b2 = GenMcmp(OffsetBase.LinkHeader, 0, B, Ieee80211SubtypeAck, Ieee80211SubtypeMask);
                GenNot(b2);
                GenAnd(b1, b2);
                GenOr(b0, b2);
                b1 = GenWlanFcBit(0, 0x08);
                GenAnd(b1, b2);
                b1 = GenBcmp(OffsetBase.LinkHeader, 10, 6, eaddr);
                GenAnd(b2, b1);
                return b1;

            default:
                throw new InvalidOperationException($"unexpected direction qualifier {dir}");
        }
    }

    private static uint SwapShort(uint v) => (uint)(((v & 0xff) << 8) | ((v >> 8) & 0xff));

    /// <summary>DECnet node address, in long or short data headers, with or without padding.</summary>
    private Block GenDnhostop(uint addr, int dir)
    {
        Block b0, b1, b2, tmp;
        uint offsetLh, offsetSh;
        switch (dir)
        {
            case QDir.Dst:
                offsetSh = 1;
                offsetLh = 7;
                break;
            case QDir.Src:
                offsetSh = 3;
                offsetLh = 15;
                break;
            case QDir.And:
                b0 = GenDnhostop(addr, QDir.Src);
                b1 = GenDnhostop(addr, QDir.Dst);
                GenAnd(b0, b1);
                return b1;
            case QDir.Default:
            case QDir.Or:
                b0 = GenDnhostop(addr, QDir.Src);
                b1 = GenDnhostop(addr, QDir.Dst);
                GenOr(b0, b1);
                return b1;
            default:
                throw NotAnIpQualifier(dir);
        }
        // The address is little-endian in the packet; libpcap's values come out byte-swapped on x86.
        uint swapped = SwapShort(addr & 0xffff);
        b0 = GenLinktype(EtherType.Dn);
        // Padded long header.
        tmp = GenMcmp(OffsetBase.LinkPayload, 2, H, SwapShort(0x0681), SwapShort(0x07FF));
        b1 = GenCmp(OffsetBase.LinkPayload, 2 + 1 + offsetLh, H, swapped);
        GenAnd(tmp, b1);
        // Unpadded long header.
        tmp = GenMcmp(OffsetBase.LinkPayload, 2, B, 0x06, 0x7);
        b2 = GenCmp(OffsetBase.LinkPayload, 2 + offsetLh, H, swapped);
        GenAnd(tmp, b2);
        GenOr(b2, b1);
        // Padded short header.
        tmp = GenMcmp(OffsetBase.LinkPayload, 2, H, SwapShort(0x0281), SwapShort(0x07FF));
        b2 = GenCmp(OffsetBase.LinkPayload, 2 + 1 + offsetSh, H, swapped);
        GenAnd(tmp, b2);
        GenOr(b2, b1);
        // Unpadded short header.
        tmp = GenMcmp(OffsetBase.LinkPayload, 2, B, 0x02, 0x7);
        b2 = GenCmp(OffsetBase.LinkPayload, 2 + offsetSh, H, swapped);
        GenAnd(tmp, b2);
        GenOr(b2, b1);

        GenAnd(b0, b1);
        return b1;
    }

    /// <summary>Protocol test of what follows the bottom MPLS label (by the IP version nibble).</summary>
    private Block GenMplsLinktype(uint llProto)
    {
        Block b0, b1;
        switch (llProto)
        {
            case EtherType.Ip:
                // Bottom-of-stack bit set on the last label, then an IPv4 version nibble.
                b0 = GenMcmp(OffsetBase.LinkPayload, unchecked((uint)-2), B, 0x01, 0x01);
                b1 = GenMcmp(OffsetBase.LinkPayload, 0, B, 0x40, 0xf0);
                GenAnd(b0, b1);
                return b1;
            case EtherType.Ipv6:
                b0 = GenMcmp(OffsetBase.LinkPayload, unchecked((uint)-2), B, 0x01, 0x01);
                b1 = GenMcmp(OffsetBase.LinkPayload, 0, B, 0x60, 0xf0);
                GenAnd(b0, b1);
                return b1;
            default:
                throw Error("unsupported protocol over mpls");
        }
    }
}
