using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KdtCapture.Cli.CommandLine;
using KdtCapture.Toolkit.Psi;

namespace KdtCapture.Cli.Psi;

/// <summary><c>kdt psi</c>: shows pressure files, refreshes them, or watches PSI triggers. The reading lives in KdtCapture.Toolkit.Psi.</summary>
internal static class PsiCommand
{
    private const int OptCgroup = 1000, OptTrigger = 1001, OptExec = 1002;

    private static readonly Getopt s_getopt = new("hi:c:j",
    [
        new LongOption("cgroup", true, OptCgroup),
        new LongOption("trigger", true, OptTrigger),
        new LongOption("exec", true, OptExec),
        new LongOption("interval", true, 'i'),
        new LongOption("count", true, 'c'),
        new LongOption("json", false, 'j'),
        new LongOption("help", false, 'h'),
    ]);

    // Paths and times stay readable ('+' and '/' unescaped); the output is not embedded in HTML.
    private static readonly JsonWriterOptions s_json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private sealed class Options
    {
        public string? Cgroup;
        public TimeSpan? Interval;
        public long? Count;
        public bool Json;
        public string? Exec;
        public List<PsiTriggerSpec> Triggers = [];
    }

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr) =>
        Interrupt.Run(token => Run(args, stdout, stderr, token));

    /// <summary>As <see cref="Run(IReadOnlyList{string}, TextWriter, TextWriter)"/>, stopping (successfully) when <paramref name="cancellationToken"/> is cancelled.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var o = new Options();
        var operands = new List<string>();
        try
        {
            foreach (var option in s_getopt.Parse(args, operands))
            {
                switch (option.Id)
                {
                    case 'h':
                        stdout.Write(PsiHelp.Text);
                        return ExitCodes.Success;
                    case 'j':
                        o.Json = true;
                        break;
                    case 'i':
                        if (!double.TryParse(option.Argument, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds) || seconds < 0.1 || seconds > 86400)
                            return Fail(stderr, $"-i '{option.Argument}': give the refresh interval in seconds, at least 0.1 (e.g. -i 2)");
                        o.Interval = TimeSpan.FromSeconds(seconds);
                        break;
                    case 'c':
                        if (!long.TryParse(option.Argument, NumberStyles.None, CultureInfo.InvariantCulture, out long count) || count <= 0)
                            return Fail(stderr, $"-c '{option.Argument}': give a positive count (e.g. -c 5)");
                        o.Count = count;
                        break;
                    case OptCgroup:
                        o.Cgroup = option.Argument!;
                        break;
                    case OptTrigger:
                        o.Triggers.Add(PsiTriggerSpec.Parse(option.Argument!));
                        break;
                    case OptExec:
                        o.Exec = option.Argument!;
                        break;
                }
            }
        }
        catch (GetoptException e)
        {
            return Fail(stderr, $"{e.Message} (see 'kdt psi --help')");
        }
        catch (PsiException e)
        {
            return Fail(stderr, e.Message);
        }
        if (operands.Count > 0)
            return Fail(stderr, $"unexpected argument '{operands[0]}' (pressure is chosen with --cgroup DIR; see 'kdt psi --help')");
        if (o.Exec is not null && o.Triggers.Count == 0)
            return Fail(stderr, "--exec runs at trigger events: add --trigger 'RESOURCE some|full THRESHOLD WINDOW'");
        if (o.Interval is not null && o.Triggers.Count > 0)
            return Fail(stderr, "-i refreshes the table; with --trigger events are printed as they come: drop -i");

        try
        {
            return o.Triggers.Count > 0 ? Watch(o, stdout, stderr, cancellationToken) : Show(o, stdout, cancellationToken);
        }
        catch (PsiException e)
        {
            return Fail(stderr, e.Message);
        }
    }

    private static int Show(Options o, TextWriter stdout, CancellationToken cancellationToken)
    {
        long shown = 0;
        while (true)
        {
            var readings = Pressure.Read(o.Cgroup);
            if (o.Json)
                WriteJson(stdout, o.Cgroup, readings, DateTimeOffset.UtcNow);
            else
                WriteTable(stdout, readings, o.Interval is null ? null : DateTimeOffset.Now);
            stdout.Flush();
            shown++;
            if (o.Interval is null || (o.Count is not null && shown >= o.Count))
                return ExitCodes.Success;
            if (cancellationToken.WaitHandle.WaitOne(o.Interval.Value))
                return ExitCodes.Success;
        }
    }

    private static void WriteTable(TextWriter stdout, IReadOnlyList<PressureReading> readings, DateTimeOffset? time)
    {
        if (time is not null)
            stdout.WriteLine(time.Value.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        stdout.WriteLine("resource  some avg10  avg60 avg300       total(us)  full avg10  avg60 avg300       total(us)");
        foreach (var r in readings)
        {
            var line = new StringBuilder(100);
            line.Append(CultureInfo.InvariantCulture, $"{Pressure.Name(r.Resource),-8}  {Columns(r.Some)}");
            if (r.Full is { } full)
                line.Append(CultureInfo.InvariantCulture, $"  {Columns(full)}");
            else
                line.Append("           -      -      -               -");
            stdout.WriteLine(line.ToString());
        }
        if (time is not null)
            stdout.WriteLine();
    }

    private static string Columns(PressureLine l)
        => string.Create(CultureInfo.InvariantCulture, $"{l.Avg10,10:F2} {l.Avg60,6:F2} {l.Avg300,6:F2} {l.TotalMicroseconds,15}");

    private static void WriteJson(TextWriter stdout, string? cgroup, IReadOnlyList<PressureReading> readings, DateTimeOffset time)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteString("time", time.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture));
            json.WriteString("scope", cgroup ?? "system");
            foreach (var r in readings)
            {
                json.WriteStartObject(Pressure.Name(r.Resource));
                WriteLine(json, "some", r.Some);
                if (r.Full is { } full)
                    WriteLine(json, "full", full);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        stdout.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static void WriteLine(Utf8JsonWriter json, string name, PressureLine l)
    {
        json.WriteStartObject(name);
        json.WriteNumber("avg10", l.Avg10);
        json.WriteNumber("avg60", l.Avg60);
        json.WriteNumber("avg300", l.Avg300);
        json.WriteNumber("total", l.TotalMicroseconds);
        json.WriteEndObject();
    }

    private static int Watch(Options o, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var triggers = new List<PsiTrigger>(o.Triggers.Count);
        try
        {
            foreach (var spec in o.Triggers)
                triggers.Add(PsiTrigger.Register(spec, o.Cgroup));
            foreach (var t in triggers)
                stderr.WriteLine($"kdt psi: watching '{t.Spec}' on {t.Path} (Ctrl-C to stop)");
            long events = 0;
            while (true)
            {
                int fired = PsiTrigger.WaitAny(triggers, cancellationToken);
                if (fired < 0)
                    return ExitCodes.Success;
                var now = DateTimeOffset.UtcNow;
                var trigger = triggers[fired];
                var reading = Pressure.Parse(trigger.Spec.Resource, File.ReadAllText(trigger.Path), trigger.Path);
                var line = trigger.Spec.Full ? reading.Full ?? reading.Some : reading.Some;
                if (o.Json)
                {
                    using var buffer = new MemoryStream();
                    using (var json = new Utf8JsonWriter(buffer, s_json))
                    {
                        json.WriteStartObject();
                        json.WriteString("time", now.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture));
                        json.WriteString("trigger", trigger.Spec.ToString());
                        json.WriteString("file", trigger.Path);
                        json.WriteNumber("avg10", line.Avg10);
                        json.WriteNumber("avg60", line.Avg60);
                        json.WriteNumber("avg300", line.Avg300);
                        json.WriteNumber("total", line.TotalMicroseconds);
                        json.WriteEndObject();
                    }
                    stdout.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
                }
                else
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{now.ToLocalTime():yyyy-MM-dd HH:mm:ss.ffffff} {trigger.Spec}: avg10={line.Avg10:F2} avg60={line.Avg60:F2} avg300={line.Avg300:F2} total={line.TotalMicroseconds}"));
                }
                stdout.Flush();
                if (o.Exec is not null)
                    RunExec(o.Exec, trigger.Spec, stderr, cancellationToken);
                events++;
                if (o.Count is not null && events >= o.Count)
                    return ExitCodes.Success;
            }
        }
        finally
        {
            foreach (var t in triggers)
                t.Dispose();
        }
    }

    private static void RunExec(string command, PsiTriggerSpec spec, TextWriter stderr, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        start.Environment["KDT_PSI_TRIGGER"] = spec.ToString();
        try
        {
            using var process = Process.Start(start);
            if (process is null)
                return;
            // Waited for, so a slow handler cannot pile up copies of itself; events meanwhile
            // are merged by the kernel into the next poll.
            process.WaitForExitAsync(cancellationToken).GetAwaiter().GetResult();
            if (process.ExitCode != 0)
                stderr.WriteLine($"kdt psi: --exec '{command}' exited with status {process.ExitCode}");
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            stderr.WriteLine($"kdt psi: cannot run /bin/sh for --exec: {e.Message}");
        }
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"kdt psi: {message}");
        return ExitCodes.Failure;
    }
}
