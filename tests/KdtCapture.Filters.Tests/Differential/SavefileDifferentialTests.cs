using System.Buffers.Binary;
using KdtCapture.Filters.Cbpf;
using KdtCapture.Testing;

namespace KdtCapture.Filters.Tests.Differential;

/// <summary>
/// tcpdump -r compiles on the file's handle, where libpcap's rules differ from -d's: BSD loopback headers in the file's
/// byte order, every BSD's AF_INET6, no Linux-socket "inbound"/"ifindex", the file's snapshot length in ret. Here
/// our compiler with ForSavefile/SavefileByteSwapped/Snaplen is compared with libpcap compiled on empty capture files
/// of every link type, written in both byte orders, for the expressions these rules touch and a slice of the corpus.
/// </summary>
public sealed class SavefileDifferentialTests
{
    private const int FileSnaplen = 65535;

    private static readonly string[] Sensitive =
    [
        "ip", "ip6", "arp", "tcp", "udp port 53", "host 10.0.0.1", "ip6 host ::1", "not ip and not ip6",
        "inbound", "outbound", "ifindex 3", "inbound and tcp", "ip or ip6", "proto \\udp", "ip6 protochain 6",
        "ether proto 0x800", "ether proto \\ip6", "iso", "ipx", "decnet", "atalk", "vlan and ip", "llc",
        "ip broadcast", "ip multicast", "ip6 multicast", "len > 100", "link[0:4] = 2", "type data and ip",
    ];

    public static IEnumerable<TheoryDataRow<string>> Cases()
    {
        var entries = FilterCorpus.Entries;
        var slice = entries.Where((_, i) => i % 20 == 7).Select(e => e.Expression);
        return Sensitive.Concat(slice).Distinct()
            .Select(e => new TheoryDataRow<string>(e) { TestDisplayName = $"tcpdump -r: {FilterCorpus.Quote(e)}" });
    }

    private static readonly Lazy<Dictionary<(LinkType, bool), string>> Files = new(WriteFiles);

    /// <summary>An empty pcap file (header only) per link type and byte order, in a temporary directory.</summary>
    private static Dictionary<(LinkType, bool), string> WriteFiles()
    {
        var dir = Directory.CreateTempSubdirectory("kdt-savefile-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        var files = new Dictionary<(LinkType, bool), string>();
        foreach (var lt in FilterDifferential.LinkTypes)
        {
            foreach (bool swapped in (ReadOnlySpan<bool>)[false, true])
            {
                var header = new byte[24];
                bool bigEndian = BitConverter.IsLittleEndian == swapped;
                void Put32(int at, uint v)
                {
                    if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(at), v);
                    else BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(at), v);
                }
                void Put16(int at, ushort v)
                {
                    if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(at), v);
                    else BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(at), v);
                }
                Put32(0, 0xa1b2c3d4);
                Put16(4, 2);
                Put16(6, 4);
                Put32(16, FileSnaplen);
                Put32(20, (uint)lt);
                var path = Path.Combine(dir, $"{FilterDifferential.NameOf(lt)}-{(swapped ? "swapped" : "native")}.pcap");
                File.WriteAllBytes(path, header);
                files[(lt, swapped)] = path;
            }
        }
        return files;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Compiles_for_capture_files_as_tcpdump_r_does(string expression)
    {
        if (!LibPcapOracle.IsAvailable)
            Assert.Skip("libpcap (libpcap.so.0.8) is not installed");
        var problems = new List<string>();
        foreach (var ((lt, swapped), path) in Files.Value)
        {
            var info = LibPcapOracle.ReadFileInfo(path, out string? error);
            Assert.True(info is { } i && i.LinkType == lt && i.Swapped == swapped && i.Snaplen == FileSnaplen, $"{path}: {error}");
            foreach (bool optimize in (ReadOnlySpan<bool>)[false, true])
            {
                var oracle = LibPcapOracle.CompileForFile(path, expression, optimize);
                var options = new FilterCompileOptions
                {
                    Optimize = optimize, Snaplen = FileSnaplen, Netmask = LibPcapOracle.TcpdumpNetmask,
                    ForSavefile = true, SavefileByteSwapped = swapped,
                };
                var ours = FilterDifferential.Ours(expression, lt, options);
                string expected = oracle.Succeeded ? LibPcapOracle.Dump(oracle.Instructions, CbpfDumpStyle.Readable) : "error: " + oracle.Error;
                string actual = ours.Program is { } prog
                    ? FilterDifferential.OurListing(prog, CbpfDumpStyle.Readable)
                    : (ours.Failure is FilterCompileException ? "error: " : "") + FilterDifferential.Describe(ours.Failure!);
                if (expected != actual)
                {
                    problems.Add($"== {FilterDifferential.NameOf(lt)} file{(swapped ? " in the other byte order" : "")}, {(optimize ? "optimized" : "-O")}:\n"
                        + FilterDifferential.FirstDifference(expected, actual));
                }
            }
        }
        Assert.True(problems.Count == 0, $"{problems.Count} differences for '{FilterCorpus.Quote(expression)}':\n" + string.Join("\n", problems));
    }
}
