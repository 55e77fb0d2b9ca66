using KdtCapture.Capture.Live;
using KdtCapture.Capture.Pipeline;
using KdtCapture.Capture.Taps;
using KdtCapture.Filters;
using KdtCapture.Filters.Cbpf;

namespace KdtCapture.Cli.Capture;

/// <summary>
/// <c>kdt capture [-i IFACE]... [-w FILE] [EXPR]</c>: tcpdump's live path on the frame pipeline.
/// Order and words follow tcpdump 4.99: open each interface (libpcap's errors), -L, set the link
/// type, compile the filter with our compiler for a live Linux socket and install it in the
/// kernel, open the output, say "listening on ...", capture until -c, a stop signal or the end
/// of rotation, then the statistics on stderr. Unlike tcpdump, several -i capture at once.
/// </summary>
internal static class LiveCapture
{
    public static int Run(CaptureSettings settings, List<string> operands, TextWriter stdout, TextWriter stderr)
    {
        List<string> names = settings.Interfaces.Count > 0 ? settings.Interfaces : [];
        // Selecting by process needs taps; without -i, the two that see every sent and received packet.
        if (names.Count == 0 && settings.SelectsPackets)
            names = ["tp_btf/net_dev_queue", "tp_btf/netif_receive_skb"];
        if (names.Count == 0)
        {
            // tcpdump takes the first interface pcap_findalldevs lists (-D's first line).
            var devices = LiveInterface.List();
            if (devices.Count == 0) return CaptureCommand.Fail(stderr, "no interfaces available for capture");
            names = [devices[0].Name];
        }
        // Kernel taps (fentry/..., tp_btf/...) go to the tap engine, interfaces to libpcap.
        var tapSpecs = new List<TapSpec>();
        var interfaceNames = new List<string>();
        foreach (string name in names)
        {
            if (!TapSpec.LooksLikeTapSpec(name))
            {
                interfaceNames.Add(name);
                continue;
            }
            if (!TapSpec.TryParse(name, out TapSpec? spec, out string? specError))
                return CaptureCommand.Fail(stderr, specError);
            if (settings.ListLinkTypes)
                InterfaceListing.WriteTapLinkTypes(stderr, name);
            tapSpecs.Add(spec);
        }
        names = interfaceNames;
        if (settings.SelectsPackets && names.Count > 0)
            return CaptureCommand.Fail(stderr, $"--pid, --comm, --cgroup, --netns and -- COMMAND select packets at kernel taps, and -i {names[0]} captures through libpcap, which cannot tell processes apart; use -i tp_btf/net_dev_queue -i tp_btf/netif_receive_skb");
        if (settings.Command is { } commandWords && CommandCapture.FindProgram(commandWords[0]) is null)
            return CaptureCommand.Fail(stderr, $"-- {commandWords[0]}: command not found; give a program on PATH or its path (what follows -- is run; a filter expression goes before it)");

        var options = new LiveInterfaceOptions
        {
            SnapLength = settings.Snaplen,
            Promiscuous = settings.Promiscuous,
            BufferBytes = settings.BufferKiB * 1024,
            Immediate = settings.ImmediateMode,
            NanosecondTimestamps = settings.NanosecondPrecision,
            Direction = settings.Direction,
            LinkType = settings.LinkType,
            TimestampType = settings.TimestampType,
            MonitorMode = settings.MonitorMode,
        };

        var opened = new List<LiveInterface>();
        try
        {
            foreach (string name in names)
            {
                LiveInterface live;
                try
                {
                    live = LiveInterface.Open(name, settings.ListLinkTypes ? new LiveInterfaceOptions() : options);
                }
                catch (LiveInterfaceException e)
                {
                    return CaptureCommand.Fail(stderr, e.Message);
                }
                catch (DllNotFoundException)
                {
                    return CaptureCommand.Fail(stderr, "libpcap is not installed (apt-get install libpcap0.8)");
                }
                opened.Add(live);
                foreach (string warning in live.Warnings)
                    stderr.WriteLine($"kdt: WARNING: {warning}");
                if (settings.ListLinkTypes)
                {
                    InterfaceListing.WriteLinkTypes(stderr, live.Name, live.SupportedLinkTypes());
                    continue;
                }
                if (settings.LinkType is { } requested)
                    stderr.WriteLine($"kdt: data link type {CaptureCommand.LinkTypeName(requested)}");
            }
            if (settings.ListLinkTypes) return ExitCodes.Success;

            if (!CaptureCommand.TryGetExpression(settings, operands, out string expression, out string? expressionError))
                return CaptureCommand.Fail(stderr, expressionError!);
            uint netmask = 0;
            if (settings.ForeignNumeric)
            {
                // tcpdump -f: the capture device's network decides which addresses are "local" (named); its
                // netmask also serves the filter's "ip broadcast". Taps have no network of their own.
                if (names.Count > 0)
                {
                    netmask = ForeignNetmask(names[0], stderr);
                    if (LiveInterface.TryLookupNetwork(names[0], out uint network, out uint mask, out _))
                        settings.LocalNetwork = (network, mask);
                }
                else
                    stderr.WriteLine($"kdt: WARNING: foreign (-f) flag used but: {settings.Interfaces[0]}: a kernel tap has no network of its own, so every address is named");
            }
            TapSource? taps = null;
            CommandCapture? command = null;
            if (tapSpecs.Count > 0)
            {
                try
                {
                    if (settings.Command is not null)
                    {
                        if (settings.SelectCgroup is not null)
                            return CaptureCommand.Fail(stderr, "--cgroup and -- COMMAND both choose a cgroup; give one of them");
                        command = CommandCapture.Create(settings.Command);
                    }
                    ProcessSelection selection = settings.SelectsPackets
                        ? ProcessSelection.Resolve(settings.SelectPid, settings.SelectComm, command?.Cgroup ?? settings.SelectCgroup, settings.SelectNetns)
                        : ProcessSelection.None;
                    taps = TapSource.Open(TapResolver.ForKernel().Resolve(tapSpecs), new TapSourceOptions
                    {
                        Filter = expression,
                        Optimize = settings.Optimize,
                        SnapLength = settings.Snaplen,
                        Direction = settings.Direction ?? CaptureDirection.InOut,
                        LinkType = settings.LinkType,
                        BufferSizeKiB = settings.BufferKiB,
                        Immediate = settings.ImmediateMode,
                        TrackSkb = settings.TrackSkb,
                        DropReasons = settings.DropReasons,
                        // With interfaces too, -c counts over everything (the composite stops it).
                        MaxFrames = opened.Count == 0 ? settings.PacketCount : null,
                        Selection = selection,
                    });
                }
                catch (TapException e)
                {
                    command?.Dispose();
                    return CaptureCommand.Fail(stderr, e.Message);
                }
            }
            try
            {
                foreach (LiveInterface live in opened)
                    live.SetFilter(Compile(expression, live, settings.Optimize, netmask));
            }
            catch (FilterCompileException e)
            {
                return CaptureCommand.Fail(stderr, e.Message);
            }
            catch (LiveInterfaceException e)
            {
                return CaptureCommand.Fail(stderr, e.Message);
            }

            using (command)
            using (taps)
                return Capture(settings, opened, taps, expression, stdout, stderr, command);
        }
        finally
        {
            foreach (LiveInterface live in opened) live.Dispose();
        }
    }

    /// <summary>
    /// The netmask tcpdump -f compiles with: pcap_lookupnet's, which libpcap returns in network byte order and
    /// tcpdump hands to pcap_compile as it is, so on little-endian machines "ip broadcast" tests the mask's bytes
    /// reversed (measured: -f -i lo gives 0xffffff00 for 255.0.0.0). 0, with tcpdump's warning, when it has none.
    /// </summary>
    internal static uint ForeignNetmask(string device, TextWriter stderr)
    {
        if (!LiveInterface.TryLookupNetwork(device, out _, out uint mask, out string error))
        {
            stderr.WriteLine($"kdt: WARNING: foreign (-f) flag used but: {error}");
            return 0;
        }
        return BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(mask) : mask;
    }

    /// <summary>The filter as tcpdump compiles it for a live Linux socket (netmask 0 unless -f, VLAN tags as metadata).</summary>
    internal static CbpfProgram Compile(string expression, LiveInterface live, bool optimize, uint netmask = 0)
        => FilterCompiler.Compile(expression, live.LinkType, new FilterCompileOptions
        {
            Optimize = optimize,
            Snaplen = live.SnapLength,
            Netmask = netmask,
            KernelVlanTags = true,
        });

    private static int Capture(CaptureSettings settings, List<LiveInterface> interfaces, TapSource? taps, string expression, TextWriter stdout, TextWriter stderr,
        CommandCapture? command = null)
    {
        bool printing = CaptureOutput.Prints(settings);
        using var stop = new StopSignals();
        using var finish = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        var sinks = new List<IFrameSink>();
        CaptureFileSink? fileSink = null;
        // tcpdump -Z: the devices are open; the output file is created as the user.
        if (settings.RelinquishUser is { } user && !Relinquish.TryBecome(user, stderr, out int dropFailure))
            return dropFailure;
        if (settings.WriteFile is not null)
        {
            if (!CaptureOutput.TryOpenFile(settings, stderr, () => finish.Cancel(), flushAfterBatch: true, out fileSink, out int failure))
                return failure;
            sinks.Add(fileSink!);
        }
        if (printing)
        {
            sinks.Add(new PrinterSink(stdout, CaptureOutput.PrinterOptions(settings), flushEachPacket: settings.LineBuffered || settings.PacketBuffered,
                flushAfterBatch: true)
            {
                // Tap frames carry their function and process in their comment: "ip_output curl[1234] IP ...".
                Prefix = taps is null ? null : new TrackConsole(settings.TrackSkb).Prefix,
            });
        }
        if (sinks.Count == 0)
            sinks.Add(new CountingSink());

        LiveInterfaceSource? live = interfaces.Count == 0 ? null : new LiveInterfaceSource(interfaces, expression)
        {
            MaxFrames = taps is null ? settings.PacketCount : null,
            Started = () => WriteListening(stderr, settings, interfaces, taps),
        };
        if (live is null) WriteListening(stderr, settings, interfaces, taps!);
        // Many smaller batches: a quiet interface (or an immediate-mode tap) hands over small batches
        // often, and the slack keeps a slow start of the sinks from costing packets. Each source of a
        // combined capture gets as many of its own: with the composite's default four, a burst of 25
        // immediate-mode tap frames could already find no free batch.
        var buffering = new FramePipelineOptions { DropWhenFull = true, Batches = 64, BatchBytes = 256 * 1024, BatchFrames = 2048 };
        IFrameSource source = (live, taps) switch
        {
            (not null, null) => live,
            (null, not null) => taps,
            _ => new CompositeFrameSource([live!, taps!], buffering) { MaxFrames = settings.PacketCount },
        };
        if (live is null && settings.WriteFile is not null and not "-")
        {
            // Taps alone writing a file: the reader thread writes each drain itself (no hand-over to
            // a second thread; what the file cannot take in time waits in the kernel's rings, whose
            // losses are counted exactly). Bench part 6 measured the hand-over's wakeups and spins.
            buffering = new FramePipelineOptions { SinksOnSourceThread = true, BatchBytes = 1 << 20, BatchFrames = 8192 };
        }
        // tcpdump -v -w without --print: "Got N" once a second, overwriting itself, while the file fills.
        Timer? progress = settings.Verbosity > 0 && fileSink is not null && !printing
            ? new Timer(_ => WriteProgress(stderr, fileSink.Writer), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))
            : null;
        FramePipelineResult result;
        try
        {
            // The taps are attached: the command's first packet is seen. Its end stops the capture
            // (the source drains what the kernel already wrote).
            command?.Start(() =>
            {
                try
                {
                    finish.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The capture had already ended (^C, -c).
                }
            });
            result = FramePipeline.Run(source, sinks, finish.Token, buffering);
        }
        finally
        {
            if (progress is not null)
            {
                // Wait out a tick in flight, so "Got N" does not land inside the statistics.
                using var stopped = new ManualResetEvent(false);
                if (progress.Dispose(stopped))
                    stopped.WaitOne();
            }
            fileSink?.Dispose();
        }

        int exit = ExitCodes.Success;
        // tcpdump ends a half-printed line when interrupted.
        if (printing && result.Stopped)
        {
            stdout.WriteLine();
            stdout.Flush();
        }
        if (fileSink is { LimitReached: true })
            stderr.WriteLine($"Maximum file limit reached: {settings.FileCount}");
        if (result.SourceError is { } error)
        {
            exit = ExitCodes.Failure;
            stderr.WriteLine(error is LiveInterfaceException or TapException or IOException
                ? $"kdt: {error.Message}"
                : throw new InvalidOperationException("the live capture source failed", error));
        }
        var kernel = new List<LiveInterfaceStatistics>(live?.Statistics() ?? []);
        long undecided = 0, undecidedMatched = 0;
        if (taps is not null)
        {
            foreach (TapCounters c in taps.ReadCounters())
            {
                undecided += c.Undecided;
                undecidedMatched += c.UndecidedMatched;
                // A tap's "received by filter": program runs its filter accepted; "dropped by kernel": perf ring full.
                kernel.Add(new LiveInterfaceStatistics((uint)Math.Min(uint.MaxValue, c.Accepted), (uint)Math.Min(uint.MaxValue, c.Lost), 0));
            }
        }
        WriteStatistics(stderr, result, kernel);
        if (command is not null && exit == ExitCodes.Success)
        {
            // Stopped by ^C or -c before the command ended: its exit code once it has.
            command.WaitForExit(TimeSpan.FromSeconds(5));
            exit = command.ExitCode;
        }
        if (undecided > 0)
            stderr.WriteLine($"{undecided} packets filtered in user space (the filter read paged bytes), {undecidedMatched} matched");
        return exit;
    }

    private static long _progressShown = -1;

    /// <summary>tcpdump's print_packets_captured: the count so far, when it changed (and the first time).</summary>
    private static void WriteProgress(TextWriter stderr, KdtCapture.PcapNg.CaptureWriter writer)
    {
        long n = writer.PacketsWritten;
        if (n == Interlocked.Exchange(ref _progressShown, n))
            return;
        lock (stderr)
        {
            stderr.Write($"Got {n}\r");
            stderr.Flush();
        }
    }

    /// <summary>tcpdump's announcement, one "listening on" line per interface.</summary>
    private static void WriteListening(TextWriter stderr, CaptureSettings settings, List<LiveInterface> interfaces, TapSource? taps)
    {
        bool first = true;
        if (taps is not null)
        {
            foreach (ResolvedTap tap in taps.Taps)
            {
                stderr.WriteLine(first && settings.Verbosity == 0 && settings.WriteFile is null
                    ? $"kdt: verbose output suppressed, use -v[v]... for full protocol decode\n{taps.ListeningLine(tap)}"
                    : $"kdt: {taps.ListeningLine(tap)}");
                first = false;
            }
            foreach (string notice in taps.Notices) stderr.WriteLine($"kdt: {notice}");
        }
        foreach (LiveInterface live in interfaces)
        {
            if (first && settings.Verbosity == 0 && settings.WriteFile is null)
                stderr.WriteLine("kdt: verbose output suppressed, use -v[v]... for full protocol decode");
            else
                stderr.Write("kdt: ");
            first = false;
            stderr.Write($"listening on {live.Name}");
            stderr.Write(LinkTypes.GetName(live.LinkType) is { } name
                ? $", link-type {name} ({LinkTypes.GetDescription(live.LinkType)})"
                : $", link-type {(int)live.LinkType}");
            stderr.WriteLine($", snapshot length {live.SnapLength} bytes");
        }
        stderr.Flush();
    }

    /// <summary>tcpdump's info(1) lines, summed over the interfaces, and what kdt's own pipeline dropped.</summary>
    internal static void WriteStatistics(TextWriter stderr, FramePipelineResult result, IReadOnlyList<LiveInterfaceStatistics> kernel)
    {
        long received = 0, dropped = 0, interfaceDropped = 0;
        foreach (LiveInterfaceStatistics s in kernel)
        {
            received += s.Received;
            dropped += s.Dropped;
            interfaceDropped += s.InterfaceDropped;
        }
        long pipelineDropped = result.Interfaces.Total(i => i.DroppedInPipeline);
        stderr.WriteLine(Packets(result.FramesDelivered, "captured"));
        stderr.WriteLine(Packets(received, "received by filter"));
        stderr.WriteLine(Packets(dropped, "dropped by kernel"));
        if (interfaceDropped != 0) stderr.WriteLine(Packets(interfaceDropped, "dropped by interface"));
        if (pipelineDropped != 0) stderr.WriteLine(Packets(pipelineDropped, "dropped by kdt (output could not keep up)"));
        stderr.Flush();
    }

    private static string Packets(long n, string what) => $"{n} packet{(n == 1 ? "" : "s")} {what}";
}
