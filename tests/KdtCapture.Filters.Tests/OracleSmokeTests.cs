using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests;

public class OracleSmokeTests
{
    [Fact]
    public void LibPcapCompilesIp()
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap0.8 is not installed");
        var r = LibPcapOracle.Compile("ip", LinkType.EN10MB);
        Assert.True(r.Succeeded);
        Assert.Equal("(000) ldh      [12]", LibPcapOracle.Image(r.Instructions![0], 0));
        var bad = LibPcapOracle.Compile("tcp port", LinkType.EN10MB);
        Assert.Equal("can't parse filter expression: syntax error", bad.Error);
    }
}
