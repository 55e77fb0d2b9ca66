using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.Tests.Cbpf;

public class CbpfPrinterTests
{
    [Fact]
    public void EveryOpcodePrintsAsBpfImage()
    {
        CbpfTestData.RequireLibPcap();
        (uint K, byte Jt, byte Jf, int Index)[] operands =
        [
            (0, 0, 0, 0), (12, 0, 1, 1), (0xffffffff, 255, 255, 999), (0x80000000, 7, 0, 1000),
            (AncillaryBase, 3, 4, 12), (0x1234, 1, 2, 123456),
        ];
        var failures = new List<string>();
        for (int code = 0; code <= 0xffff; code++)
        {
            foreach (var (k, jt, jf, index) in operands)
            {
                var insn = new CbpfInstruction((ushort)code, jt, jf, k);
                string expected = LibPcapOracle.Image(insn, index);
                string actual = CbpfPrinter.Image(insn, index);
                if (expected != actual && failures.Count < 20)
                    failures.Add($"{insn} at {index}: libpcap \"{expected}\", ours \"{actual}\"");
            }
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void AbsoluteLoadsNameLinuxAncillaryOffsets()
    {
        CbpfTestData.RequireLibPcap();
        foreach (int code in new[] { Ld | W | Abs, Ld | H | Abs, Ld | B | Abs, Ld | W | Ind, Ldx | Msh | B })
        {
            for (uint offset = 0; offset < CbpfAncillary.End + 16; offset++)
            {
                var insn = CbpfInstruction.Stmt(code, AncillaryBase + offset);
                Assert.Equal(LibPcapOracle.Image(insn, 0), CbpfPrinter.Image(insn, 0));
            }
            foreach (uint k in new[] { AncillaryBase - 1, 0u, 0x7fffffffu, 0xffffffffu })
                Assert.Equal(LibPcapOracle.Image(CbpfInstruction.Stmt(code, k), 7), CbpfPrinter.Image(CbpfInstruction.Stmt(code, k), 7));
        }
        Assert.Equal("(000) ld       [proto]", CbpfPrinter.Image(CbpfInstruction.Stmt(Ld | W | Abs, AncillaryBase), 0));
        Assert.Equal("(000) ldb      [vlan_tci]", CbpfPrinter.Image(CbpfInstruction.Stmt(Ld | B | Abs, AncillaryBase + CbpfAncillary.VlanTag), 0));
    }

    [Fact]
    public void KnownLines()
    {
        Assert.Equal("(000) ldh      [12]", CbpfPrinter.Image(CbpfInstruction.Stmt(Ld | H | Abs, 12), 0));
        Assert.Equal("(001) jeq      #0x800           jt 2\tjf 3", CbpfPrinter.Image(CbpfInstruction.Jump(Jmp | Jeq | K, 0x800, 0, 1), 1));
        Assert.Equal("(003) ja       3", CbpfPrinter.Image(CbpfInstruction.Stmt(Jmp | Ja, 0xffffffff), 3));
        Assert.Equal("(004) ret      #262144", CbpfPrinter.Image(CbpfInstruction.Stmt(Ret | K, 262144), 4));
        Assert.Equal("(005) ret      ", CbpfPrinter.Image(CbpfInstruction.Stmt(Ret | A, 0), 5));
        Assert.Equal("(006) unimp    0x81", CbpfPrinter.Image(CbpfInstruction.Stmt(Ldx | W | Len, 0), 6));
        Assert.Equal("(1000) ldxb     4*([14]&0xf)", CbpfPrinter.Image(CbpfInstruction.Stmt(Ldx | Msh | B, 14), 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => CbpfPrinter.Image(CbpfInstruction.Stmt(Ret | A, 0), -1));
    }

    [Fact]
    public void RandomInstructionsPrintAsBpfImage()
    {
        CbpfTestData.RequireLibPcap();
        var cases = Arb.From(
            from insn in CbpfTestData.AnyInstruction
            from index in Gen.Frequency((4, Gen.Choose(0, 300)), (1, Gen.Choose(0, 1 << 24)))
            select (insn, index));
        Check.One(CbpfTestData.Property(20000), Prop.ForAll(cases, c =>
            LibPcapOracle.Image(c.insn, c.index) == CbpfPrinter.Image(c.insn, c.index)));
    }

    [Fact]
    public void CArrayAndDecimalFollowBpfDump()
    {
        CbpfInstruction[] program =
        [
            CbpfInstruction.Stmt(Ld | H | Abs, 12),
            CbpfInstruction.Jump(Jmp | Jeq | K, 0x800, 0, 1),
            CbpfInstruction.Stmt(Ret | K, 262144),
            CbpfInstruction.Stmt(Ret | K, 0),
        ];
        Assert.Equal(
            "{ 0x28, 0, 0, 0x0000000c },\n{ 0x15, 0, 1, 0x00000800 },\n{ 0x6, 0, 0, 0x00040000 },\n{ 0x6, 0, 0, 0x00000000 },\n",
            CbpfPrinter.Format(program, CbpfDumpStyle.CArray));
        Assert.Equal("4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n", CbpfPrinter.Format(program, CbpfDumpStyle.Decimal));
        Assert.Equal("0\n", CbpfPrinter.Format([], CbpfDumpStyle.Decimal));
        Assert.Equal("", CbpfPrinter.Format([], CbpfDumpStyle.Readable));
        Assert.Equal("{ 0xffff, 255, 255, 0xffffffff },\n",
            CbpfPrinter.Format([new CbpfInstruction(0xffff, 255, 255, 0xffffffff)], CbpfDumpStyle.CArray));
        Assert.Equal("1\n65535 255 255 4294967295\n",
            CbpfPrinter.Format([new CbpfInstruction(0xffff, 255, 255, 0xffffffff)], CbpfDumpStyle.Decimal));

        var writer = new StringWriter();
        CbpfPrinter.Write(writer, program, CbpfDumpStyle.Readable);
        Assert.Equal(CbpfPrinter.Format(program, CbpfDumpStyle.Readable), writer.ToString());
    }

    public static TheoryData<string, string> TcpdumpCases => new()
    {
        { "EN10MB", "ip" },
        { "EN10MB", "tcp port 80 and not host 10.0.0.1" },
        { "EN10MB", "ip6 protochain 6" },
        { "EN10MB", "ip[2:2] / (ip[1] & 0xf) > 3 or ip[8] % 3 = 1" },
        { "EN10MB", "vlan 100 and udp" },
        { "LINUX_SLL", "icmp or arp" },
        { "RAW", "ip[6:2] & 0x1fff = 0 and udp[8:4] = 0x12345678" },
        { "IEEE802_11_RADIO", "wlan type data" },
        { "EN10MB", "ether[0] & 1 = 0 and len >= 100 and tcp[tcpflags] & (tcp-syn|tcp-ack) != 0" },
    };

    /// <summary>The listing of libpcap's own program, compared with tcpdump's output text.</summary>
    [Theory]
    [MemberData(nameof(TcpdumpCases))]
    public void ListingsMatchTcpdump(string linkType, string expression)
    {
        CbpfTestData.RequireLibPcap();
        if (!File.Exists("/usr/bin/tcpdump") && !File.Exists("/usr/sbin/tcpdump"))
            Assert.Skip("tcpdump is not installed");
        var lt = Enum.Parse<LinkType>(linkType);
        foreach (bool optimize in new[] { true, false })
        {
            CbpfInstruction[] program = LibPcapOracle.Compile(expression, lt, optimize).Instructions
                ?? throw new InvalidOperationException($"libpcap refused {expression}");
            foreach (var (style, flag) in new[] { (CbpfDumpStyle.Readable, "-d"), (CbpfDumpStyle.CArray, "-dd"), (CbpfDumpStyle.Decimal, "-ddd") })
            {
                string[] args = optimize ? ["-y", linkType, flag, expression] : ["-O", "-y", linkType, flag, expression];
                Assert.Equal(RunTcpdump(args), CbpfPrinter.Format(program, style));
            }
        }
    }

    private static string RunTcpdump(string[] arguments)
    {
        var start = new ProcessStartInfo("tcpdump")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output;
    }
}
