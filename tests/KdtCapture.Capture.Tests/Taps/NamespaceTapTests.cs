using System.Diagnostics;
using System.Globalization;
using KdtCapture.Capture.Taps;
using KdtCapture.Filters;
using KdtCapture.PcapNg;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>Two network namespaces of the test's own joined by a veth pair (and an ipip tunnel), removed afterwards.</summary>
public sealed class VethPair : IDisposable
{
    public VethPair()
    {
        int n = Environment.ProcessId % 200 + 20;
        Subnet = $"10.231.{n}";
        TunnelSubnet = $"10.232.{n}";
        A = $"kdt-tap-a-{Environment.ProcessId}";
        B = $"kdt-tap-b-{Environment.ProcessId}";
        Cleanup();
        try
        {
            Create();
        }
        catch
        {
            _tun?.Dispose();
            Cleanup();
            throw;
        }
    }

    private void Create()
    {
        TapTestKit.Run("ip", "netns", "add", A);
        TapTestKit.Run("ip", "netns", "add", B);
        TapTestKit.Run("ip", "link", "add", "kdtva", "netns", A, "type", "veth", "peer", "name", "kdtvb", "netns", B);
        TapTestKit.Run("ip", "-n", A, "addr", "add", Subnet + ".1/24", "dev", "kdtva");
        TapTestKit.Run("ip", "-n", B, "addr", "add", Subnet + ".2/24", "dev", "kdtvb");
        TapTestKit.Run("ip", "-n", A, "link", "set", "kdtva", "up");
        TapTestKit.Run("ip", "-n", B, "link", "set", "kdtvb", "up");
        // A tun device (held open by this process, so it has a carrier): no MAC header, so frames there are RAW.
        _tun = TunDevice.Open(A, "kdttun");
        TapTestKit.Run("ip", "-n", A, "addr", "add", TunnelSubnet + ".1/24", "dev", "kdttun");
        TapTestKit.Run("ip", "-n", A, "link", "set", "kdttun", "up");
        // Neighbours fixed up front: no ARP in the middle of the counted traffic.
        string macA = TapTestKit.Run("ip", "netns", "exec", A, "cat", "/sys/class/net/kdtva/address").Trim();
        string macB = TapTestKit.Run("ip", "netns", "exec", B, "cat", "/sys/class/net/kdtvb/address").Trim();
        TapTestKit.Run("ip", "-n", A, "neigh", "replace", Subnet + ".2", "lladdr", macB, "dev", "kdtva", "nud", "permanent");
        TapTestKit.Run("ip", "-n", B, "neigh", "replace", Subnet + ".1", "lladdr", macA, "dev", "kdtvb", "nud", "permanent");
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle? _tun;

    public string A { get; }
    public string B { get; }
    public string Subnet { get; }
    public string TunnelSubnet { get; }

    public static uint NetnsInode(string name) => uint.Parse(TapTestKit.Run("stat", "-L", "-c", "%i", "/run/netns/" + name).Trim(), CultureInfo.InvariantCulture);

    public static int InterfaceIndex(string netns, string device) =>
        int.Parse(TapTestKit.Run("ip", "netns", "exec", netns, "cat", $"/sys/class/net/{device}/ifindex").Trim(), CultureInfo.InvariantCulture);

    private void Cleanup()
    {
        foreach (string ns in new[] { A, B })
            if (File.Exists("/run/netns/" + ns))
                Process.Start("ip", ["netns", "del", ns])!.WaitForExit();
    }

    public void Dispose()
    {
        _tun?.Dispose();
        Cleanup();
    }
}

/// <summary>A tun device created inside a namespace by a thread that enters it (setns affects only that thread).</summary>
internal static unsafe partial class TunDevice
{
    private const int CloneNewNet = 0x40000000;
    private const uint TunSetIff = 0x400454ca;
    private const short IffTun = 0x0001, IffNoPi = 0x1000;

    public static Microsoft.Win32.SafeHandles.SafeFileHandle Open(string netns, string name)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle? handle = null;
        string? error = null;
        var thread = new Thread(() =>
        {
            using var ns = File.OpenHandle("/run/netns/" + netns);
            if (SetNs((int)ns.DangerousGetHandle(), CloneNewNet) != 0)
            {
                error = "setns failed: errno " + System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                return;
            }
            var tun = File.OpenHandle("/dev/net/tun", FileMode.Open, FileAccess.ReadWrite);
            byte* ifreq = stackalloc byte[40];
            new Span<byte>(ifreq, 40).Clear();
            System.Text.Encoding.ASCII.GetBytes(name, new Span<byte>(ifreq, 16));
            *(short*)(ifreq + 16) = IffTun | IffNoPi;
            if (Ioctl((int)tun.DangerousGetHandle(), TunSetIff, ifreq) != 0)
            {
                error = "TUNSETIFF failed: errno " + System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                tun.Dispose();
                return;
            }
            handle = tun;
        });
        thread.Start();
        thread.Join();
        return handle ?? throw new InvalidOperationException($"tun device {name} in {netns}: {error}");
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, uint request, byte* argument);
}

/// <summary>Taps on traffic between namespaces: real Ethernet headers, RAW frames on a tunnel, the sender's process and namespace.</summary>
[Collection(KernelTapCollection.Name)]
public sealed class NamespaceTapTests
{
    private static void RequireNamespaces()
    {
        TapTestKit.RequireTaps();
        if (!File.Exists("/usr/bin/tcpdump") && !File.Exists("/usr/sbin/tcpdump"))
            Assert.Skip("tcpdump (the oracle) is not installed");
    }

    /// <summary>Sends <paramref name="count"/> UDP datagrams from a bash in namespace A (its /dev/udp: bash itself sends, no child).</summary>
    private static (List<CapturedFrame> Frames, List<byte[]> Oracle, int SenderPid) SendThrough(VethPair net, string spec, string target, int port,
        string device, string oracleNetns, string filter, int count)
    {
        string pcap = Path.Combine(Path.GetTempPath(), $"kdt-tap-ns-{Environment.ProcessId}-{Guid.NewGuid():N}.pcap");
        try
        {
            using var tcpdump = new TcpdumpCapture(pcap, device, filter, oracleNetns);
            using var capture = new RunningCapture(TapTestKit.Open(spec, new TapSourceOptions { Filter = filter, Immediate = true }));
            string script = $"for i in $(seq {count}); do printf 'kdt-%05d' $i > /dev/udp/{target}/{port}; sleep 0.01; done";
            // `ip netns exec` execs bash itself: the process id is the sender's.
            using var sender = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", net.A, "bash", "-c", script]))!;
            int pid = sender.Id;
            sender.WaitForExit();
            Assert.Equal(0, sender.ExitCode);
            capture.WaitFor(count);
            tcpdump.Stop();
            capture.Stop();
            return (capture.Sink.Frames.OrderBy(f => f.TimestampNs).ToList(), TapTestKit.ReadPackets(pcap), pid); // per-CPU rings may reorder
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Fact]
    public void Veth_frames_carry_the_senders_process_and_namespace()
    {
        RequireNamespaces();
        using var net = new VethPair();
        const int count = 5;
        int port = TapTestKit.FreshPort();
        string filter = $"udp and dst host {net.Subnet}.2 and dst port {port}";
        var (frames, oracle, pid) = SendThrough(net, "tp_btf/net_dev_queue", net.Subnet + ".2", port, "kdtva", net.A, filter, count);

        Assert.Equal(count, oracle.Count);
        Assert.Equal(count, frames.Count);
        uint netns = VethPair.NetnsInode(net.A);
        int ifindex = VethPair.InterfaceIndex(net.A, "kdtva");
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(LinkType.EN10MB, frames[i].LinkType);
            Assert.Equal(Convert.ToHexString(oracle[i]), Convert.ToHexString(frames[i].Data));
            // Another namespace's device has no name here: only its index.
            Assert.StartsWith($"net_dev_queue bash[{pid}] tid={pid} ", frames[i].Comment, StringComparison.Ordinal);
            Assert.Contains($" ifindex={ifindex} netns={netns} ", frames[i].Comment, StringComparison.Ordinal);
            Assert.Equal(PacketDirection.Outbound, PacketFlags.GetDirection(frames[i].Flags!.Value));
        }
    }

    [Fact]
    public void Veth_receive_side_sees_the_peer_namespace()
    {
        RequireNamespaces();
        using var net = new VethPair();
        const int count = 4;
        int port = TapTestKit.FreshPort();
        string filter = $"udp and dst host {net.Subnet}.2 and dst port {port}";
        var (frames, oracle, _) = SendThrough(net, "tp_btf/netif_receive_skb", net.Subnet + ".2", port, "kdtvb", net.B, filter, count);
        Assert.Equal(count, oracle.Count);
        Assert.Equal(count, frames.Count);
        uint netns = VethPair.NetnsInode(net.B);
        int ifindex = VethPair.InterfaceIndex(net.B, "kdtvb");
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(LinkType.EN10MB, frames[i].LinkType);
            Assert.Equal(Convert.ToHexString(oracle[i]), Convert.ToHexString(frames[i].Data));
            Assert.Contains($" ifindex={ifindex} netns={netns} ", frames[i].Comment, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Frames_without_a_MAC_header_are_RAW()
    {
        RequireNamespaces();
        using var net = new VethPair();
        const int count = 3;
        int port = TapTestKit.FreshPort();
        string filter = $"udp and dst host {net.TunnelSubnet}.9 and dst port {port}";
        var (frames, oracle, _) = SendThrough(net, "tp_btf/net_dev_queue", net.TunnelSubnet + ".9", port, "kdttun", net.A, filter, count);
        Assert.Equal(count, oracle.Count);
        Assert.Equal(count, frames.Count);
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(LinkType.RAW, frames[i].LinkType);
            Assert.Equal(Convert.ToHexString(oracle[i]), Convert.ToHexString(frames[i].Data));
        }
    }
}
