using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Features;
using KdtCapture.Bpf.Internal.Sys;

namespace KdtCapture.Bpf.Programs;

/// <summary>
/// A loaded (verified) BPF program owning its descriptor. It runs only once attached (see
/// KdtCapture.Bpf.Links) or via <see cref="TestRun"/>; disposing closes the descriptor, and the
/// kernel frees the program when no link or map refers to it any more.
/// </summary>
public sealed unsafe class BpfProgram : IDisposable
{
    private uint _id;

    private BpfProgram(BpfFileDescriptor fd, BpfProgramType type, string name, string? log, uint id)
    {
        Fd = fd;
        Type = type;
        Name = name;
        VerifierLog = log;
        _id = id;
    }

    public BpfFileDescriptor Fd { get; }

    public BpfProgramType Type { get; }

    public string Name { get; }

    /// <summary>The verifier log when one was asked for (LogLevel ≥ 1); null otherwise.</summary>
    public string? VerifierLog { get; }

    public uint Id
    {
        get
        {
            if (_id == 0)
                _id = ReadInfo(Fd, Name, default).Id;
            return _id;
        }
    }

    /// <summary>
    /// Loads a program. On rejection throws <see cref="BpfVerifierException"/> with the log; when the
    /// kernel refuses the program kind itself, <see cref="BpfNotSupportedException"/>.
    /// </summary>
    public static BpfProgram Load(BpfProgramLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Instructions.IsEmpty)
            throw new ArgumentException($"program '{options.Name}' has no instructions", nameof(options));

        // First without a log: a log buffer costs the verifier time and memory, and most loads succeed.
        int logLevel = options.LogLevel;
        int logSize = logLevel > 0 ? options.LogSize : 0;
        while (true)
        {
            byte[]? log = logSize > 0 ? ArrayPool<byte>.Shared.Rent(logSize) : null;
            try
            {
                int errno = TryLoad(options, logLevel, log, logSize, out var fd, out uint trueSize);
                if (errno == 0)
                    return new BpfProgram(fd!, options.Type, options.Name, log is null ? null : LogText(log, logSize), 0);

                if (RefusedKind(options, errno) is { } refused)
                    throw refused;
                if (log is null)
                {
                    logLevel = 1;
                    logSize = options.LogSize;
                    continue;
                }
                // ENOSPC: the log did not fit (the program may be fine). Grow to what the kernel says it needs.
                if (errno == Errno.ENOSPC && logSize < options.MaxLogSize)
                {
                    logSize = (int)Math.Min(options.MaxLogSize, Math.Max((long)logSize * 4, trueSize + 1L));
                    continue;
                }
                string text = LogText(log, logSize);
                throw new BpfVerifierException(options.Name, options.Type, errno, text, errno == Errno.ENOSPC);
            }
            finally
            {
                if (log is not null)
                    ArrayPool<byte>.Shared.Return(log);
            }
        }
    }

    private static int TryLoad(BpfProgramLoadOptions options, int logLevel, byte[]? log, int logSize, out BpfFileDescriptor? fd, out uint trueSize)
    {
        Span<byte> license = stackalloc byte[BpfSyscall.Utf8ZLength(options.License)];
        BpfSyscall.Utf8Z(options.License, license);
        int fdCount = options.FdArray?.Count ?? 0;
        int[] fds = fdCount == 0 ? [] : new int[fdCount];
        for (int i = 0; i < fdCount; i++)
            fds[i] = (int)BpfSyscall.FdOf(options.FdArray![i]);
        if (log is not null)
            log[0] = 0;

        ReadOnlySpan<BpfInstruction> instructions = options.Instructions.Span;
        fixed (BpfInstruction* insns = instructions)
        fixed (byte* lic = license)
        fixed (byte* logBuffer = log)
        fixed (byte* funcInfo = options.FuncInfo.Span)
        fixed (byte* lineInfo = options.LineInfo.Span)
        fixed (int* fdArray = fds)
        {
            var attr = new ProgLoadAttr
            {
                ProgType = (uint)options.Type,
                InsnCount = (uint)instructions.Length,
                Insns = (ulong)insns,
                License = (ulong)lic,
                LogLevel = log is null ? 0u : (uint)logLevel,
                LogSize = log is null ? 0u : (uint)logSize,
                LogBuf = (ulong)logBuffer,
                KernVersion = options.KernelVersion,
                ProgFlags = (uint)options.Flags,
                ProgName = ObjectName.From(options.Name),
                ExpectedAttachType = options.ExpectedAttachType is { } attach ? (uint)attach : 0,
                ProgBtfFd = BpfSyscall.FdOf(options.Btf),
                AttachBtfId = options.AttachBtfId,
                AttachProgOrBtfObjFd = options.AttachProgram is not null ? BpfSyscall.FdOf(options.AttachProgram) : BpfSyscall.FdOf(options.AttachBtfObject),
                FdArray = fdCount == 0 ? 0 : (ulong)fdArray,
            };
            if (!options.FuncInfo.IsEmpty)
            {
                attr.FuncInfo = (ulong)funcInfo;
                attr.FuncInfoRecSize = (uint)options.FuncInfoRecordSize;
                attr.FuncInfoCount = (uint)(options.FuncInfo.Length / options.FuncInfoRecordSize);
            }
            if (!options.LineInfo.IsEmpty)
            {
                attr.LineInfo = (ulong)lineInfo;
                attr.LineInfoRecSize = (uint)options.LineInfoRecordSize;
                attr.LineInfoCount = (uint)(options.LineInfo.Length / options.LineInfoRecordSize);
            }
            int errno = BpfSyscall.CallForFd(BpfCommand.ProgLoad, ref attr, out fd);
            trueSize = attr.LogTrueSize;
            GC.KeepAlive(options.Btf);
            GC.KeepAlive(options.AttachBtfObject);
            GC.KeepAlive(options.AttachProgram);
            GC.KeepAlive(options.FdArray);
            return errno;
        }
    }

    /// <summary>Refusals of the program kind itself, which no log explains.</summary>
    private static BpfNotSupportedException? RefusedKind(BpfProgramLoadOptions options, int errno)
    {
        if (errno == Errno.EPERM && !BpfFeatures.CanLoadPrograms)
        {
            return new BpfNotSupportedException("privileges",
                $"load program '{options.Name}' ({options.Type.KernelName()}): EPERM: loading BPF programs needs root or CAP_BPF (with CAP_PERFMON for tracing, CAP_NET_ADMIN for networking)", errno);
        }
        if (errno == Errno.EPERM && BpfFeatures.IsTrampolineKind(options.Type, options.ExpectedAttachType))
        {
            string kind = BpfFeatures.TrampolineKindName(options.Type, options.ExpectedAttachType);
            return new BpfNotSupportedException(kind,
                $"load program '{options.Name}': {kind} programs are refused by this kernel (EPERM before verification: " +
                "BPF trampolines are not permitted here); use tp_btf/... or kprobe/... instead", errno);
        }
        if (errno == Errno.EINVAL && options.Type != BpfProgramType.Unspecified && BpfFeatures.TryCachedProgramType(options.Type) == false)
            return BpfNotSupportedException.Needs(options.Type.KernelName(), $"program type {options.Type.KernelName()}", "a kernel that knows it", errno);
        return null;
    }

    private static string LogText(byte[] log, int size)
    {
        int length = log.AsSpan(0, size).IndexOf((byte)0);
        return Encoding.UTF8.GetString(log, 0, length < 0 ? size : length);
    }

    /// <summary>Opens a loaded program by its kernel id.</summary>
    public static BpfProgram FromId(uint id)
    {
        int errno = BpfSyscall.FdById(BpfCommand.ProgGetFdById, id, out var fd);
        if (errno != 0)
            throw new BpfException($"open program id {id}", errno);
        return FromDescriptor(fd!);
    }

    /// <summary>Wraps a program descriptor, taking ownership.</summary>
    public static BpfProgram FromDescriptor(BpfFileDescriptor fd)
    {
        ProgInfoRaw info = ReadInfo(fd, "(by descriptor)", default);
        return new BpfProgram(fd, (BpfProgramType)info.Type, info.Name.ToString(), null, info.Id);
    }

    public void Pin(string path) => Maps.BpfPins.Pin(Fd, path, $"program '{Name}'");

    /// <summary>The kernel's view of the program, including the translated (xlated) instructions and map ids.</summary>
    public BpfProgramInfo GetInfo()
    {
        ProgInfoRaw first = ReadInfo(Fd, Name, default);
        var xlated = new byte[first.XlatedProgLen];
        var mapIds = new uint[first.NrMapIds];
        ProgInfoRaw full;
        fixed (byte* x = xlated)
        fixed (uint* m = mapIds)
        {
            var request = default(ProgInfoRaw);
            request.XlatedProgLen = (uint)xlated.Length;
            request.XlatedProgInsns = (ulong)x;
            request.NrMapIds = (uint)mapIds.Length;
            request.MapIds = (ulong)m;
            full = ReadInfo(Fd, Name, request);
        }
        int xlatedLength = (int)Math.Min(full.XlatedProgLen, (uint)xlated.Length);
        return new BpfProgramInfo(
            (BpfProgramType)full.Type, full.Id, full.Name.ToString(), BitConverter.GetBytes(full.Tag),
            BpfInstruction.Decode(xlated.AsSpan(0, xlatedLength)), mapIds.AsSpan(0, (int)Math.Min(full.NrMapIds, (uint)mapIds.Length)).ToArray(),
            full.BtfId, full.RunCount, full.RunTimeNs, full.VerifiedInsns, full.JitedProgLen);
    }

    /// <summary>
    /// BPF_PROG_TEST_RUN: runs the program on <paramref name="data"/> (a packet for socket filters,
    /// tc and XDP) <paramref name="repeat"/> times; <paramref name="dataOut"/> receives the packet after the run.
    /// </summary>
    public BpfTestRunResult TestRun(ReadOnlySpan<byte> data, Span<byte> dataOut = default, int repeat = 1, ReadOnlySpan<byte> context = default, Span<byte> contextOut = default)
    {
        fixed (byte* din = data)
        fixed (byte* dout = dataOut)
        fixed (byte* cin = context)
        fixed (byte* cout = contextOut)
        {
            var attr = new ProgTestRunAttr
            {
                ProgFd = BpfSyscall.FdOf(Fd),
                DataIn = (ulong)din,
                DataSizeIn = (uint)data.Length,
                DataOut = (ulong)dout,
                DataSizeOut = (uint)dataOut.Length,
                CtxIn = (ulong)cin,
                CtxSizeIn = (uint)context.Length,
                CtxOut = (ulong)cout,
                CtxSizeOut = (uint)contextOut.Length,
                Repeat = (uint)repeat,
            };
            int errno = BpfSyscall.Errno0(BpfSyscall.Call(BpfCommand.ProgTestRun, ref attr));
            GC.KeepAlive(Fd);
            if (errno != 0)
                throw new BpfException($"test run of program '{Name}' ({Type.KernelName()})", errno);
            return new BpfTestRunResult(attr.Retval, (int)attr.DataSizeOut, TimeSpan.FromTicks(attr.Duration / 100), (int)attr.CtxSizeOut);
        }
    }

    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"program '{Name}' ({Type.KernelName()})";

    private static ProgInfoRaw ReadInfo(BpfFileDescriptor fd, string name, ProgInfoRaw request)
    {
        int errno = BpfSyscall.GetInfo(fd, ref request, out _);
        if (errno != 0)
            throw new BpfException($"get info of program '{name}'", errno);
        return request;
    }
}

/// <summary>What BPF_PROG_TEST_RUN reports: the program's return value and the output sizes.</summary>
public readonly record struct BpfTestRunResult(uint ReturnValue, int DataSizeOut, TimeSpan AverageDuration, int ContextSizeOut);

/// <summary>What the kernel reports about a loaded program.</summary>
public sealed record BpfProgramInfo(
    BpfProgramType Type, uint Id, string Name, byte[] Tag, BpfInstruction[] XlatedInstructions, uint[] MapIds,
    uint BtfId, ulong RunCount, ulong RunTimeNs, uint VerifiedInstructions, uint JitedLength)
{
    /// <summary>The tag as bpftool prints it (16 hex digits).</summary>
    public string TagHex => Convert.ToHexStringLower(Tag);
}
