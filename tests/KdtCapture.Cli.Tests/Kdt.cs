namespace KdtCapture.Cli.Tests;

/// <summary>
/// The kdt executable under test: $KDT_BINARY when set (test.sh sets it to what ./kdt built),
/// otherwise what the repository's ./kdt launcher builds, built once per test run.
/// </summary>
public static class Kdt
{
    private static readonly Lazy<string> s_binary = new(Locate, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Binary => s_binary.Value;

    public static ProcessResult Run(params string[] args) => Run(args, environment: null);

    public static ProcessResult Run(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment)
        => ProcessRunner.Run(Binary, args, TimeSpan.FromSeconds(60), environment: environment);

    /// <summary>The repository root: the nearest directory above the tests holding KdtCapture.sln.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string Locate()
    {
        string? given = Environment.GetEnvironmentVariable("KDT_BINARY");
        if (!string.IsNullOrEmpty(given))
        {
            if (!File.Exists(given))
                throw new FileNotFoundException($"KDT_BINARY={given} does not exist");
            return Path.GetFullPath(given);
        }

        // The launcher rebuilds only when sources changed and serializes concurrent builds.
        string launcher = Path.Combine(RepositoryRoot, "kdt");
        var build = ProcessRunner.Run("bash", [launcher, "--version"], TimeSpan.FromMinutes(15), RepositoryRoot);
        if (build.ExitCode != 0)
            throw new InvalidOperationException($"building kdt through {launcher} failed:\n{build}");
        string binary = Path.Combine(RepositoryRoot, ".build", "kdt", "kdt");
        if (!File.Exists(binary))
            throw new FileNotFoundException($"{launcher} ran but {binary} is missing");
        return binary;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KdtCapture.sln")) && File.Exists(Path.Combine(dir.FullName, "kdt")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no KdtCapture.sln above {AppContext.BaseDirectory}");
    }
}
