using System.Globalization;
using KdtCapture.Bpf.Asm;
using KdtCapture.Bpf.Btf;
using KdtCapture.Bpf.Elf;
using KdtCapture.Bpf.Objects;
using BtfData = KdtCapture.Bpf.Btf.Btf;

namespace KdtCapture.Bpf.CoRe;

/// <summary>What one CO-RE relocation became: the value written, or why the instruction was poisoned.</summary>
/// <param name="Description">"field byte offset of struct sk_buff.len (0:1)".</param>
/// <param name="TargetTypeId">The kernel type the relocation matched, 0 when none.</param>
public readonly record struct CoReResult(int InstructionIndex, CoReRelocationKind Kind, string Description, bool Poisoned, ulong Value,
    int TargetTypeId, string? Reason)
{
    /// <summary>For a field (not a bitfield): its size in the object's and in the kernel's layout, 0 otherwise.</summary>
    public int LocalFieldSize { get; init; }

    public int TargetFieldSize { get; init; }
}

/// <summary>
/// Applies an object's CO-RE relocations against a target BTF (the running kernel's), as libbpf
/// does: candidates are target types with the same name once a ___flavor suffix is dropped and
/// a compatible kind; members are matched by name, through anonymous members; array accesses
/// keep their index. A relocation that cannot be satisfied poisons its instruction (a call to
/// helper 0xbad2310 the verifier reports as an invalid CO-RE relocation) instead of failing the
/// load, so that code guarded by an existence check still loads.
/// </summary>
public sealed class CoReRelocator
{
    /// <summary>The helper id a poisoned instruction calls (libbpf's and the kernel's convention).</summary>
    public const int PoisonHelperId = 0xbad2310;

    private readonly BtfData _local;
    private readonly BtfData _target;
    private readonly Dictionary<int, List<int>> _candidates = [];

    public CoReRelocator(BtfData local, BtfData target)
    {
        _local = local;
        _target = target;
    }

    /// <summary>Relocates <paramref name="instructions"/> in place; returns one result per relocation.</summary>
    public List<CoReResult> Apply(Span<BpfInstruction> instructions, IReadOnlyList<ProgramCoReRelocation> relocations)
    {
        var results = new List<CoReResult>(relocations.Count);
        foreach (var relocation in relocations)
        {
            var r = relocation.Record;
            int index = relocation.InstructionIndex;
            if ((uint)index >= (uint)instructions.Length)
                throw new CoReException($"CO-RE relocation at instruction {index} is outside the program ({instructions.Length} instructions)");
            CoReResult result;
            try
            {
                result = Compute(index, r);
                if (!result.Poisoned)
                    Patch(instructions, index, result);
            }
            catch (CoReException e)
            {
                result = new CoReResult(index, r.Kind, Describe(r), true, 0, 0, e.Message);
            }
            if (result.Poisoned)
                Poison(instructions, index);
            results.Add(result);
        }
        return results;
    }

    /// <summary>"field byte offset of struct sk_buff.dev->... (0:1)": the kind, the C path of the access, the access string.</summary>
    private string Describe(CoReRelocationRecord r)
    {
        string access = _local.GetString(r.AccessStringOffset);
        if (r.TypeId <= 0 || r.TypeId >= _local.TypeCount)
            return $"{KindText(r.Kind)} of type [{r.TypeId}] ({access})";
        var type = _local.GetType(r.TypeId);
        var path = new System.Text.StringBuilder(type.Kind.ToKernelName().ToLowerInvariant()).Append(' ').Append(type.Name);
        if (r.Kind <= CoReRelocationKind.FieldRShiftU64 || r.Kind is CoReRelocationKind.EnumValue or CoReRelocationKind.EnumValueExists)
        {
            var parts = access.Split(':');
            var t = type.ResolveTypedefs();
            for (int i = r.Kind <= CoReRelocationKind.FieldRShiftU64 ? 1 : 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                    break;
                if (t.Kind is BtfKind.Struct or BtfKind.Union && n < t.Members.Count)
                {
                    var m = t.Members[n];
                    if (!m.IsAnonymous)
                        path.Append('.').Append(m.Name);
                    t = m.Type.ResolveTypedefs();
                }
                else if (t.Kind == BtfKind.Array)
                {
                    path.Append('[').Append(n).Append(']');
                    t = _local.GetType(t.Array.ElementTypeId).ResolveTypedefs();
                }
                else if (t.Kind is BtfKind.Enum or BtfKind.Enum64 && n < t.EnumValues.Count)
                {
                    path.Append("::").Append(t.EnumValues[n].Name);
                    break;
                }
                else
                {
                    break;
                }
            }
        }
        return $"{KindText(r.Kind)} of {path} ({access})";
    }

    private static string KindText(CoReRelocationKind kind) => kind switch
    {
        CoReRelocationKind.FieldByteOffset => "field byte offset",
        CoReRelocationKind.FieldByteSize => "field byte size",
        CoReRelocationKind.FieldExists => "field existence",
        CoReRelocationKind.FieldSigned => "field signedness",
        CoReRelocationKind.FieldLShiftU64 => "field lshift",
        CoReRelocationKind.FieldRShiftU64 => "field rshift",
        CoReRelocationKind.TypeIdLocal => "local type id",
        CoReRelocationKind.TypeIdTarget => "target type id",
        CoReRelocationKind.TypeExists => "type existence",
        CoReRelocationKind.TypeSize => "type size",
        CoReRelocationKind.EnumValueExists => "enum value existence",
        CoReRelocationKind.EnumValue => "enum value",
        CoReRelocationKind.TypeMatches => "type match",
        _ => $"relocation kind {(uint)kind}",
    };

    // ---- computing ---------------------------------------------------------------------------

    private CoReResult Compute(int index, CoReRelocationRecord r)
    {
        string description = Describe(r);
        if (r.TypeId <= 0 || r.TypeId >= _local.TypeCount)
            throw new CoReException($"{description}: local type id {r.TypeId} does not exist");
        var localRoot = _local.GetType(r.TypeId);
        string access = _local.GetString(r.AccessStringOffset);

        if (r.Kind == CoReRelocationKind.TypeIdLocal)
            return new CoReResult(index, r.Kind, description, false, (ulong)r.TypeId, 0, null);

        bool typeBased = r.Kind is CoReRelocationKind.TypeIdTarget or CoReRelocationKind.TypeExists or CoReRelocationKind.TypeSize
            or CoReRelocationKind.TypeMatches;
        bool enumBased = r.Kind is CoReRelocationKind.EnumValueExists or CoReRelocationKind.EnumValue;
        bool fieldBased = r.Kind <= CoReRelocationKind.FieldRShiftU64;
        if (!typeBased && !enumBased && !fieldBased)
            throw new CoReException($"{description}: unsupported relocation kind {(uint)r.Kind}");

        var indices = ParseAccess(access, description);
        var localSpec = fieldBased ? LocalFieldSpec(localRoot, indices, description) : null;
        LocalEnumerator? localEnumerator = enumBased ? LocalEnumeratorOf(localRoot, indices, description) : null;

        ulong? value = null;
        int matchedId = 0, targetFieldSize = 0;
        foreach (int candidateId in Candidates(localRoot))
        {
            var candidate = _target.GetType(candidateId);
            ulong? v = null;
            if (typeBased)
            {
                if (!TypesCompatible(localRoot, candidate, 0))
                    continue;
                var resolved = candidate.ResolveTypedefs();
                v = r.Kind switch
                {
                    CoReRelocationKind.TypeIdTarget => (ulong)candidateId,
                    CoReRelocationKind.TypeSize => (ulong)resolved.SizeOf(),
                    _ => 1,
                };
            }
            else if (enumBased)
            {
                var e = candidate.ResolveTypedefs();
                foreach (var ev in e.EnumValues)
                {
                    if (EssentialName(ev.Name) == EssentialName(localEnumerator!.Value.Name))
                    {
                        v = r.Kind == CoReRelocationKind.EnumValue ? (ulong)ev.Value : 1;
                        break;
                    }
                }
            }
            else if (MatchField(localSpec!, candidate) is { } field)
            {
                v = FieldValue(r.Kind, field, description);
                if (!field.IsBitfield && matchedId == 0)
                    targetFieldSize = (int)field.Type.SizeOf();
            }
            if (v is null)
                continue;
            if (value is not null && value != v)
                throw new CoReException(
                    $"{description}: kernel types [{matchedId}] and [{candidateId}] both match but give {value} and {v}");
            value = v;
            if (matchedId == 0)
                matchedId = candidateId;
        }

        if (value is null)
        {
            // Existence questions have an answer when nothing matches; a missing type has id/size 0.
            if (r.Kind is CoReRelocationKind.FieldExists or CoReRelocationKind.EnumValueExists or CoReRelocationKind.TypeExists
                or CoReRelocationKind.TypeMatches or CoReRelocationKind.TypeIdTarget or CoReRelocationKind.TypeSize)
                return new CoReResult(index, r.Kind, description, false, 0, 0, null);
            return new CoReResult(index, r.Kind, description, true, 0, 0,
                $"{description}: the kernel has no matching {(enumBased ? "enumerator" : "field")}");
        }
        return new CoReResult(index, r.Kind, description, false, value.Value, matchedId, null)
        {
            LocalFieldSize = localSpec is { IsBitfield: false } ? (int)localSpec.FinalType.SizeOf() : 0,
            TargetFieldSize = localSpec is { IsBitfield: false } ? targetFieldSize : 0,
        };
    }

    private static int[] ParseAccess(string access, string description)
    {
        var parts = access.Split(':');
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]))
                throw new CoReException($"{description}: malformed access string '{access}'");
        return result;
    }

    /// <summary>One step of a field access: a named member, or an array element.</summary>
    private readonly record struct Step(string? MemberName, int ArrayIndex, int LocalTypeId);

    private sealed record LocalField(BtfType Root, int RootIndex, List<Step> Steps, BtfType FinalType, bool IsBitfield);

    private LocalField LocalFieldSpec(BtfType root, int[] indices, string description)
    {
        var steps = new List<Step>();
        var t = root.ResolveTypedefs();
        bool bitfield = false;
        for (int i = 1; i < indices.Length; i++)
        {
            if (t.Kind is BtfKind.Struct or BtfKind.Union)
            {
                var members = t.Members;
                if (indices[i] >= members.Count)
                    throw new CoReException($"{description}: member {indices[i]} of {t} does not exist");
                var m = members[indices[i]];
                // Anonymous members are walked through by name on the target side; only named steps count.
                if (!m.IsAnonymous)
                    steps.Add(new Step(m.Name, -1, m.TypeId));
                bitfield = m.BitfieldSize != 0;
                t = m.Type.ResolveTypedefs();
            }
            else if (t.Kind == BtfKind.Array)
            {
                var a = t.Array;
                steps.Add(new Step(null, indices[i], a.ElementTypeId));
                bitfield = false;
                t = _local.GetType(a.ElementTypeId).ResolveTypedefs();
            }
            else
            {
                throw new CoReException($"{description}: access step {i} goes into {t}, which is neither a struct, union nor array");
            }
        }
        return new LocalField(root, indices[0], steps, t, bitfield);
    }

    private readonly record struct LocalEnumerator(string Name);

    private static LocalEnumerator LocalEnumeratorOf(BtfType root, int[] indices, string description)
    {
        var e = root.ResolveTypedefs();
        if (e.Kind is not (BtfKind.Enum or BtfKind.Enum64) || indices.Length != 1 || indices[0] >= e.EnumValues.Count)
            throw new CoReException($"{description}: does not name an enumerator");
        return new LocalEnumerator(e.EnumValues[indices[0]].Name);
    }

    /// <summary>Target types whose essential name and kind fit the local root, by id; cached per local type.</summary>
    private List<int> Candidates(BtfType localRoot)
    {
        if (_candidates.TryGetValue(localRoot.Id, out var cached))
            return cached;
        var result = new List<int>();
        string name = EssentialName(localRoot.Name);
        if (name.Length > 0)
        {
            var kind = localRoot.Kind;
            foreach (int id in _target.FindAll(name))
            {
                var k = _target.GetType(id).Kind;
                if (k == kind || (IsEnum(k) && IsEnum(kind)))
                    result.Add(id);
            }
        }
        _candidates[localRoot.Id] = result;
        return result;
    }

    private static bool IsEnum(BtfKind k) => k is BtfKind.Enum or BtfKind.Enum64;

    /// <summary>"sk_buff___old" → "sk_buff": a flavor suffix lets one program describe several layouts.</summary>
    public static string EssentialName(string name)
    {
        int at = name.LastIndexOf("___", StringComparison.Ordinal);
        return at > 0 ? name[..at] : name;
    }

    // ---- matching a field in a candidate -------------------------------------------------------

    private readonly record struct TargetField(long BitOffset, int BitfieldSize, BtfType Type, bool IsBitfield);

    private TargetField? MatchField(LocalField local, BtfType candidate)
    {
        var t = candidate.ResolveTypedefs();
        long bitOffset = (long)local.RootIndex * t.SizeOf() * 8;
        int bitfieldSize = 0;
        BtfType current = t;
        foreach (var step in local.Steps)
        {
            if (step.MemberName is { } memberName)
            {
                if (current.Kind is not (BtfKind.Struct or BtfKind.Union))
                    return null;
                if (!FindMember(current, memberName, 0, out long memberOffset, out var member))
                    return null;
                if (!FieldsCompatible(_local.GetType(step.LocalTypeId), member.Type))
                    return null;
                bitOffset += memberOffset;
                bitfieldSize = member.BitfieldSize;
                current = member.Type.ResolveTypedefs();
            }
            else
            {
                if (current.Kind != BtfKind.Array)
                    return null;
                var a = current.Array;
                if (a.Count != 0 && step.ArrayIndex >= a.Count)
                    return null;
                var element = _target.GetType(a.ElementTypeId);
                if (!FieldsCompatible(_local.GetType(step.LocalTypeId), element))
                    return null;
                bitOffset += step.ArrayIndex * element.SizeOf() * 8;
                bitfieldSize = 0;
                current = element.ResolveTypedefs();
            }
        }
        return new TargetField(bitOffset, bitfieldSize, current, bitfieldSize != 0);
    }

    /// <summary>Finds a member by name, descending into anonymous struct/union members; the offset includes theirs.</summary>
    private static bool FindMember(BtfType composite, string name, int depth, out long bitOffset, out BtfMember found)
    {
        if (depth < 32)
        {
            foreach (var m in composite.Members)
            {
                if (m.IsAnonymous)
                {
                    var inner = m.Type.ResolveTypedefs();
                    if (inner.Kind is BtfKind.Struct or BtfKind.Union && FindMember(inner, name, depth + 1, out long innerOffset, out found))
                    {
                        bitOffset = m.BitOffset + innerOffset;
                        return true;
                    }
                }
                else if (m.Name == name)
                {
                    bitOffset = m.BitOffset;
                    found = m;
                    return true;
                }
            }
        }
        bitOffset = 0;
        found = default;
        return false;
    }

    /// <summary>Whether a local member type can stand for a target member type (libbpf's rules for fields).</summary>
    private static bool FieldsCompatible(BtfType local, BtfType target)
    {
        for (int depth = 0; depth < 32; depth++)
        {
            local = local.ResolveTypedefs();
            target = target.ResolveTypedefs();
            bool localComposite = local.Kind is BtfKind.Struct or BtfKind.Union;
            bool targetComposite = target.Kind is BtfKind.Struct or BtfKind.Union;
            if (localComposite && targetComposite)
                return true;
            if (local.Kind != target.Kind && !(IsEnum(local.Kind) && IsEnum(target.Kind)))
                return false;
            switch (local.Kind)
            {
                case BtfKind.Pointer:
                case BtfKind.Float:
                    return true;
                case BtfKind.Forward:
                case BtfKind.Enum:
                case BtfKind.Enum64:
                    return local.IsAnonymous || target.IsAnonymous || EssentialName(local.Name) == EssentialName(target.Name);
                case BtfKind.Int:
                    // Integers of any size and sign stand for each other; only old-style bitfield ints do not.
                    return local.IntBitOffset == 0 && target.IntBitOffset == 0;
                case BtfKind.Array:
                    local = local.Btf.GetType(local.Array.ElementTypeId);
                    target = target.Btf.GetType(target.Array.ElementTypeId);
                    continue;
                default:
                    return false;
            }
        }
        return false;
    }

    /// <summary>Whether two types are compatible for type-based relocations (libbpf's bpf_core_types_are_compat).</summary>
    private static bool TypesCompatible(BtfType local, BtfType target, int depth)
    {
        if (depth > 32)
            return false;
        local = local.ResolveTypedefs();
        target = target.ResolveTypedefs();
        if (local.Kind != target.Kind && !(IsEnum(local.Kind) && IsEnum(target.Kind)))
            return false;
        switch (local.Kind)
        {
            case BtfKind.Struct:
            case BtfKind.Union:
            case BtfKind.Enum:
            case BtfKind.Enum64:
            case BtfKind.Forward:
            case BtfKind.Float:
                return true;
            case BtfKind.Int:
                return local.IntBitOffset == 0 && target.IntBitOffset == 0;
            case BtfKind.Pointer:
                return TypesCompatible(local.Target, target.Target, depth + 1);
            case BtfKind.Array:
                return TypesCompatible(local.Btf.GetType(local.Array.ElementTypeId), target.Btf.GetType(target.Array.ElementTypeId), depth + 1);
            case BtfKind.FunctionProto:
            {
                var lp = local.Parameters;
                var tp = target.Parameters;
                if (lp.Count != tp.Count)
                    return false;
                for (int i = 0; i < lp.Count; i++)
                    if (!TypesCompatible(lp[i].Type, tp[i].Type, depth + 1))
                        return false;
                return TypesCompatible(local.ReturnType, target.ReturnType, depth + 1);
            }
            default:
                return false;
        }
    }

    /// <summary>The value a field relocation asks for, as the compiler would have computed it for the target layout.</summary>
    private static ulong FieldValue(CoReRelocationKind kind, TargetField field, string description)
    {
        if (kind == CoReRelocationKind.FieldExists)
            return 1;
        var type = field.Type;
        long bitOffset = field.BitOffset;
        int byteSize;
        long byteOffset;
        int bitSize;
        if (field.IsBitfield)
        {
            // The smallest naturally aligned load of the member's type size (or larger) that covers all its bits.
            bitSize = field.BitfieldSize;
            byteSize = checked((int)type.SizeOf());
            byteOffset = bitOffset / 8 / byteSize * byteSize;
            while (bitOffset + bitSize - byteOffset * 8 > byteSize * 8)
            {
                if (byteSize >= 8)
                    throw new CoReException($"{description}: bitfield does not fit in an 8-byte load");
                byteSize *= 2;
                byteOffset = bitOffset / 8 / byteSize * byteSize;
            }
        }
        else
        {
            long size = type.SizeOf();
            if (kind is CoReRelocationKind.FieldLShiftU64 or CoReRelocationKind.FieldRShiftU64 or CoReRelocationKind.FieldSigned
                && size > 8)
                throw new CoReException($"{description}: a {size}-byte field cannot be shifted in a register");
            byteSize = checked((int)size);
            byteOffset = bitOffset / 8;
            bitSize = byteSize * 8;
        }
        return kind switch
        {
            CoReRelocationKind.FieldByteOffset => (ulong)byteOffset,
            CoReRelocationKind.FieldByteSize => (ulong)byteSize,
            CoReRelocationKind.FieldSigned => IsSigned(type) ? 1UL : 0UL,
            // Little-endian: shift the field's top bit to bit 63, then down to bit 0.
            CoReRelocationKind.FieldLShiftU64 => (ulong)(64 - (bitOffset + bitSize - byteOffset * 8)),
            CoReRelocationKind.FieldRShiftU64 => (ulong)(64 - bitSize),
            _ => throw new CoReException($"{description}: not a field relocation"),
        };
    }

    private static bool IsSigned(BtfType t) =>
        t.Kind switch
        {
            BtfKind.Int => (t.IntEncoding & BtfIntEncoding.Signed) != 0,
            BtfKind.Enum or BtfKind.Enum64 => t.IsSignedEnum,
            _ => false,
        };

    // ---- patching ------------------------------------------------------------------------------

    private static void Patch(Span<BpfInstruction> code, int index, CoReResult result)
    {
        var insn = code[index];
        byte cls = insn.Class;
        if (insn.IsLoadImm64)
        {
            if (index + 1 >= code.Length)
                throw new CoReException($"{result.Description}: ld_imm64 at the last instruction");
            code[index] = insn with { Immediate = (int)(uint)result.Value };
            code[index + 1] = code[index + 1] with { Immediate = (int)(uint)(result.Value >> 32) };
            return;
        }
        if (cls is BpfOpCode.ClassAlu or BpfOpCode.ClassAlu64)
        {
            if (BpfOpCode.Source(insn.OpCode) != BpfOpCode.SourceK)
                throw new CoReException($"{result.Description}: instruction {index} has no immediate to relocate");
            if (result.Value > int.MaxValue)
                throw new CoReException($"{result.Description}: value {result.Value} does not fit an instruction's immediate");
            code[index] = insn with { Immediate = (int)result.Value };
            return;
        }
        if (cls is BpfOpCode.ClassLdx or BpfOpCode.ClassSt or BpfOpCode.ClassStx)
        {
            if (result.Kind != CoReRelocationKind.FieldByteOffset)
                throw new CoReException($"{result.Description}: a memory access takes only a field offset");
            if (result.Value > (ulong)short.MaxValue)
                throw new CoReException($"{result.Description}: offset {result.Value} does not fit a memory access");
            code[index] = AdjustLoadSize(insn, result) with { Offset = (short)result.Value };
            return;
        }
        throw new CoReException($"{result.Description}: instruction {index} (opcode 0x{insn.OpCode:x2}) cannot be relocated");
    }

    /// <summary>
    /// A field the kernel keeps narrower or wider than the object declares (u32 here, u64 there):
    /// a load of the declared size is turned into a load of the kernel's size, zero-extended as
    /// every BPF load is. Stores cannot be adjusted safely and are refused.
    /// </summary>
    private static BpfInstruction AdjustLoadSize(BpfInstruction insn, CoReResult result)
    {
        if (result.LocalFieldSize == 0 || result.TargetFieldSize == 0 || result.LocalFieldSize == result.TargetFieldSize)
            return insn;
        int accessSize = BpfOpCode.SizeInBytes(BpfOpCode.Size(insn.OpCode));
        if (accessSize != result.LocalFieldSize)
            return insn; // the access reads part of the field (or several): leave it as compiled
        if (insn.Class != BpfOpCode.ClassLdx || BpfOpCode.Mode(insn.OpCode) != BpfOpCode.ModeMem)
            throw new CoReException($"{result.Description}: the kernel's field is {result.TargetFieldSize} bytes, the program writes {accessSize}");
        byte size = result.TargetFieldSize switch
        {
            1 => BpfOpCode.SizeB,
            2 => BpfOpCode.SizeH,
            4 => BpfOpCode.SizeW,
            8 => BpfOpCode.SizeDW,
            _ => throw new CoReException($"{result.Description}: the kernel's field is {result.TargetFieldSize} bytes, not loadable at once"),
        };
        return new BpfInstruction((byte)((insn.OpCode & ~0x18) | size), insn.Destination, insn.Source, insn.Offset, insn.Immediate);
    }

    private static void Poison(Span<BpfInstruction> code, int index)
    {
        bool wide = code[index].IsLoadImm64 && index + 1 < code.Length;
        code[index] = Asm.Asm.Call(PoisonHelperId);
        // The second half of an ld_imm64 would otherwise be an "unknown opcode 00".
        if (wide)
            code[index + 1] = Asm.Asm.Call(PoisonHelperId);
    }
}

/// <summary>A CO-RE relocation that cannot be processed at all (malformed records), as opposed to one that is poisoned.</summary>
public sealed class CoReException(string message) : Exception(message);
