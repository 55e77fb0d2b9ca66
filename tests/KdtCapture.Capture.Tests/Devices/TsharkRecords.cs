using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;

namespace KdtCapture.Capture.Tests.Devices;

/// <summary>
/// The packets of a capture file as Wireshark's tshark reads them: the oracle for files libpcap
/// (and so SharpPcap) refuses, such as pcapng files whose interfaces differ in link type.
/// </summary>
internal static class TsharkRecords
{
    /// <summary>One packet: epoch time text at ns ("" for a Simple Packet Block), lengths,
    /// Wireshark's encapsulation number, and a digest of the captured bytes.</summary>
    public readonly record struct Record(string Time, int CaptureLength, int PacketLength, int Encapsulation, byte[] Data)
    {
        public string Digest => PacketSeen.DigestOf(Data);
    }

    public static string Path { get; } = "/usr/bin/tshark";

    public static void RequireTshark()
    {
        if (!File.Exists(Path))
            Assert.Skip("needs tshark (apt-get install tshark)");
    }

    /// <summary>Packet records only: pcapng blocks Wireshark shows as frames without an
    /// encapsulation (decryption secrets, custom blocks) are left out.</summary>
    public static List<Record> Read(string file)
    {
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-n", "-r", file, "-T", "json", "-x", "-j", "frame" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string json = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        _ = stderr.Result;
        var list = new List<Record>();
        using JsonDocument doc = JsonDocument.Parse(json);
        foreach (JsonElement packet in doc.RootElement.EnumerateArray())
        {
            JsonElement layers = packet.GetProperty("_source").GetProperty("layers");
            JsonElement frame = layers.GetProperty("frame");
            if (!frame.TryGetProperty("frame.encap_type", out JsonElement encap))
                continue;
            string time = frame.TryGetProperty("frame.time_epoch", out JsonElement t) ? t.GetString()! : "";
            byte[] data = Convert.FromHexString(layers.GetProperty("frame_raw")[0].GetString()!);
            list.Add(new Record(time,
                int.Parse(frame.GetProperty("frame.cap_len").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(frame.GetProperty("frame.len").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(encap.GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                data));
        }
        return list;
    }

    /// <summary>Wireshark's WTAP_ENCAP numbers for the link types the conformance corpus uses,
    /// as the DLT values libpcap (and so SharpPcap) would report.</summary>
    public static PacketDotNet.LinkLayers? LinkLayerOf(int encapsulation) => encapsulation switch
    {
        1 => PacketDotNet.LinkLayers.Ethernet,  // WTAP_ENCAP_ETHERNET
        15 => PacketDotNet.LinkLayers.Null,     // WTAP_ENCAP_NULL
        _ => null,
    };
}
