using System.Runtime.InteropServices;

namespace KdtCapture.Capture.Pipeline;

/// <summary>
/// Turns SIGINT and SIGTERM into a cancellation, so that a capture stops cleanly (files get their
/// statistics blocks and are complete) instead of the process dying mid-write. Dispose to restore
/// the default handling.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration? _interrupt;
    private readonly PosixSignalRegistration? _terminate;

    public StopSignals(CancellationToken linkedTo = default)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(linkedTo);
        if (!OperatingSystem.IsWindows())
        {
            _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        }
    }

    /// <summary>Cancelled when a stop signal arrives.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>The signal that asked to stop, if any.</summary>
    public PosixSignal? Received { get; private set; }

    private void OnSignal(PosixSignalContext context)
    {
        // Keep the process alive: the pipeline finishes the files and then returns.
        context.Cancel = true;
        Received ??= context.Signal;
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The signal raced the end of the capture (its handler was already queued when Dispose
            // unregistered it): the files are complete and the process is on its way out.
        }
    }

    public void Dispose()
    {
        _interrupt?.Dispose();
        _terminate?.Dispose();
        _stop.Dispose();
    }
}
