using KdtCapture.Filters.Icode;

namespace KdtCapture.Filters.Optimizer;

/// <summary>
/// An explicit stack for depth-first walks of the block graph, so that deep graphs (long or-chains)
/// cannot overflow the call stack. Each entry carries a stage for walks that do work after visiting
/// children (post-order).
/// </summary>
internal sealed class Walk
{
    private Block?[] _blocks = new Block?[64];
    private byte[] _stages = new byte[64];

    public int Count { get; private set; }

    public Block? Top => _blocks[Count - 1];

    public int TopStage
    {
        get => _stages[Count - 1];
        set => _stages[Count - 1] = (byte)value;
    }

    public void Clear()
    {
        Array.Clear(_blocks, 0, Count);
        Count = 0;
    }

    public void Push(Block? b)
    {
        if (Count == _blocks.Length)
        {
            Array.Resize(ref _blocks, Count * 2);
            Array.Resize(ref _stages, Count * 2);
        }
        _blocks[Count] = b;
        _stages[Count] = 0;
        Count++;
    }

    public void Pop() => _blocks[--Count] = null;

    public bool TryPop(out Block? b)
    {
        if (Count == 0)
        {
            b = null;
            return false;
        }
        b = _blocks[--Count];
        _blocks[Count] = null;
        return true;
    }
}
