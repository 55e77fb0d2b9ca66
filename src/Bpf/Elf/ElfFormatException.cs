namespace KdtCapture.Bpf.Elf;

/// <summary>An object file that is not a well-formed ELF64 little-endian BPF object; the message says where.</summary>
public sealed class ElfFormatException(string message) : Exception(message);
