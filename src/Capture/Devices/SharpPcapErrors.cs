using System.Runtime.CompilerServices;
using SharpPcap;

namespace KdtCapture.Capture.Devices;

/// <summary>
/// SharpPcap's own exception types, made as SharpPcap makes them. Their constructors are
/// internal to SharpPcap, yet a device that stands in for SharpPcap's must throw exactly them:
/// programs catch <see cref="PcapException"/> and <see cref="DeviceNotReadyException"/>.
/// UnsafeAccessor reaches the constructors without reflection, so this stays Native AOT safe.
/// </summary>
internal static class SharpPcapErrors
{
    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    private static extern PcapException NewPcapException(string message);

    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    private static extern DeviceNotReadyException NewDeviceNotReadyException(string message);

    /// <summary>A <see cref="PcapException"/> with <see cref="PcapError.Generic"/>, as libpcap failures raise.</summary>
    public static PcapException Pcap(string message) => NewPcapException(message);

    public static DeviceNotReadyException NotReady(string message) => NewDeviceNotReadyException(message);

    public static InvalidOperationDuringBackgroundCaptureException DuringBackgroundCapture(string message) => new(message);
}
