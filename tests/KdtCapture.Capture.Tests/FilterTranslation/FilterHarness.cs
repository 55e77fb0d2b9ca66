using System.Buffers.Binary;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Maps;
using KdtCapture.Bpf.Programs;
using KdtCapture.Filters.Ebpf;
using static KdtCapture.Bpf.Asm.BpfOpCode;
using static KdtCapture.Bpf.Asm.BpfRegister;

namespace KdtCapture.Capture.Tests.FilterTranslation;

using Asm = KdtCapture.Bpf.Asm.Asm;

/// <summary>How the harness hands the frame's address to the filter.</summary>
public enum FrameAddressKind
{
    /// <summary>A plain number, as a tap reads skb->head + skb->mac_header through BTF.</summary>
    Scalar,

    /// <summary>The map-value pointer itself, which the verifier tracks.</summary>
    MapValuePointer,
}

/// <summary>
/// Runs translated filters in the kernel. The frame lives in an array map's value (kernel memory):
/// bytes 0–7 are scratch for the harness, the frame starts at byte 8. A raw_tp program (raw
/// tracepoints support BPF_PROG_TEST_RUN and bpf_probe_read_kernel) looks the value up and calls
/// the filter as a BPF-to-BPF subprogram with R1 = frame address, R2 = available bytes and R3 =
/// wire length, the last two taken from the test run's context (args[0], args[1]); its verdict is
/// the program's return value.
/// </summary>
public sealed class FilterHarness : IDisposable
{
    /// <summary>The largest frame the map holds; longer packets are cut to this (and compared cut).</summary>
    public const int MaxFrame = 65536;

    /// <summary>What a harness run returns when the filter's 64-bit verdict was <see cref="EbpfFilterProgram.UndecidedVerdict"/>
    /// (a test run returns 32 bits; no test filter returns this value itself).</summary>
    public const uint Undecided = 0x7eadbeef;

    private const int FrameOffset = 8;
    private readonly byte[] _value = new byte[FrameOffset + MaxFrame];
    private readonly byte[] _key = new byte[4];

    public FilterHarness()
    {
        Map = BpfMap.Create(new BpfMapCreateOptions
        {
            Type = BpfMapType.Array, KeySize = 4, ValueSize = _value.Length, MaxEntries = 1, Name = "kdt_frame",
        });
    }

    public BpfMap Map { get; }

    /// <summary>The harness around <paramref name="filter"/>, assembled for this map.</summary>
    public BpfInstruction[] Assemble(EbpfFilterProgram filter, FrameAddressKind kind)
    {
        var asm = new BpfAssembler()
            .Emit(Asm.Mov64(R6, R1))
            .Emit(Asm.StoreImm(SizeW, R10, -4, 0))
            .Emit(Asm.LoadMapFd(R1, Map.Fd.Value))
            .Emit(Asm.Mov64(R2, R10))
            .Emit(Asm.Add64(R2, -4))
            .Call(BpfHelper.MapLookupElem)
            .JumpIf(Jeq, R0, 0, "missing");
        if (kind == FrameAddressKind.Scalar)
        {
            // A pointer read back from map memory is a plain number to the verifier.
            asm.Emit(Asm.StoreMem(SizeDW, R0, 0, R0))
               .Emit(Asm.LoadMem(SizeDW, R1, R0, 0));
        }
        else
        {
            asm.Emit(Asm.Mov64(R1, R0));
        }
        return asm
            .Emit(Asm.Add64(R1, FrameOffset))
            .Emit(Asm.LoadMem(SizeDW, R2, R6, 0))
            .Emit(Asm.LoadMem(SizeDW, R3, R6, 8))
            .CallSubprogram("filter")
            .Emit(Asm.Mov64(R1, R0))
            .Emit(Asm.Rsh64(R1, 32))
            .JumpIf(Jeq, R1, 0, "decided")
            .Emit(Asm.Mov32(R0, unchecked((int)Undecided)))
            .Label("decided")
            .Exit()
            .Label("missing")
            .Emit(Asm.Mov64(R0, 0x0dead))
            .Exit()
            .Label("filter")
            .Emit(BpfInstruction.Decode(filter.ToBytes()))
            .Assemble();
    }

    /// <summary>Loads the harness around <paramref name="filter"/>; a verifier rejection throws <see cref="BpfVerifierException"/>.</summary>
    public BpfProgram Load(EbpfFilterProgram filter, FrameAddressKind kind, string name = "kdt_filter") =>
        BpfProgram.Load(new BpfProgramLoadOptions { Type = BpfProgramType.RawTracepoint, Name = name, Instructions = Assemble(filter, kind) });

    /// <summary>Puts <paramref name="frame"/> (cut to <see cref="MaxFrame"/>) in the map; returns how many bytes are there.</summary>
    public int SetFrame(ReadOnlySpan<byte> frame)
    {
        int length = Math.Min(frame.Length, MaxFrame);
        frame[..length].CopyTo(_value.AsSpan(FrameOffset));
        _value.AsSpan(FrameOffset + length).Clear();
        Map.Update(_key, _value);
        return length;
    }

    /// <summary>Runs a loaded harness on the frame in the map with the first <paramref name="available"/> bytes readable.</summary>
    /// <remarks>Raw tracepoint test runs take no repeat count and report no duration (the kernel refuses both).</remarks>
    public static uint Run(BpfProgram program, int available, uint wireLength)
    {
        Span<byte> args = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(args, (ulong)available);
        BinaryPrimitives.WriteUInt64LittleEndian(args[8..], wireLength);
        return program.TestRun(default, default, repeat: 0, args).ReturnValue;
    }

    public void Dispose() => Map.Dispose();
}
