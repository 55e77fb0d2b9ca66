using System.Diagnostics;
using KdtCapture.Cli.Psi;
using KdtCapture.Toolkit.Psi;

namespace KdtCapture.Toolkit.Tests.Psi;

/// <summary>
/// A trigger fires under CPU pressure the test makes: one busy loop in a cgroup of its own, throttled
/// to 10% of a CPU (cpu.max on cgroup v2, cpu.cfs_quota_us on a hybrid system's v1 cpu controller),
/// stalls about 90% of the time, which the kernel counts as cpu "some" pressure of that cgroup.
/// </summary>
public sealed class PsiTriggerTests
{
    [Fact]
    public void TriggerFiresUnderCpuThrottling()
    {
        using var pressure = ThrottledCgroup.TryCreate(out string? why);
        if (pressure is null)
            Assert.Skip(why!);

        var spec = PsiTriggerSpec.Parse("cpu some 100ms 2s");
        using var trigger = PsiTrigger.Register(spec, pressure.CgroupV2);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        pressure.Start();
        var before = Pressure.Read(pressure.CgroupV2).Single(r => r.Resource == PressureResource.Cpu).Some.TotalMicroseconds;
        int fired = PsiTrigger.WaitAny([trigger], timeout.Token);
        var after = Pressure.Read(pressure.CgroupV2).Single(r => r.Resource == PressureResource.Cpu).Some.TotalMicroseconds;

        Assert.Equal(0, fired);
        // The event means at least 100 ms of stall within two seconds: the total must have moved.
        Assert.True(after > before, $"cpu some total stayed at {before} µs although the trigger fired");
    }

    [Fact]
    public void KdtPsiPrintsTriggerEventsAndRunsExec()
    {
        using var pressure = ThrottledCgroup.TryCreate(out string? why);
        if (pressure is null)
            Assert.Skip(why!);

        string marker = Path.Combine(Path.GetTempPath(), $"kdf-psi-exec-{Environment.ProcessId}");
        File.Delete(marker);
        pressure.Start();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int status = PsiCommand.Run(["--cgroup", pressure.CgroupV2, "--trigger", "cpu some 100ms 2s", "-c", "2",
            "--exec", $"echo \"$KDT_PSI_TRIGGER\" >> {marker}"], stdout, stderr, timeout.Token);
        try
        {
            Assert.Equal(0, status);
            Assert.False(timeout.IsCancellationRequested, "no two trigger events within 20 s (the kernel checks unprivileged triggers every 2 s)");
            var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.All(lines, l => Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} cpu some 100ms 2s: avg10=", l));
            Assert.Equal(["cpu some 100ms 2s", "cpu some 100ms 2s"], File.ReadAllLines(marker));
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Fact]
    public void AWindowTheKernelRefusesWithoutCapSysResourceSaysWhatItTakes()
    {
        if (PsiTrigger.HasSysResource())
            Assert.Skip("this process has CAP_SYS_RESOURCE: the kernel takes any window from 500ms to 10s");
        if (!File.Exists("/proc/pressure/memory"))
            Assert.Skip("this kernel has no /proc/pressure");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = PsiCommand.Run(["--trigger", "memory some 150ms 1s"], stdout, stderr, CancellationToken.None);
        Assert.Equal(1, status);
        Assert.Equal("kdt psi: the kernel refused trigger 'memory some 150ms 1s': without CAP_SYS_RESOURCE it takes only windows that are multiples of 2s (e.g. 'memory some 150ms 2s')\n",
            stderr.ToString());
    }

    private sealed class ThrottledCgroup : IDisposable
    {
        private readonly string? _cpuV1;
        private Process? _busy;

        public string CgroupV2 { get; }

        private ThrottledCgroup(string v2, string? cpuV1)
        {
            CgroupV2 = v2;
            _cpuV1 = cpuV1;
        }

        public static ThrottledCgroup? TryCreate(out string? why)
        {
            why = null;
            if (Environment.UserName != "root")
            {
                why = "making cgroups needs root";
                return null;
            }
            string? v2Root = null, cpuV1Root = null;
            foreach (var line in File.ReadAllLines("/proc/mounts"))
            {
                var f = line.Split(' ');
                if (f[2] == "cgroup2")
                    v2Root ??= f[1];
                else if (f[2] == "cgroup" && f[3].Split(',').Contains("cpu"))
                    cpuV1Root ??= f[1];
            }
            if (v2Root is null || !File.Exists(Path.Combine(v2Root, "cpu.pressure")))
            {
                why = "no cgroup v2 hierarchy with PSI is mounted";
                return null;
            }
            bool v2Cpu = File.ReadAllText(Path.Combine(v2Root, "cgroup.subtree_control")).Split(' ', '\n').Contains("cpu");
            if (!v2Cpu && cpuV1Root is null)
            {
                why = "no cpu controller to throttle with (neither in the cgroup v2 subtree nor mounted as v1)";
                return null;
            }
            string name = $"kdf-psi-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24];
            string v2 = Path.Combine(v2Root, name);
            Directory.CreateDirectory(v2);
            string? v1 = null;
            if (v2Cpu)
            {
                File.WriteAllText(Path.Combine(v2, "cpu.max"), "10000 100000");
            }
            else
            {
                v1 = Path.Combine(cpuV1Root!, name);
                Directory.CreateDirectory(v1);
                File.WriteAllText(Path.Combine(v1, "cpu.cfs_period_us"), "100000");
                File.WriteAllText(Path.Combine(v1, "cpu.cfs_quota_us"), "10000");
            }
            return new ThrottledCgroup(v2, v1);
        }

        public void Start()
        {
            _busy = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "while :; do :; done"]) { UseShellExecute = false })!;
            string pid = _busy.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            File.WriteAllText(Path.Combine(CgroupV2, "cgroup.procs"), pid);
            if (_cpuV1 is not null)
                File.WriteAllText(Path.Combine(_cpuV1, "cgroup.procs"), pid);
        }

        public void Dispose()
        {
            if (_busy is not null)
            {
                _busy.Kill();
                _busy.WaitForExit();
                _busy.Dispose();
            }
            // A cgroup can be removed once its last task has been reaped.
            for (int attempt = 0; attempt < 50; attempt++)
            {
                try
                {
                    if (_cpuV1 is not null && Directory.Exists(_cpuV1))
                        Directory.Delete(_cpuV1);
                    if (Directory.Exists(CgroupV2))
                        Directory.Delete(CgroupV2);
                    return;
                }
                catch (IOException)
                {
                    Thread.Sleep(20);
                }
            }
        }
    }
}
