using System.Buffers.Binary;
using System.Globalization;

namespace KdtCapture.Toolkit.Ftrace;

/// <summary>One field of an event as its tracefs format file describes it.</summary>
/// <param name="Type">The C type as written ("const char * filename" loses the name; "__data_loc char[]").</param>
/// <param name="Name">The field's name.</param>
/// <param name="Offset">Byte offset in the record (common fields first).</param>
/// <param name="Size">Byte size (a fixed array's whole size; 4 for a __data_loc descriptor).</param>
/// <param name="Signed">Whether the kernel says the value is signed.</param>
public sealed record EventField(string Type, string Name, int Offset, int Size, bool Signed)
{
    /// <summary>Dynamic data: the 32-bit field holds length &lt;&lt; 16 | offset of the bytes in the record.</summary>
    public bool IsDataLoc => Type.StartsWith("__data_loc", StringComparison.Ordinal);

    /// <summary>Relative dynamic data (__rel_loc): the offset counts from the end of the field.</summary>
    public bool IsRelLoc => Type.StartsWith("__rel_loc", StringComparison.Ordinal);

    /// <summary>A fixed array "type name[N]".</summary>
    public bool IsArray => Type.EndsWith(']');

    /// <summary>Characters: a char array or a __data_loc char[] (printed as a string).</summary>
    public bool IsString => (IsArray || IsDataLoc || IsRelLoc) && Type.Contains("char", StringComparison.Ordinal);

    /// <summary>The element size of an array (the whole size otherwise).</summary>
    public int ElementSize
    {
        get
        {
            if (!IsArray && !IsDataLoc && !IsRelLoc)
                return Size;
            string t = Type;
            if (t.Contains("char", StringComparison.Ordinal) || t.Contains("u8", StringComparison.Ordinal) || t.Contains("s8", StringComparison.Ordinal))
                return 1;
            if (t.Contains("short", StringComparison.Ordinal) || t.Contains("16", StringComparison.Ordinal))
                return 2;
            if (t.Contains("long", StringComparison.Ordinal) || t.Contains("64", StringComparison.Ordinal) || t.Contains('*'))
                return 8;
            return 4;
        }
    }

    /// <summary>The field's bytes in <paramref name="record"/>: the dynamic bytes for __data_loc/__rel_loc.</summary>
    public ReadOnlySpan<byte> Bytes(ReadOnlySpan<byte> record)
    {
        if (Offset + Size > record.Length)
            return [];
        if (IsDataLoc || IsRelLoc)
        {
            uint loc = BinaryPrimitives.ReadUInt32LittleEndian(record[Offset..]);
            int start = (int)(loc & 0xffff) + (IsRelLoc ? Offset + Size : 0);
            int length = (int)(loc >> 16);
            if (start + length > record.Length)
                return [];
            return record.Slice(start, length);
        }
        return record.Slice(Offset, Size);
    }

    /// <summary>The field as a number (sign-extended when signed), or 0 when the record is too short.</summary>
    public long Integer(ReadOnlySpan<byte> record)
    {
        if (Offset + Size > record.Length)
            return 0;
        var b = record[Offset..];
        return Size switch
        {
            1 => Signed ? (sbyte)b[0] : b[0],
            2 => Signed ? BinaryPrimitives.ReadInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b),
            4 => Signed ? BinaryPrimitives.ReadInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b),
            8 => BinaryPrimitives.ReadInt64LittleEndian(b),
            _ => 0,
        };
    }

    /// <summary>The field as a NUL-terminated string (char arrays and __data_loc strings).</summary>
    public string Text(ReadOnlySpan<byte> record)
    {
        var bytes = Bytes(record);
        int end = bytes.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}

/// <summary>An event's format file (events/SYSTEM/NAME/format): its id, fields and print format.</summary>
public sealed class EventFormat
{
    public required string System { get; init; }
    public required string Name { get; init; }
    public required int Id { get; init; }
    public required IReadOnlyList<EventField> CommonFields { get; init; }
    public required IReadOnlyList<EventField> Fields { get; init; }

    /// <summary>The "print fmt:" line's text after the colon.</summary>
    public required string PrintFormatText { get; init; }

    /// <summary>The format file as read, kept so a trace.dat can carry it unchanged.</summary>
    public required string Text { get; init; }

    private PrintFormat? _print;

    /// <summary>The print format, parsed on first use.</summary>
    public PrintFormat Print => _print ??= PrintFormat.Parse(PrintFormatText);

    public EventField? Field(string name)
    {
        foreach (var f in Fields)
        {
            if (f.Name == name)
                return f;
        }
        foreach (var f in CommonFields)
        {
            if (f.Name == name)
                return f;
        }
        return null;
    }

    /// <exception cref="FtraceException">The text is not a format file.</exception>
    public static EventFormat Parse(string system, string text)
    {
        string? name = null, print = null;
        int id = -1;
        var common = new List<EventField>();
        var fields = new List<EventField>();
        bool inCommon = true;
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0)
            {
                if (common.Count > 0)
                    inCommon = false;
                continue;
            }
            if (line.StartsWith("name:", StringComparison.Ordinal))
                name = line[5..].Trim();
            else if (line.StartsWith("ID:", StringComparison.Ordinal))
                id = int.Parse(line.AsSpan(3).Trim(), CultureInfo.InvariantCulture);
            else if (line.StartsWith("print fmt:", StringComparison.Ordinal))
                print = line[10..].Trim();
            else if (line.StartsWith("field:", StringComparison.Ordinal))
            {
                var field = ParseField(line);
                if (field.Name.StartsWith("common_", StringComparison.Ordinal) && inCommon)
                    common.Add(field);
                else
                    fields.Add(field);
            }
        }
        if (name is null || id < 0)
            throw new FtraceException($"not an event format file (no name or ID) for system '{system}'");
        return new EventFormat
        {
            System = system,
            Name = name,
            Id = id,
            CommonFields = common,
            Fields = fields,
            PrintFormatText = print ?? "\"\"",
            Text = text,
        };
    }

    private static EventField ParseField(string line)
    {
        // field:TYPE NAME[N];	offset:O;	size:S;	signed:0|1;
        string decl = "", offset = "0", size = "0", signed = "0";
        foreach (var part in line.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = part.IndexOf(':');
            if (colon < 0)
                continue;
            string key = part[..colon].Trim(), value = part[(colon + 1)..].Trim();
            switch (key)
            {
                case "field": decl = value; break;
                case "offset": offset = value; break;
                case "size": size = value; break;
                case "signed": signed = value; break;
            }
        }
        // The name is the last identifier before any [N]; the type is everything else.
        string nameAndArray = decl;
        int bracket = decl.LastIndexOf('[');
        string arraySuffix = "";
        if (bracket > 0 && decl.EndsWith(']') && !decl.EndsWith("[]", StringComparison.Ordinal))
        {
            arraySuffix = decl[bracket..];
            nameAndArray = decl[..bracket];
        }
        int start = nameAndArray.Length;
        while (start > 0 && (char.IsAsciiLetterOrDigit(nameAndArray[start - 1]) || nameAndArray[start - 1] == '_'))
            start--;
        string fieldName = nameAndArray[start..];
        string type = (nameAndArray[..start].Trim() + arraySuffix).Trim();
        return new EventField(type, fieldName,
            int.Parse(offset, CultureInfo.InvariantCulture), int.Parse(size, CultureInfo.InvariantCulture), signed == "1");
    }
}

/// <summary>A tracefs or trace.dat request that cannot be met; the message is one sentence saying what to do instead.</summary>
public sealed class FtraceException(string message) : Exception(message);
