using System.Globalization;
using KdtCapture.PcapNg.Internal;

namespace KdtCapture.PcapNg;

/// <summary>tcpdump's <c>-C</c>, <c>-G</c> and <c>-W</c>, as options of a <see cref="RotatingCaptureWriter"/>.</summary>
public sealed class CaptureRotationOptions
{
    /// <summary>Start a new file once the current one exceeds this many bytes (tcpdump's
    /// <c>-C N</c> is N × 1,000,000; see <see cref="FromMillions"/>). Checked before each packet,
    /// so a file ends with the first packet that takes it past the limit. Null: no size limit.</summary>
    public long? FileSizeLimit { get; init; }

    /// <summary>Start a new file when this many seconds have passed since the current one was
    /// opened (tcpdump's <c>-G</c>); the path is then a strftime(3) pattern, expanded in local
    /// time. Checked when a packet arrives, as tcpdump does. Null: no time rotation.</summary>
    public int? RotateSeconds { get; init; }

    /// <summary>tcpdump's <c>-W</c>: with a size limit, a ring of this many files (names get a
    /// zero-padded number); with time rotation only, stop after this many files
    /// (<see cref="RotatingCaptureWriter.LimitReached"/>).</summary>
    public int? FileCount { get; init; }

    /// <summary>The clock for <see cref="RotateSeconds"/> and the names' time. Default: the system clock and time zone.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Called with a file's path when rotation has closed it for the next one (not for the last
    /// file, which is closed by disposing): tcpdump's <c>-z</c> runs its command here.</summary>
    public Action<string>? FileRotated { get; init; }

    /// <summary>Options for each file (format, compression, byte order, statistics at close...).</summary>
    public CaptureWriterOptions? WriterOptions { get; init; }

    /// <summary>tcpdump's <c>-C</c> argument (millions of bytes) as a byte count.</summary>
    public static long FromMillions(long millions) =>
        millions > 0 && millions <= long.MaxValue / 1_000_000 ? millions * 1_000_000 : throw new ArgumentOutOfRangeException(nameof(millions));
}

/// <summary>
/// Writes a series of capture files named as tcpdump names them under <c>-C</c>/<c>-G</c>/<c>-W</c>.
/// Every file is complete on its own: each starts with the file header (pcapng: Section
/// Header and every interface added so far, and decryption secrets written so far).
/// </summary>
public sealed class RotatingCaptureWriter : CaptureWriter
{
    private readonly string _template;
    private readonly CaptureRotationOptions _rotation;
    private readonly CaptureWriterOptions _fileOptions;
    private readonly int _countDigits;
    private readonly List<DecryptionSecretsBlock> _secrets = [];
    private CaptureWriter _current;
    private long _openedAt;     // -G: Gflag_time (Unix seconds)
    private int _timeCount;     // -G: files opened by time rotation
    private int _sizeCount;     // -C: number of the current file in the ring
    private bool _disposed;

    public RotatingCaptureWriter(string pathTemplate, CaptureRotationOptions rotation)
        : base(Stream.Null, rotation?.WriterOptions ?? CaptureWriterOptions.Default, CaptureCompression.None, leaveOpen: true)
    {
        ArgumentNullException.ThrowIfNull(pathTemplate);
        ArgumentNullException.ThrowIfNull(rotation);
        if (rotation.FileSizeLimit is <= 0) throw new ArgumentOutOfRangeException(nameof(rotation), "file size limit must be positive");
        if (rotation.RotateSeconds is <= 0) throw new ArgumentOutOfRangeException(nameof(rotation), "rotation interval must be positive");
        if (rotation.FileCount is <= 0) throw new ArgumentOutOfRangeException(nameof(rotation), "file count must be positive");
        _template = pathTemplate;
        _rotation = rotation;
        _fileOptions = rotation.WriterOptions ?? CaptureWriterOptions.Default;
        // tcpdump numbers ring files with as many digits as the largest number (W-1) has.
        _countDigits = rotation.FileSizeLimit is not null && rotation.FileCount is int w ? Digits(w - 1) : 0;
        _openedAt = rotation.Clock.GetUtcNow().ToUnixTimeSeconds();
        _current = Open(MakeName(0, _countDigits));
    }

    private static int Digits(int x)
    {
        int c = 0;
        for (; x > 0; x /= 10) c++;
        return c;
    }

    /// <summary>Raised after a file is closed, with its path (for tcpdump's <c>-z</c>).</summary>
    public event Action<string>? FileClosed;

    /// <summary>The path of the file being written.</summary>
    public string CurrentPath { get; private set; } = "";

    /// <summary>Paths of every file opened, in order (a ring reuses names).</summary>
    public IReadOnlyList<string> OpenedPaths => _opened;
    private readonly List<string> _opened = [];

    /// <summary>True once time rotation with <see cref="CaptureRotationOptions.FileCount"/> has
    /// produced its last file: tcpdump stops here ("Maximum file limit reached"). Later
    /// packets are not written.</summary>
    public bool LimitReached { get; private set; }

    public override CaptureFileFormat Format => _current.Format;

    private string MakeName(int count, int digits)
    {
        string name = _rotation.RotateSeconds is not null
            ? Strftime.Format(_template, TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(_openedAt), _rotation.Clock.LocalTimeZone))
            : _template;
        return count == 0 && digits == 0 ? name : name + count.ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private CaptureWriter Open(string path)
    {
        CaptureWriter w = Create(path, new CaptureWriterOptions
        {
            Format = _fileOptions.Format ?? FormatFromName(_template),
            Compression = _fileOptions.Compression ?? CompressionFromName(_template),
            BigEndian = _fileOptions.BigEndian,
            Section = _fileOptions.Section,
            PcapNanoseconds = _fileOptions.PcapNanoseconds,
            BufferSize = _fileOptions.BufferSize,
            FlushEachPacket = _fileOptions.FlushEachPacket,
            CloseStatistics = _fileOptions.CloseStatistics,
            FileMode = _fileOptions.FileMode,
            Lz4BlockSize = _fileOptions.Lz4BlockSize,
            Lz4Level = _fileOptions.Lz4Level,
        });
        try
        {
            foreach (InterfaceDescription d in InterfaceList) w.AddInterface(d);
            if (w is PcapNgWriter ng)
            {
                foreach (DecryptionSecretsBlock s in _secrets) ng.WriteDecryptionSecrets(s);
            }
        }
        catch
        {
            w.Dispose();
            throw;
        }
        CurrentPath = path;
        _opened.Add(path);
        return w;
    }

    private void CloseCurrent()
    {
        string path = CurrentPath;
        _current.Dispose();
        FileClosed?.Invoke(path);
    }

    public override int AddInterface(InterfaceDescription description)
    {
        ThrowIfDisposed();
        int i = _current.AddInterface(description);
        InterfaceList.Add(description);
        return i;
    }

    /// <summary>Writes decryption secrets now and again at the start of every later file.</summary>
    public void WriteDecryptionSecrets(DecryptionSecretsBlock block)
    {
        ThrowIfDisposed();
        _secrets.Add(block);
        if (_current is PcapNgWriter ng) ng.WriteDecryptionSecrets(block);
    }

    public override void WritePacket(int interfaceIndex, PacketTimestamp timestamp, ReadOnlySpan<byte> data, uint originalLength, in PacketWriteOptions options)
    {
        ThrowIfDisposed();
        if (LimitReached) return;
        if (!Rotate()) return;
        _current.WritePacket(interfaceIndex, timestamp, data, originalLength, options);
        PacketsWritten++;
    }

    /// <summary>tcpdump's order: time first (which restarts the size numbering), then size.</summary>
    private bool Rotate()
    {
        if (_rotation.RotateSeconds is int g)
        {
            long now = _rotation.Clock.GetUtcNow().ToUnixTimeSeconds();
            if (now - _openedAt >= g)
            {
                _openedAt = now;
                _timeCount++;
                CloseCurrent();
                _rotation.FileRotated?.Invoke(CurrentPath);
                if (_rotation.FileSizeLimit is null && _rotation.FileCount is int w && _timeCount >= w)
                {
                    LimitReached = true;
                    _current = Null;
                    return false;
                }
                _sizeCount = 0;
                _current = Open(MakeName(0, _rotation.FileSizeLimit is not null ? _countDigits : 0));
            }
        }
        if (_rotation.FileSizeLimit is long limit && _current.BytesWritten > limit)
        {
            CloseCurrent();
            _rotation.FileRotated?.Invoke(CurrentPath);
            _sizeCount++;
            if (_rotation.FileCount is int w && _sizeCount >= w) _sizeCount = 0;
            _current = Open(MakeName(_sizeCount, _countDigits));
        }
        return true;
    }

    public override bool WriteInterfaceStatistics(int interfaceIndex, InterfaceStatistics statistics)
    {
        ThrowIfDisposed();
        return !LimitReached && _current.WriteInterfaceStatistics(interfaceIndex, statistics);
    }

    private protected override void EnsureHeader()
    {
        if (!LimitReached) _current.Flush();
    }

    private protected override void Close()
    {
        if (_disposed) return;
        _disposed = true;
        // Each file's own writer writes its statistics at close.
        if (!LimitReached) CloseCurrent();
    }

    // After the last file of a -G -W series there is nothing to write to.
    private static readonly CaptureWriter Null = new PcapWriter(Stream.Null);
}
