using KdtCapture.Cli.Psi;
using KdtCapture.Toolkit.Psi;

namespace KdtCapture.Toolkit.Tests.Psi;

public sealed class PsiTriggerSpecTests
{
    [Theory]
    [InlineData("memory some 150ms 1s", PressureResource.Memory, false, "some 150000 1000000")]
    [InlineData("cpu full 500000 2s", PressureResource.Cpu, true, "full 500000 2000000")]
    [InlineData("io  some  1s  10s", PressureResource.Io, false, "some 1000000 10000000")]
    [InlineData("irq full 100us 500ms", PressureResource.Irq, true, "full 100 500000")]
    public void WritesWhatPsiRstDescribes(string text, PressureResource resource, bool full, string kernelText)
    {
        var spec = PsiTriggerSpec.Parse(text);
        Assert.Equal(resource, spec.Resource);
        Assert.Equal(full, spec.Full);
        Assert.Equal(kernelText, spec.KernelText);
    }

    [Theory]
    [InlineData("memory some 150ms")]
    [InlineData("disk some 150ms 1s")]
    [InlineData("memory most 150ms 1s")]
    [InlineData("memory some 150 ms 1s")]
    [InlineData("memory some 150ms 1h")]
    [InlineData("memory some 150ms 400ms")]
    [InlineData("memory some 150ms 11s")]
    [InlineData("memory some 2s 1s")]
    [InlineData("memory some 0ms 1s")]
    [InlineData("memory some -5ms 1s")]
    public void BadTriggersAreOneLineErrors(string text)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = PsiCommand.Run(["--trigger", text], stdout, stderr, CancellationToken.None);
        Assert.Equal(1, status);
        Assert.Equal("", stdout.ToString());
        string error = stderr.ToString();
        Assert.StartsWith("kdt psi: bad trigger '" + text + "'", error);
        Assert.Equal(error.Length - 1, error.IndexOf('\n'));
    }
}
