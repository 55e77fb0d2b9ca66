using System.Reflection;

namespace KdtCapture.Cli;

internal static class KdtVersion
{
    /// <summary>The version from the project file (no source revision, so builds are reproducible).</summary>
    public static string Number { get; } =
        typeof(KdtVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? "0.0.0";

    /// <summary>What --version prints.</summary>
    public static string Line => $"kdt version {Number}";
}
