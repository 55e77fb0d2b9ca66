using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using KdtCapture.Bpf.Features;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;
using KdtCapture.Filters;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>Kernel tap tests attach programs to shared tracepoints and count exactly: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelTapCollection
{
    public const string Name = "kernel taps";
}

/// <summary>One frame as a test keeps it.</summary>
public sealed record CapturedFrame(string InterfaceName, LinkType LinkType, byte[] Data, uint OriginalLength, string? Comment, uint? Flags, ulong? PacketId, long TimestampNs);

/// <summary>Copies every frame it is given.</summary>
public sealed class CollectingSink : IFrameSink
{
    private readonly List<CapturedFrame> _frames = [];

    public int Count
    {
        get { lock (_frames) return _frames.Count; }
    }

    public List<CapturedFrame> Frames
    {
        get { lock (_frames) return [.. _frames]; }
    }

    public void Consume(FrameBatch batch, FrameInterfaces interfaces)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            Frame f = batch[i];
            var o = f.Options;
            var frame = new CapturedFrame(interfaces[f.InterfaceIndex].Description.Name ?? "", f.LinkType, f.Data.ToArray(), f.OriginalLength,
                o.IsEmpty ? null : o.Comment, o.IsEmpty ? null : o.Flags, o.IsEmpty ? null : o.PacketId, f.TimestampNanoseconds);
            lock (_frames) _frames.Add(frame);
        }
    }

    public void Complete(FrameInterfaces interfaces)
    {
    }
}

/// <summary>A tap capture running on a background thread until stopped.</summary>
public sealed class RunningCapture : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private FramePipelineResult? _result;
    private Exception? _error;

    /// <param name="options">Default: the source waits for a free batch (frames wait in the kernel's rings),
    /// so a sink thread a busy machine leaves unscheduled costs no frames; tests of pipeline drops pass their own.</param>
    public RunningCapture(TapSource source, FramePipelineOptions? options = null)
    {
        Source = source;
        _thread = new Thread(() =>
        {
            try
            {
                _result = FramePipeline.Run(source, [Sink], _stop.Token, options ?? new FramePipelineOptions { DropWhenFull = false, StopGracePeriod = TimeSpan.FromSeconds(5) });
            }
            catch (Exception e)
            {
                _error = e;
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    public TapSource Source { get; }

    public CollectingSink Sink { get; } = new();

    /// <summary>Waits until <paramref name="count"/> frames arrived (or 15 s passed: the test's count assertion then says what was missing).</summary>
    public void WaitFor(int count)
    {
        var clock = Stopwatch.StartNew();
        while (Sink.Count < count && clock.Elapsed < TimeSpan.FromSeconds(15))
            Thread.Sleep(20);
    }

    public FramePipelineResult Stop()
    {
        _stop.Cancel();
        _thread.Join();
        if (_error is not null)
            throw new InvalidOperationException("the capture failed: " + _error.Message, _error);
        return _result!;
    }

    public void Dispose()
    {
        if (_thread.IsAlive)
        {
            _stop.Cancel();
            _thread.Join();
        }
        Source.Dispose();
        _stop.Dispose();
    }
}

internal static class TapTestKit
{
    public static void RequireTaps()
    {
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip("needs root (CAP_BPF, CAP_PERFMON) to load tap programs");
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
            Assert.Skip("needs kernel BTF (/sys/kernel/btf/vmlinux)");
        if (!BpfFeatures.HasAttachKind(BpfAttachKind.TpBtf))
            Assert.Skip("this kernel does not load tp_btf programs");
    }

    public static TapSource Open(string spec, TapSourceOptions? options = null) =>
        TapSource.Open(TapResolver.ForKernel().Resolve(TapSpec.Parse(spec)), options);

    private static int _port = 20000 + Random.Shared.Next(20000);

    /// <summary>A UDP port no other test uses in this run.</summary>
    public static int FreshPort() => Interlocked.Add(ref _port, 7);

    /// <summary>Sends <paramref name="count"/> datagrams of <paramref name="size"/> bytes to 127.0.0.1:port; returns how many were sent.</summary>
    public static int SendUdp(int port, int count, int size = 64, IPAddress? to = null, bool paced = false)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var target = new IPEndPoint(to ?? IPAddress.Loopback, port);
        byte[] payload = new byte[size];
        int sent = 0;
        for (int i = 0; i < count; i++)
        {
            BitConverter.TryWriteBytes(payload, i);
            payload[4] = 0xd7;
            if (socket.SendTo(payload, target) == size)
                sent++;
            // tcpdump (the oracle) loses bursts in immediate mode; a pause lets it keep up.
            if (paced)
                Thread.Sleep(1);
        }
        return sent;
    }

    /// <summary>Runs a command; returns its standard output, failing the test with its stderr when it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            Assert.Fail($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {error.Trim()}");
        return output;
    }

    /// <summary>Packets of a capture file, read with our reader (pcapng/pcap).</summary>
    public static List<byte[]> ReadPackets(string path)
    {
        var list = new List<byte[]>();
        using var reader = CaptureReader.Open(path);
        while (reader.TryReadPacket(out CapturePacket packet))
            list.Add(packet.Data.ToArray());
        return list;
    }
}

/// <summary>tcpdump capturing on an interface (AF_PACKET) into a file until stopped: the oracle for the bytes.</summary>
public sealed class TcpdumpCapture : IDisposable
{
    private readonly Process _process;

    public TcpdumpCapture(string path, string device, string filter, string? netns = null)
    {
        Path = path;
        var psi = new ProcessStartInfo(netns is null ? "/usr/bin/tcpdump" : "ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        if (netns is not null)
            foreach (string a in new[] { "netns", "exec", netns, "/usr/bin/tcpdump" }) psi.ArgumentList.Add(a);
        foreach (string a in new[] { "-i", device, "--immediate-mode", "-U", "-n", "-w", path, filter }) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        // tcpdump says "listening on" once its socket is bound and filtered.
        string? line;
        while ((line = _process.StandardError.ReadLine()) is not null && !line.Contains("listening on", StringComparison.Ordinal))
        {
        }
        if (line is null)
            throw new InvalidOperationException("tcpdump did not start: " + _process.StandardError.ReadToEnd());
    }

    public string Path { get; }

    /// <summary>What tcpdump said after "listening on" (its counts), once stopped.</summary>
    public string Messages { get; private set; } = "";

    public void Stop()
    {
        if (_process.HasExited) return;
        // SIGINT: tcpdump flushes and closes the file.
        Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        Messages = _process.StandardError.ReadToEnd();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Stop();
        _process.Dispose();
    }
}
