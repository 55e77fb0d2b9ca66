using System.Diagnostics;

namespace KdtCapture.Bpf.Tests.Kernel;

/// <summary>Kernel-object tests run alone (no other test opens BPF objects meanwhile), so descriptor counts are exact.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelObjectCollection
{
    public const string Name = "kernel objects";
}

/// <summary>
/// Base of the tests that create kernel objects: skips without root, and fails a test that leaves
/// a BPF, perf, epoll or eventfd descriptor open (counted in /proc/self/fd before and after).
/// </summary>
[Collection(KernelObjectCollection.Name)]
public abstract class KernelObjectTest : IDisposable
{
    private readonly int _descriptorsBefore;

    static KernelObjectTest()
    {
        // The runtime opens its socket engine's epoll descriptor with the first socket, once per
        // process; open it now so that it is not counted against the first test using a socket.
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
    }

    protected KernelObjectTest()
    {
        _descriptorsBefore = CountKernelObjectDescriptors();
    }

    protected static void RequireRoot()
    {
        if (!KernelFacts.IsRoot)
            Assert.Skip("needs root (CAP_BPF, CAP_PERFMON) to create BPF objects");
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        int after = CountKernelObjectDescriptors();
        // Fewer is fine: a finalizer of another test's forgotten object may close one meanwhile.
        Assert.True(after <= _descriptorsBefore,
            $"descriptor leak: {after - _descriptorsBefore} BPF/perf/epoll/eventfd descriptors left open by the test ({Describe()})");
    }

    /// <summary>Descriptors of anon inodes the runtime creates: bpf-map, bpf-prog, bpf_link, perf_event, eventpoll, eventfd, btf.</summary>
    public static int CountKernelObjectDescriptors()
    {
        int count = 0;
        foreach (string target in DescriptorTargets())
        {
            if (IsKernelObject(target))
                count++;
        }
        return count;
    }

    private static bool IsKernelObject(string target) =>
        target.StartsWith("anon_inode:", StringComparison.Ordinal) &&
        (target.Contains("bpf", StringComparison.Ordinal) || target.Contains("perf_event", StringComparison.Ordinal) ||
         target.Contains("eventpoll", StringComparison.Ordinal) || target.Contains("eventfd", StringComparison.Ordinal) ||
         target.Contains("btf", StringComparison.Ordinal));

    private static string Describe() => string.Join(", ", DescriptorTargets().Where(IsKernelObject).GroupBy(t => t).Select(g => $"{g.Key}×{g.Count()}"));

    private static IEnumerable<string> DescriptorTargets()
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target = null;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
            }
            if (target is not null)
                yield return target;
        }
    }

    /// <summary>Runs a tool and returns its standard output; fails the test on a non-zero exit.</summary>
    public static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {stderr.Result}");
        return stdout;
    }

    public static string? FindTool(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/sbin").Append("/sbin"))
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path))
                return path;
        }
        return null;
    }
}
