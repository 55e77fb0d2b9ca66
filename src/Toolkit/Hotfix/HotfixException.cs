namespace KdtCapture.Toolkit.Hotfix;

/// <summary>A refusal or failure of a hotfix operation, as one sentence that says what to do.</summary>
public sealed class HotfixException(string message) : Exception(message);
