using KdtCapture.Filters.Syntax;

namespace KdtCapture.Filters.Tests.Syntax;

public class AddressScannerTests
{
    private static readonly (string Name, Func<string, int> Fast, Pattern Oracle)[] Rules =
    [
        ("N", s => AddressScanner.Number(s), PatternOracle.Number),
        ("AID", s => AddressScanner.Aid(s), PatternOracle.Aid),
        ("HID", s => AddressScanner.Hid(s), PatternOracle.Hid),
        ("MAC", s => AddressScanner.Mac(s), PatternOracle.Mac),
        ("bogus MAC", s => AddressScanner.BogusMac(s), PatternOracle.BogusMac),
        ("V6", s => AddressScanner.V6(s), PatternOracle.V6),
    ];

    private static void AssertAgree(string s)
    {
        foreach (var (name, fast, oracle) in Rules)
        {
            int expected = oracle.LongestMatch(s);
            int actual = fast(s);
            Assert.True(expected == actual, $"{name} on \"{s}\": oracle {expected}, scanner {actual}");
        }
    }

    [Theory]
    [InlineData("1.2.3.4")]
    [InlineData("0x1.0X2.3.4.5")]
    [InlineData("00:11:22:33:44:55")]
    [InlineData("0:1:2:3:4:5:6")]
    [InlineData("0011.2233.4455")]
    [InlineData("001122334455")]
    [InlineData("1:2:")]
    [InlineData("1:234:")]
    [InlineData("fe80::1")]
    [InlineData("::")]
    [InlineData(":::1")]
    [InlineData("::ffff:1.2.3.4")]
    [InlineData("1:2:3:4:5:6:7:8")]
    [InlineData("1:2:3:4:5:6:7:8:9")]
    [InlineData("1:2:3:4:5:6:1.2.3.4")]
    [InlineData("1::2::3")]
    [InlineData("$1f")]
    [InlineData("$")]
    [InlineData("12-34-56-78-9a-bc")]
    public void AgreesWithTheFlexDefinitionsOnKnownShapes(string s) => AssertAgree(s);

    [Fact]
    public void AgreesWithTheFlexDefinitionsOnRandomInput()
    {
        var rng = new Random(20261123);
        const string alphabet = "0123456789abcdefABCDEFxX.:-$";
        string[] pieces = ["::", ":", ".", "0x", "1", "ff", "12", "abcd", "1.2.3.4", "-", "0"];
        for (int i = 0; i < 20000; i++)
        {
            var sb = new System.Text.StringBuilder();
            int len = rng.Next(1, 14);
            for (int j = 0; j < len; j++)
            {
                if (rng.Next(3) == 0)
                    sb.Append(alphabet[rng.Next(alphabet.Length)]);
                else
                    sb.Append(pieces[rng.Next(pieces.Length)]);
            }
            AssertAgree(sb.ToString());
        }
    }
}
