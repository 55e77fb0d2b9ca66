namespace KdtCapture.Cli.CommandLine;

/// <summary>Ctrl-C as a cancellation, for commands that finish their work when interrupted (record, watch).</summary>
internal static class Interrupt
{
    /// <summary>
    /// Runs <paramref name="command"/> with a token that Ctrl-C (SIGINT) cancels instead of ending
    /// the process, so the command can stop cleanly and still write what it has.
    /// </summary>
    public static int Run(Func<CancellationToken, int> command)
    {
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return command(stop.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
