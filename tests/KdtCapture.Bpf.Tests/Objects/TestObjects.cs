using System.Diagnostics;
using KdtCapture.Bpf.Objects;

namespace KdtCapture.Bpf.Tests.Objects;

/// <summary>The BPF objects the tests use (native/bpf-progs/tests, embedded in this assembly) and the oracle tools.</summary>
internal static class TestObjects
{
    private static readonly string s_dir = Path.Combine(Path.GetTempPath(), $"kdt-bpf-tests-{Environment.ProcessId}");

    static TestObjects() =>
        // The files handed to the oracle tools go when the test run ends.
        AppDomain.CurrentDomain.ProcessExit += static (_, _) =>
        {
            try
            {
                Directory.Delete(s_dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };

    public static IReadOnlyList<string> TestNames => EmbeddedObjects.NamesIn(typeof(TestObjects).Assembly);

    /// <summary>Every object we build: the test programs and the tap programs of KdtCapture.Bpf.</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> All()
    {
        foreach (var name in TestNames)
            yield return (name, Bytes(name));
        foreach (var name in EmbeddedObjects.Names)
            yield return (name, EmbeddedObjects.Read(name));
    }

    public static byte[] Bytes(string name) => EmbeddedObjects.Read(typeof(TestObjects).Assembly, name);

    public static ObjectSpec Spec(string name) => ObjectSpec.Parse(Bytes(name), name);

    /// <summary>Writes the object to a temporary file, for the oracle tools.</summary>
    public static string FileOf(string name, byte[] bytes)
    {
        // Tests run in parallel: each object is written once, before anyone reads it.
        lock (s_written)
        {
            string path = Path.Combine(s_dir, name + ".bpf.o");
            if (s_written.Add(name))
            {
                Directory.CreateDirectory(s_dir);
                File.WriteAllBytes(path, bytes);
            }
            return path;
        }
    }

    private static readonly HashSet<string> s_written = [];

    public static bool HasTool(string tool) =>
        Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    /// <summary>Runs a tool and returns its stdout; a non-zero exit fails the test with its stderr.</summary>
    public static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return stdout;
    }

    public static void RequireTool(string tool)
    {
        if (!HasTool(tool))
            Assert.Skip($"{tool} is not installed (it is the oracle for this test)");
    }
}
