using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KdtCapture.Filters.Cbpf;

/// <summary>How a <see cref="CbpfFilter"/> runs its program.</summary>
public enum CbpfEngine
{
    /// <summary>IL where the runtime compiles dynamic code, the fast interpreter elsewhere (Native AOT).</summary>
    Automatic = 0,
    /// <summary><see cref="CbpfFastInterpreter"/>.</summary>
    FastInterpreter = 1,
    /// <summary><see cref="CbpfIlCompiler"/>; refused where dynamic code is not compiled.</summary>
    IlCompiler = 2,
}

/// <summary>
/// A validated cBPF program ready to run on packets, as libpcap's bpf_filter runs it, by the
/// fastest engine the runtime allows. Running allocates nothing; one filter may run on many
/// threads at once.
/// </summary>
public sealed class CbpfFilter
{
    private readonly CbpfCompiledFilter? _compiled;
    private readonly CbpfFastInterpreter? _interpreter;

    private CbpfFilter(CbpfProgram program, CbpfCompiledFilter? compiled, CbpfFastInterpreter? interpreter)
    {
        Program = program;
        _compiled = compiled;
        _interpreter = interpreter;
    }

    /// <summary>The program this filter runs.</summary>
    public CbpfProgram Program { get; }

    /// <summary>The engine chosen: <see cref="CbpfEngine.IlCompiler"/> or <see cref="CbpfEngine.FastInterpreter"/>.</summary>
    public CbpfEngine Engine => _compiled is null ? CbpfEngine.FastInterpreter : CbpfEngine.IlCompiler;

    /// <exception cref="CbpfProgramException">The program fails <see cref="CbpfValidator.ValidateForExecution"/>.</exception>
    /// <exception cref="PlatformNotSupportedException"><see cref="CbpfEngine.IlCompiler"/> asked for where dynamic code is not compiled.</exception>
    public static CbpfFilter Create(CbpfProgram program, CbpfEngine engine = CbpfEngine.Automatic)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (!TryCreate(program, engine, out CbpfFilter? filter, out CbpfValidationResult validation))
            throw new CbpfProgramException(validation);
        return filter;
    }

    /// <inheritdoc cref="Create(CbpfProgram, CbpfEngine)"/>
    public static CbpfFilter Create(ReadOnlySpan<CbpfInstruction> instructions, CbpfEngine engine = CbpfEngine.Automatic)
        => Create(new CbpfProgram(instructions.ToArray()), engine);

    /// <summary>Creates a filter, or says why the program is refused.</summary>
    /// <exception cref="PlatformNotSupportedException"><see cref="CbpfEngine.IlCompiler"/> asked for where dynamic code is not compiled.</exception>
    public static bool TryCreate(CbpfProgram program, CbpfEngine engine,
        [NotNullWhen(true)] out CbpfFilter? filter, out CbpfValidationResult validation)
    {
        ArgumentNullException.ThrowIfNull(program);
        filter = null;
        validation = CbpfValidator.ValidateForExecution(program.Instructions);
        if (!validation.IsValid)
            return false;

        CbpfCompiledFilter? compiled = null;
        if (engine != CbpfEngine.FastInterpreter)
        {
            if (RuntimeFeature.IsDynamicCodeCompiled)
                compiled = CbpfIlCompiler.Compile(program.Instructions);
            else if (engine == CbpfEngine.IlCompiler)
                throw new PlatformNotSupportedException("this runtime does not compile dynamic code, so cBPF cannot be compiled to IL");
        }
        filter = new CbpfFilter(program, compiled, compiled is null ? new CbpfFastInterpreter(program.Instructions) : null);
        return true;
    }

    /// <inheritdoc cref="TryCreate(CbpfProgram, CbpfEngine, out CbpfFilter?, out CbpfValidationResult)"/>
    public static bool TryCreate(ReadOnlySpan<CbpfInstruction> instructions, CbpfEngine engine,
        [NotNullWhen(true)] out CbpfFilter? filter, out CbpfValidationResult validation)
        => TryCreate(new CbpfProgram(instructions.ToArray()), engine, out filter, out validation);

    /// <summary>Runs the program on the captured bytes of one packet; returns what its ret returns
    /// (for libpcap's programs: the snapshot length when the packet matches, 0 when not).</summary>
    /// <param name="wireLength">The packet's length on the wire (<c>len</c> in the filter language).</param>
    public uint Run(ReadOnlySpan<byte> packet, uint wireLength)
        => _compiled is { } compiled
            ? compiled(ref MemoryMarshal.GetReference(packet), (uint)packet.Length, wireLength)
            : _interpreter!.Run(packet, wireLength);

    /// <summary>True when the program accepts the packet (returns non-zero).</summary>
    public bool Matches(ReadOnlySpan<byte> packet, uint wireLength) => Run(packet, wireLength) != 0;

    /// <summary>True when the program accepts a packet captured whole (wire length = captured length).</summary>
    public bool Matches(ReadOnlySpan<byte> packet) => Run(packet, (uint)packet.Length) != 0;
}
