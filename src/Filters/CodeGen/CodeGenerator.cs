using KdtCapture.Filters.Icode;
using static KdtCapture.Filters.Cbpf.Cbpf;

namespace KdtCapture.Filters.CodeGen;

/// <summary>Where an offset given to a load is measured from.</summary>
internal enum OffsetBase
{
    /// <summary>The start of the packet data.</summary>
    Packet,
    /// <summary>The current link-layer header.</summary>
    LinkHeader,
    /// <summary>The link-layer header that encapsulates the current one.</summary>
    PrevLinkHeader,
    /// <summary>The 802.2 LLC header.</summary>
    Llc,
    /// <summary>The previous MPLS label.</summary>
    PrevMplsHeader,
    /// <summary>The link-layer type field.</summary>
    LinkType,
    /// <summary>The link-layer payload (network header).</summary>
    LinkPayload,
    /// <summary>The link-layer payload when there is no SNAP header.</summary>
    LinkPayloadNoSnap,
    /// <summary>The transport header after an IPv4 header of variable length.</summary>
    TransportIPv4,
    /// <summary>The transport header after a fixed IPv6 header.</summary>
    TransportIPv6,
}

/// <summary>
/// An offset from the start of the packet: a constant part plus, where a variable-length header
/// precedes, a variable part kept in a scratch register computed at the program's start.
/// </summary>
internal struct AbsOffset
{
    public bool IsVariable;
    public uint ConstantPart;
    public int Reg;

    public AbsOffset(uint constantPart)
    {
        IsVariable = false;
        ConstantPart = constantPart;
        Reg = -1;
    }
}

/// <summary>An arithmetic value under construction: code computing it into a scratch register.</summary>
internal sealed class Arth
{
    /// <summary>Protocol checks that must hold for the value to be meaningful.</summary>
    public Block? B;
    public Slist? S;
    public int Regno;
}

/// <summary>
/// Generates the intermediate code of a filter, one generator call per grammar action, with the
/// packet layout of one link type. It builds exactly the block graph libpcap's gencode builds,
/// which is what makes our optimized and unoptimized output identical to tcpdump's.
/// </summary>
internal sealed partial class CodeGenerator
{
    public const uint OffsetNotSet = 0xffffffff;

    private readonly int _snaplen;
    private readonly uint _netmask;
    private readonly bool _forSavefile;
    private readonly bool _savefileSwapped;
    private readonly bool _specialVlanHandling;

    /// <summary>Set by code whose statements jump inside a block (radio headers): such programs are never optimized.</summary>
    public bool NoOptimize { get; private set; }

    /// <summary>libpcap's error_set: the first error reported without aborting wins.</summary>
    public string? PendingError { get; private set; }

    private LinkType _linktype;
    private LinkType _prevlinktype;
    private LinkType _outermostlinktype;

    private uint _labelStackDepth;
    private uint _vlanStackDepth;

    private AbsOffset _offLinkhdr;
    private AbsOffset _offPrevlinkhdr;
    private AbsOffset _offOutermostlinkhdr;
    private AbsOffset _offLinkpl;
    private AbsOffset _offLinktype;

    private bool _isAtm;
    private bool _isGeneve;
    private bool _isVlanVloffset;

    private uint _offVpi;
    private uint _offVci;
    private uint _offProto;
    private uint _offLi;
    private uint _offLiHsl;
    private uint _offSio;
    private uint _offOpc;
    private uint _offDpc;
    private uint _offSls;
    private uint _offPayload;
    private uint _offNl;
    private uint _offNlNosnap;

    private readonly bool[] _regused = new bool[MemWords];
    private int _curreg;

    private readonly IcodeArena _arena;

    public CodeGenerator(LinkType linkType, FilterCompileOptions options, IcodeArena arena)
    {
        _arena = arena;
        _snaplen = options.Snaplen;
        _netmask = options.Netmask;
        _forSavefile = options.ForSavefile;
        _savefileSwapped = options.SavefileByteSwapped;
        _specialVlanHandling = options.KernelVlanTags;
        InitLinkType(linkType);
    }

    public IcodeGraph Icode { get; } = new();

    // ---- errors -------------------------------------------------------------------------------

    /// <summary>libpcap's bpf_error: abort compilation with this message (it replaces any earlier one).</summary>
    public static FilterCompileException Error(string message) => new(message);

    /// <summary>libpcap's bpf_set_error: record an error without aborting, unless one is already recorded.</summary>
    public void SetError(string message) => PendingError ??= message;

    private static FilterCompileException SyntaxError() => Error("syntax error in filter expression");

    // ---- blocks and statements ----------------------------------------------------------------

    private Block NewBlock(int code) => _arena.NewBlock(code);

    private Slist NewStmt(int code, uint k = 0) => _arena.NewSlist(code, k);

    private static int JmpK(int op) => op | Jmp | K;

    /// <summary>Appends list <paramref name="s1"/> to the end of list <paramref name="s0"/>.</summary>
    internal static void SAppend(Slist s0, Slist? s1)
    {
        while (s0.Next is not null)
            s0 = s0.Next;
        s0.Next = s1;
    }

    private Block GenRetBlk(uint v)
    {
        var b = NewBlock(Ret | K);
        b.S.K = v;
        return b;
    }

    /// <summary>Resolves the open exits of <paramref name="list"/> (chained through jt or jf by sense) to <paramref name="target"/>.</summary>
    private static void Backpatch(Block? list, Block target)
    {
        while (list is not null)
        {
            Block? next;
            if (!list.Sense)
            {
                next = list.Jt;
                list.Jt = target;
            }
            else
            {
                next = list.Jf;
                list.Jf = target;
            }
            list = next;
        }
    }

    /// <summary>Concatenates the open-exit chains of b0 and b1.</summary>
    private static void Merge(Block b0, Block b1)
    {
        Block p = b0;
        while (true)
        {
            Block? next = !p.Sense ? p.Jt : p.Jf;
            if (next is null)
            {
                if (!p.Sense)
                    p.Jt = b1;
                else
                    p.Jf = b1;
                return;
            }
            p = next;
        }
    }

    /// <summary>Completes the program: true exits return the snaplen, false exits 0.</summary>
    public void FinishParse(Block p)
    {
        InsertComputeVloffsets(p.Head);

        var ppiDltCheck = GenPpiDltCheck();
        if (ppiDltCheck is not null)
            GenAnd(ppiDltCheck, p);

        Backpatch(p, GenRetBlk((uint)_snaplen));
        p.Sense = !p.Sense;
        Backpatch(p, GenRetBlk(0));
        Icode.Root = p.Head;
    }

    /// <summary>The program for an empty expression: accept everything.</summary>
    public void FinishEmpty() => Icode.Root = GenRetBlk((uint)_snaplen);

    public static void GenAnd(Block b0, Block b1)
    {
        Backpatch(b0, b1.Head);
        b0.Sense = !b0.Sense;
        b1.Sense = !b1.Sense;
        Merge(b1, b0);
        b1.Sense = !b1.Sense;
        b1.Head = b0.Head;
    }

    public static void GenOr(Block b0, Block b1)
    {
        b0.Sense = !b0.Sense;
        Backpatch(b0, b1.Head);
        b0.Sense = !b0.Sense;
        Merge(b1, b0);
        b1.Head = b0.Head;
    }

    public static void GenNot(Block b) => b.Sense = !b.Sense;

    // ---- comparisons --------------------------------------------------------------------------

    private Block GenCmp(OffsetBase offrel, uint offset, int size, uint v)
        => GenNcmp(offrel, offset, size, 0xffffffff, Jeq, false, v);

    private Block GenCmpGt(OffsetBase offrel, uint offset, int size, uint v)
        => GenNcmp(offrel, offset, size, 0xffffffff, Jgt, false, v);

    private Block GenCmpGe(OffsetBase offrel, uint offset, int size, uint v)
        => GenNcmp(offrel, offset, size, 0xffffffff, Jge, false, v);

    private Block GenCmpLt(OffsetBase offrel, uint offset, int size, uint v)
        => GenNcmp(offrel, offset, size, 0xffffffff, Jge, true, v);

    private Block GenCmpLe(OffsetBase offrel, uint offset, int size, uint v)
        => GenNcmp(offrel, offset, size, 0xffffffff, Jgt, true, v);

    private Block GenMcmp(OffsetBase offrel, uint offset, int size, uint v, uint mask)
        => GenNcmp(offrel, offset, size, mask, Jeq, false, v);

    /// <summary>Compares bytes, 4 then 2 then 1 at a time from the end, as libpcap does.</summary>
    private Block GenBcmp(OffsetBase offrel, uint offset, uint size, ReadOnlySpan<byte> v)
    {
        Block? b = null;
        while (size >= 4)
        {
            var p = v[(int)(size - 4)..];
            uint word = (uint)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]);
            var tmp = GenCmp(offrel, offset + size - 4, W, word);
            if (b is not null)
                GenAnd(b, tmp);
            b = tmp;
            size -= 4;
        }
        while (size >= 2)
        {
            var p = v[(int)(size - 2)..];
            uint half = (uint)(p[0] << 8 | p[1]);
            var tmp = GenCmp(offrel, offset + size - 2, H, half);
            if (b is not null)
                GenAnd(b, tmp);
            b = tmp;
            size -= 2;
        }
        if (size > 0)
        {
            var tmp = GenCmp(offrel, offset, B, v[0]);
            if (b is not null)
                GenAnd(b, tmp);
            b = tmp;
        }
        return b!;
    }

    /// <summary>Loads a field, masks it, and tests it with <paramref name="jtype"/> (reversed if asked).</summary>
    private Block GenNcmp(OffsetBase offrel, uint offset, int size, uint mask, int jtype, bool reverse, uint v)
    {
        var s = GenLoadA(offrel, offset, size);
        if (mask != 0xffffffff)
            SAppend(s, NewStmt(Alu | And | K, mask));

        var b = NewBlock(JmpK(jtype));
        b.Stmts = s;
        b.S.K = v;
        if (reverse && (jtype == Jgt || jtype == Jge))
            GenNot(b);
        return b;
    }

    // ---- loads --------------------------------------------------------------------------------

    private Slist GenLoadAbsOffsetRel(ref AbsOffset absOffset, uint offset, int size)
    {
        var s = GenAbsOffsetVarpart(ref absOffset);
        if (s is not null)
        {
            // X holds the variable part: load indirectly.
            SAppend(s, NewStmt(Ld | Ind | size, absOffset.ConstantPart + offset));
        }
        else
        {
            s = NewStmt(Ld | Abs | size, absOffset.ConstantPart + offset);
        }
        return s;
    }

    private Slist GenLoadA(OffsetBase offrel, uint offset, int size)
    {
        switch (offrel)
        {
            case OffsetBase.Packet:
                return NewStmt(Ld | Abs | size, offset);
            case OffsetBase.LinkHeader:
                return GenLoadAbsOffsetRel(ref _offLinkhdr, offset, size);
            case OffsetBase.PrevLinkHeader:
                return GenLoadAbsOffsetRel(ref _offPrevlinkhdr, offset, size);
            case OffsetBase.Llc:
                return GenLoadAbsOffsetRel(ref _offLinkpl, offset, size);
            case OffsetBase.PrevMplsHeader:
                return GenLoadAbsOffsetRel(ref _offLinkpl, _offNl - 4 + offset, size);
            case OffsetBase.LinkPayload:
                return GenLoadAbsOffsetRel(ref _offLinkpl, _offNl + offset, size);
            case OffsetBase.LinkPayloadNoSnap:
                return GenLoadAbsOffsetRel(ref _offLinkpl, _offNlNosnap + offset, size);
            case OffsetBase.LinkType:
                return GenLoadAbsOffsetRel(ref _offLinktype, offset, size);
            case OffsetBase.TransportIPv4:
            {
                // X = IPv4 header length (+ variable part of the payload offset).
                var s = GenLoadxIphdrlen();
                SAppend(s, NewStmt(Ld | Ind | size, _offLinkpl.ConstantPart + _offNl + offset));
                return s;
            }
            case OffsetBase.TransportIPv6:
                return GenLoadAbsOffsetRel(ref _offLinkpl, _offNl + 40 + offset, size);
            default:
                throw new ArgumentOutOfRangeException(nameof(offrel));
        }
    }

    /// <summary>X = length of the IPv4 header plus the variable part of the link-layer payload offset.</summary>
    private Slist GenLoadxIphdrlen()
    {
        var s = GenAbsOffsetVarpart(ref _offLinkpl);
        if (s is not null)
        {
            // The 4*([k]&0xf) mode needs a constant offset, so compute it in A.
            SAppend(s, NewStmt(Ld | Ind | B, _offLinkpl.ConstantPart + _offNl));
            SAppend(s, NewStmt(Alu | And | K, 0xf));
            SAppend(s, NewStmt(Alu | Lsh | K, 2));
            SAppend(s, NewStmt(Alu | Add | X));
            SAppend(s, NewStmt(Misc | Tax));
        }
        else
        {
            s = NewStmt(Ldx | Msh | B, _offLinkpl.ConstantPart + _offNl);
        }
        return s;
    }

    private Block GenUncond(bool rsense)
    {
        var s = NewStmt(Ld | Imm, rsense ? 0u : 1u);
        var b = NewBlock(JmpK(Jeq));
        b.Stmts = s;
        return b;
    }

    private Block GenTrue() => GenUncond(true);

    private Block GenFalse() => GenUncond(false);

    private static uint SwapLong(uint y) =>
        ((y & 0xff) << 24) | ((y & 0xff00) << 8) | ((y & 0xff0000) >> 8) | ((y >> 24) & 0xff);

    // ---- scratch registers ----------------------------------------------------------------------

    private int AllocReg()
    {
        int n = MemWords;
        while (--n >= 0)
        {
            if (_regused[_curreg])
            {
                _curreg = (_curreg + 1) % MemWords;
            }
            else
            {
                _regused[_curreg] = true;
                return _curreg;
            }
        }
        throw Error("too many registers needed to evaluate expression");
    }

    private void FreeReg(int n) => _regused[n] = false;

    /// <summary>Statements that load the variable part of an offset into X, or null when it has none.</summary>
    private Slist? GenAbsOffsetVarpart(ref AbsOffset off)
    {
        if (!off.IsVariable)
            return null;
        if (off.Reg == -1)
            off.Reg = AllocReg();
        return NewStmt(Ldx | Mem, (uint)off.Reg);
    }

    private static string DescribeLinkType(LinkType dlt)
    {
        var d = LinkTypes.GetDescription(dlt);
        return d ?? $"DLT {(int)dlt}";
    }
}
