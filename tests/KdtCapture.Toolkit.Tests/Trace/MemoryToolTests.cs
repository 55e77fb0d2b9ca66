using System.Runtime.InteropServices;
using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>oomkill and drsnoop against a process the test starts in a memory cgroup of its
/// own whose limit is below what the process uses.</summary>
public sealed class MemoryToolTests
{
    [DllImport("libc", SetLastError = true)]
    private static extern int posix_fadvise(int fd, long offset, long length, int advice);

    /// <summary>A memory cgroup (v2 where the memory controller is there, else v1) named with the
    /// test's prefix, limited to <c>limit</c> bytes with no swap; removed afterwards.</summary>
    private sealed class MemoryCgroup : IDisposable
    {
        public MemoryCgroup(long limit)
        {
            string name = "kdr-mem-" + Guid.NewGuid().ToString("N")[..8];
            string? v2 = new[] { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" }.FirstOrDefault(root =>
                File.Exists(Path.Combine(root, "cgroup.controllers"))
                && File.ReadAllText(Path.Combine(root, "cgroup.controllers")).Split(' ', '\n').Contains("memory"));
            if (v2 is not null)
            {
                Path_ = Path.Combine(v2, name);
                Directory.CreateDirectory(Path_);
                File.WriteAllText(Path.Combine(Path_, "memory.max"), limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (File.Exists(Path.Combine(Path_, "memory.swap.max")))
                    File.WriteAllText(Path.Combine(Path_, "memory.swap.max"), "0");
            }
            else if (File.Exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
            {
                Path_ = Path.Combine("/sys/fs/cgroup/memory", name);
                Directory.CreateDirectory(Path_);
                File.WriteAllText(Path.Combine(Path_, "memory.limit_in_bytes"), limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
                // memory+swap no higher than memory: no swapping out of the limit.
                if (File.Exists(Path.Combine(Path_, "memory.memsw.limit_in_bytes")))
                    File.WriteAllText(Path.Combine(Path_, "memory.memsw.limit_in_bytes"), limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                Assert.Skip("no memory cgroup controller (v1 or v2) to limit a test process with");
            }
        }

        private string Path_ { get; } = "";

        /// <summary>Runs <paramref name="program"/> with <paramref name="args"/> inside the cgroup (a shell moves
        /// itself in, then execs it: same pid) and waits for it. Returns (pid, exit code).</summary>
        public (int Pid, int ExitCode) Run(string program, params string[] args)
        {
            string quoted = string.Join(' ', args.Select(a => "'" + a + "'"));
            using var p = TraceRun.Start("/bin/sh", "-c", $"echo $$ > '{Path_}/cgroup.procs' && exec '{program}' {quoted}");
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.Id, p.ExitCode);
        }

        /// <summary>memory.stat's counters by name.</summary>
        public Dictionary<string, long> Stat()
        {
            var stat = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (string line in File.ReadAllLines(Path.Combine(Path_, "memory.stat")))
            {
                var f = line.Split(' ');
                if (f.Length == 2 && long.TryParse(f[1], System.Globalization.CultureInfo.InvariantCulture, out long v))
                    stat[f[0]] = v;
            }
            return stat;
        }

        public void Dispose()
        {
            // Emptied when its only process ended; the kernel may take a moment to let it go.
            for (int i = 0; i < 50 && Directory.Exists(Path_); i++)
            {
                try
                {
                    Directory.Delete(Path_);
                }
                catch (IOException)
                {
                    Thread.Sleep(100);
                }
            }
        }
    }

    [Fact]
    public void OomkillNamesTheVictimAndTheTaskThatTriggeredIt()
    {
        var tool = new OomKill();
        TraceRun.SkipUnlessSupported(tool);
        using var cgroup = new MemoryCgroup(16 << 20);
        // tail keeps the current line, and /dev/zero has no newline: it grows until killed.
        string tail = TraceRun.CopyBinary("/usr/bin/tail", "kdr-oom-");
        try
        {
            int pid = 0, exit = 0;
            var events = TraceRun.Json(tool, new TraceToolOptions(), () => (pid, exit) = cgroup.Run(tail, "/dev/zero"));
            Assert.Equal(128 + 9, exit); // the shell's view of SIGKILL
            var e = Assert.Single(events, x => x.GetProperty("victim_pid").GetInt32() == pid);
            string comm = TraceRun.CommOf(tail);
            Assert.Equal(comm, e.GetProperty("victim_comm").GetString());
            // Alone in its cgroup, it is the one whose allocation failed.
            Assert.Equal(pid, e.GetProperty("trigger_pid").GetInt32());
            Assert.Equal(comm, e.GetProperty("trigger_comm").GetString());
            Assert.Equal(0, e.GetProperty("victim_uid").GetInt32());
            // Its address space holds at least the 16 MiB it was charged for.
            Assert.True(e.GetProperty("victim_total_vm_pages").GetInt64() >= (16 << 20) / 4096);
            Assert.Matches(@"^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+/\d+ \d+$", e.GetProperty("loadavg").GetString()!);
        }
        finally
        {
            File.Delete(tail);
        }
    }

    [Fact]
    public void DrsnoopSeesTheCgroupsReaderReclaimPageCache()
    {
        var tool = new DrSnoop();
        TraceRun.SkipUnlessSupported(tool);
        const long Limit = 16 << 20, FileSize = 48 << 20;
        using var cgroup = new MemoryCgroup(Limit);
        string cat = TraceRun.CopyBinary("/bin/cat", "kdr-dr-");
        // The data is a loop device's, read through its own page cache (the loop reads its
        // backing file with direct I/O): every page the reader is charged for is a page the
        // device read, which /sys/block/loopN/stat counts.
        using var loop = new LoopDevice(FileSize, directIo: true);
        string data = loop.Device;
        // Held open so that cat's close is not the device's last (which drops its page cache).
        using var holder = new FileStream(data, FileMode.Open, FileAccess.Read);
        try
        {
            var before = loop.Stat();
            int pid = 0, exit = -1;
            string comm = TraceRun.CommOf(cat);
            var events = TraceRun.Json(tool, new TraceToolOptions { Comm = comm }, () => (pid, exit) = cgroup.Run(cat, data));
            Assert.Equal(0, exit);
            Assert.NotEmpty(events);
            Assert.All(events, e =>
            {
                Assert.Equal(pid, e.GetProperty("pid").GetInt32());
                Assert.Equal(comm, e.GetProperty("comm").GetString());
                Assert.Equal("memcg", e.GetProperty("kind").GetString());
                Assert.True(e.GetProperty("lat_ms").GetDouble() >= 0);
            });
            // The cgroup's own accounting of the same pages: v2 counts them (pgsteal); v1 does
            // not, but every page the device read was charged, and what is no longer cached was reclaimed.
            long pages = events.Sum(e => e.GetProperty("pages").GetInt64());
            var stat = cgroup.Stat();
            long charged = (loop.Stat().SectorsRead - before.SectorsRead) * 512 / 4096;
            long expected = stat.TryGetValue("pgsteal", out long steal) ? steal : charged - stat["cache"] / 4096;
            Assert.True(expected >= (FileSize - Limit) / 4096, $"the cgroup reclaimed only {expected} pages");
            // Alone on the machine the two agree within 2%; when the machine itself runs low,
            // kswapd reclaims some of the cgroup's pages too, and those are not the reader's.
            Assert.InRange(pages, expected / 2, expected * 102 / 100);
        }
        finally
        {
            File.Delete(cat);
        }
    }
}
