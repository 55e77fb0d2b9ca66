using System.Buffers.Binary;
using System.Text;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>What a trace.dat carries besides the ring buffer pages.</summary>
public sealed class TraceDatMetadata
{
    public required string HeaderPage { get; init; }
    public required string HeaderEvent { get; init; }
    /// <summary>Format files of events/ftrace/* (function, funcgraph_entry, ...).</summary>
    public required IReadOnlyList<string> FtraceFormats { get; init; }
    /// <summary>Per system, the format files of the recorded events.</summary>
    public required IReadOnlyList<(string System, IReadOnlyList<string> Formats)> EventFormats { get; init; }
    public required string Kallsyms { get; init; }
    public required string PrintkFormats { get; init; }
    public required string CommandLines { get; init; }
    /// <summary>The trace_clock file's text ("[local] global ...").</summary>
    public required string Clock { get; init; }
    public required int PageSize { get; init; }
}

/// <summary>
/// Writes trace.dat format version 6, the layout trace-cmd 2.x and 3.x read: magic, version,
/// endianness, long and page size, header_page and header_event, ftrace and event formats,
/// kallsyms, printk formats, saved command lines, CPU count, options (the trace clock), then
/// "flyrecord": per-CPU offset/size and page-aligned per-CPU ring buffer pages.
/// </summary>
public static class TraceDatWriter
{
    private const ushort OptionTraceClock = 4, OptionCpuCount = 8;

    /// <param name="cpuPages">Per CPU, a file holding its whole pages as read from trace_pipe_raw.</param>
    public static void Write(Stream output, TraceDatMetadata meta, IReadOnlyList<string> cpuPages)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(meta);
        ArgumentNullException.ThrowIfNull(cpuPages);
        var w = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true);
        w.Write(TraceDat.Magic);
        CString(w, "6");
        w.Write((byte)(BitConverter.IsLittleEndian ? 0 : 1));
        w.Write((byte)IntPtr.Size);
        w.Write((uint)meta.PageSize);
        CString(w, "header_page");
        SizedText64(w, meta.HeaderPage);
        CString(w, "header_event");
        SizedText64(w, meta.HeaderEvent);
        w.Write((uint)meta.FtraceFormats.Count);
        foreach (var f in meta.FtraceFormats)
            SizedText64(w, f);
        w.Write((uint)meta.EventFormats.Count);
        foreach (var (system, formats) in meta.EventFormats)
        {
            CString(w, system);
            w.Write((uint)formats.Count);
            foreach (var f in formats)
                SizedText64(w, f);
        }
        SizedText32(w, meta.Kallsyms);
        SizedText32(w, meta.PrintkFormats);
        SizedText64(w, meta.CommandLines);
        w.Write((uint)cpuPages.Count);

        w.Write(Encoding.ASCII.GetBytes("options  \0"));
        Option(w, OptionTraceClock, Encoding.UTF8.GetBytes(meta.Clock.TrimEnd('\n') + "\n\0"));
        byte[] cpus = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(cpus, (uint)cpuPages.Count);
        Option(w, OptionCpuCount, cpus);
        w.Write((ushort)0);

        w.Write(Encoding.ASCII.GetBytes("flyrecord\0"));
        w.Flush();
        // Offsets of page-aligned CPU data after the table and the clock line that follow.
        string selected = SelectedClock(meta.Clock);
        long tableEnd = output.Position + cpuPages.Count * 16L + 8 + Encoding.UTF8.GetByteCount(selected);
        long offset = Align(tableEnd, meta.PageSize);
        var sizes = new long[cpuPages.Count];
        for (int i = 0; i < cpuPages.Count; i++)
        {
            sizes[i] = new FileInfo(cpuPages[i]).Length;
            w.Write((ulong)(sizes[i] == 0 ? 0 : offset));
            w.Write((ulong)sizes[i]);
            offset = Align(offset + sizes[i], meta.PageSize);
        }
        SizedText64(w, selected);
        w.Flush();
        for (int i = 0; i < cpuPages.Count; i++)
        {
            if (sizes[i] == 0)
                continue;
            Pad(output, Align(output.Position, meta.PageSize));
            using var pages = File.OpenRead(cpuPages[i]);
            pages.CopyTo(output);
        }
        output.Flush();
    }

    private static string SelectedClock(string clockFile)
    {
        int open = clockFile.IndexOf('['), close = clockFile.IndexOf(']');
        return open >= 0 && close > open ? clockFile[open..(close + 1)] : "[local]";
    }

    private static long Align(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    private static void Pad(Stream output, long to)
    {
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        while (output.Position < to)
            output.Write(zeros[..(int)Math.Min(zeros.Length, to - output.Position)]);
    }

    private static void Option(BinaryWriter w, ushort id, byte[] data)
    {
        w.Write(id);
        w.Write((uint)data.Length);
        w.Write(data);
    }

    private static void CString(BinaryWriter w, string s)
    {
        w.Write(Encoding.UTF8.GetBytes(s));
        w.Write((byte)0);
    }

    private static void SizedText64(BinaryWriter w, string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    private static void SizedText32(BinaryWriter w, string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        w.Write((uint)b.Length);
        w.Write(b);
    }
}
