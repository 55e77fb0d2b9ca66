using System.Globalization;
using System.Security.Cryptography;
using SharpPcap;
using SharpPcap.LibPcap;

namespace KdtCapture.Capture.Tests.Devices;

/// <summary>
/// Everything a SharpPcap program can observe while reading a capture device to its end with
/// GetNextPacket: the open error, or every packet (timeval value and text, lengths, the link
/// layer its RawCapture carries, a digest of its bytes) and how the reading ended.
/// </summary>
internal sealed record DeviceRun(string? OpenError, List<PacketSeen> Packets, GetPacketStatus End, string? LastError)
{
    public static DeviceRun Read(ICaptureDevice device, TimestampResolution resolution = TimestampResolution.Microsecond,
        string? filter = null, int limit = int.MaxValue)
    {
        try
        {
            device.Open(new DeviceConfiguration { TimestampResolution = resolution });
        }
        catch (PcapException e)
        {
            return new DeviceRun(Describe(e), [], GetPacketStatus.Error, null);
        }
        try
        {
            if (filter is not null)
                device.Filter = filter;
            var packets = new List<PacketSeen>();
            GetPacketStatus status;
            while ((status = device.GetNextPacket(out PacketCapture e)) == GetPacketStatus.PacketRead && packets.Count < limit)
                packets.Add(PacketSeen.From(e));
            return new DeviceRun(null, packets, status, device.LastError);
        }
        finally
        {
            device.Close();
        }
    }

    public static string Describe(Exception e) => $"{e.GetType().Name}: {e.Message}";

    public override string ToString() => OpenError is not null
        ? "open failed: " + OpenError
        : $"{Packets.Count} packets, then {End} ('{LastError}')";
}

/// <summary>One packet as a SharpPcap program sees it: header, data, and the RawCapture it makes.</summary>
internal sealed record PacketSeen(decimal Timeval, string TimevalText, uint CaptureLength, uint PacketLength,
    int DataLength, PacketDotNet.LinkLayers LinkLayer, string Digest)
{
    public static PacketSeen From(PacketCapture e)
    {
        var header = (PcapHeader)e.Header;
        RawCapture raw = e.GetPacket();
        return new PacketSeen(header.Timeval.Value, header.Timeval.ToString(), header.CaptureLength, header.PacketLength,
            e.Data.Length, raw.LinkLayerType, DigestOf(e.Data));
    }

    public static string DigestOf(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data))[..16];

    /// <summary>Everything but the timestamp.</summary>
    public PacketSeen WithoutTime => this with { Timeval = 0, TimevalText = "" };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{TimevalText} cap={CaptureLength} len={PacketLength} data={DataLength} link={LinkLayer} {Digest}");
}
