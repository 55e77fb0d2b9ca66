using KdtCapture.Cli.Hotfix;
using KdtCapture.Toolkit.Hotfix;

namespace KdtCapture.Toolkit.Tests.Hotfix;

/// <summary>
/// On a kernel without loadable modules or livepatch (this machine's), every verb but info says so
/// in one sentence and fails; bad command lines are refused in one line too.
/// </summary>
public sealed class HotfixRefusalTests
{
    private static (int Status, string Stdout, string Stderr) Kdt(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = HotfixCommand.Run(args, stdout, stderr, CancellationToken.None);
        return (status, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("load", "/nonexistent/patch.ko")]
    [InlineData("load", "--all")]
    [InlineData("unload", "patch")]
    [InlineData("unload", "--all")]
    [InlineData("install", "/nonexistent/patch.ko")]
    [InlineData("uninstall", "patch")]
    [InlineData("list")]
    [InlineData("signal")]
    [InlineData("force", "patch")]
    public void EveryVerbButInfoSaysTheKernelLacksLivepatch(params string[] args)
    {
        bool modules = File.Exists("/proc/modules"), livepatch = Directory.Exists("/sys/kernel/livepatch");
        if (modules && livepatch)
            Assert.Skip("this kernel has modules and livepatch (the guest tests cover it)");
        var (status, stdout, stderr) = Kdt(args);
        Assert.Equal(1, status);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"kdt hotfix: {args[0]}: this kernel has ", lines[0], StringComparison.Ordinal);
        if (!livepatch)
            Assert.Contains("no /sys/kernel/livepatch", lines[0], StringComparison.Ordinal);
        if (!modules)
            Assert.Contains("no /proc/modules", lines[0], StringComparison.Ordinal);
        Assert.Contains("kdt hotfix info FILE.ko", lines[0], StringComparison.Ordinal);
        Assert.Equal(lines[0]["kdt hotfix: ".Length..], $"{args[0]}: {Livepatcher.WhyNot()}");
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "unknown verb 'frobnicate'")]
    [InlineData(new[] { "load" }, "load needs a patch module")]
    [InlineData(new[] { "load", "--all", "x.ko" }, "give no files")]
    [InlineData(new[] { "unload" }, "unload needs a patch name")]
    [InlineData(new[] { "install" }, "install takes one patch module")]
    [InlineData(new[] { "info" }, "info takes one module file")]
    [InlineData(new[] { "info", "a.ko", "b.ko" }, "info takes one module file")]
    [InlineData(new[] { "force" }, "force takes the name")]
    [InlineData(new[] { "list", "x" }, "list takes no operands")]
    [InlineData(new[] { "load", "--timeout", "soon", "x.ko" }, "--timeout 'soon'")]
    [InlineData(new[] { "list", "--root", "/nonexistent/root" }, "is not a directory")]
    [InlineData(new[] { "load", "-k", "6.1.0-1-amd64", "x.ko" }, "-k picks the kernel of install and uninstall")]
    [InlineData(new[] { "info", "--bogus", "x.ko" }, "see 'kdt hotfix --help'")]
    public void BadCommandLinesAreOneLine(string[] args, string expected)
    {
        var (status, _, stderr) = Kdt(args);
        Assert.Equal(1, status);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("kdt hotfix: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void InfoOnFilesThatAreNotModulesIsOneLine()
    {
        string dir = Directory.CreateTempSubdirectory("kdh-info-").FullName;
        try
        {
            string text = Path.Combine(dir, "notes.ko");
            File.WriteAllText(text, "not a module\n");
            string xz = Path.Combine(dir, "fix.ko.xz");
            File.WriteAllBytes(xz, [0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0, 0, 0]);
            string truncated = Path.Combine(dir, "truncated.ko");
            File.WriteAllBytes(truncated, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, .. new byte[80]]);
            foreach (var (file, expected) in new[]
            {
                (text, "is not an ELF file"),
                (xz, "is xz-compressed: decompress it first"),
                (truncated, "is not a relocatable ELF object"),
                (Path.Combine(dir, "missing.ko"), "cannot read"),
            })
            {
                var (status, stdout, stderr) = Kdt("info", file);
                Assert.Equal(1, status);
                Assert.Equal("", stdout);
                Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.Contains(expected, stderr, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void HelpListsEveryVerbWithExamples()
    {
        var (status, stdout, _) = Kdt("--help");
        Assert.Equal(0, status);
        foreach (var verb in new[] { "load", "unload", "install", "uninstall", "list", "info", "signal", "force" })
            Assert.Contains($"kdt hotfix {verb}", stdout, StringComparison.Ordinal);
        Assert.Contains("Examples:", stdout, StringComparison.Ordinal);
    }
}
