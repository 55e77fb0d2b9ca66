using KdtCapture.Toolkit.Psi;

namespace KdtCapture.Toolkit.Tests.Psi;

public sealed class PressureTests
{
    [Fact]
    public void SystemReadingAgreesWithProcPressure()
    {
        if (!Directory.Exists(Pressure.SystemDirectory))
            Assert.Skip("this kernel has no /proc/pressure (CONFIG_PSI off or psi=0)");

        // The files read before and after bracket what Pressure.Read saw: totals only grow, and
        // the averages are each one of the file's own values in that interval (updated every 2 s).
        var before = ReadRaw();
        var readings = Pressure.Read(cgroup: null);
        var after = ReadRaw();

        Assert.Equal(before.Keys.Order(), readings.Select(r => Pressure.Name(r.Resource)).Order());
        foreach (var r in readings)
        {
            string name = Pressure.Name(r.Resource);
            AssertBetween(before[name]["some"], r.Some, after[name]["some"], name + " some");
            if (before[name].ContainsKey("full"))
                AssertBetween(before[name]["full"], r.Full!.Value, after[name]["full"], name + " full");
            else
                Assert.Null(r.Full);
        }
    }

    private static void AssertBetween(double[] before, PressureLine seen, double[] after, string what)
    {
        Assert.InRange((double)seen.TotalMicroseconds, before[3], after[3]);
        double[] values = [seen.Avg10, seen.Avg60, seen.Avg300];
        for (int i = 0; i < 3; i++)
        {
            Assert.True(values[i] == before[i] || values[i] == after[i] || (values[i] >= Math.Min(before[i], after[i]) && values[i] <= Math.Max(before[i], after[i])),
                $"{what} avg #{i}: {values[i]} is neither {before[i]} nor {after[i]}");
        }
    }

    /// <summary>/proc/pressure parsed independently: resource → "some"/"full" → avg10, avg60, avg300, total.</summary>
    private static Dictionary<string, Dictionary<string, double[]>> ReadRaw()
    {
        var result = new Dictionary<string, Dictionary<string, double[]>>();
        foreach (var file in Directory.GetFiles(Pressure.SystemDirectory))
        {
            var lines = new Dictionary<string, double[]>();
            foreach (var line in File.ReadAllLines(file))
            {
                var fields = line.Split(' ');
                lines[fields[0]] = fields.Skip(1).Select(f => double.Parse(f[(f.IndexOf('=') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            }
            result[Path.GetFileName(file)] = lines;
        }
        return result;
    }

    [Fact]
    public void ParsesTheKernelsLayout()
    {
        var r = Pressure.Parse(PressureResource.Memory,
            "some avg10=1.50 avg60=0.25 avg300=100.00 total=18446744073709551615\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", "test");
        Assert.Equal(new PressureLine(1.5, 0.25, 100, ulong.MaxValue), r.Some);
        Assert.Equal(new PressureLine(0, 0, 0, 7), r.Full);
    }

    [Theory]
    [InlineData("some avg10=1.50 avg60=0.25 total=3\n")]
    [InlineData("most avg10=1.50 avg60=0.25 avg300=1.00 total=3\n")]
    [InlineData("full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n")]
    [InlineData("some avg10=x avg60=0.25 avg300=1.00 total=3\n")]
    public void RefusesOtherText(string text)
        => Assert.Throws<PsiException>(() => Pressure.Parse(PressureResource.Io, text, "test"));

    [Fact]
    public void AMissingCgroupIsOneSentence()
    {
        var e = Assert.Throws<PsiException>(() => Pressure.Read("/sys/fs/cgroup/kdf-no-such-cgroup"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("kdf-no-such-cgroup", e.Message);
    }
}
