// A SharpPcap program that captures inside the kernel. Run as root:
//   dotnet run --project samples/TapDeviceSample -- [TAP] [FILTER] [COUNT]
//   dotnet run --project samples/TapDeviceSample -- tp_btf/net_dev_queue 'icmp' 5
// With no TAP it lists the taps this kernel offers.
using KdtCapture.Capture.Devices;
using PacketDotNet;
using SharpPcap;

if (args.Length == 0)
{
    // As CaptureDeviceList.Instance lists interfaces.
    foreach (KdtTapDevice tap in KdtTapDeviceList.Instance)
        Console.WriteLine($"{tap.Name,-26} {tap.Description}");
    return 0;
}

string filter = args.Length > 1 ? args[1] : "";
int count = args.Length > 2 && int.TryParse(args[2], out int n) && n > 0 ? n : 5;

try
{
    // 1. SharpPcap's event API. The only kdt-specific line is the one that picks the device;
    //    `ICaptureDevice device = CaptureDeviceList.Instance["eth0"]` would capture at an interface.
    ICaptureDevice device = new KdtTapDevice(args[0]);
    using var arrived = new CountdownEvent(count);
    device.OnPacketArrival += (_, e) =>
    {
        RawCapture raw = e.GetPacket();
        Console.WriteLine($"event: {raw.Timeval.Date:HH:mm:ss.ffffff} {raw.LinkLayerType} {Packet.ParsePacket(raw.LinkLayerType, raw.Data)}");
        if (!arrived.IsSet)
            arrived.Signal();
    };
    device.Open(new DeviceConfiguration { Immediate = true });
    device.Filter = filter;
    device.StartCapture();
    arrived.Wait(TimeSpan.FromSeconds(30));
    device.StopCapture();
    Console.WriteLine($"statistics: {device.Statistics}");
    device.Close();

    // 2. The async API: packets are views into the capture buffer (no allocation per packet);
    //    GetPacket() copies one when it must outlive the loop.
    using var tapDevice = new KdtTapDevice(args[0]);
    tapDevice.Open(new DeviceConfiguration { Immediate = true });
    tapDevice.Filter = filter;
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };
    int seen = 0;
    await foreach (TapPacket packet in tapDevice.CaptureAsync(stop.Token))
    {
        Console.WriteLine($"async: {packet.Timestamp} {packet.LinkType} {packet.Data.Length} bytes, {packet.Comment}");
        if (++seen == count)
            break;
    }
    return 0;
}
catch (Exception e) when (e is PcapException or ArgumentException)
{
    Console.Error.WriteLine($"TapDeviceSample: {e.Message}");
    return 1;
}
