using System.Diagnostics;
using System.Text;
using KdtCapture.Bpf.Links;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Objects;
using KdtCapture.Bpf.Ringbuf;

namespace KdtCapture.Toolkit.Trace;

/// <summary>
/// A tool's loaded program: the embedded object with the process filter (and the tool's own
/// constants) written into .rodata, every program attached, and the loop that reads the
/// `events` ring buffer until the duration ends or the token is cancelled, calling back at
/// every interval.
/// </summary>
internal sealed class TraceSession : IDisposable
{
    private readonly BpfObject _object;
    private readonly List<BpfLink> _links;
    private RingBufferReader? _reader;

    private TraceSession(BpfObject obj, List<BpfLink> links)
    {
        _object = obj;
        _links = links;
    }

    public BpfObject Object => _object;

    public static TraceSession Open(string objectName, TraceToolOptions options, IReadOnlyDictionary<string, byte[]>? constants = null)
    {
        var spec = ObjectSpec.Parse(EmbeddedObjects.Read(typeof(TraceSession).Assembly, objectName), objectName);
        var values = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (options.Pid != 0)
            values["targ_tgid"] = BitConverter.GetBytes((uint)options.Pid);
        if (options.Tid != 0)
            values["targ_tid"] = BitConverter.GetBytes((uint)options.Tid);
        if (!string.IsNullOrEmpty(options.Comm))
            values["targ_comm"] = CommBytes(options.Comm);
        if (constants is not null)
        {
            foreach (var (k, v) in constants)
                values[k] = v;
        }
        spec.RewriteConstants(values);
        var obj = BpfObject.Load(spec);
        try
        {
            var links = new List<BpfLink>();
            foreach (string program in obj.Programs.Keys)
                links.Add(obj.Attach(program));
            return new TraceSession(obj, links);
        }
        catch
        {
            obj.Dispose();
            throw;
        }
    }

    /// <summary>A comm as the kernel keeps it: 16 bytes, NUL-padded; longer names are refused.</summary>
    public static byte[] CommBytes(string comm)
    {
        var bytes = new byte[16];
        int n = Encoding.UTF8.GetByteCount(comm);
        if (n > 15)
            throw new TraceException($"-c '{comm}' is longer than the kernel's 15-byte comm: give the first 15 bytes ('{comm[..Math.Min(15, comm.Length)]}')");
        Encoding.UTF8.GetBytes(comm, bytes);
        return bytes;
    }

    public static byte[] Flag(bool value) => [value ? (byte)1 : (byte)0];

    /// <summary>Records the ring buffer could not take (counted by the programs).</summary>
    public ulong LostEvents
    {
        get
        {
            if (!_object.Maps.TryGetValue("lost", out var lost))
                return 0;
            Span<ulong> perCpu = new ulong[BpfMap.PossibleCpuCount];
            if (!lost.TryLookupPerCpu(0u, perCpu))
                return 0;
            ulong sum = 0;
            foreach (ulong n in perCpu)
                sum += n;
            return sum;
        }
    }

    /// <summary>
    /// Reads events (when <paramref name="handler"/> is given) until the duration ends or the
    /// token is cancelled; calls <paramref name="onInterval"/> every interval. Flushes
    /// <paramref name="output"/> after each batch so lines appear as they happen.
    /// </summary>
    public void Run<TState>(TraceToolOptions options, TState state, RingBufferRecordHandler<TState>? handler, Action? onInterval,
        TextWriter output, CancellationToken cancellationToken)
    {
        if (handler is not null)
            _reader ??= new RingBufferReader(_object.Map("events"));
        output.Flush();
        options.Ready?.Invoke();
        long start = Stopwatch.GetTimestamp();
        long end = options.Duration is { } d ? start + ToTicks(d) : long.MaxValue;
        long step = options.Interval is { } i ? ToTicks(i) : 0;
        long next = step > 0 ? start + step : long.MaxValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            long now = Stopwatch.GetTimestamp();
            if (now >= end)
                break;
            if (now >= next)
            {
                onInterval?.Invoke();
                output.Flush();
                next += step;
                continue;
            }
            var wait = Stopwatch.GetElapsedTime(now, Math.Min(end, next));
            if (wait > TimeSpan.FromSeconds(1))
                wait = TimeSpan.FromSeconds(1);
            try
            {
                if (_reader is not null && handler is not null)
                {
                    if (_reader.Read(state, handler, wait, cancellationToken) > 0)
                        output.Flush();
                }
                else
                {
                    cancellationToken.WaitHandle.WaitOne(wait);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        // Stop the programs first, so the last read (and a summary's maps) see one consistent end.
        Detach();
        // What the kernel sent before the stop is still printed.
        if (_reader is not null && handler is not null)
            _reader.Poll(state, handler);
        output.Flush();
    }

    /// <summary>Detaches every program; the maps stay readable until Dispose.</summary>
    public void Detach()
    {
        foreach (var link in _links)
            link.Dispose();
        _links.Clear();
    }

    private static long ToTicks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Says how many events were lost, if any (nothing is dropped silently).</summary>
    public void ReportLost(TextWriter diagnostics, string tool)
    {
        ulong lost = LostEvents;
        if (lost > 0)
            diagnostics.WriteLine($"{tool}: {lost} events lost (the ring buffer was full; filter with -p/-c to see fewer)");
    }

    public void Dispose()
    {
        _reader?.Dispose();
        _object.Dispose();
    }
}
