using System.Runtime.InteropServices;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>
/// The tracefs file system: found in /proc/mounts (or at /sys/kernel/tracing, or debugfs's
/// tracing directory), mounted at /sys/kernel/tracing when absent. Reads and writes its control
/// files with errors turned into one-sentence <see cref="FtraceException"/>s.
/// </summary>
public sealed partial class TraceFs
{
    public const string DefaultMountPoint = "/sys/kernel/tracing";

    /// <summary>The tracefs root (or an instance's directory, for <see cref="Instance"/>).</summary>
    public string Root { get; }

    public TraceFs(string root) => Root = root;

    /// <summary>Finds tracefs, mounting it at /sys/kernel/tracing when it is not mounted.</summary>
    /// <exception cref="FtraceException">No tracefs and it cannot be mounted.</exception>
    public static TraceFs Open()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/mounts"))
            {
                var f = line.Split(' ');
                if (f.Length > 2 && f[2] == "tracefs" && File.Exists(Path.Combine(f[1], "trace")))
                    return new TraceFs(f[1]);
            }
        }
        catch (IOException)
        {
        }
        foreach (var candidate in (string[])[DefaultMountPoint, "/sys/kernel/debug/tracing"])
        {
            if (File.Exists(Path.Combine(candidate, "trace")))
                return new TraceFs(candidate);
        }
        if (Directory.Exists(DefaultMountPoint) && Mount("nodev", DefaultMountPoint, "tracefs", 0, 0) == 0)
            return new TraceFs(DefaultMountPoint);
        int errno = Marshal.GetLastPInvokeError();
        throw new FtraceException($"tracefs is not mounted and mounting it at {DefaultMountPoint} failed ({Marshal.GetPInvokeErrorMessage(errno)}): run as root, or 'mount -t tracefs nodev {DefaultMountPoint}'");
    }

    public string PathOf(string file) => System.IO.Path.Combine(Root, file);

    public bool Exists(string file) => System.IO.Path.Exists(PathOf(file));

    public string Read(string file)
    {
        try
        {
            return File.ReadAllText(PathOf(file));
        }
        catch (UnauthorizedAccessException) when (IsFunctionTracerFile(file))
        {
            throw FunctionTracerRefused(Path.GetFileName(file), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FtraceException($"cannot read {PathOf(file)}: {e.Message}");
        }
    }

    /// <summary>Writes <paramref name="value"/> to a control file in one write(2), as the kernel parses each write alone.</summary>
    public void Write(string file, string value, bool append = false)
    {
        string path = PathOf(file);
        try
        {
            using var stream = new FileStream(path, append ? FileMode.Append : FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite, 1);
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes(value);
            stream.Write(bytes);
        }
        catch (UnauthorizedAccessException) when (IsFunctionTracerFile(file))
        {
            throw FunctionTracerRefused(Path.GetFileName(file), value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FtraceException($"the kernel refused '{value.Trim()}' in {path}: {e.Message}");
        }
    }

    private static bool IsFunctionTracerFile(string file)
        => Path.GetFileName(file) is "current_tracer" or "set_ftrace_filter" or "set_ftrace_notrace" or "set_graph_function" or "set_graph_notrace" or "set_ftrace_pid" or "available_filter_functions";

    /// <summary>The one sentence for kernels (or VMs) that refuse the function tracer with EPERM.</summary>
    public static FtraceException FunctionTracerRefused(string file, string? value)
        => new($"this kernel refuses the function tracer (permission denied {(value is null ? "reading" : $"writing '{value.Trim()}' to")} {file}): trace events instead (kdt ftrace record -e SYSTEM:EVENT, see kdt ftrace list -e), or run on a kernel that allows it, such as the tests/vm guest");

    /// <summary>Tracers this kernel offers (available_tracers).</summary>
    public IReadOnlyList<string> Tracers() => Read("available_tracers").Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Events as SYSTEM:EVENT (available_events).</summary>
    public IReadOnlyList<string> Events() => Read("available_events").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Makes (or reuses) the instance instances/NAME: a ring buffer and controls of its own.</summary>
    public TraceFs Instance(string name)
    {
        string path = PathOf(System.IO.Path.Combine("instances", name));
        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FtraceException($"cannot make tracefs instance {path}: {e.Message} (run as root)");
        }
        return new TraceFs(path);
    }

    /// <summary>Removes an instance made by <see cref="Instance"/> (its events must be off).</summary>
    public void RemoveInstance(string name)
    {
        string path = PathOf(System.IO.Path.Combine("instances", name));
        // The kernel says EBUSY while a reader still holds one of its files open: retry briefly.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                    Directory.Delete(path);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(25);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new FtraceException($"cannot remove tracefs instance {path}: {e.Message}");
            }
        }
    }

    /// <summary>Online CPUs with a per_cpu directory.</summary>
    public int CpuCount()
    {
        int n = 0;
        while (Directory.Exists(PathOf($"per_cpu/cpu{n}")))
            n++;
        return n;
    }

    /// <summary>The format file of SYSTEM:EVENT.</summary>
    public EventFormat Format(string system, string name) => EventFormat.Parse(system, Read($"events/{system}/{name}/format"));

    /// <summary>Turns everything off in this (top or instance) directory: tracer nop, events off, filters cleared, tracing on, as trace-cmd reset does.</summary>
    public void Reset()
    {
        TryWrite("tracing_on", "0");
        TryWrite("current_tracer", "nop");
        TryWrite("events/enable", "0");
        TryWrite("set_event_pid", "");
        TryWrite("set_ftrace_pid", "");
        TryWrite("set_ftrace_filter", "");
        TryWrite("set_ftrace_notrace", "");
        TryWrite("set_graph_function", "");
        foreach (var filter in Directory.Exists(PathOf("events")) ? Directory.EnumerateFiles(PathOf("events"), "filter", SearchOption.AllDirectories) : [])
        {
            try
            {
                if (File.ReadAllText(filter).Trim() != "none")
                    File.WriteAllText(filter, "0");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        TryWrite("trace", "");
        TryWrite("tracing_on", "1");
    }

    private void TryWrite(string file, string value)
    {
        if (!Exists(file))
            return;
        try
        {
            Write(file, value);
        }
        catch (FtraceException)
        {
            // Reset goes on past what this kernel refuses (function tracer files where it is not allowed).
        }
    }

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Mount(string source, string target, string type, ulong flags, nint data);
}
