namespace KdtCapture.Cli.Btf;

internal static class BtfHelp
{
    public const string Text =
        """
        kdt btf: kernel types and functions from BTF

        Usage: kdt btf funcs [GLOB] [--skb] [--module NAME | --file PATH [--base PATH]]
               kdt btf type NAME [--c] [--file PATH [--base PATH]]
               kdt btf stats [--file PATH [--base PATH]]

        Subcommands:
          funcs [GLOB]  kernel functions (fentry/NAME) and tracepoints (tp_btf/NAME)
                        whose names match GLOB (* ? [...]; all when omitted), one typed
                        argument a line, like 'bpftrace -lv'. A GLOB starting with
                        fentry/ or tp_btf/ lists only that kind. Arguments count from 0,
                        as in 'kdt capture -i fentry/FUNC:N'. fentry/MODULE:GLOB
                        lists a loaded module's functions, as --module does.
          type NAME     a struct or union laid out like pahole (offset and size of
                        every member, holes, padding, cachelines), or an enum or
                        typedef in C. NAME may say its kind: 'struct sock', 'enum x'.
          stats         types per kind, blob size, and how long parsing took

        Options:
          --skb         funcs: only those taking a 'struct sk_buff *', and mark it
          --c           type: the C definition as 'bpftool btf dump format c' prints it
          --module NAME funcs: the functions of loaded module NAME (its BTF in
                        /sys/kernel/btf/NAME), as fentry/NAME:FUNC
          --file PATH   read BTF from PATH instead of /sys/kernel/btf/vmlinux
          --base PATH   PATH given to --file is split BTF (a module's) on this base
          -h, --help    this text

        Examples:
          kdt btf funcs ip_output
          kdt btf funcs 'tcp_v4_*' --skb
          kdt btf funcs 'tp_btf/*' --skb
          kdt btf funcs --module mac80211 'ieee80211_rx*' --skb
          kdt btf type sk_buff
          kdt btf type 'enum skb_drop_reason'
          kdt btf stats
          kdt btf stats --file /sys/kernel/btf/nf_conntrack --base /sys/kernel/btf/vmlinux

        """;
}
