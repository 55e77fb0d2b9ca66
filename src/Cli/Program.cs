using System.Text;
using KdtCapture.Cli;

// stdout is buffered and flushed once: a -d listing is many small writes, and start-up plus
// printing is most of what `kdt capture -d` costs.
var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
var stdout = new StreamWriter(StandardOutput.Open(), utf8, bufferSize: 16384) { AutoFlush = false };
var stderr = Console.Error;
int exitCode;
try
{
    exitCode = KdtCommand.Run(args, stdout, stderr);
    stdout.Flush();
}
catch (Exception e) when (StandardOutput.IsBrokenPipe(e))
{
    // The reader of our output has gone (`kdt ... | head`): stop quietly, as SIGPIPE stops tcpdump.
    exitCode = StandardOutput.BrokenPipeExitCode;
}
catch (IOException e)
{
    // Typically stdout closed early (`kdt ... | head`): say so in one line, no trace.
    stderr.WriteLine($"kdt: {e.Message}");
    exitCode = ExitCodes.Failure;
}
catch (Exception e)
{
    // Every expected failure is reported where it happens; this is a bug, still one line.
    stderr.WriteLine($"kdt: internal error: {e.GetType().Name}: {e.Message}");
    exitCode = ExitCodes.InternalError;
}
return exitCode;
