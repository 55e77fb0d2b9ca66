using KdtCapture.Toolkit.Trace.Tools;

namespace KdtCapture.Toolkit.Trace;

/// <summary>Every `kdt trace` tool, in the order `kdt trace --list` shows them.</summary>
public static class TraceTools
{
    public static IReadOnlyList<TraceTool> All { get; } =
    [
        new ExecSnoop(),
        new ExitSnoop(),
        new OpenSnoop(),
        new SysCount(),
        new TcpStates(TcpStates.Mode.Connect),
        new TcpStates(TcpStates.Mode.Life),
        new TcpStates(TcpStates.Mode.States),
        new TcpDrop(),
        new TcpRetrans(),
        new RunqLat(),
        new CpuDist(),
        new OffCpuTime(),
        new BioLatency(),
        new SoftIrqs(),
        new HardIrqs(),
        new LockStat(),
        new OomKill(),
        new DrSnoop(),
    ];

    public static TraceTool? Find(string name)
    {
        foreach (var t in All)
        {
            if (t.Name == name)
                return t;
        }
        return null;
    }
}
