namespace KdtCapture.Bpf.Asm;

/// <summary>
/// Builds an instruction stream with symbolic labels: jumps, subprogram calls and callback
/// references name a label, and <see cref="Assemble"/> turns the names into relative offsets.
/// Labels double as subprogram symbols for <see cref="BpfSplice"/>.
/// </summary>
public sealed class BpfAssembler
{
    private enum ReferenceKind { Jump, LongJump, Call, FunctionReference }

    private readonly List<BpfInstruction> _instructions = [];
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<(int Index, string Label, ReferenceKind Kind)> _references = [];

    /// <summary>Instruction slots emitted so far (ld_imm64 counts two).</summary>
    public int Count => _instructions.Count;

    /// <summary>Labels and the slot each one marks.</summary>
    public IReadOnlyDictionary<string, int> Labels => _labels;

    public BpfAssembler Emit(BpfInstruction instruction)
    {
        _instructions.Add(instruction);
        return this;
    }

    public BpfAssembler Emit((BpfInstruction First, BpfInstruction Second) wide)
    {
        _instructions.Add(wide.First);
        _instructions.Add(wide.Second);
        return this;
    }

    public BpfAssembler Emit(ReadOnlySpan<BpfInstruction> instructions)
    {
        foreach (var instruction in instructions)
            _instructions.Add(instruction);
        return this;
    }

    /// <summary>Marks the next instruction with <paramref name="name"/>.</summary>
    public BpfAssembler Label(string name)
    {
        if (!_labels.TryAdd(name, _instructions.Count))
            throw new ArgumentException($"label '{name}' is defined twice", nameof(name));
        return this;
    }

    public BpfAssembler Ja(string label) => Reference(Asm.Ja(0), label, ReferenceKind.Jump);

    /// <summary>gotol: an unconditional jump with a 32-bit offset.</summary>
    public BpfAssembler LongJump(string label) => Reference(new BpfInstruction(BpfOpCode.ClassJmp32 | BpfOpCode.Ja, 0, 0, 0, 0), label, ReferenceKind.LongJump);

    public BpfAssembler JumpIf(byte operation, BpfRegister dst, int imm, string label) => Reference(Asm.Jump(operation, dst, imm, 0), label, ReferenceKind.Jump);

    public BpfAssembler JumpIf(byte operation, BpfRegister dst, BpfRegister src, string label) => Reference(Asm.Jump(operation, dst, src, 0), label, ReferenceKind.Jump);

    public BpfAssembler JumpIf32(byte operation, BpfRegister dst, int imm, string label) => Reference(Asm.Jump32(operation, dst, imm, 0), label, ReferenceKind.Jump);

    public BpfAssembler JumpIf32(byte operation, BpfRegister dst, BpfRegister src, string label) => Reference(Asm.Jump32(operation, dst, src, 0), label, ReferenceKind.Jump);

    public BpfAssembler Call(int helperId) => Emit(Asm.Call(helperId));

    public BpfAssembler Call(string helperName) => Emit(Asm.Call(helperName));

    /// <summary>A BPF-to-BPF call to the subprogram at <paramref name="label"/>.</summary>
    public BpfAssembler CallSubprogram(string label) => Reference(Asm.CallSubprogram(0), label, ReferenceKind.Call);

    /// <summary>dst = address of the subprogram at <paramref name="label"/> (a callback for bpf_loop and friends).</summary>
    public BpfAssembler LoadFunction(BpfRegister dst, string label)
    {
        _references.Add((_instructions.Count, label, ReferenceKind.FunctionReference));
        return Emit(Asm.LoadImm64(dst, BpfPseudoSource.Func, 0, 0));
    }

    public BpfAssembler Exit() => Emit(Asm.Exit());

    private BpfAssembler Reference(BpfInstruction instruction, string label, ReferenceKind kind)
    {
        _references.Add((_instructions.Count, label, kind));
        return Emit(instruction);
    }

    /// <summary>Resolves every label reference; throws if one is undefined or out of a jump's reach.</summary>
    public BpfInstruction[] Assemble()
    {
        var result = _instructions.ToArray();
        foreach (var (index, label, kind) in _references)
        {
            if (!_labels.TryGetValue(label, out int target))
                throw new InvalidOperationException($"BPF assembly: label '{label}' is used at instruction {index} but never defined");
            int relative = target - (index + 1);
            var instruction = result[index];
            if (kind == ReferenceKind.Jump)
            {
                if (relative is < short.MinValue or > short.MaxValue)
                    throw new InvalidOperationException($"BPF assembly: jump from {index} to '{label}' ({relative}) does not fit 16 bits");
                result[index] = instruction with { Offset = (short)relative };
            }
            else
            {
                result[index] = instruction with { Immediate = relative };
            }
        }
        return result;
    }
}
