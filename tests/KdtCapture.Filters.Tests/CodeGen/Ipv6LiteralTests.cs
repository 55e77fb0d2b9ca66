using KdtCapture.Filters.CodeGen;

namespace KdtCapture.Filters.Tests.CodeGen;

/// <summary>Our IPv6 literal parser against the C library's getaddrinfo, which libpcap uses.</summary>
public class Ipv6LiteralTests
{
    private static void AssertAgrees(string s)
    {
        Span<byte> ours = stackalloc byte[16];
        bool parsed = Ipv6Literal.TryParse(s, ours);
        bool libc = NameResolution.IsValidIPv6Literal(s);
        Assert.True(parsed == libc, $"\"{s}\": getaddrinfo says {libc}, we say {parsed}");
        if (parsed)
        {
            var resolved = NameResolution.LookupHost(s);
            Assert.NotNull(resolved);
            Assert.Single(resolved);
            Assert.Equal(resolved[0].Bytes, ours.ToArray());
        }
    }

    [Theory]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("2001:db8::/32")]
    [InlineData("1:2:3:4:5:6:7:8")]
    [InlineData("1:2:3:4:5:6:7::")]
    [InlineData("1:2:3:4:5:6:7:8::")]
    [InlineData("::ffff:1.2.3.4")]
    [InlineData("::1.2.3.04")]
    [InlineData("::1.2.3.256")]
    [InlineData("1::2::3")]
    [InlineData(":1::")]
    [InlineData("1:2:3:4:5:6:1.2.3.4")]
    [InlineData("12345::")]
    [InlineData("::0x1.2.3.4")]
    public void AgreesWithGetaddrinfo(string s) => AssertAgrees(s);

    [Fact]
    public void AgreesWithGetaddrinfoOnRandomShapes()
    {
        var rng = new Random(4242);
        string[] pieces = ["::", ":", "0", "1", "ff", "abcd", "12345", ".", "1.2.3.4", "255", "256", "01", "fFfF"];
        for (int i = 0; i < 5000; i++)
        {
            var sb = new System.Text.StringBuilder();
            int n = rng.Next(1, 10);
            for (int j = 0; j < n; j++)
                sb.Append(pieces[rng.Next(pieces.Length)]);
            AssertAgrees(sb.ToString());
        }
    }
}
