using System.Buffers.Binary;
using System.Text;
using KdtCapture.Toolkit.Ftrace;

namespace KdtCapture.Toolkit.Tests.Ftrace;

/// <summary>
/// Print formats evaluated as C would: the expected text is what printf gives for the record's
/// values (worked out by hand from the C rules, not taken from our output).
/// </summary>
public sealed class PrintFormatTests
{
    // A made-up event in the kernel's format-file layout: common fields, then an int, an
    // unsigned long, a char[8], a __data_loc char[] and a u32 state.
    private const string FormatFile = """
        name: kdf_test
        ID: 4242
        format:
        	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
        	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
        	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
        	field:int common_pid;	offset:4;	size:4;	signed:1;

        	field:int value;	offset:8;	size:4;	signed:1;
        	field:unsigned long address;	offset:16;	size:8;	signed:0;
        	field:char comm[8];	offset:24;	size:8;	signed:0;
        	field:__data_loc char[] path;	offset:32;	size:4;	signed:0;
        	field:unsigned int state;	offset:36;	size:4;	signed:0;

        print fmt: "x"
        """;

    private static byte[] Record(int value, ulong address, string comm, string path, uint state)
    {
        var r = new byte[40 + path.Length + 1];
        BinaryPrimitives.WriteUInt16LittleEndian(r, 4242);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(4), 77);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(8), value);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(16), address);
        Encoding.ASCII.GetBytes(comm).CopyTo(r, 24);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(32), (uint)((path.Length + 1) << 16 | 40));
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(36), state);
        Encoding.ASCII.GetBytes(path).CopyTo(r, 40);
        return r;
    }

    [Theory]
    [InlineData("\"v=%d a=0x%08lx\", REC->value, REC->address", "v=-5 a=0x0000beef")]
    [InlineData("\"%u %x %lx\", REC->value, REC->value, ((unsigned long)(REC->value))", "4294967291 fffffffb fffffffffffffffb")]
    [InlineData("\"[%5d|%-5d|%05d]\", REC->value, REC->value, REC->value", "[   -5|-5   |-0005]")]
    [InlineData("\"comm=%s path=%s\", REC->comm, __get_str(path)", "comm=bash path=/bin/cat")]
    [InlineData("\"%s\", REC->state ? __print_flags(REC->state, \"|\", { 0x01, \"S\" }, { 0x02, \"D\" }, { 0x80, \"I\" }) : \"R\"", "S|I")]
    [InlineData("\"%s\", __print_symbolic(REC->value, { -5, \"MINUS_FIVE\" }, { 1, \"ONE\" })", "MINUS_FIVE")]
    [InlineData("\"%d %d %d\", REC->value * 2 + 1, (REC->state >> 7) & 1, REC->value < 0 && REC->state != 0", "-9 1 1")]
    [InlineData("\"%c%c %%\", 'o', 'k'", "ok %")]
    [InlineData("\"%.3s|%10s|\", REC->comm, REC->comm", "bas|      bash|")]
    // C's usual conversions: compared with an unsigned long, -5 is a huge number.
    [InlineData("\"%d\", (unsigned long)REC->value >= (unsigned long)-4095", "1")]
    [InlineData("\"%d\", REC->value >= -4095", "1")]
    [InlineData("\"%d\", (unsigned long)REC->value < 10UL", "0")]
    [InlineData("\"%lx\", __builtin_expect(!!(REC->address), 0) ? REC->address : 0", "beef")]
    // An array element: comm[1] is 'a'.
    [InlineData("\"%c\", REC->comm[1]", "a")]
    // A kernel symbol the format file left unresolved counts as 0 in arithmetic.
    [InlineData("\"%lx\", ((unsigned long)vmemmap_base) + REC->address", "beef")]
    // libtraceevent's rule for unresolved flag names: only a zero value prints the first of them.
    [InlineData("\"%s|%s\", __print_flags(0, \"|\", { I_NEW, \"I_NEW\" }, { 0x1, \"ONE\" }), __print_flags(3, \"|\", { I_NEW, \"I_NEW\" }, { 0x1, \"ONE\" }, { 0, ((void *)0) })", "I_NEW|ONE|0x2")]
    [InlineData("\"%p %p\", REC->address, (void *)0", "0xbeef (nil)")]
    public void FormatsAsPrintfWould(string printFormat, string expected)
    {
        var format = EventFormat.Parse("kdf", FormatFile.Replace("print fmt: \"x\"", "print fmt: " + printFormat, StringComparison.Ordinal));
        Assert.True(format.Print.IsParsed);
        var sb = new StringBuilder();
        format.Print.Format(sb, format, Record(-5, 0xbeef, "bash", "/bin/cat", 0x81), null);
        Assert.Equal(expected, sb.ToString());
    }

    [Fact]
    public void ReadsTheFieldsOfAFormatFile()
    {
        var format = EventFormat.Parse("kdf", FormatFile);
        Assert.Equal(4242, format.Id);
        Assert.Equal("kdf_test", format.Name);
        Assert.Equal(["common_type", "common_flags", "common_preempt_count", "common_pid"], format.CommonFields.Select(f => f.Name));
        Assert.Equal(["value", "address", "comm", "path", "state"], format.Fields.Select(f => f.Name));
        var comm = format.Field("comm")!;
        Assert.True(comm.IsArray && comm.IsString && comm.Size == 8);
        var path = format.Field("path")!;
        Assert.True(path.IsDataLoc && path.IsString);
        var record = Record(-5, 1, "sh", "/x", 0);
        Assert.Equal(-5, format.Field("value")!.Integer(record));
        Assert.Equal("/x", path.Text(record));
        Assert.Equal(77, format.Field("common_pid")!.Integer(record));
    }

    [Theory]
    [InlineData("\"%d\", REC->value, REC->value")]
    [InlineData("\"%d %d\", REC->value")]
    [InlineData("no quotes")]
    public void ArgumentsThatDoNotFitAreNotParsed(string printFormat)
        => Assert.False(PrintFormat.Parse(printFormat).IsParsed);
}
