using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace KdtCapture.Testing;

/// <summary>What a command run in the guest left behind.</summary>
public sealed record VmResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    /// <summary>The command did not finish in time; the harness powered the guest off.</summary>
    public bool TimedOut => ExitCode == VmHarness.ExitTimeout;

    public override string ToString() =>
        $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs commands in the QEMU guest of tests/vm/run (Debian 12's 6.1 kernel with fentry,
/// kprobes, the function tracer, modules and livepatch; this machine's root and the repository
/// at their own paths). The contract is in tests/vm/README.md: exit 77 means the harness cannot
/// run here and tests skip; any other failure of the harness is a test failure.
/// </summary>
public static class VmHarness
{
    public const int ExitUnavailable = 77;
    public const int ExitTimeout = 124;
    public const int ExitGuestFailed = 125;

    /// <summary>
    /// The trait of tests that need a kernel this machine may lack (fentry, fexit, kprobes, modules):
    /// <c>[Trait(VmHarness.KernelTrait, VmHarness.GuestKernel)]</c>. They skip where the kernel refuses
    /// them; tests/vm/guest-suite (which test.sh runs) runs exactly these in the guest.
    /// </summary>
    public const string KernelTrait = "Kernel";

    /// <summary>The value of <see cref="KernelTrait"/> for tests the guest suite runs.</summary>
    public const string GuestKernel = "guest";

    /// <summary>Set in the guest's environment for every command the harness runs.</summary>
    public const string GuestVariable = "KDT_VM_GUEST";

    private static readonly Lazy<(bool Available, string Reason)> Availability = new(Check);

    /// <summary>True when this process already runs inside the harness's guest.</summary>
    public static bool IsGuest => Environment.GetEnvironmentVariable(GuestVariable) == "1";

    /// <summary>
    /// Whether the guest can be booted here: tests/vm/run --check (which installs and caches the
    /// packages, the kernel and the initramfs on first use) answered 0. False with the harness's
    /// reason when it answered 77 or when this already is the guest (no emulation inside emulation).
    /// </summary>
    /// <exception cref="InvalidOperationException">The harness is there but broken.</exception>
    public static bool IsAvailable(out string reason)
    {
        (var available, reason) = Availability.Value;
        return available;
    }

    /// <summary>Runs COMMAND (program and arguments, no shell) in a fresh guest.</summary>
    public static VmResult Run(IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Run(command, timeout, environment: null, cancellationToken);

    /// <summary>Runs a bash script in a fresh guest, from the current directory.</summary>
    public static VmResult RunScript(string script, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Run(["bash", "-c", script], timeout, environment: null, cancellationToken);

    /// <summary>
    /// Runs COMMAND in a fresh guest with the given environment variables added, waiting at most
    /// <paramref name="timeout"/> for the command (the boot, some 20 s, comes on top).
    /// <paramref name="cpus"/> sets the guest's vCPUs (KDT_VM_CPUS; default 2).
    /// </summary>
    public static VmResult Run(IReadOnlyList<string> command, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken = default, int? cpus = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(command.Count);
        var seconds = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        var arguments = new List<string> { "--timeout", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (environment != null)
        {
            foreach (var (name, value) in environment)
            {
                arguments.Add("-e");
                arguments.Add($"{name}={value}");
            }
        }
        arguments.Add("--");
        arguments.AddRange(command);
        // The script powers the guest off at the timeout; this is the guard should the script hang.
        return Execute(arguments, timeout + TimeSpan.FromSeconds(120), cpus, cancellationToken);
    }

    /// <summary>
    /// Runs test class <paramref name="testClass"/> of this test executable in a fresh guest (as root,
    /// with <paramref name="cpus"/> vCPUs) and returns each test's name, result ("Pass", "Fail", "Skip")
    /// and details (message, output) from the xUnit XML report the guest run wrote.
    /// </summary>
    /// <exception cref="InvalidOperationException">The guest printed no report (the run is in the message).</exception>
    public static (IReadOnlyList<(string Name, string Result, string Details)> Tests, VmResult Run) RunTestClass(
        Type testClass, TimeSpan timeout, CancellationToken cancellationToken = default, int? cpus = null)
    {
        string process = Environment.ProcessPath!;
        // Under "dotnet test-assembly.dll" the host is dotnet; an apphost runs on its own.
        string self = Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? $"'{process}' '{testClass.Assembly.Location}'" : $"'{process}'";
        string report = $"/tmp/guest-{testClass.Name}.xml";
        var result = Run(["bash", "-c", $"{self} -noColor -class {testClass.FullName} -xml {report} >&2; echo @@xml; cat {report}"],
            timeout, environment: null, cancellationToken, cpus);
        int at = result.Stdout.IndexOf("@@xml", StringComparison.Ordinal);
        if (at < 0)
            throw new InvalidOperationException($"the guest printed no report: {result}");
        var tests = new List<(string, string, string)>();
        foreach (var test in System.Xml.Linq.XDocument.Parse(result.Stdout[(at + 5)..].Trim()).Descendants("test"))
            tests.Add(((string?)test.Attribute("name") ?? "", (string?)test.Attribute("result") ?? "",
                string.Join('\n', test.Descendants().Select(e => e.Value))));
        return (tests, result);
    }

    /// <summary>The harness script: $KDT_VM_RUN, else tests/vm/run of the repository these tests come from.</summary>
    public static string Script => ScriptPath.Value;

    private static readonly Lazy<string> ScriptPath = new(FindScript);

    private static string FindScript()
    {
        var configured = Environment.GetEnvironmentVariable("KDT_VM_RUN");
        if (!string.IsNullOrEmpty(configured))
            return configured;
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory, SourceDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "vm", "run");
                if (File.Exists(candidate))
                    return candidate;
            }
        }
        return Path.Combine(SourceDirectory(), "..", "vm", "run");
    }

    // Test binaries may be built outside the repository (--artifacts-path): the source file's
    // own location still leads to it.
    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path) ?? ".";

    private static (bool, string) Check()
    {
        if (IsGuest)
            return (false, "this already runs inside the VM guest (tests/vm); the guest boots no guest of its own");
        if (!OperatingSystem.IsLinux())
            return (false, "the VM harness (tests/vm) runs on Linux only");
        var script = Script;
        if (!File.Exists(script))
            return (false, $"the VM harness script {script} is missing");
        var result = Execute(["--check"], TimeSpan.FromMinutes(20), cpus: null, CancellationToken.None);
        if (result.ExitCode == 0)
            return (true, "");
        var reason = LastLine(result.Stderr);
        if (result.ExitCode == ExitUnavailable)
            return (false, reason.Length > 0 ? reason : "tests/vm/run --check: the harness is unavailable here");
        throw new InvalidOperationException($"tests/vm/run --check failed: {result}");
    }

    private static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "" : lines[^1];
    }

    private static VmResult Execute(IReadOnlyList<string> arguments, TimeSpan limit, int? cpus, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Script)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (cpus is int n)
            start.Environment["KDT_VM_CPUS"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Script}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limitSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limitSource.CancelAfter(limit);
        try
        {
            process.WaitForExitAsync(limitSource.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            // SIGKILL on the whole tree: the script's qemu dies with it (parent-death signal).
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            if (cancellationToken.IsCancellationRequested)
                throw;
            return new VmResult(ExitTimeout, stdout.GetAwaiter().GetResult(),
                stderr.GetAwaiter().GetResult() + $"\ntests/vm/run did not exit within {limit.TotalSeconds:F0} s and was killed",
                stopwatch.Elapsed);
        }
        process.WaitForExit();
        return new VmResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult(), stopwatch.Elapsed);
    }
}
