using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using KdtCapture.Capture.Taps;
using KdtCapture.Filters;
using KdtCapture.Testing;

namespace KdtCapture.Capture.Tests.Taps;

/// <summary>
/// fentry, fexit and kprobe taps on ip_output: every datagram this process sends over loopback
/// arrives once as a RAW frame (ip_output sees the IP packet before any MAC header) with the bytes
/// that were sent, fexit with ip_output's return value. This machine refuses fentry and has no
/// kprobes, so here they skip with the refusal; the guest suite (tests/vm/guest-suite, run by
/// test.sh) runs them in the VM guest.
/// </summary>
[Collection(KernelTapCollection.Name)]
[Trait(VmHarness.KernelTrait, VmHarness.GuestKernel)]
public sealed class TrampolineTapTests
{
    private const int Datagrams = 20;

    private static void RequireKind(TapKind kind)
    {
        TapTestKit.RequireTaps();
        if (TapResolver.AttachKindRefusal(kind, "ip_output") is { } refusal)
            Assert.Skip(refusal + " — this test runs in the VM guest (tests/vm)");
    }

    [Theory]
    [InlineData("fentry/ip_output", TapKind.Fentry)]
    [InlineData("fexit/ip_output", TapKind.Fexit)]
    [InlineData("kprobe/ip_output", TapKind.Kprobe)]
    public void Ip_output_sees_every_datagram_as_RAW(string spec, TapKind kind)
    {
        RequireKind(kind);
        // A bound receiver: no ICMP error takes another pass through ip_output.
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)receiver.LocalEndPoint!).Port;
        using var capture = new RunningCapture(TapTestKit.Open(spec, new TapSourceOptions { Filter = $"udp dst port {port}", Immediate = true }));
        Assert.Equal(Datagrams, TapTestKit.SendUdp(port, Datagrams, 100));
        capture.WaitFor(Datagrams);
        Thread.Sleep(200);
        capture.Stop();

        // Per-CPU perf rings: a sender that changed CPU mid-run arrives out of order; the kernel
        // time stamps give the order in which ip_output ran.
        var frames = capture.Sink.Frames.OrderBy(f => f.TimestampNs).ToList();
        Assert.Equal(Datagrams, frames.Count);
        for (int i = 0; i < Datagrams; i++)
        {
            var f = frames[i];
            Assert.Equal(LinkType.RAW, f.LinkType);
            Assert.Equal(128u, f.OriginalLength); // IPv4 20 + UDP 8 + 100
            Assert.Equal(0x45, f.Data[0]);
            Assert.Equal(17, f.Data[9]);
            Assert.Equal(port, BinaryPrimitives.ReadUInt16BigEndian(f.Data.AsSpan(22)));
            Assert.Equal(i, BitConverter.ToInt32(f.Data, 28)); // the datagram's own sequence number
            Assert.StartsWith("ip_output ", f.Comment, StringComparison.Ordinal);
            Assert.Contains($"[{Environment.ProcessId}] tid=", f.Comment, StringComparison.Ordinal);
            if (kind == TapKind.Fexit)
                Assert.EndsWith(" ret=0", f.Comment, StringComparison.Ordinal);
            else
                Assert.DoesNotContain(" ret=", f.Comment, StringComparison.Ordinal);
        }
    }
}
