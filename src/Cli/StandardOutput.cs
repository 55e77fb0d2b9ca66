using Microsoft.Win32.SafeHandles;

namespace KdtCapture.Cli;

/// <summary>
/// kdt's stdout as a plain file stream. .NET's console stream swallows EPIPE, so `kdt ... | head`
/// would go on reading the whole capture after head has gone; a FileStream on fd 1 reports the
/// broken pipe, and kdt then ends as tcpdump does when SIGPIPE kills it: quietly.
/// </summary>
internal static class StandardOutput
{
    /// <summary>Exit status of a process killed by SIGPIPE, as the shell reports it (128 + 13).</summary>
    public const int BrokenPipeExitCode = 141;

    private const int Epipe = 32;

    public static Stream Open()
    {
        try
        {
            var pipe = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
            if (!pipe.CanSeek)
                return pipe;
            // A regular file: FileStream would write at its own offset without moving the shared
            // one, so `(kdt ...; echo) > f` would overwrite; and files have no broken pipes.
            pipe.Dispose();
            return Console.OpenStandardOutput();
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // fd 1 closed or not writable: the console stream copes (it discards).
            return Console.OpenStandardOutput();
        }
    }

    /// <summary>Whether a write failed because the reading end of stdout's pipe has gone.</summary>
    public static bool IsBrokenPipe(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is IOException { HResult: Epipe })
                return true;
        }
        return false;
    }
}
