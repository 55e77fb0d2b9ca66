using System.Runtime.InteropServices;
using KdtCapture.Capture.Devices;
using Microsoft.Win32.SafeHandles;
using SharpPcap;
using SharpPcap.LibPcap;

namespace KdtCapture.Capture.Tests.Devices;

/// <summary>
/// The same scripts of SharpPcap API calls run against SharpPcap's CaptureFileReaderDevice and
/// against CaptureFileDevice: every return value, exception (type and message) and event, in
/// order, must be the same.
/// </summary>
public sealed class CaptureFileDeviceApiTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30); // a guard against hangs, not a timing assertion

    /// <summary>What the scripts need beyond ICaptureDevice (members both classes have).</summary>
    private sealed record Device(ICaptureDevice I, Action<int> Capture, Func<bool> Opened, Func<string> FileName, Func<long> FileSize);

    private static Device Libpcap(string file)
    {
        var d = new CaptureFileReaderDevice(file);
        return new Device(d, d.Capture, () => d.Opened, () => d.FileName, () => d.FileSize);
    }

    private static Device Ours(string file)
    {
        var d = new CaptureFileDevice(file);
        return new Device(d, d.Capture, () => d.Opened, () => d.FileName, () => d.FileSize);
    }

    private static string Outcome(Func<object?> f)
    {
        try
        {
            object? v = f();
            return v is null ? "null" : $"'{v}'";
        }
        catch (Exception e)
        {
            return DeviceRun.Describe(e);
        }
    }

    private static string Outcome(Action a) => Outcome(() => { a(); return "done"; });

    private static string SmallCapture()
    {
        string root = DeviceCorpora.Require("tcpdump-tests");
        return Path.Combine(root, "ospf-gmpls.pcap"); // 3 packets, Ethernet, µs
    }

    [Fact]
    public void LifecycleBehavesAsSharpPcap()
    {
        string file = SmallCapture();
        Assert.Equal(Lifecycle(Libpcap(file)), Lifecycle(Ours(file)));
    }

    private static List<string> Lifecycle(Device d)
    {
        var log = new List<string>();
        ICaptureDevice i = d.I;
        void Log(string what, string outcome) => log.Add($"{what}: {outcome}");

        Log("Name", Outcome(() => i.Name));
        Log("Description", Outcome(() => i.Description));
        Log("FileName", Outcome(() => d.FileName()));
        Log("FileSize", Outcome(() => d.FileSize()));
        Log("closed LinkType", Outcome(() => i.LinkType));
        Log("closed Filter", Outcome(() => i.Filter));
        Log("closed set Filter", Outcome(() => i.Filter = "tcp"));
        Log("closed Filter again", Outcome(() => i.Filter));
        Log("closed TimestampResolution", Outcome(() => i.TimestampResolution));
        Log("closed Statistics", Outcome(() => i.Statistics));
        Log("closed MacAddress", Outcome(() => i.MacAddress));
        Log("closed Started", Outcome(() => i.Started));
        Log("closed Opened", Outcome(() => d.Opened()));
        Log("closed StopCaptureTimeout", Outcome(() => i.StopCaptureTimeout));
        Log("closed GetNextPacket", Outcome(() => i.GetNextPacket(out _)));
        Log("closed StartCapture", Outcome(i.StartCapture));
        Log("closed Capture", Outcome(i.Capture));
        Log("closed StopCapture", Outcome(i.StopCapture));
        Log("closed Close", Outcome(i.Close));

        Log("Open", Outcome(() => i.Open()));
        Log("Opened", Outcome(() => d.Opened()));
        Log("LinkType", Outcome(() => i.LinkType));
        Log("Filter remembered, not applied", Outcome(() => i.Filter));
        Log("LastError", Outcome(() => i.LastError));
        Log("TimestampResolution", Outcome(() => i.TimestampResolution));
        Log("Statistics", Outcome(() => i.Statistics));
        Log("MacAddress", Outcome(() => i.MacAddress));
        Log("StartCapture without handler", Outcome(i.StartCapture));
        Log("Started", Outcome(() => i.Started));
        foreach (string bad in new[] { "tcp and", "port 70000", "net 10.0.0.1/8", "ip and ip6", "ether host 1:2:3:4:5:6:7", "proto \\foo", "tcp[1000000:8] = 1" })
        {
            Log($"set Filter '{bad}'", Outcome(() => i.Filter = bad));
            Log("  Filter", Outcome(() => i.Filter));
            Log("  LastError", Outcome(() => i.LastError));
        }
        Log("packets with no filter yet", Count(i).ToString());
        Log("set Filter null", Outcome(() => i.Filter = null));
        Log("Filter", Outcome(() => i.Filter));
        Log("LastError after a good filter", Outcome(() => i.LastError));
        Log("reads after the end", Outcome(() => i.GetNextPacket(out _)));
        Log("again", Outcome(() => i.GetNextPacket(out _)));

        Log("reopen", Outcome(() => i.Open()));
        Log("Filter after reopen", Outcome(() => i.Filter));
        Log("set Filter 'ip proto 89'", Outcome(() => i.Filter = "ip proto 89"));
        Log("filtered packets", Count(i).ToString());
        Log("reopen", Outcome(() => i.Open()));
        Log("packets after reopen (filter reset)", Count(i).ToString());

        Log("Close", Outcome(i.Close));
        Log("Opened", Outcome(() => d.Opened()));
        Log("Filter after Close", Outcome(() => i.Filter));
        Log("LinkType after Close", Outcome(() => i.LinkType));
        Log("Close twice", Outcome(i.Close));
        Log("Dispose", Outcome(i.Dispose));
        return log;
    }

    private static string Count(ICaptureDevice i)
    {
        int n = 0;
        GetPacketStatus s;
        while ((s = i.GetNextPacket(out _)) == GetPacketStatus.PacketRead)
            n++;
        return $"{n} then {s}";
    }

    [Fact]
    public void CaptureEventsBehaveAsSharpPcap()
    {
        string file = SmallCapture();
        Assert.Equal(CaptureEvents(Libpcap(file)), CaptureEvents(Ours(file)));
    }

    private static List<string> CaptureEvents(Device d)
    {
        var log = new List<string>();
        ICaptureDevice i = d.I;
        int callerThread = Environment.CurrentManagedThreadId;
        int packets = 0;
        PacketArrivalEventHandler record = (s, e) =>
        {
            packets++;
            log.Add($"packet {PacketSeen.From(e)} sender={ReferenceEquals(s, i)} device={ReferenceEquals(e.Device, i)}");
        };
        i.OnCaptureStopped += (s, status) => log.Add($"stopped {status} sender={ReferenceEquals(s, i)}");

        i.Open(new DeviceConfiguration { TimestampResolution = TimestampResolution.Nanosecond });
        i.OnPacketArrival += record;
        log.Add("Capture()");
        i.Capture();
        log.Add("Capture() at the end");
        i.Capture();

        i.Open();
        log.Add("Capture(3)");
        d.Capture(3);
        log.Add("Capture(3) again");
        d.Capture(3);
        log.Add("Capture(0)");
        d.Capture(0);

        i.Open();
        i.Filter = "ip proto 89";
        log.Add("filtered Capture(2)");
        d.Capture(2);
        log.Add("filtered Capture(1000)");
        d.Capture(1000);

        // A handler that stops the capture it runs in.
        i.Open();
        i.StopCaptureTimeout = TimeSpan.FromMilliseconds(50);
        var stopped = new ManualResetEventSlim();
        i.OnCaptureStopped += (_, _) => stopped.Set();
        packets = 0;
        PacketArrivalEventHandler stopAfterTwo = (s, e) =>
        {
            if (packets == 2)
                i.StopCapture();
        };
        i.OnPacketArrival += stopAfterTwo;
        log.Add("StartCapture, handler stops after 2");
        i.StartCapture();
        Assert.True(stopped.Wait(Patience));
        log.Add($"Started {i.Started}");
        i.OnPacketArrival -= stopAfterTwo;

        // Background capture to the end: Started stays true until StopCapture.
        i.Open();
        stopped.Reset();
        log.Add("StartCapture to the end");
        i.StartCapture();
        Assert.True(stopped.Wait(Patience));
        log.Add($"Started {i.Started}");
        log.Add($"StartCapture again: {Outcome(i.StartCapture)}");
        log.Add($"GetNextPacket during: {Outcome(() => i.GetNextPacket(out _))}");
        log.Add($"StopCapture: {Outcome(i.StopCapture)}");
        log.Add($"Started {i.Started}");
        log.Add($"StopCapture again: {Outcome(i.StopCapture)}");

        // Close removes the packet handlers but not the stop handlers.
        i.Close();
        i.Open();
        log.Add("Capture(2) after Close");
        d.Capture(2);
        log.Add($"StartCapture after Close: {Outcome(i.StartCapture)}");

        // The handlers ran on the calling thread for Capture, elsewhere for StartCapture; neither is logged
        // (SharpPcap's thread pool vs our thread), but the stop events above carry the order.
        _ = callerThread;
        i.Close();
        return log;
    }

    [Fact]
    public void CloseInsideAHandlerEndsTheCapture()
    {
        string file = SmallCapture();
        Assert.Equal(CloseInHandler(Libpcap(file)), CloseInHandler(Ours(file)));
    }

    private static List<string> CloseInHandler(Device d)
    {
        var log = new List<string>();
        ICaptureDevice i = d.I;
        i.OnCaptureStopped += (_, status) => log.Add($"stopped {status}");
        i.Open();
        i.OnPacketArrival += (_, e) =>
        {
            log.Add("packet " + PacketSeen.From(e));
            i.Close();
        };
        i.Capture();
        log.Add($"Opened {d.Opened()}");
        return log;
    }

    [Fact]
    public void OpenErrorsAreSharpPcapExceptions()
    {
        string dir = Directory.CreateTempSubdirectory("kdt-device-").FullName;
        try
        {
            string missing = Path.Combine(dir, "missing.pcap");
            string empty = Path.Combine(dir, "empty.pcap");
            File.WriteAllBytes(empty, []);
            string text = Path.Combine(dir, "text.pcap");
            File.WriteAllText(text, "not a capture file at all\n");

            // Same message where libpcap's is the C library's; ours may say more after libpcap's words.
            Assert.Equal(Outcome(() => Libpcap(missing).I.Open()), Outcome(() => Ours(missing).I.Open()));
            Assert.Equal("PcapException: Unable to open offline adapter: unknown file format", Outcome(() => Libpcap(text).I.Open()));
            Assert.StartsWith("PcapException: Unable to open offline adapter: unknown file format", Outcome(() => Ours(text).I.Open()));
            Assert.StartsWith("PcapException: Unable to open offline adapter: ", Outcome(() => Libpcap(empty).I.Open()));
            Assert.StartsWith("PcapException: Unable to open offline adapter: ", Outcome(() => Ours(empty).I.Open()));

            // An exception of SharpPcap's own type, so existing catch blocks catch it.
            var e = Assert.Throws<PcapException>(() => Ours(missing).I.Open());
            Assert.Equal(PcapError.Generic, e.Error);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public void TruncatedFilesEndWithLibpcapsError(double keep)
    {
        string dir = Directory.CreateTempSubdirectory("kdt-device-").FullName;
        try
        {
            byte[] whole = File.ReadAllBytes(SmallCapture());
            string cut = Path.Combine(dir, "cut.pcap");
            File.WriteAllBytes(cut, whole.AsSpan(0, (int)(whole.Length * keep)).ToArray());

            DeviceRun libpcap = DeviceRun.Read(new CaptureFileReaderDevice(cut));
            DeviceRun ours = DeviceRun.Read(new CaptureFileDevice(cut));
            Assert.Equal(GetPacketStatus.Error, libpcap.End);
            Assert.Equal(libpcap.Packets, ours.Packets);
            Assert.Equal(libpcap.End, ours.End);
            Assert.Equal(libpcap.LastError, ours.LastError);

            Assert.Equal(CaptureEventsOf(Libpcap(cut)), CaptureEventsOf(Ours(cut)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static List<string> CaptureEventsOf(Device d)
    {
        var log = new List<string>();
        d.I.OnPacketArrival += (_, e) => log.Add("packet " + PacketSeen.From(e));
        d.I.OnCaptureStopped += (_, status) => log.Add($"stopped {status}");
        d.I.Open();
        d.I.Capture();
        log.Add($"then {Outcome(() => d.I.GetNextPacket(out _))}");
        d.I.Close();
        return log;
    }

    [Fact]
    public void SharpPcapHelpersWorkWithTheDevice()
    {
        string file = SmallCapture();
        // PcapDevice.GetSequence opens, reads and closes any ICaptureDevice.
        List<RawCapture> expected = PcapDevice.GetSequence(new CaptureFileReaderDevice(file)).ToList();
        List<RawCapture> got = PcapDevice.GetSequence(new CaptureFileDevice(file)).ToList();
        Assert.Equal(3, expected.Count);
        Assert.Equal(expected.Select(r => (r.Timeval, r.LinkLayerType, Convert.ToHexString(r.Data))),
            got.Select(r => (r.Timeval, r.LinkLayerType, Convert.ToHexString(r.Data))));
        // And the packets parse with PacketDotNet as they do from libpcap.
        Assert.Equal(expected.Select(r => r.GetPacket().ToString()), got.Select(r => r.GetPacket().ToString()));
    }

    [Fact]
    public void StandardInputIsDash()
    {
        // pcap_open_offline("-") reads standard input, and so does the device: fd 0 is pointed
        // at a capture for the duration (nothing else in the test run reads standard input).
        string file = SmallCapture();
        DeviceRun expected = DeviceRun.Read(new CaptureFileReaderDevice(file));
        DeviceRun got;
        using (SafeFileHandle capture = File.OpenHandle(file))
        {
            int saved = Dup((int)StandardInput);
            Assert.True(saved >= 0);
            try
            {
                Assert.Equal(0, Dup2((int)capture.DangerousGetHandle(), (int)StandardInput));
                got = DeviceRun.Read(new CaptureFileDevice("-"));
            }
            finally
            {
                Dup2(saved, (int)StandardInput);
                Close(saved);
            }
        }
        Assert.Null(got.OpenError);
        Assert.Equal(expected.Packets, got.Packets);
        Assert.Equal(expected.End, got.End);
    }

    private const uint StandardInput = 0;

    [DllImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static extern int Dup(int fd);

    [DllImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static extern int Dup2(int from, int to);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
