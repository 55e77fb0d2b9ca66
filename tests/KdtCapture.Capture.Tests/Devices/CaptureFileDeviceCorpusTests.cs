using System.Text;
using KdtCapture.Capture.Devices;
using SharpPcap;
using SharpPcap.LibPcap;

namespace KdtCapture.Capture.Tests.Devices;

/// <summary>
/// CaptureFileDevice against SharpPcap's own CaptureFileReaderDevice (libpcap 1.10 underneath)
/// on every capture of tcpdump's test corpus: what a SharpPcap program sees must be the same:
/// open errors, packets (timestamps at both resolutions, lengths, bytes, link layers), how the
/// file ends and LastError, with and without filters.
/// </summary>
public sealed class CaptureFileDeviceCorpusTests
{
    [Theory]
    [InlineData(TimestampResolution.Microsecond)]
    [InlineData(TimestampResolution.Nanosecond)]
    public void EveryTcpdumpCaptureReadsAsSharpPcapReadsIt(TimestampResolution resolution)
    {
        var failures = new StringBuilder();
        int files = 0, packets = 0, signedTimes = 0;
        foreach (string file in DeviceCorpora.TcpdumpCaptures())
        {
            DeviceRun libpcap = DeviceRun.Read(new CaptureFileReaderDevice(file), resolution);
            DeviceRun ours = DeviceRun.Read(new CaptureFileDevice(file), resolution);
            files++;
            packets += libpcap.Packets.Count;
            string? why = Compare(file, resolution, libpcap, ours, ref signedTimes);
            if (why is not null)
                failures.AppendLine($"{Path.GetFileName(file)}: {why}");
        }
        Assert.True(files > 700, $"only {files} captures found");
        Assert.True(failures.Length == 0, $"{files} files, {packets} packets; differences:\n{failures}");
        // The corpus has captures after 2038 and with invalid fractions, so the signed-field rule was exercised.
        Assert.True(signedTimes > 0, "no timestamp needed the unsigned reading");
    }

    [Fact]
    public void FiltersSelectWhatLibpcapSelects()
    {
        string[] expressions =
        [
            "tcp", "udp port 53", "ip6", "arp or rarp", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "vlan and ip",
            "icmp or icmp6", "len > 100", "greater 1000", "ether broadcast", "not ip", "ip broadcast",
            "portrange 1-1024", "net 10.0.0.0/8", "mpls", "pppoes", "ip[6:2] & 0x1fff != 0", "inbound",
            "ether[0] & 1 = 0", "ip multicast", "udp and ip6 multicast", "tcp port 80 or tcp port 443",
        ];
        var failures = new StringBuilder();
        int runs = 0, matched = 0, errors = 0, signedTimes = 0;
        string[] captures = DeviceCorpora.TcpdumpCaptures();
        // Every third capture keeps the run short and still spans every link type of the corpus.
        for (int i = 0; i < captures.Length; i += 3)
        {
            string file = captures[i];
            foreach (string expression in expressions)
            {
                DeviceRun libpcap = ReadFiltered(new CaptureFileReaderDevice(file), expression);
                DeviceRun ours = ReadFiltered(new CaptureFileDevice(file), expression);
                runs++;
                matched += libpcap.Packets.Count;
                if (libpcap.LastError?.Length > 0 && libpcap.Packets.Count == 0) errors++;
                string? why = Compare(file, TimestampResolution.Microsecond, libpcap, ours, ref signedTimes);
                if (why is not null)
                    failures.AppendLine($"{Path.GetFileName(file)} '{expression}': {why}");
            }
        }
        Assert.True(failures.Length == 0, $"{runs} runs, {matched} packets matched; differences:\n{failures}");
        Assert.True(matched > 1000 && errors > 0, $"{matched} matches, {errors} compile errors: the set should exercise both");
    }

    /// <summary>Reads with a filter; a filter that does not compile ends the run with its exception.</summary>
    private static DeviceRun ReadFiltered(ICaptureDevice device, string expression)
    {
        try
        {
            device.Open();
        }
        catch (PcapException e)
        {
            return new DeviceRun(DeviceRun.Describe(e), [], GetPacketStatus.Error, null);
        }
        try
        {
            try
            {
                device.Filter = expression;
            }
            catch (PcapException e)
            {
                return new DeviceRun(null, [], GetPacketStatus.Error, DeviceRun.Describe(e) + " | LastError " + device.LastError + " | Filter " + device.Filter);
            }
            var packets = new List<PacketSeen>();
            GetPacketStatus status;
            while ((status = device.GetNextPacket(out PacketCapture e)) == GetPacketStatus.PacketRead)
                packets.Add(PacketSeen.From(e));
            return new DeviceRun(null, packets, status, device.LastError);
        }
        finally
        {
            device.Close();
        }
    }

    /// <summary>Null when the runs agree. Timestamps may differ only where libpcap read a pcap
    /// record's 32-bit fields as signed and we read them as unsigned, checked against the raw
    /// bytes of a record of the file (which one is not known once a filter has dropped some).</summary>
    internal static string? Compare(string file, TimestampResolution resolution, DeviceRun libpcap, DeviceRun ours, ref int signedTimes)
    {
        if (libpcap.OpenError != ours.OpenError)
            return $"open: libpcap '{libpcap.OpenError}', ours '{ours.OpenError}'";
        if (libpcap.End != ours.End || libpcap.LastError != ours.LastError)
            return $"end: libpcap {libpcap}, ours {ours}";
        if (libpcap.Packets.Count != ours.Packets.Count)
            return $"libpcap {libpcap}, ours {ours}";
        List<RawPcapRecords.Stamp>? raw = null;
        bool rawRead = false;
        for (int i = 0; i < libpcap.Packets.Count; i++)
        {
            PacketSeen a = libpcap.Packets[i], b = ours.Packets[i];
            if (a == b)
                continue;
            if (a.WithoutTime != b.WithoutTime)
                return $"packet {i}: libpcap {a}, ours {b}";
            if (!rawRead)
            {
                raw = RawPcapRecords.Read(file);
                rawRead = true;
            }
            if (raw is null || !raw.Exists(r => r.Signed(resolution) == a.Timeval && r.Unsigned(resolution) == b.Timeval))
                return $"packet {i} time: libpcap {a.TimevalText}, ours {b.TimevalText}";
            signedTimes++;
        }
        return null;
    }
}
