using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.Programs;

/// <summary>Iteration over the kernel's BPF object ids (what bpftool prog/map/link/btf list shows).</summary>
public static class BpfObjectIds
{
    public static List<uint> Programs() => All(BpfCommand.ProgGetNextId);

    public static List<uint> Maps() => All(BpfCommand.MapGetNextId);

    public static List<uint> Links() => All(BpfCommand.LinkGetNextId);

    internal static List<uint> All(BpfCommand command)
    {
        var ids = new List<uint>();
        for (uint id = BpfSyscall.NextId(command, 0); id != 0; id = BpfSyscall.NextId(command, id))
            ids.Add(id);
        return ids;
    }
}
