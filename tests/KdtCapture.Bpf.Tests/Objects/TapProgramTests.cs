using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using KdtCapture.Bpf.Objects;
using KdtCapture.Bpf.PerfEvents;
using KdtCapture.Bpf.Ringbuf;

namespace KdtCapture.Bpf.Tests.Objects;

/// <summary>
/// The tap programs of native/bpf-progs (embedded in KdtCapture.Bpf) on loopback traffic: every
/// marked packet arrives once, with its metadata and its bytes as sent.
/// </summary>
public sealed class TapProgramTests
{
    // struct kdt_skb_meta (native/bpf-progs/include/kdt_tap.h), field offsets as declared there.
    private const int MetaSize = 56, LenAt = 16, DataLenAt = 20, IfindexAt = 24, MarkAt = 28, CapLenAt = 32,
        ProtocolAt = 40, DataOffsetAt = 42, MacHeaderAt = 44, NetworkHeaderAt = 46;

    private sealed class Collected
    {
        public required uint Mark;
        public readonly List<byte[]> Frames = [];
        public readonly List<byte[]> Metas = [];
    }

    private static void Collect(Collected into, ReadOnlySpan<byte> record)
    {
        if (record.Length < MetaSize || BinaryPrimitives.ReadUInt32LittleEndian(record[MarkAt..]) != into.Mark)
            return; // other traffic on this machine
        var meta = record[..MetaSize];
        int cap = (int)BinaryPrimitives.ReadUInt32LittleEndian(meta[CapLenAt..]);
        into.Metas.Add(meta.ToArray());
        into.Frames.Add(record.Slice(MetaSize, cap).ToArray());
    }

    /// <summary>Sends marked datagrams whose payload starts with its index; returns the receiver's port and the payloads.</summary>
    private static (int Port, byte[][] Payloads) Send(uint mark, int count, int size)
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.SetRawSocketOption(1, 36, BitConverter.GetBytes(mark)); // SO_MARK
        var payloads = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            payloads[i] = new byte[size];
            Random.Shared.NextBytes(payloads[i]);
            payloads[i][0] = (byte)i;
            sender.SendTo(payloads[i], receiver.LocalEndPoint!);
        }
        return (((IPEndPoint)receiver.LocalEndPoint!).Port, payloads);
    }

    private static void CheckFrames(Collected got, int port, byte[][] payloads, int snapLen)
    {
        Assert.Equal(payloads.Length, got.Frames.Count);
        int lo = int.Parse(File.ReadAllText("/sys/class/net/lo/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        for (int i = 0; i < payloads.Length; i++)
        {
            var meta = got.Metas[i];
            var frame = got.Frames[i];
            int wireLength = 14 + 20 + 8 + payloads[i].Length;
            Assert.Equal((uint)wireLength, BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(LenAt)));
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(DataLenAt)));
            Assert.Equal((uint)lo, BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(IfindexAt)));
            Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(meta.AsSpan(ProtocolAt)));
            ushort mac = BinaryPrimitives.ReadUInt16LittleEndian(meta.AsSpan(MacHeaderAt));
            Assert.Equal(mac, BinaryPrimitives.ReadUInt16LittleEndian(meta.AsSpan(DataOffsetAt)));
            Assert.Equal(mac + 14, BinaryPrimitives.ReadUInt16LittleEndian(meta.AsSpan(NetworkHeaderAt)));
            Assert.Equal(Math.Min(wireLength, snapLen), frame.Length);

            // The frame as it went out: Ethernet (IPv4), IPv4 to 127.0.0.1 carrying UDP, our port, our payload.
            Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
            Assert.Equal(0x45, frame[14]);
            Assert.Equal(17, frame[14 + 9]);
            Assert.Equal(new byte[] { 127, 0, 0, 1 }, frame[(14 + 16)..(14 + 20)]);
            Assert.Equal(port, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + 20 + 2)));
            var payload = frame.AsSpan(42);
            Assert.True(payload.SequenceEqual(payloads[i].AsSpan(0, payload.Length)), $"packet {i}: payload differs");
        }
    }

    [Fact]
    public void Perf_buffer_tap_delivers_each_packet_once_with_its_bytes()
    {
        BpfObjectTests.RequireRoot();
        var spec = EmbeddedObjects.Open("tap_skb_perf");
        const int snapLen = 96;
        spec.RewriteConstant("snap_len", (uint)snapLen);
        using var obj = BpfObject.Load(spec);
        using var reader = new PerfEventArrayReader(obj.Map("events"));
        obj.Attach("tap_net_dev_queue");

        var got = new Collected { Mark = BpfObjectTests.RandomMark() };
        var (port, payloads) = Send(got.Mark, 20, 200);
        // net_dev_queue runs inside sendto on loopback: the samples are in the rings already.
        reader.Poll(got, static (g, _, sample) => Collect(g, sample));
        Assert.Equal(0, reader.LostSamples);
        CheckFrames(got, port, payloads, snapLen);
    }

    [Fact]
    public void Ring_buffer_tap_delivers_each_packet_once_with_its_bytes()
    {
        BpfObjectTests.RequireRoot();
        var spec = EmbeddedObjects.Open("tap_skb_ringbuf");
        using var obj = BpfObject.Load(spec);
        using var reader = new RingBufferReader(obj.Map("ring"));
        obj.Attach("tap_net_dev_queue_ring");

        var got = new Collected { Mark = BpfObjectTests.RandomMark() };
        var (port, payloads) = Send(got.Mark, 20, 300);
        reader.Poll(got, static (g, record) => Collect(g, record));
        CheckFrames(got, port, payloads, 4096);
        var lost = new ulong[Maps.BpfMap.PossibleCpuCount];
        Assert.True(obj.Map("lost").TryLookupPerCpu(0u, lost.AsSpan()));
        Assert.All(lost, n => Assert.Equal(0UL, n)); // the program counts records the ring had no room for
    }
}
