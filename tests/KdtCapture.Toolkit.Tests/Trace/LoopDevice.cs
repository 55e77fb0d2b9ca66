using System.Globalization;
using System.Runtime.InteropServices;

namespace KdtCapture.Toolkit.Tests.Trace;

/// <summary>A loop device over a file in the temporary directory (kdr- prefix), detached and deleted afterwards.</summary>
internal sealed class LoopDevice : IDisposable
{
    private readonly string _backing;

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint pwrite(int fd, nint buffer, nint count, long offset);

    /// <param name="size">The backing file's size (sparse).</param>
    /// <param name="directIo">Whether the loop device reads and writes its backing file with
    /// direct I/O, so that only the device's own page cache holds its data.</param>
    public LoopDevice(long size, bool directIo = false)
    {
        _backing = Path.Combine(Path.GetTempPath(), "kdr-bio-" + Guid.NewGuid().ToString("N")[..8]);
        using (var f = new FileStream(_backing, FileMode.CreateNew))
            f.SetLength(size);
        var (code, output) = TraceRun.RunToEnd("losetup", "-f", "--show", "--direct-io=" + (directIo ? "on" : "off"), _backing);
        if (code != 0)
        {
            File.Delete(_backing);
            Assert.Skip($"cannot attach a loop device ({output.Trim()})");
        }
        Device = output.Trim();
    }

    public string Device { get; }

    public string Name => Path.GetFileName(Device);

    /// <summary>/sys/block/NAME/stat: (reads + writes completed, writes completed, sectors written, sectors read).</summary>
    public (long Requests, long Writes, long SectorsWritten, long SectorsRead) Stat()
    {
        var f = File.ReadAllText($"/sys/block/{Name}/stat").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return (f[0] + f[4], f[4], f[6], f[2]);
    }

    /// <summary>O_DIRECT writes of <paramref name="writeSize"/> bytes: each one request to the device, none cached.</summary>
    public void DirectWrites(int writes, int writeSize)
    {
        int fd = open(Device, 0x1 /* O_WRONLY */ | 0x4000 /* O_DIRECT */);
        Assert.True(fd >= 0, $"open {Device}: errno {Marshal.GetLastPInvokeError()}");
        unsafe
        {
            void* buffer = NativeMemory.AlignedAlloc((nuint)writeSize, 4096);
            try
            {
                new Span<byte>(buffer, writeSize).Fill(0x5a);
                for (int i = 0; i < writes; i++)
                    Assert.Equal(writeSize, (int)pwrite(fd, (nint)buffer, writeSize, (long)i * writeSize));
            }
            finally
            {
                NativeMemory.AlignedFree(buffer);
                TraceRun.close(fd);
            }
        }
    }

    public void Dispose()
    {
        TraceRun.RunToEnd("losetup", "-d", Device);
        File.Delete(_backing);
    }
}

