using System.ComponentModel;
using System.Diagnostics;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Printing;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Capture;

/// <summary>The sinks a capture writes to, opened from tcpdump's options (-w, rotation, -U, printing).</summary>
internal static class CaptureOutput
{
    /// <summary>Opens -w's file (or stdout for "-") as tcpdump would, with kdt's formats.</summary>
    /// <param name="flushAfterBatch">Hand each batch to the file as it arrives (live captures, so what was
    /// seen is on disk; reading a file, only with -U).</param>
    public static bool TryOpenFile(CaptureSettings settings, TextWriter stderr, Action stop, bool flushAfterBatch, out CaptureFileSink? sink, out int failure)
    {
        sink = null;
        failure = ExitCodes.Success;
        string path = settings.WriteFile!;
        try
        {
            if (path == "-")
            {
                sink = new CaptureFileSink(StandardOutput.Open(), new CaptureWriterOptions
                {
                    Format = settings.ClassicPcap ? CaptureFileFormat.Pcap : CaptureFileFormat.PcapNg,
                    Compression = CaptureCompression.None,
                    PcapNanoseconds = settings.NanosecondPrecision,
                    FlushEachPacket = settings.PacketBuffered,
                }, flushAfterBatch: flushAfterBatch);
                return true;
            }
            if (Directory.Exists(path))
            {
                failure = CaptureCommand.Fail(stderr, $"{path}: Is a directory");
                return false;
            }
            var options = new CaptureWriterOptions
            {
                Format = settings.ClassicPcap ? CaptureFileFormat.Pcap : null,
                PcapNanoseconds = settings.NanosecondPrecision,
                FlushEachPacket = settings.PacketBuffered,
            };
            CaptureRotationOptions? rotation = null;
            if (settings.FileSizeLimit is not null || settings.RotateSeconds is > 0)
            {
                rotation = new CaptureRotationOptions
                {
                    FileSizeLimit = settings.FileSizeLimit,
                    RotateSeconds = settings.RotateSeconds is > 0 ? settings.RotateSeconds : null,
                    FileCount = settings.FileCount,
                    FileRotated = settings.PostRotateCommand is { } command ? file => RunPostRotateCommand(command, file, stderr) : null,
                };
            }
            sink = new CaptureFileSink(path, options, rotation, flushAfterBatch: flushAfterBatch) { OnLimitReached = stop };
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = CaptureCommand.Fail(stderr, $"{path}: {CaptureCommand.DescribeFileError(e)}");
            return false;
        }
    }

    /// <summary>
    /// tcpdump's -z: COMMAND FILE for each file rotation has closed, started at the lowest priority and not
    /// waited for, so the capture goes on while it runs (gzip, a copy elsewhere...).
    /// </summary>
    private static void RunPostRotateCommand(string command, string file, TextWriter stderr)
    {
        try
        {
            var start = new ProcessStartInfo(command) { UseShellExecute = false };
            start.ArgumentList.Add(file);
            using Process? process = Process.Start(start);
            try
            {
                if (process is not null && !process.HasExited)
                    process.PriorityClass = ProcessPriorityClass.Idle;
            }
            catch (Exception e) when (e is InvalidOperationException or Win32Exception)
            {
                // It ended before its priority could be lowered.
            }
        }
        catch (Win32Exception e)
        {
            lock (stderr)
                stderr.WriteLine($"kdt: -z {command} {file}: {e.Message}");
        }
    }

    /// <summary>tcpdump's --print beside -w, and the printing it does without -w (never with --count).</summary>
    public static bool Prints(CaptureSettings s) => (s.WriteFile is null || s.PrintWhileWriting) && !s.CountOnly;

    public static PacketPrinterOptions PrinterOptions(CaptureSettings s) => new()
    {
        Timestamps = s.TimestampCount switch
        {
            0 => TimestampFormat.TimeOfDay,
            1 => TimestampFormat.None,
            2 => TimestampFormat.Unix,
            3 => TimestampFormat.DeltaSincePrevious,
            4 => TimestampFormat.DateAndTime,
            _ => TimestampFormat.DeltaSinceFirst,
        },
        Precision = s.NanosecondPrecision ? TimestampPrecision.Nanoseconds : TimestampPrecision.Microseconds,
        Numeric = s.Numeric,
        LinkHeader = s.LinkHeader,
        Quiet = s.Quiet,
        Verbosity = s.Verbosity,
        // tcpdump's order: -X wins over -x, which wins over -A; doubled, the link header is included.
        HexDump = s.HexAsciiCount > 0 ? (s.HexAsciiCount > 1 ? HexDumpMode.HexAndAsciiWithLinkHeader : HexDumpMode.HexAndAscii)
            : s.HexCount > 0 ? (s.HexCount > 1 ? HexDumpMode.HexWithLinkHeader : HexDumpMode.Hex)
            : s.AsciiCount > 0 ? (s.AsciiCount > 1 ? HexDumpMode.AsciiWithLinkHeader : HexDumpMode.Ascii)
            : HexDumpMode.None,
        AbsoluteTcpSequenceNumbers = s.AbsoluteSequenceNumbers,
        DontVerifyChecksums = s.DontVerifyChecksums,
        PacketNumbers = s.PacketNumbers,
        HostNamesWithoutDomain = s.HostNamesWithoutDomain,
        LocalNetwork = s.LocalNetwork,
        TcpSignatureSecret = s.TcpSignatureSecret,
        EspSecrets = s.EspSecrets,
        PacketType = s.PacketType,
    };
}
