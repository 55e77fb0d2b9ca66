namespace KdtCapture.Capture.Internal.Sys;

/// <summary>IFF_* bits of /sys/class/net/IFACE/flags (linux/if.h).</summary>
[Flags]
internal enum InterfaceFlags : uint
{
    None = 0,
    UP = 0x1,
    LOOPBACK = 0x8,
    RUNNING = 0x40,
}
