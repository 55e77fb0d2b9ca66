using System.Globalization;
using System.Runtime.InteropServices;
using KdtCapture.Toolkit.Trace;
using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>biolatency against O_DIRECT writes to a loop device of the test's own, checked
/// against the device's /sys/block/loopN/stat (the kernel's count of the same requests).</summary>
public sealed class BioLatencyTests
{
    private const int Writes = 16;
    private const int WriteSize = 64 * 1024;

    [Fact]
    public void PerDiskCountsAreTheLoopDevicesCompletedRequests()
    {
        var tool = new BioLatency();
        TraceRun.SkipUnlessSupported(tool);
        using var loop = new LoopDevice(8 << 20);
        string heatmap = Path.Combine(Path.GetTempPath(), "kdr-bio-" + Guid.NewGuid().ToString("N")[..8] + ".svg");
        var outerBefore = loop.Stat();
        (long Requests, long Writes, long SectorsWritten, long SectorsRead) innerBefore = default, innerAfter = default;
        try
        {
            var result = TraceRun.Json(tool, new TraceToolOptions { PerDisk = true, HeatmapPath = heatmap }, () =>
            {
                innerBefore = loop.Stat();
                loop.DirectWrites(Writes, WriteSize);
                innerAfter = loop.Stat();
            });
            var outerAfter = loop.Stat();
            // The kernel completed exactly our writes, each one request of 64 KiB.
            Assert.Equal(Writes, innerAfter.Writes - innerBefore.Writes);
            Assert.Equal(Writes * WriteSize / 512, innerAfter.SectorsWritten - innerBefore.SectorsWritten);
            var summary = Assert.Single(result);
            Assert.Equal("usecs", summary.GetProperty("unit").GetString());
            var hists = summary.GetProperty("histograms").EnumerateArray().ToList();
            var ours = Assert.Single(hists, h => h.GetProperty("name").GetString() == loop.Name);
            Assert.InRange(ours.GetProperty("total").GetInt64(), innerAfter.Requests - innerBefore.Requests, outerAfter.Requests - outerBefore.Requests);
            // Its number is the device's: MKDEV(major, minor) as the kernel packs it.
            var numbers = File.ReadAllText($"/sys/block/{loop.Name}/dev").Trim().Split(':').Select(uint.Parse).ToArray();
            Assert.Equal((numbers[0] << 20) | numbers[1], ours.GetProperty("disk").GetUInt32());
            // The other disks are named as /sys/block names them (or by number if they are partitions' disks elsewhere).
            foreach (var h in hists)
                Assert.True(Directory.Exists("/sys/block/" + h.GetProperty("name").GetString()), h.GetProperty("name").GetString());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(heatmap));
            Assert.Contains("<svg", File.ReadAllText(heatmap), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(heatmap);
        }
    }

    [Fact]
    public void PerFlagsNamesDirectWritesAsSyncWrites()
    {
        var tool = new BioLatency();
        TraceRun.SkipUnlessSupported(tool);
        using var loop = new LoopDevice(8 << 20);
        var result = TraceRun.Json(tool, new TraceToolOptions { PerFlags = true, Queued = true }, () => loop.DirectWrites(Writes, WriteSize));
        var hists = Assert.Single(result).GetProperty("histograms").EnumerateArray().ToList();
        // An O_DIRECT write is REQ_OP_WRITE | REQ_SYNC | REQ_IDLE (fs/direct-io, iomap: REQ_SYNC_IDLE… as bcc prints it).
        var writes = hists.Where(h => h.GetProperty("name").GetString()!.EndsWith("Sync-Write", StringComparison.Ordinal)).ToList();
        Assert.True(writes.Sum(h => h.GetProperty("total").GetInt64()) >= Writes, string.Join(", ", hists.Select(h => h.GetProperty("name").GetString())));
        Assert.All(hists, h => Assert.Matches("^([A-Z][A-Za-z]*-)*[A-Z][A-Za-z]*$", h.GetProperty("name").GetString()!));
    }

    [Theory]
    [InlineData(0u, "Read")]
    [InlineData(1u, "Write")]
    [InlineData(1u | (1u << 11), "Sync-Write")]
    [InlineData(1u | (1u << 11) | (1u << 15), "Idle-Sync-Write")]
    [InlineData(0u | (1u << 19), "ReadAhead-Read")]
    [InlineData(2u | (1u << 18), "PreFlush-Flush")]
    [InlineData(9u, "WriteZeroes")]
    public void FlagsAreNamedFromTheKernelsEnumsInBccsOrder(uint flags, string name)
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
            Assert.Skip("no /sys/kernel/btf/vmlinux: the flag bits come from the kernel's BTF");
        // Bits as include/linux/blk_types.h numbers them on this kernel (6.x): SYNC 11, IDLE 15, PREFLUSH 18, RAHEAD 19.
        Assert.Equal(name, BioLatency.RequestFlags.FromKernel().Describe(flags));
    }
}
