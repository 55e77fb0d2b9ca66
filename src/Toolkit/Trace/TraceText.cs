using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace KdtCapture.Toolkit.Trace;

/// <summary>Decoding helpers shared by the tools: C strings, addresses, the time column.</summary>
internal static class TraceText
{
    /// <summary>The bytes up to the first NUL as UTF-8 (invalid bytes replaced).</summary>
    public static string CString(ReadOnlySpan<byte> bytes)
    {
        int nul = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? bytes : bytes[..nul]);
    }

    public static IPAddress Address(ushort family, ReadOnlySpan<byte> sixteen) =>
        family == 2 ? new IPAddress(sixteen[..4]) : new IPAddress(sixteen[..16]);

    public static string IpVersion(ushort family) => family == 2 ? "4" : "6";

    /// <summary>bcc's -T column: local time HH:MM:SS, padded to 9.</summary>
    public static string TimeColumn(DateTime local) => local.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture).PadRight(9);
}

/// <summary>One JSON object per line, written with a reused buffer (no reflection: Native AOT).</summary>
internal sealed class JsonLines
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _json;

    // Relaxed escaping: quotes as \" rather than \u0022, non-ASCII paths and comms kept readable.
    public JsonLines() => _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public Utf8JsonWriter Begin()
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        return _json;
    }

    public void End(TextWriter output)
    {
        _json.WriteEndObject();
        _json.Flush();
        output.WriteLine(Encoding.UTF8.GetString(_buffer.WrittenSpan));
    }
}
