using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using KdtCapture.Capture.Tests.Taps;

namespace KdtCapture.Capture.Tests.Packaging;

/// <summary>
/// The libraries as NuGet packages: `dotnet pack` of KdtCapture.Filters, .PcapNg, .Bpf and .Capture
/// into a folder feed (metadata, README, dependencies, the BPF objects inside KdtCapture.Bpf.dll),
/// then a fresh console project outside the repository — restored offline from that feed and the
/// machine's package cache only — that adds KdtCapture.Capture beside SharpPcap, captures its own
/// datagrams at tp_btf/net_dev_queue through SharpPcap's interfaces, writes them with SharpPcap's
/// writer and reads them back through our file device; tshark reads the file too.
/// </summary>
[Collection(KernelTapCollection.Name)]
public sealed partial class NuGetPackageTests
{
    private static readonly string[] Libraries = ["Filters", "PcapNg", "Bpf", "Capture"];

    [GeneratedRegex(@"^(tap|file) (\d+) ([0-9A-F]+)$", RegexOptions.Multiline)]
    private static partial Regex PacketLine();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "KdtCapture.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("no KdtCapture.sln above " + AppContext.BaseDirectory);
    }

    private static (int Exit, string Output) Run(string file, IEnumerable<string> args, string directory, IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        // The repository's build must not leak into the fresh project's (MSBuild node reuse).
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            return (-1, stdout + "(timed out)");
        }
        return (p.ExitCode, stdout + stderr.GetAwaiter().GetResult());
    }

    [Fact]
    public void The_packages_restore_offline_into_a_fresh_project_that_captures_with_SharpPcap()
    {
        TapTestKit.RequireTaps();
        string root = RepositoryRoot();
        // Packed from what this test's own build compiled (same configuration), so nothing is rebuilt.
        string configuration = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        string work = Path.Combine(Path.GetTempPath(), $"kdx-nuget-{Environment.ProcessId}-{Guid.NewGuid():N}");
        string feed = Path.Combine(work, "feed"), app = Path.Combine(work, "app");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(app);
        try
        {
            // One pack for the four libraries: a solution filter.
            string filter = Path.Combine(work, "libraries.slnf");
            File.WriteAllText(filter, $$"""
                { "solution": { "path": "{{Path.Combine(root, "KdtCapture.sln")}}",
                  "projects": [ {{string.Join(", ", Libraries.Select(l => $"\"src/{l}/KdtCapture.{l}.csproj\""))}} ] } }
                """);
            var pack = Run("dotnet", ["pack", filter, "-c", configuration, "--no-build", "-o", feed, "-p:IncludeSymbols=false"], root);
            Assert.True(pack.Exit == 0, pack.Output);

            CheckPackages(root, feed);

            // The fresh project: outside the repository (none of its props), its own package folder
            // (so no stale copy of our 0.1.0 from an earlier run is used), sources: the feed and the
            // machine's package cache, read as a folder feed (offline).
            string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <config><add key="globalPackagesFolder" value="{Path.Combine(work, "packages")}" /></config>
                  <packageSources>
                    <clear />
                    <add key="kdt" value="{feed}" />
                    <add key="cache" value="{cache}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "KdxNugetApp.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="SharpPcap" Version="6.3.1" />
                    <PackageReference Include="KdtCapture.Capture" Version="0.1.0" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), AppSource);
            var build = Run("dotnet", ["build", "-c", "Release", "-o", Path.Combine(app, "out")], app,
                new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work, "packages") });
            Assert.True(build.Exit == 0, build.Output);

            int port = TapTestKit.FreshPort();
            string pcap = Path.Combine(work, "captured.pcap");
            var run = Run(Path.Combine(app, "out", "KdxNugetApp"), [port.ToString(System.Globalization.CultureInfo.InvariantCulture), pcap], app);
            Assert.True(run.Exit == 0, run.Output);

            var lines = PacketLine().Matches(run.Output).Select(m => (Kind: m.Groups[1].Value, Index: int.Parse(m.Groups[2].Value), Hex: m.Groups[3].Value)).ToList();
            var tap = lines.Where(l => l.Kind == "tap").OrderBy(l => l.Index).ToList();
            var file = lines.Where(l => l.Kind == "file").ToList();
            Assert.True(tap.Count == AppPackets, run.Output);
            for (int i = 0; i < AppPackets; i++)
            {
                Assert.Equal(i, tap[i].Index);
                // Ethernet (loopback) + IPv4 + UDP to our port + the payload the program sent.
                byte[] frame = Convert.FromHexString(tap[i].Hex);
                Assert.Equal(port, frame[36] << 8 | frame[37]);
                Assert.EndsWith($"kdx-nuget {i}", System.Text.Encoding.ASCII.GetString(frame));
            }
            Assert.Equal(tap.Select(t => t.Hex).Order(), file.Select(f => f.Hex).Order());
            Assert.Contains($"statistics received={AppPackets} dropped=0", run.Output, StringComparison.Ordinal);

            // The file SharpPcap wrote from the tap's RawCaptures, as tshark reads it.
            var tshark = Run("tshark", ["-r", pcap, "-T", "fields", "-e", "udp.dstport"], work);
            if (tshark.Exit == 0)
                Assert.Equal(Enumerable.Repeat(port.ToString(System.Globalization.CultureInfo.InvariantCulture), AppPackets),
                    tshark.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("Running as", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Each package: its metadata, README, library, dependencies; KdtCapture.Bpf.dll with every BPF object as a resource.</summary>
    private static void CheckPackages(string root, string feed)
    {
        foreach (string library in Libraries)
        {
            string id = "KdtCapture." + library;
            string path = Path.Combine(feed, $"{id}.0.1.0.nupkg");
            Assert.True(File.Exists(path), $"{path} missing: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
            using ZipArchive zip = ZipFile.OpenRead(path);
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("README.md", names);
            Assert.Contains($"lib/net10.0/{id}.dll", names);
            XDocument nuspec;
            using (Stream s = zip.GetEntry($"{id}.nuspec")!.Open())
                nuspec = XDocument.Load(s);
            // The schema version NuGet writes depends on the features used.
            XNamespace ns = nuspec.Root!.Name.Namespace;
            XElement metadata = nuspec.Root!.Element(ns + "metadata")!;
            Assert.Equal(id, metadata.Element(ns + "id")!.Value);
            Assert.Equal("expression", metadata.Element(ns + "license")!.Attribute("type")!.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
            Assert.True(metadata.Element(ns + "description")!.Value.Length > 40);
            var dependencies = metadata.Descendants(ns + "dependency").ToDictionary(d => d.Attribute("id")!.Value, d => d.Attribute("version")!.Value);
            // What the project references, as package dependencies.
            string csproj = File.ReadAllText(Path.Combine(root, "src", library, $"{id}.csproj"));
            foreach (Match reference in Regex.Matches(csproj, @"ProjectReference Include=""\.\./(\w+)/"))
                Assert.Equal("0.1.0", dependencies[$"KdtCapture.{reference.Groups[1].Value}"]);
            foreach (Match reference in Regex.Matches(csproj, @"PackageReference Include=""([\w.]+)"""))
                Assert.True(dependencies.ContainsKey(reference.Groups[1].Value), $"{id} lacks its dependency {reference.Groups[1].Value}");

            if (library != "Bpf")
                continue;
            using var dll = new MemoryStream();
            using (Stream s = zip.GetEntry($"lib/net10.0/{id}.dll")!.Open())
                s.CopyTo(dll);
            dll.Position = 0;
            using var pe = new PEReader(dll);
            MetadataReader reader = pe.GetMetadataReader();
            var resources = new Dictionary<string, byte[]>();
            foreach (ManifestResourceHandle handle in reader.ManifestResources)
            {
                ManifestResource resource = reader.GetManifestResource(handle);
                PEMemoryBlock block = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
                BlobReader data = block.GetReader((int)resource.Offset, block.Length - (int)resource.Offset);
                int length = data.ReadInt32();
                resources[reader.GetString(resource.Name)] = data.ReadBytes(length);
            }
            var sources = Directory.GetFiles(Path.Combine(root, "native", "bpf-progs"), "*.bpf.c").Select(f => $"bpf/{Path.GetFileNameWithoutExtension(f)}.o").Order();
            Assert.Equal(sources, resources.Keys.Where(k => k.StartsWith("bpf/", StringComparison.Ordinal)).Order());
            // Each an ELF object for BPF (e_machine 247).
            foreach (var (name, bytes) in resources.Where(r => r.Key.StartsWith("bpf/", StringComparison.Ordinal)))
            {
                Assert.True(bytes.AsSpan(0, 4).SequenceEqual("\u007fELF"u8), name);
                Assert.Equal(247, BitConverter.ToUInt16(bytes, 18));
            }
        }
    }

    private const int AppPackets = 5;

    /// <summary>A SharpPcap program: the only kdt lines are the ones that pick the devices.</summary>
    private const string AppSource = """
        using System.Net;
        using System.Net.Sockets;
        using KdtCapture.Capture.Devices;
        using SharpPcap;
        using SharpPcap.LibPcap;

        int port = int.Parse(args[0]);
        string path = args[1];
        const int count = 5;

        ICaptureDevice tap = new KdtTapDevice("tp_btf/net_dev_queue");
        var captured = new List<RawCapture>();
        tap.OnPacketArrival += (_, e) => { lock (captured) captured.Add(e.GetPacket()); };
        tap.Open(new DeviceConfiguration { Immediate = true });
        tap.Filter = $"udp dst port {port}";
        tap.StartCapture();
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            for (int i = 0; i < count; i++)
                socket.SendTo(System.Text.Encoding.ASCII.GetBytes($"kdx-nuget {i}"), new IPEndPoint(IPAddress.Loopback, port));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20)) { lock (captured) if (captured.Count >= count) break; Thread.Sleep(20); }
        Thread.Sleep(200);
        tap.StopCapture();
        ICaptureStatistics stats = tap.Statistics!;
        Console.WriteLine($"statistics received={stats.ReceivedPackets} dropped={stats.DroppedPackets}");
        tap.Close();
        foreach (RawCapture raw in captured)
        {
            string text = System.Text.Encoding.ASCII.GetString(raw.Data);
            Console.WriteLine($"tap {text[(text.LastIndexOf(' ') + 1)..]} {Convert.ToHexString(raw.Data)}");
        }

        using (var writer = new CaptureFileWriterDevice(path))
        {
            writer.Open(new DeviceConfiguration { LinkLayerType = PacketDotNet.LinkLayers.Ethernet });
            foreach (RawCapture raw in captured) writer.Write(raw);
        }
        ICaptureDevice file = new CaptureFileDevice(path);
        file.Open();
        while (file.GetNextPacket(out PacketCapture e) == GetPacketStatus.PacketRead)
            Console.WriteLine($"file 0 {Convert.ToHexString(e.Data)}");
        file.Close();
        """;
}
