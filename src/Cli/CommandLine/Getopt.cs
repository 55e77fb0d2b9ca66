namespace KdtCapture.Cli.CommandLine;

/// <summary>A long option as getopt_long(3) knows it.</summary>
/// <param name="Name">The name without the leading "--".</param>
/// <param name="TakesArgument">Whether the option requires an argument ("--name=value" or "--name value").</param>
/// <param name="Id">What the option reports: the short option's character when it is an alias of one.</param>
internal sealed record LongOption(string Name, bool TakesArgument, int Id);

/// <summary>One option as found on the command line, in order.</summary>
/// <param name="Id">The short option character, or a long option's <see cref="LongOption.Id"/>.</param>
/// <param name="Argument">The option's argument, when it takes one.</param>
internal readonly record struct ParsedOption(int Id, string? Argument);

/// <summary>A command line glibc's getopt_long would refuse; the message is glibc's wording.</summary>
internal sealed class GetoptException(string message) : Exception(message);

/// <summary>
/// Parses arguments the way glibc's getopt_long does, because tcpdump users rely on its quirks:
/// bundled flags ("-nn", "-dd"), attached or separate arguments ("-s0", "-s 0"), an argument
/// taken from the next word even when it starts with '-', long options with unique-prefix
/// abbreviation and "=value", "--" ending the options, and operands permuted to the end
/// unless POSIXLY_CORRECT is set (so "ip -d" means "-d ip").
/// Options are produced lazily, so an action such as --help happens before a later bad option
/// is seen, as in a getopt loop.
/// </summary>
internal sealed class Getopt
{
    private readonly Dictionary<char, bool> _shortOptions = [];
    private readonly IReadOnlyList<LongOption> _longOptions;

    /// <param name="shortOptions">getopt's optstring: each option character, followed by ':' when it takes an argument.</param>
    /// <param name="longOptions">The long options, in the order getopt_long lists them when a prefix is ambiguous.</param>
    public Getopt(string shortOptions, IReadOnlyList<LongOption> longOptions)
    {
        ArgumentNullException.ThrowIfNull(shortOptions);
        ArgumentNullException.ThrowIfNull(longOptions);
        for (int i = 0; i < shortOptions.Length; i++)
        {
            char c = shortOptions[i];
            bool takesArgument = i + 1 < shortOptions.Length && shortOptions[i + 1] == ':';
            _shortOptions[c] = takesArgument;
            if (takesArgument)
                i++;
        }
        _longOptions = longOptions;
    }

    /// <summary>
    /// The options of <paramref name="args"/> in order. Non-option words go to <paramref name="operands"/>,
    /// which is complete once the enumeration has finished.
    /// </summary>
    /// <exception cref="GetoptException">While enumerating, at the first option getopt_long would refuse.</exception>
    public IEnumerable<ParsedOption> Parse(IReadOnlyList<string> args, List<string> operands, bool posixlyCorrect = false)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(operands);

        int index = 0;
        while (index < args.Count)
        {
            string word = args[index++];
            if (word == "--")
            {
                for (; index < args.Count; index++)
                    operands.Add(args[index]);
                yield break;
            }
            if (word.Length < 2 || word[0] != '-')
            {
                operands.Add(word);
                if (posixlyCorrect)
                {
                    for (; index < args.Count; index++)
                        operands.Add(args[index]);
                    yield break;
                }
                continue;
            }

            if (word[1] == '-')
            {
                yield return ParseLong(word, args, ref index);
                continue;
            }

            for (int pos = 1; pos < word.Length; pos++)
            {
                char c = word[pos];
                if (c == ':' || !_shortOptions.TryGetValue(c, out bool takesArgument))
                    throw new GetoptException($"invalid option -- '{c}'");
                if (!takesArgument)
                {
                    yield return new ParsedOption(c, null);
                    continue;
                }
                if (pos + 1 < word.Length)
                {
                    yield return new ParsedOption(c, word[(pos + 1)..]);
                }
                else
                {
                    if (index >= args.Count)
                        throw new GetoptException($"option requires an argument -- '{c}'");
                    yield return new ParsedOption(c, args[index++]);
                }
                break;
            }
        }
    }

    private ParsedOption ParseLong(string word, IReadOnlyList<string> args, ref int index)
    {
        string body = word[2..];
        int equals = body.IndexOf('=');
        string name = equals < 0 ? body : body[..equals];
        string? attached = equals < 0 ? null : body[(equals + 1)..];

        LongOption? found = null;
        foreach (var option in _longOptions)
        {
            if (option.Name == name)
            {
                found = option;
                break;
            }
        }

        if (found is null)
        {
            List<LongOption> candidates = [];
            foreach (var option in _longOptions)
            {
                if (option.Name.StartsWith(name, StringComparison.Ordinal))
                    candidates.Add(option);
            }
            if (candidates.Count == 0)
                throw new GetoptException($"unrecognized option '{word}'");
            found = candidates[0];
            // glibc tolerates prefixes shared by options that would do the same thing.
            foreach (var other in candidates)
            {
                if (other.TakesArgument != found.TakesArgument || other.Id != found.Id)
                {
                    string possibilities = string.Join(' ', candidates.Select(o => $"'--{o.Name}'"));
                    throw new GetoptException($"option '{word}' is ambiguous; possibilities: {possibilities}");
                }
            }
        }

        if (!found.TakesArgument)
        {
            if (attached is not null)
                throw new GetoptException($"option '--{found.Name}' doesn't allow an argument");
            return new ParsedOption(found.Id, null);
        }
        if (attached is not null)
            return new ParsedOption(found.Id, attached);
        if (index >= args.Count)
            throw new GetoptException($"option '--{found.Name}' requires an argument");
        return new ParsedOption(found.Id, args[index++]);
    }
}
