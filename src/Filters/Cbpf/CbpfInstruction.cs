using System.Runtime.InteropServices;

namespace KdtCapture.Filters.Cbpf;

/// <summary>One classic BPF instruction, laid out as <c>struct bpf_insn</c> / <c>struct sock_filter</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct CbpfInstruction(ushort Code, byte Jt, byte Jf, uint K)
{
    public static CbpfInstruction Stmt(int code, uint k) => new((ushort)code, 0, 0, k);
    public static CbpfInstruction Jump(int code, uint k, byte jt, byte jf) => new((ushort)code, jt, jf, k);
}
