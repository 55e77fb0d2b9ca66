namespace KdtCapture.Filters.Cbpf;

/// <summary>The three ways tcpdump prints a compiled filter.</summary>
public enum CbpfDumpStyle
{
    /// <summary><c>-d</c>: one readable line per instruction, "(000) ldh      [12]".</summary>
    Readable = 1,
    /// <summary><c>-dd</c>: a C array initializer, "{ 0x28, 0, 0, 0x0000000c },".</summary>
    CArray = 2,
    /// <summary><c>-ddd</c>: the count, then "code jt jf k" in decimal per line.</summary>
    Decimal = 3,
}

/// <summary>Prints cBPF programs exactly as tcpdump's -d/-dd/-ddd (libpcap's bpf_dump and bpf_image).</summary>
public static class CbpfPrinter
{
    /// <summary>The whole listing, each line ending in '\n'.</summary>
    public static string Format(ReadOnlySpan<CbpfInstruction> program, CbpfDumpStyle style)
        => throw new NotImplementedException();

    /// <summary>Writes the whole listing.</summary>
    public static void Write(TextWriter writer, ReadOnlySpan<CbpfInstruction> program, CbpfDumpStyle style)
        => throw new NotImplementedException();

    /// <summary>One instruction as a -d line, without the newline (libpcap's bpf_image).</summary>
    public static string Image(CbpfInstruction instruction, int index)
        => throw new NotImplementedException();
}
