namespace KdtCapture.Bpf.Tests;

/// <summary>What the running kernel offers the tests, so those that need more skip with the reason.</summary>
internal static class KernelFacts
{
    public const string VmlinuxBtfPath = "/sys/kernel/btf/vmlinux";

    public static bool HasVmlinuxBtf => File.Exists(VmlinuxBtfPath);

    public static bool IsRoot => Environment.UserName == "root" || geteuid() == 0;

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();
}
