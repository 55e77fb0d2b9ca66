namespace KdtCapture.Cli;

/// <summary>kdt's exit statuses. 1 for every refusal, as tcpdump uses it.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>A bad command line, filter, file or interface.</summary>
    public const int Failure = 1;
    /// <summary>A bug in kdt (an exception nobody expected), after one line on stderr.</summary>
    public const int InternalError = 70;
}
