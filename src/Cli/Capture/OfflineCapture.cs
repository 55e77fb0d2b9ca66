using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Printing;
using KdtCapture.Filters;
using KdtCapture.PcapNg;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// <c>kdt capture -r FILE [-w OUT] [-c N] [EXPR]</c>: tcpdump's offline path on the frame pipeline.
/// The order of events and every message follow tcpdump 4.99: open the input (its errors), print
/// "reading from file ..." on stderr, read -F, compile the filter (its errors), open the output
/// (its errors), then run; a file cut short is reported after the packets before the cut.
/// </summary>
internal static class OfflineCapture
{
    public static int Run(CaptureSettings settings, List<string> operands, TextWriter stdout, TextWriter stderr)
    {
        string path = settings.ReadFile!;
        bool toStdout = settings.WriteFile == "-";
        bool printing = CaptureOutput.Prints(settings) && settings.DumpCount == 0;

        if (!TryOpenInput(path, settings, printing, stderr, out CaptureFileSource? source, out int failure))
            return failure;
        using (source)
        {
            InterfaceDescription? first = source!.FirstInterface;
            if (first is null)
                return CaptureCommand.Fail(stderr, "the capture file has no Interface Description Blocks");

            var linkType = (LinkType)LinkTypeValues.ToLinuxDlt(first.LinkType);
            int snapLength = InterfaceFilters.EffectiveSnapLength(first);
            AnnounceReading(stderr, path, first);

            if (!CaptureCommand.TryGetExpression(settings, operands, out string expression, out string? expressionError))
                return CaptureCommand.Fail(stderr, expressionError!);

            try
            {
                if (settings.DumpCount > 0)
                {
                    // tcpdump -d -r FILE: the program for the file's link type and snap length.
                    var program = FilterCompiler.Compile(expression, linkType, new FilterCompileOptions
                    {
                        Optimize = settings.Optimize,
                        Snaplen = snapLength,
                        Netmask = 0,
                        ForSavefile = true,
                        SavefileByteSwapped = source.IsByteSwapped,
                    });
                    CaptureCommand.PrintProgram(stdout, program, settings.DumpCount);
                    return ExitCodes.Success;
                }
                source.Filter = new InterfaceFilters(expression, settings.Optimize);
                source.CompileFilter();
            }
            catch (FilterCompileException e)
            {
                return CaptureCommand.Fail(stderr, e.Message);
            }

            // -V: the later files are opened in turn on the source thread, each filtered for its own link type.
            IFrameSource frames = source;
            using var fileList = settings.MoreReadFiles.Count > 0
                ? new FileListSource(source, settings, expression, printing, stderr) : null;
            if (fileList is not null)
                frames = fileList;

            using var stop = new StopSignals();
            using var finish = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var sinks = new List<IFrameSink>();
            CountingSink? counter = settings.CountOnly ? new CountingSink() : null;
            CaptureFileSink? fileSink = null;
            if (settings.RelinquishUser is { } user && !Relinquish.TryBecome(user, stderr, out failure))
                return failure;
            if (settings.WriteFile is not null)
            {
                if (!CaptureOutput.TryOpenFile(settings, stderr, () => finish.Cancel(), flushAfterBatch: settings.PacketBuffered, out fileSink, out failure))
                    return failure;
                sinks.Add(fileSink!);
            }
            if (printing)
            {
                sinks.Add(new PrinterSink(stdout, CaptureOutput.PrinterOptions(settings), flushEachPacket: settings.LineBuffered,
                    flushAfterBatch: !Console.IsOutputRedirected));
            }
            if (counter is not null)
                sinks.Add(counter);

            FramePipelineResult result;
            try
            {
                result = FramePipeline.Run(frames, sinks, finish.Token);
            }
            finally
            {
                fileSink?.Dispose();
            }

            int exit = ExitCodes.Success;
            if (fileSink is { LimitReached: true })
                stderr.WriteLine($"Maximum file limit reached: {settings.FileCount}");
            if (result.SourceError is { } error)
            {
                exit = ExitCodes.Failure;
                stderr.WriteLine(error switch
                {
                    FilterCompileException => $"kdt: {error.Message}",
                    FileListException => $"kdt: {error.Message}",
                    CaptureFileException => $"kdt: pcap_loop: {error.Message}",
                    IOException => $"kdt: pcap_loop: error reading dump file: {error.Message}",
                    _ => throw new InvalidOperationException("the capture file source failed", error),
                });
            }
            else if (!result.Stopped && (fileList?.Current ?? source).Truncation is { } truncation)
            {
                exit = ExitCodes.Failure;
                stderr.WriteLine($"kdt: pcap_loop: {truncation}");
            }

            if (counter is not null)
            {
                // tcpdump prints the count on stdout; with -w - that is the capture itself, so stderr.
                TextWriter where = toStdout ? stderr : stdout;
                where.WriteLine($"{counter.Count} packet{(counter.Count == 1 ? "" : "s")}");
            }
            return exit;
        }
    }

    /// <summary>tcpdump's "reading from file" line for an input's first interface.</summary>
    private static void AnnounceReading(TextWriter stderr, string path, InterfaceDescription first)
    {
        var linkType = (LinkType)LinkTypeValues.ToLinuxDlt(first.LinkType);
        int snapLength = InterfaceFilters.EffectiveSnapLength(first);
        stderr.WriteLine(LinkTypes.GetName(linkType) is { } name
            ? $"reading from file {path}, link-type {name} ({LinkTypes.GetDescription(linkType)}), snapshot length {snapLength}"
            : $"reading from file {path}, link-type {(int)linkType}, snapshot length {snapLength}");
    }

    /// <summary>
    /// Reads -V's list: one file name per line (an empty line names the empty path, as in
    /// tcpdump). At least one name, else tcpdump's "Nothing in" refusal.
    /// </summary>
    public static bool TryReadFileList(string listPath, TextWriter stderr, out List<string> files, out int failure)
    {
        files = [];
        failure = ExitCodes.Success;
        string text;
        try
        {
            text = File.ReadAllText(listPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = CaptureCommand.Fail(stderr, $"Unable to open file: {CaptureCommand.DescribeFileError(e)}");
            return false;
        }
        string[] lines = text.Split('\n');
        int count = text.Length == 0 ? 0 : text.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        for (int i = 0; i < count; i++)
            files.Add(lines[i]);
        if (files.Count == 0)
        {
            failure = CaptureCommand.Fail(stderr, $"Nothing in {listPath}");
            return false;
        }
        return true;
    }

    /// <summary>A -V refusal about a later file of the list, in tcpdump's words.</summary>
    private sealed class FileListException(string message) : Exception(message);

    /// <summary>
    /// -V's files one after the other into one pipeline: each announces its own interfaces and
    /// is filtered for its own link type; -c counts per file, as tcpdump's per-file pcap_loop
    /// does. Classic pcap output takes one link type only ("new dlt does not match original").
    /// </summary>
    private sealed class FileListSource(CaptureFileSource first, CaptureSettings settings, string expression, bool printing, TextWriter stderr)
        : IFrameSource, IDisposable
    {
        private CaptureFileSource? _opened;

        /// <summary>The file being read (the last one once the list is done).</summary>
        public CaptureFileSource Current => _opened ?? first;

        public void Run(FrameProducer producer, CancellationToken cancellationToken)
        {
            first.Run(producer, cancellationToken);
            var firstLinkType = first.FirstInterface!.LinkType;
            foreach (string path in settings.MoreReadFiles)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Current.Truncation is not null)
                    return; // reported after the pipeline, as for one file
                var quiet = new StringWriter();
                if (!TryOpenInput(path, settings, printing, quiet, out CaptureFileSource? next, out _))
                    throw new FileListException(quiet.ToString().TrimEnd('\n').Replace("kdt: ", "", StringComparison.Ordinal));
                _opened?.Dispose();
                _opened = next!;
                InterfaceDescription? description = next!.FirstInterface;
                if (description is null)
                    throw new FileListException($"{path}: the capture file has no Interface Description Blocks");
                if (WritesClassicPcap && description.LinkType != firstLinkType)
                    throw new FileListException($"{path}: new dlt does not match original");
                AnnounceReading(stderr, path, description);
                next.Filter = new InterfaceFilters(expression, settings.Optimize);
                next.CompileFilter();
                next.Run(producer, cancellationToken);
            }
        }

        private bool WritesClassicPcap => settings.WriteFile is { } output && (settings.ClassicPcap
            || (output != "-" && CaptureWriter.FormatFromName(output) == CaptureFileFormat.Pcap));

        public void Dispose() => _opened?.Dispose();
    }

    private static bool TryOpenInput(string path, CaptureSettings settings, bool printing, TextWriter stderr,
        out CaptureFileSource? source, out int failure)
    {
        source = null;
        failure = ExitCodes.Success;
        Stream input;
        if (path == "-")
        {
            input = Console.OpenStandardInput();
        }
        else
        {
            if (Directory.Exists(path))
            {
                failure = CaptureCommand.Fail(stderr, "error reading dump file: Is a directory");
                return false;
            }
            if (path.Length == 0)
            {
                // An empty line of a -V list names no file.
                failure = CaptureCommand.Fail(stderr, ": No such file or directory");
                return false;
            }
            try
            {
                input = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.Open,
                    Access = FileAccess.Read,
                    Share = FileShare.ReadWrite,
                    BufferSize = 0, // the reader buffers
                    Options = FileOptions.SequentialScan,
                });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failure = CaptureCommand.Fail(stderr, $"{path}: {CaptureCommand.DescribeFileError(e)}");
                return false;
            }
        }

        var counted = new ReadCountingStream(input);
        try
        {
            source = CaptureFileSource.Open(counted, new CaptureFileSourceOptions
            {
                MaxFrames = settings.PacketCount,
                // Printing shows pcapng comments only with -v; otherwise nobody reads the options.
                KeepPacketOptions = settings.WriteFile is not null || !printing || settings.Verbosity > 0,
                // --count alone needs no packet bytes, only how many passed.
                CarryFrameData = settings.WriteFile is not null || printing,
                // stdin and named pipes may block between packets; regular files do not.
                HandOverBeforeRead = !(input is FileStream { CanSeek: true }),
            });
            return true;
        }
        catch (CaptureTruncatedException) when (counted.BytesRead < 4)
        {
            failure = CaptureCommand.Fail(stderr, $"truncated dump file; tried to read 4 file header bytes, only got {counted.BytesRead}");
        }
        catch (UnknownCaptureFormatException e)
        {
            // libpcap's words for a file it does not know; inside gzip/LZ4 data ours say more.
            failure = CaptureCommand.Fail(stderr, e.Message.StartsWith("unknown file format (", StringComparison.Ordinal)
                ? "unknown file format" : e.Message);
        }
        catch (CaptureFileException e)
        {
            failure = CaptureCommand.Fail(stderr, e.Message);
        }
        catch (IOException e)
        {
            failure = CaptureCommand.Fail(stderr, $"error reading dump file: {e.Message}");
        }
        counted.Dispose();
        return false;
    }

    /// <summary>Counts what was read, so a file too short for any header is reported in libpcap's words.</summary>
    private sealed class ReadCountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            BytesRead += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
