using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using KdtCapture.Bpf.Symbols;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>One event of a trace.dat in time order, with where it came from.</summary>
public sealed record TraceRecord(string? Buffer, int Cpu, ulong Timestamp, EventFormat? Format, byte[] Data)
{
    public int Type => Data.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(Data) : -1;
    public int Pid => Data.Length >= 8 ? BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan(4)) : -1;
}

/// <summary>A marker in the record stream: the kernel lost events on <see cref="Cpu"/> before this point.</summary>
public sealed record LostEvents(string? Buffer, int Cpu, ulong Timestamp, long Count);

/// <summary>
/// A trace.dat file as trace-cmd writes it (format version 6, and version 7 when its sections
/// are not compressed): the event formats, kallsyms, saved command lines and per-CPU ring
/// buffer pages of the top buffer and of any instance buffers.
/// </summary>
public sealed class TraceDat
{
    public static ReadOnlySpan<byte> Magic => [0x17, 0x08, 0x44, (byte)'t', (byte)'r', (byte)'a', (byte)'c', (byte)'i', (byte)'n', (byte)'g'];

    private readonly Dictionary<int, EventFormat> _formats = [];

    public int Version { get; private set; }
    public int PageSize { get; private set; }
    public int LongSize { get; private set; }
    public int CpuCount { get; private set; }
    public string HeaderPage { get; private set; } = "";
    public string HeaderEvent { get; private set; } = "";
    public Dictionary<int, string> CommandLines { get; } = [];

    /// <summary>Per CPU, the function names the report has seen calling each other (trace-cmd's function plugin state).</summary>
    internal Dictionary<int, List<string?>> FunctionStacks { get; } = [];
    public KernelSymbols? Symbols { get; private set; }
    public string? Clock { get; private set; }
    public IReadOnlyDictionary<int, EventFormat> Formats => _formats;

    /// <summary>Per buffer (null = the top one), per CPU: the ring buffer pages' bytes.</summary>
    public List<(string? Name, List<byte[]> Cpus)> Buffers { get; } = [];

    private int _commitSize = 8, _dataOffset = 16;

    /// <exception cref="FtraceException">Not a trace.dat, or one this reader cannot take; the message says what to do.</exception>
    public static TraceDat Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FtraceException($"cannot read {path}: {e.Message}");
        }
        try
        {
            return Parse(bytes, path);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or FormatException or OverflowException)
        {
            throw new FtraceException($"{path} is truncated or damaged ({e.GetType().Name} while reading it)");
        }
    }

    public static TraceDat Parse(byte[] bytes, string name)
    {
        var r = new Reader(bytes);
        if (bytes.Length < 16 || !bytes.AsSpan(0, 10).SequenceEqual(Magic))
            throw new FtraceException($"{name} is not a trace.dat file (no trace-cmd magic)");
        r.Position = 10;
        string versionText = r.CString();
        if (!int.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out int version))
            throw new FtraceException($"{name}: unreadable trace.dat version '{versionText}'");
        var dat = new TraceDat { Version = version };
        if (r.Byte() != 0)
            throw new FtraceException($"{name} is a big-endian trace.dat: convert it on a big-endian machine with 'trace-cmd convert'");
        dat.LongSize = r.Byte();
        dat.PageSize = (int)r.U32();
        if (version == 6)
            dat.ReadVersion6(r, name);
        else if (version == 7)
            dat.ReadVersion7(r, name);
        else
            throw new FtraceException($"{name} is trace.dat version {version}; this reader takes versions 6 and 7 (convert with 'trace-cmd convert --file-version 6')");
        return dat;
    }

    private void ReadVersion6(Reader r, string name)
    {
        ReadHeaders(r, name);
        ReadFtraceFormats(r);
        ReadEventFormats(r);
        Symbols = KernelSymbols.Parse(r.Text((int)r.U32()), KernelSymbolKinds.All);
        ParsePrintkFormats(r.Text((int)r.U32()));
        ParseCommandLines(r.Text((int)r.U64()));
        CpuCount = (int)r.U32();
        var buffers = new List<(string Name, ulong Offset)>();
        while (true)
        {
            string section = r.CString();
            if (section == "options  ")
            {
                ReadOptions(r, buffers);
                continue;
            }
            if (section == "latency  ")
                throw new FtraceException($"{name} holds a latency trace (text), not ring buffer data: read it with 'trace-cmd report'");
            if (section != "flyrecord")
                throw new FtraceException($"{name}: unexpected section '{section}' where flyrecord data should start");
            break;
        }
        Buffers.Add((null, ReadCpuData(r)));
        foreach (var (bufferName, offset) in buffers)
        {
            r.Position = checked((int)offset);
            string section = r.CString();
            if (section != "flyrecord")
                throw new FtraceException($"{name}: buffer '{bufferName}' does not start with flyrecord data");
            Buffers.Add((bufferName, ReadCpuData(r)));
        }
    }

    private List<byte[]> ReadCpuData(Reader r)
    {
        var cpus = new List<byte[]>(CpuCount);
        var spans = new List<(ulong, ulong)>();
        for (int i = 0; i < CpuCount; i++)
            spans.Add((r.U64(), r.U64()));
        foreach (var (offset, size) in spans)
            cpus.Add(size == 0 ? [] : r.Bytes.AsSpan(checked((int)offset), checked((int)size)).ToArray());
        return cpus;
    }

    private void ReadOptions(Reader r, List<(string, ulong)> buffers)
    {
        while (true)
        {
            int id = r.U16();
            if (id == 0)
                return;
            int size = (int)r.U32();
            var data = r.Bytes.AsSpan(r.Position, size);
            r.Position += size;
            switch (id)
            {
                case 3: // BUFFER: offset of this instance's flyrecord, then its name
                    buffers.Add((CString(data[8..]), BinaryPrimitives.ReadUInt64LittleEndian(data)));
                    break;
                case 4: // TRACECLOCK
                    Clock = SelectedClock(CString(data));
                    break;
                case 8: // CPUCOUNT
                    CpuCount = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                    break;
            }
        }
    }

    private static string? SelectedClock(string text)
    {
        int open = text.IndexOf('['), close = text.IndexOf(']');
        return open >= 0 && close > open ? text[(open + 1)..close] : null;
    }

    private void ReadHeaders(Reader r, string name)
    {
        if (r.CString() != "header_page")
            throw new FtraceException($"{name}: no header_page section");
        HeaderPage = r.Text((int)r.U64());
        if (r.CString() != "header_event")
            throw new FtraceException($"{name}: no header_event section");
        HeaderEvent = r.Text((int)r.U64());
        ApplyHeaderPage();
    }

    private void ApplyHeaderPage()
    {
        // "field: local_t commit; offset:8; size:8;" and "field: char data; offset:16;"
        foreach (var line in HeaderPage.Split('\n'))
        {
            if (line.Contains(" commit;", StringComparison.Ordinal))
                _commitSize = HeaderNumber(line, "size:") ?? _commitSize;
            else if (line.Contains(" data;", StringComparison.Ordinal))
                _dataOffset = HeaderNumber(line, "offset:") ?? _dataOffset;
        }
    }

    private static int? HeaderNumber(string line, string key)
    {
        int i = line.IndexOf(key, StringComparison.Ordinal);
        if (i < 0)
            return null;
        int end = line.IndexOf(';', i);
        return int.TryParse(line.AsSpan(i + key.Length, end - i - key.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : null;
    }

    private void ReadFtraceFormats(Reader r)
    {
        uint count = r.U32();
        for (uint i = 0; i < count; i++)
            AddFormat("ftrace", r.Text((int)r.U64()));
    }

    private void ReadEventFormats(Reader r)
    {
        uint systems = r.U32();
        for (uint s = 0; s < systems; s++)
        {
            string system = r.CString();
            uint count = r.U32();
            for (uint i = 0; i < count; i++)
                AddFormat(system, r.Text((int)r.U64()));
        }
    }

    private void AddFormat(string system, string text)
    {
        var format = EventFormat.Parse(system, text);
        _formats[format.Id] = format;
    }

    /// <summary>Kernel string constants by address ("0xADDR : \"text\""), which const char * fields point at.</summary>
    public Dictionary<ulong, string> PrintkStrings { get; } = [];

    private void ParsePrintkFormats(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            int colon = line.IndexOf(" : ", StringComparison.Ordinal);
            if (colon < 3 || !line.StartsWith("0x", StringComparison.Ordinal))
                continue;
            if (!ulong.TryParse(line.AsSpan(2, colon - 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong address))
                continue;
            string value = line[(colon + 3)..].Trim();
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                value = value[1..^1];
            PrintkStrings[address] = value.Replace("\\n", "\n", StringComparison.Ordinal);
        }
    }

    private void ParseCommandLines(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            int space = line.IndexOf(' ');
            if (space > 0 && int.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                CommandLines[pid] = line[(space + 1)..];
        }
    }

    // ---- version 7: sections with headers, options first ----

    private void ReadVersion7(Reader r, string name)
    {
        string compression = r.CString();
        r.CString(); // compression version
        if (compression != "none")
            throw new FtraceException($"{name} is a trace.dat version 7 compressed with {compression}, which this reader cannot decompress: write it uncompressed with 'trace-cmd convert --compression none -i {name} -o OUT' or as version 6 with 'trace-cmd convert --file-version 6'");
        ulong optionsOffset = r.U64();
        var v7Buffers = new List<(string Name, byte[] Data)>();
        var visited = new HashSet<ulong>();
        ulong next = optionsOffset;
        while (next != 0 && visited.Add(next))
        {
            r.Position = checked((int)next);
            next = 0;
            var (id, _, size) = SectionHeader(r);
            if (id != 0)
                throw new FtraceException($"{name}: expected an options section at offset {r.Position}");
            int end = r.Position + (int)size;
            while (r.Position < end)
            {
                int optionId = r.U16();
                int optionSize = (int)r.U32();
                var data = r.Bytes.AsSpan(r.Position, optionSize);
                r.Position += optionSize;
                switch (optionId)
                {
                    case 0:
                        next = optionSize >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(data) : 0;
                        r.Position = end;
                        break;
                    case 3:
                        v7Buffers.Add((CString(data[8..]), data.ToArray()));
                        break;
                    case 4:
                        Clock = SelectedClock(CString(data));
                        break;
                    case 8:
                        CpuCount = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                        break;
                    case 16: // HEADER_INFO
                        ReadAt(r, BinaryPrimitives.ReadUInt64LittleEndian(data), sub => ReadHeaders(sub, name));
                        break;
                    case 17: // FTRACE_EVENTS
                        ReadAt(r, BinaryPrimitives.ReadUInt64LittleEndian(data), ReadFtraceFormats);
                        break;
                    case 18: // EVENT_FORMATS
                        ReadAt(r, BinaryPrimitives.ReadUInt64LittleEndian(data), ReadEventFormats);
                        break;
                    case 19: // KALLSYMS
                        ReadAt(r, BinaryPrimitives.ReadUInt64LittleEndian(data), sub => Symbols = KernelSymbols.Parse(sub.Text((int)sub.U32()), KernelSymbolKinds.All));
                        break;
                    case 20: // PRINTK
                        ReadAt(r, BinaryPrimitives.ReadUInt64LittleEndian(data), sub => ParsePrintkFormats(sub.Text((int)sub.U32())));
                        break;
                    case 21: // CMDLINES
                        ReadAt(r, BinaryPrimitives.ReadUInt64LittleEndian(data), sub => ParseCommandLines(sub.Text((int)sub.U64())));
                        break;
                }
            }
        }
        foreach (var (bufferName, data) in v7Buffers)
        {
            // offset, name, clock, page size, cpu count, then per cpu: id, data offset, data size
            var sub = new Reader(data) { Position = 8 };
            sub.CString();
            sub.CString();
            sub.U32();
            int count = (int)sub.U32();
            var cpus = new List<byte[]>();
            for (int i = 0; i < count; i++)
            {
                sub.U32();
                ulong o = sub.U64(), size = sub.U64();
                cpus.Add(size == 0 ? [] : r.Bytes.AsSpan(checked((int)o), checked((int)size)).ToArray());
            }
            CpuCount = Math.Max(CpuCount, count);
            Buffers.Add((bufferName is "" ? null : bufferName, cpus));
        }
    }

    private static (int Id, int Flags, ulong Size) SectionHeader(Reader r)
    {
        int id = r.U16();
        int flags = r.U16();
        r.U32(); // string id of the section's description
        ulong size = r.U64();
        return (id, flags, size);
    }

    private static void ReadAt(Reader r, ulong offset, Action<Reader> read)
    {
        var sub = new Reader(r.Bytes) { Position = checked((int)offset) };
        var (_, flags, _) = SectionHeader(sub);
        if ((flags & 1) != 0)
            throw new FtraceException("a compressed section in an uncompressed trace.dat");
        read(sub);
    }

    /// <summary>Every event of every buffer in time order (lowest CPU first on equal stamps), with lost-event markers.</summary>
    public IEnumerable<object> Records()
    {
        var cursors = new List<Cursor>();
        foreach (var (bufferName, cpus) in Buffers)
        {
            for (int cpu = 0; cpu < cpus.Count; cpu++)
            {
                var c = new Cursor(this, bufferName, cpu, cpus[cpu]);
                if (c.Advance())
                    cursors.Add(c);
            }
        }
        while (cursors.Count > 0)
        {
            int best = 0;
            for (int i = 1; i < cursors.Count; i++)
            {
                if (cursors[i].Timestamp < cursors[best].Timestamp)
                    best = i;
            }
            var c = cursors[best];
            yield return c.Current!;
            if (!c.Advance())
                cursors.RemoveAt(best);
        }
    }

    private sealed class Cursor(TraceDat dat, string? buffer, int cpu, byte[] data)
    {
        private int _page = -1;
        private readonly List<object> _pending = [];
        private int _next;

        public object? Current { get; private set; }

        public ulong Timestamp => Current switch
        {
            TraceRecord t => t.Timestamp,
            LostEvents l => l.Timestamp,
            _ => ulong.MaxValue,
        };

        public bool Advance()
        {
            while (_next >= _pending.Count)
            {
                _pending.Clear();
                _next = 0;
                _page++;
                if ((long)(_page + 1) * dat.PageSize > data.Length)
                {
                    Current = null;
                    return false;
                }
                var page = new RingBufferPage(data.AsSpan(_page * dat.PageSize, dat.PageSize), dat._commitSize, dat._dataOffset);
                if (page.LostEventsBefore)
                    _pending.Add(new LostEvents(buffer, cpu, page.PageTimestamp, page.LostEventCount));
                while (page.TryRead(out var e))
                {
                    int type = e.Data.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(e.Data) : -1;
                    dat._formats.TryGetValue(type, out var format);
                    _pending.Add(new TraceRecord(buffer, cpu, e.Timestamp, format, e.Data.ToArray()));
                }
            }
            Current = _pending[_next++];
            return true;
        }
    }

    private static string CString(ReadOnlySpan<byte> data)
    {
        int end = data.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? data : data[..end]);
    }

    private sealed class Reader(byte[] bytes)
    {
        public byte[] Bytes { get; } = bytes;
        public int Position;

        public byte Byte() => Bytes[Position++];

        public ushort U16()
        {
            ushort v = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(Position));
            Position += 2;
            return v;
        }

        public uint U32()
        {
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(Position));
            Position += 4;
            return v;
        }

        public ulong U64()
        {
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(Position));
            Position += 8;
            return v;
        }

        public string CString()
        {
            int end = Array.IndexOf(Bytes, (byte)0, Position);
            if (end < 0)
                throw new FormatException("unterminated string");
            string s = Encoding.UTF8.GetString(Bytes, Position, end - Position);
            Position = end + 1;
            return s;
        }

        public string Text(int length)
        {
            string s = Encoding.UTF8.GetString(Bytes, Position, length);
            Position += length;
            return s;
        }
    }
}
