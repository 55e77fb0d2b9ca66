using System.Runtime.InteropServices;

namespace KdtCapture.Capture.Taps;

internal static unsafe partial class TapNative
{
    /// <summary>if_indextoname(3): the name of interface <paramref name="ifindex"/> in this process's namespace, or null.</summary>
    [LibraryImport("libc", EntryPoint = "if_indextoname")]
    internal static partial byte* IndexToName(uint ifindex, byte* name);
}
