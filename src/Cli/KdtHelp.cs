namespace KdtCapture.Cli;

internal static class KdtHelp
{
    public const string Text =
        """
        kdt: the KdtCapture kernel debug toolkit

        Usage: kdt COMMAND [ARGS...]
               kdt --help | --version

        Commands:
          capture    tcpdump-compatible packet capture; this build compiles
                     filters (kdt capture -d/-dd/-ddd EXPRESSION)
          btf        kernel functions, tracepoints and types from BTF
                     (kdt btf funcs GLOB --skb, kdt btf type NAME, kdt btf stats)
          ftrace     trace-cmd's workflow on tracefs: record events to trace.dat,
                     report (also trace-cmd's files), list, start/stop/extract, stream
          hotfix     kpatch's workflow on livepatch: load/unload patch modules with
                     the transition waited for, install for boot, list, info FILE.ko
          psi        pressure stall information for the system or a cgroup,
                     refreshed (-i) or as PSI trigger events (--trigger)
          trace      BPF tracing tools on tracepoints: execsnoop, opensnoop,
                     tcpdrop, runqlat, ... (kdt trace --list)

        Run 'kdt COMMAND --help' for a command's options and examples.

        Wireshark: kdt answers the extcap protocol (kdt --extcap-interfaces lists
        the taps); a script 'exec kdt "$@"' in ~/.config/wireshark/extcap puts
        them in Wireshark's interface list (README: Taps in Wireshark).

        Examples:
          kdt capture -d 'tcp port 443'
          kdt capture -y raw -dd 'udp port 53'
          kdt capture --help
          kdt btf funcs 'ip_*' --skb
          kdt ftrace record -e sched:sched_switch -- sleep 1
          kdt hotfix info livepatch-fix.ko
          kdt psi --trigger 'memory some 150ms 2s'
          kdt trace execsnoop -T

        """;
}
