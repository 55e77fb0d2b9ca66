using System.Diagnostics;
using System.Globalization;
using KdtCapture.Bpf.Programs;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// A tap capture in its own process (this test program, running <see cref="Child_capture"/>) that
/// is stopped by SIGINT/SIGTERM during a flood (the file must be whole) or killed with SIGKILL (no
/// program, map or link of it may stay in the kernel).
/// </summary>
[Collection(KernelTapCollection.Name)]
public sealed class TapProcessTests
{
    private const string ChildVariable = "KDT_TAP_CHILD_DIR";

    /// <summary>The child's side: capture into DIR/capture.pcapng until SIGINT/SIGTERM; DIR/ready holds the port and the kernel object ids.</summary>
    // Not Explicit: test.sh counts a test that did not run as a failure; outside its parent it skips, saying why.
    [Fact]
    public void Child_capture()
    {
        string? dir = Environment.GetEnvironmentVariable(ChildVariable);
        if (dir is null)
            Assert.Skip("runs only as the child process of TapProcessTests");
        int port = int.Parse(File.ReadAllText(Path.Combine(dir, "port")), CultureInfo.InvariantCulture);
        using var source = TapTestKit.Open("tp_btf/net_dev_queue", new TapSourceOptions { Filter = $"udp dst port {port}" });
        var sink = new CaptureFileSink(Path.Combine(dir, "capture.pcapng"));
        using var stop = new StopSignals();
        File.WriteAllText(Path.Combine(dir, "ready.tmp"), string.Join(' ', source.KernelObjectIds));
        File.Move(Path.Combine(dir, "ready.tmp"), Path.Combine(dir, "ready"));
        var result = FramePipeline.Run(source, [sink], stop.Token, new FramePipelineOptions { DropWhenFull = true });
        File.WriteAllText(Path.Combine(dir, "done"), result.FramesDelivered.ToString(CultureInfo.InvariantCulture));
    }

    private sealed class Child : IDisposable
    {
        public Child()
        {
            Dir = Directory.CreateTempSubdirectory("kdt-tap-child-").FullName;
            Port = TapTestKit.FreshPort();
            File.WriteAllText(Path.Combine(Dir, "port"), Port.ToString(CultureInfo.InvariantCulture));
            var psi = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string a in new[] { "-method", typeof(TapProcessTests).FullName + "." + nameof(Child_capture) })
                psi.ArgumentList.Add(a);
            psi.Environment[ChildVariable] = Dir;
            Process = Process.Start(psi)!;
            Process.OutputDataReceived += (_, _) => { };
            Process.ErrorDataReceived += (_, _) => { };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(Dir, "ready")) && !Process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
                Thread.Sleep(20);
            Assert.True(File.Exists(Path.Combine(Dir, "ready")), "the child capture did not start");
            Ids = File.ReadAllText(Path.Combine(Dir, "ready")).Split(' ').Select(s => uint.Parse(s, CultureInfo.InvariantCulture)).ToList();
        }

        public string Dir { get; }
        public int Port { get; }
        public Process Process { get; }
        public List<uint> Ids { get; }
        public string CapturePath => Path.Combine(Dir, "capture.pcapng");

        public void Signal(string signal) =>
            System.Diagnostics.Process.Start("kill", [signal, Process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill();
                Process.WaitForExit();
            }
            Process.Dispose();
            Directory.Delete(Dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("-INT")]
    [InlineData("-TERM")]
    public void Stop_signal_during_a_flood_leaves_a_valid_file(string signal)
    {
        TapTestKit.RequireTaps();
        using var child = new Child();
        using var flooding = new CancellationTokenSource();
        var flood = new Thread(() =>
        {
            while (!flooding.IsCancellationRequested)
                TapTestKit.SendUdp(child.Port, 500, 200);
        });
        flood.Start();
        Thread.Sleep(300);
        child.Signal(signal);
        Assert.True(child.Process.WaitForExit(TimeSpan.FromSeconds(30)), "the child did not stop");
        flooding.Cancel();
        flood.Join();
        Assert.True(File.Exists(Path.Combine(child.Dir, "done")), "the child's pipeline did not finish");
        long delivered = long.Parse(File.ReadAllText(Path.Combine(child.Dir, "done")), CultureInfo.InvariantCulture);
        Assert.True(delivered > 0);
        // capinfos reads the whole file and fails on a cut block; tshark counts its packets.
        TapTestKit.Run("capinfos", child.CapturePath);
        string count = TapTestKit.Run("tshark", "-r", child.CapturePath, "-T", "fields", "-e", "frame.number");
        Assert.Equal(delivered, count.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Kill_9_leaves_no_program_map_or_link_behind()
    {
        TapTestKit.RequireTaps();
        using var child = new Child();
        Assert.NotEmpty(child.Ids);
        var present = BpfObjectIds.Programs().Concat(BpfObjectIds.Maps()).ToHashSet();
        Assert.All(child.Ids, id => Assert.Contains(id, present));
        child.Signal("-KILL");
        child.Process.WaitForExit();
        // The kernel frees them after the last descriptor closes (deferred work): wait until it has.
        var clock = Stopwatch.StartNew();
        List<uint> left;
        do
        {
            var now = BpfObjectIds.Programs().Concat(BpfObjectIds.Maps()).ToHashSet();
            left = child.Ids.Where(now.Contains).ToList();
            if (left.Count == 0) break;
            Thread.Sleep(50);
        }
        while (clock.Elapsed < TimeSpan.FromSeconds(20));
        // A link holds its program: the program's id gone means no link of it is left either (link
        // counts are not compared, other processes may attach meanwhile).
        Assert.Empty(left);
    }
}
