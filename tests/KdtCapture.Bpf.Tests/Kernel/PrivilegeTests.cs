using System.Runtime.InteropServices;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Programs;

namespace KdtCapture.Bpf.Tests.Kernel;

using Asm = KdtCapture.Bpf.Asm.Asm;

/// <summary>
/// Without CAP_BPF/CAP_SYS_ADMIN the errors say what is missing. Capabilities are per thread, so
/// the test drops them on a thread of its own, which then ends.
/// </summary>
public sealed partial class PrivilegeTests : KernelObjectTest
{
    private const int CapNetAdmin = 12, CapSysAdmin = 21, CapPerfmon = 38, CapBpf = 39;

    [Fact]
    public void Unprivileged_loads_and_map_creation_say_what_is_needed()
    {
        RequireRoot();
        Exception? programError = null, mapError = null;
        bool dropped = false;
        var thread = new Thread(() =>
        {
            dropped = DropCapabilities(CapNetAdmin, CapSysAdmin, CapPerfmon, CapBpf);
            if (!dropped)
                return;
            programError = Record(() => BpfProgram.Load(new BpfProgramLoadOptions
            {
                Type = BpfProgramType.SocketFilter, Name = "kdt_unpriv",
                Instructions = new[] { Asm.Mov64(Bpf.Asm.BpfRegister.R0, 0), Asm.Exit() },
            }).Dispose());
            mapError = Record(() => BpfMap.Create(new BpfMapCreateOptions { Type = BpfMapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "kdt_unpriv" }).Dispose());
        });
        thread.Start();
        thread.Join();
        if (!dropped)
            Assert.Skip("could not drop capabilities on a thread (capset refused)");
        if (programError is null)
            Assert.Skip("this kernel lets unprivileged users load socket filters (kernel.unprivileged_bpf_disabled = 0)");

        var refused = Assert.IsType<BpfNotSupportedException>(programError);
        Assert.Equal("EPERM", refused.ErrnoName);
        Assert.Equal("load program 'kdt_unpriv' (socket_filter): EPERM: loading BPF programs needs root or CAP_BPF (with CAP_PERFMON for tracing, CAP_NET_ADMIN for networking)", refused.Message);
        var mapRefused = Assert.IsType<BpfException>(mapError);
        Assert.StartsWith("create map 'kdt_unpriv' (hash, key 4, value 4, max 1): EPERM: creating BPF maps needs root or CAP_BPF", mapRefused.Message);
        // Back on a privileged thread, loads work again.
        Assert.True(BpfFeatures.CanLoadPrograms);
    }

    private static Exception? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective, Permitted, Inheritable;
    }

    private static unsafe bool DropCapabilities(params int[] capabilities)
    {
        var header = new CapHeader { Version = 0x20080522 }; // _LINUX_CAPABILITY_VERSION_3, this thread
        var data = stackalloc CapData[2];
        if (CapGet(ref header, data) != 0)
            return false;
        foreach (int cap in capabilities)
            data[cap / 32].Effective &= ~(1u << (cap % 32));
        return CapSet(ref header, data) == 0;
    }

    [LibraryImport("libc", EntryPoint = "capget")]
    private static unsafe partial int CapGet(ref CapHeader header, CapData* data);

    [LibraryImport("libc", EntryPoint = "capset")]
    private static unsafe partial int CapSet(ref CapHeader header, CapData* data);
}
