namespace KdtCapture.Toolkit.Hotfix;

/// <summary>
/// A module's version magic, "6.1.0-56-amd64 SMP preempt mod_unload modversions ": the kernel
/// release it was built for, then the configuration words the kernel compares at load. kpatch
/// refuses a module whose release is not the running kernel's; the kernel (with modversions,
/// which checks symbol CRCs instead of the release) compares the words after the release.
/// </summary>
public readonly record struct VerMagic(string Release, string Flags)
{
    public static VerMagic Parse(string text)
    {
        string t = text.Trim();
        int space = t.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? new VerMagic(t, "") : new VerMagic(t[..space], string.Join(' ', t[(space + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
    }

    public override string ToString() => Flags.Length == 0 ? Release : $"{Release} {Flags}";

    /// <summary>
    /// Why a module with this vermagic must not be loaded into a kernel whose release is
    /// <paramref name="runningRelease"/> and whose own modules carry <paramref name="kernelVerMagic"/>
    /// (null when no module of the running kernel could be read), or null when it fits.
    /// </summary>
    public string? Mismatch(string modulePath, string runningRelease, VerMagic? kernelVerMagic)
    {
        if (Release != runningRelease)
            return $"{modulePath} was built for kernel {Release}, and this is {runningRelease}: build the patch against this kernel's headers (linux-headers-{runningRelease})";
        if (kernelVerMagic is { } kernel && kernel.Flags != Flags)
            return $"{modulePath} was built for a kernel configured '{Flags}', and this kernel's modules say '{kernel.Flags}': build the patch against this kernel's own headers";
        return null;
    }
}
