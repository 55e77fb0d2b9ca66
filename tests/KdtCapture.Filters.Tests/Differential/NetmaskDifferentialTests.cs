using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Differential;

/// <summary>
/// The corpus runs with tcpdump's netmask (0). "ip broadcast" depends on it, so here it is compiled with the library
/// default (PCAP_NETMASK_UNKNOWN, an error in libpcap) and with real netmasks, against libpcap given the same one.
/// </summary>
public sealed class NetmaskDifferentialTests
{
    public static TheoryData<string, uint> Cases()
    {
        var data = new TheoryData<string, uint>();
        foreach (var expr in new[] { "ip broadcast", "ip broadcast or ip multicast", "not ip broadcast and udp", "host 10.0.0.1 and ip broadcast" })
            foreach (uint mask in new uint[] { FilterCompileOptions.NetmaskUnknown, 0xffffff00, 0xffff0000, 0xfffffffc, 0 })
                data.Add(expr, mask);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Broadcast_follows_the_netmask_as_in_libpcap(string expression, uint netmask)
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        var problems = new List<string>();
        foreach (var lt in FilterDifferential.LinkTypes)
        {
            foreach (bool optimize in (ReadOnlySpan<bool>)[false, true])
            {
                var oracle = LibPcapOracle.Compile(expression, lt, optimize, FilterDifferential.Snaplen, netmask);
                string expected = oracle.Succeeded ? LibPcapOracle.Dump(oracle.Instructions, CbpfDumpStyle.Readable) : "error: " + oracle.Error;
                string actual;
                try
                {
                    var options = new FilterCompileOptions { Optimize = optimize, Netmask = netmask };
                    actual = CbpfPrinter.Format(FilterCompiler.Compile(expression, lt, options).Instructions, CbpfDumpStyle.Readable);
                }
                catch (FilterCompileException e)
                {
                    actual = "error: " + e.Message;
                }
                if (expected != actual)
                    problems.Add($"{FilterDifferential.NameOf(lt)} {(optimize ? "optimized" : "-O")}, netmask 0x{netmask:x8}:\n" + FilterDifferential.FirstDifference(expected, actual));
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_library_default_is_an_unknown_netmask_as_in_pcap_compile()
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        var oracle = LibPcapOracle.Compile("ip broadcast", LinkType.EN10MB, netmask: FilterCompileOptions.NetmaskUnknown);
        var e = Assert.Throws<FilterCompileException>(() => FilterCompiler.Compile("ip broadcast", LinkType.EN10MB));
        Assert.Equal(oracle.Error, e.Message);
    }
}
