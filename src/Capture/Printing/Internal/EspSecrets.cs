using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace KdtCapture.Capture.Printing.Internal;

/// <summary>One ESP security association from tcpdump's <c>-E</c>: where it applies, its cipher and key.</summary>
internal sealed class EspAssociation
{
    public uint Spi { get; init; }
    /// <summary>The destination address it is for (4 or 16 bytes); empty for the default association.</summary>
    public byte[] Destination { get; init; } = [];
    /// <summary>The cipher's name as given ("aes128", "3des"...), or null when it named none kdt has.</summary>
    public string? Cipher { get; init; }
    public int KeyLength { get; init; }
    public int IvLength { get; init; }
    public int BlockSize { get; init; }
    /// <summary>Bytes of integrity check value after the ciphertext (12 for the -hmac96 algorithms).</summary>
    public int AuthLength { get; init; }
    /// <summary>The secret, zero-padded or cut to the cipher's key length as OpenSSL reads it.</summary>
    public byte[] Key { get; init; } = [];

    /// <summary>CBC-decrypts <paramref name="ciphertext"/> (a whole number of blocks) into <paramref name="plaintext"/>.</summary>
#pragma warning disable CA5350, CA5351 // Decrypting captured traffic with the algorithms its sender chose, not protecting data.
    public void Decrypt(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        using SymmetricAlgorithm algorithm = Cipher is "des" ? DES.Create() : Cipher is "3des" or "des-ede3" ? TripleDES.Create() : Aes.Create();
        algorithm.Key = Key;
        algorithm.DecryptCbc(ciphertext, iv, plaintext, PaddingMode.None);
    }
#pragma warning restore CA5350, CA5351
}

/// <summary>
/// tcpdump's <c>-E</c> argument: "spi@address algo:secret" entries separated by commas or newlines, a lone
/// "algo:secret" for every ESP packet no other entry matches, or "file NAME" to read them from a file (one per
/// line, '#' comments). algo is a cipher name with an optional "-cbc" and "-hmac96" (12 bytes of ICV to skip);
/// the secret is "0x" and hex, or text. Problems are warnings, as tcpdump gives them, and that entry is left out.
/// </summary>
internal sealed class EspSecrets
{
    private readonly List<EspAssociation> _list = [];
    private EspAssociation? _default;

    public List<string> Warnings { get; } = [];

    public static EspSecrets Parse(string text)
    {
        var secrets = new EspSecrets();
        foreach (string line in text.Split([',', '\n']))
            secrets.ParseOne(line);
        return secrets;
    }

    /// <summary>The association for an ESP packet: the last entry given for its SPI and destination, else the default.</summary>
    public EspAssociation? Find(uint spi, ReadOnlySpan<byte> destination)
    {
        for (int i = _list.Count - 1; i >= 0; i--)
        {
            EspAssociation a = _list[i];
            if (a.Spi == spi && a.Destination.AsSpan().SequenceEqual(destination))
                return a;
        }
        return _default;
    }

    private void ParseOne(string line)
    {
        if (line.Length == 0)
            return;
        int blank = line.IndexOfAny([' ', '\t']);
        string? spiAndAddress = blank < 0 ? null : line[..blank];
        string decode = blank < 0 ? line : line[(blank + 1)..];
        if (spiAndAddress is not null && spiAndAddress.Equals("file", StringComparison.OrdinalIgnoreCase))
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(decode);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new EspSecretsException($"-E: can't open {decode}: {e.Message}");
            }
            foreach (string l in lines)
            {
                if (l.Length > 0 && l[0] != '#')
                    ParseOne(l);
            }
            return;
        }
        if (spiAndAddress is not null && spiAndAddress.Equals("ikev2", StringComparison.OrdinalIgnoreCase))
        {
            Warnings.Add("-E: ikev2 lines (IKEv2 SA keys) are not used by kdt's printer; give spi@address algo:secret entries");
            return;
        }
        uint spi = 0;
        byte[] destination = [];
        if (spiAndAddress is not null)
        {
            int at = spiAndAddress.IndexOf('@');
            if (at < 0)
            {
                Warnings.Add("print_esp: failed to find the @ token");
                return;
            }
            if (!TryParseSpi(spiAndAddress[..at], out spi))
            {
                Warnings.Add($"print_esp: failed to decode spi# {spiAndAddress[..at]}");
                return;
            }
            if (!IPAddress.TryParse(spiAndAddress[(at + 1)..], out IPAddress? address)
                || address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            {
                Warnings.Add($"print_esp: can not decode IP# {spiAndAddress[(at + 1)..]}");
                return;
            }
            destination = address.GetAddressBytes();
        }
        EspAssociation? association = ParseAlgorithm(decode.TrimStart(' ', '\t', '\r', '\n'), spi, destination);
        if (association is null)
            return;
        _list.Add(association);
        if (spiAndAddress is null)
            _default = association;
    }

    /// <summary>strtoul(s, 0): decimal, 0x hex or 0 octal.</summary>
    private static bool TryParseSpi(string s, out uint spi)
    {
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return uint.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out spi);
        if (s.Length > 1 && s[0] == '0')
        {
            spi = 0;
            foreach (char c in s.AsSpan(1))
            {
                if (c is < '0' or > '7')
                    return false;
                spi = spi * 8 + (uint)(c - '0');
            }
            return true;
        }
        return uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out spi);
    }

    private EspAssociation? ParseAlgorithm(string decode, uint spi, byte[] destination)
    {
        int colon = decode.IndexOf(':');
        if (colon < 0)
        {
            Warnings.Add($"failed to decode espsecret: {decode}");
            return null;
        }
        string name = decode[..colon];
        int authLength = 0;
        if (name.Length > "-hmac96".Length && name.EndsWith("-hmac96", StringComparison.Ordinal))
        {
            name = name[..^"-hmac96".Length];
            authLength = 12;
        }
        if (name.Length > "-cbc".Length && name.EndsWith("-cbc", StringComparison.Ordinal))
            name = name[..^"-cbc".Length];
        string cipher = name.ToLowerInvariant();
        (int keyLength, int block) = cipher switch
        {
            "aes128" => (16, 16),
            "aes192" => (24, 16),
            "aes256" => (32, 16),
            "des" => (8, 8),
            "3des" or "des-ede3" => (24, 8),
            _ => (0, 0),
        };
        if (keyLength == 0)
        {
            // OpenSSL knows more (blowfish, cast5, ...); .NET's cryptography, which kdt uses, does not.
            Warnings.Add($"failed to find cipher algo {name} (kdt decrypts aes128, aes192, aes256, des and 3des in CBC mode)");
            return null;
        }
        string secret = decode[(colon + 1)..];
        byte[] secretBytes;
        if (secret.StartsWith("0x", StringComparison.Ordinal))
        {
            var hex = new List<byte>();
            for (int i = 2; i + 1 < secret.Length; i += 2)
            {
                if (!byte.TryParse(secret.AsSpan(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                {
                    Warnings.Add($"invalid hex digit in secret {secret}");
                    return null;
                }
                hex.Add(b);
            }
            secretBytes = [.. hex];
        }
        else
            secretBytes = Encoding.UTF8.GetBytes(secret);
        var key = new byte[keyLength];
        secretBytes.AsSpan(0, Math.Min(keyLength, secretBytes.Length)).CopyTo(key);
        return new EspAssociation
        {
            Spi = spi,
            Destination = destination,
            Cipher = cipher,
            KeyLength = keyLength,
            IvLength = block,
            BlockSize = block,
            AuthLength = authLength,
            Key = key,
        };
    }
}

/// <summary>A -E argument that cannot be used at all (its secrets file cannot be read).</summary>
internal sealed class EspSecretsException(string message) : Exception(message);
