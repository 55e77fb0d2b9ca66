using System.Net;
using System.Net.Sockets;

namespace KdtCapture.Bpf.Tests.Kernel;

/// <summary>
/// Sends UDP datagrams over loopback to a bound socket (so no ICMP "port unreachable" adds packets).
/// Each send is one pass through dev_queue_xmit on lo, in this process's context.
/// </summary>
internal sealed class LoopbackTraffic : IDisposable
{
    private readonly Socket _receiver = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _sender = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly byte[] _payload;
    private readonly byte[] _sink = new byte[65536];

    public LoopbackTraffic(int payloadSize = 32)
    {
        _receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _receiver.ReceiveBufferSize = 4 * 1024 * 1024;
        _sender.Connect(_receiver.LocalEndPoint!);
        _payload = new byte[payloadSize];
    }

    public int Port => ((IPEndPoint)_receiver.LocalEndPoint!).Port;

    /// <summary>Sends <paramref name="count"/> datagrams and drains the receiver so its buffer never overflows.</summary>
    public void Send(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _payload[0] = (byte)i;
            _sender.Send(_payload);
            while (_receiver.Available > 0)
                _receiver.Receive(_sink);
        }
    }

    public void Dispose()
    {
        _sender.Dispose();
        _receiver.Dispose();
    }
}
