namespace KdtCapture.Capture.Interfaces;

/// <summary>Why a network interface cannot be captured on.</summary>
public enum CaptureDeviceError
{
    /// <summary>No interface has that name (libpcap's PCAP_ERROR_NO_SUCH_DEVICE).</summary>
    NoSuchDevice,
    /// <summary>The interface exists but is administratively down (PCAP_ERROR_IFACE_NOT_UP).</summary>
    NotUp,
    /// <summary>The interface's link layer cannot be captured (e.g. an unknown DSA tag).</summary>
    Unsupported,
}

/// <summary>
/// A network interface cannot be captured on. <see cref="Exception.Message"/> is libpcap's
/// wording without the interface name (e.g. "No such device exists"), so a tool can print
/// "IFACE: message" as tcpdump does.
/// </summary>
public sealed class CaptureDeviceException : Exception
{
    public CaptureDeviceException(string interfaceName, CaptureDeviceError error, string message)
        : base(message)
    {
        InterfaceName = interfaceName;
        Error = error;
    }

    public string InterfaceName { get; }

    public CaptureDeviceError Error { get; }
}
