using System.Text;
using KdtCapture.Toolkit.Trace;

namespace KdtCapture.Cli.Trace;

/// <summary>The help of `kdt trace` and of each tool: what it shows, its options, examples.</summary>
internal static class TraceHelp
{
    public const string Text =
        """
        kdt trace: BPF tracing tools on kernel tracepoints (bcc's tools, on tp_btf)

        Usage: kdt trace TOOL [OPTIONS]
               kdt trace --list
               kdt trace TOOL --help

        Tools (kdt trace --list says which this kernel can run):
          execsnoop   new processes with their arguments
          exitsnoop   process exits with age and exit status
          opensnoop   open/openat/openat2 with path and result
          syscount    system calls counted by syscall or process
          tcpconnect  active TCP connections
          tcplife     TCP sessions with bytes and lifetime, when they close
          tcpstates   TCP state changes
          tcpdrop     dropped TCP packets with the kernel's drop reason
          tcpretrans  TCP retransmissions (and tail loss probes) per connection
          runqlat     run queue latency histogram
          cpudist     on-CPU (or off-CPU) time histogram
          offcputime  off-CPU time per task and kernel stack (folded for flame graphs)
          biolatency  block device I/O latency histogram
          softirqs    time spent in each softirq vector
          hardirqs    time spent in each hard interrupt handler
          lockstat    kernel lock contention: histogram, per lock and caller
          oomkill     OOM kills: victim, the task that triggered it, load
          drsnoop     direct and memory cgroup reclaim with latency and pages

        Common options:
          -p PID          only this process (thread group)
          -t TID          only this thread
          -c COMM         only tasks with this comm (exact, at most 15 bytes)
          -T              add a wall clock time column (HH:MM:SS)
          -d SECONDS      stop after SECONDS
          -i SECONDS      summary tools: print and reset every SECONDS
          -j, --json      one JSON object per line
          -h, --help      help (of a tool when given after it)

        Ctrl-C (SIGINT) or SIGTERM stops a tool; summary tools print their summary then.

        Examples:
          kdt trace --list
          kdt trace execsnoop -T
          kdt trace runqlat -m 5 1
          kdt trace tcpdrop --json

        """;

    private const string ProcessOptions =
        """
          -p PID          only this process (thread group)
          -t TID          only this thread
          -c COMM         only tasks with this comm (exact, at most 15 bytes)

        """;

    private const string Common =
        """
          -d SECONDS      stop after SECONDS
          -j, --json      one JSON object per line
          -h, --help      this text

        """;

    private static readonly Dictionary<string, (string Usage, string About, string Options, string Examples)> Tools = new()
    {
        ["execsnoop"] = ("[-x] [-T]",
            """
            Prints each execve/execveat: the new comm, PID, parent PID, return value and the
            arguments (the file name, then argv[1..19]; "..." when there were more). Only
            successful execs unless -x.
            Columns: [TIME] PCOMM PID PPID RET ARGS
            """,
            """
              -x              also show failed execs (RET is -errno)
              -T              TIME column (HH:MM:SS)
            """,
            """
              kdt trace execsnoop
              kdt trace execsnoop -x -T
              kdt trace execsnoop -c make
              kdt trace execsnoop --json -d 10
            """),
        ["exitsnoop"] = ("[--per-thread] [-T]",
            """
            Prints each process exit: comm, PID, parent PID, thread ID, age in seconds and the
            exit status ("0", "code N", "signal N (NAME)", ", core dumped"). Thread group
            leaders only unless --per-thread.
            Columns: [TIME] PCOMM PID PPID TID AGE(s) EXIT_CODE
            """,
            """
              --per-thread    every thread's exit, not only the process's
              -T              TIME column (HH:MM:SS)
            """,
            """
              kdt trace exitsnoop
              kdt trace exitsnoop -c nginx -T
              kdt trace exitsnoop --per-thread -p 1234
            """),
        ["opensnoop"] = ("[-x] [-T]",
            """
            Prints each open/openat/openat2: PID, comm, the file descriptor returned (-1 on
            failure), the errno (0 on success) and the path as the caller gave it.
            Columns: [TIME] PID COMM FD ERR PATH
            """,
            """
              -x              failed opens only
              -T              TIME column (HH:MM:SS)
            """,
            """
              kdt trace opensnoop
              kdt trace opensnoop -x
              kdt trace opensnoop -p 1234 -T
              kdt trace opensnoop -c systemd --json
            """),
        ["syscount"] = ("[-P] [-L] [-m] [-x] [-e ERRNO] [--top N] [-i SECONDS]",
            """
            Counts system calls by syscall (or by process with -P) and prints the top N at
            the end (Ctrl-C or -d) or every -i SECONDS, sorted by count (by time with -L).
            Columns: SYSCALL (or PID COMM) COUNT [TIME (us)]
            """,
            """
              -P              count by process instead of by syscall
              -L              also total the time spent in each (TIME (us), or ms with -m)
              -m              milliseconds instead of microseconds
              -x              failed calls only
              -e ERRNO        calls that failed with this errno only (ENOENT or 2)
              --top N         print the N busiest (default 10)
              -i SECONDS      print and reset every SECONDS
            """,
            """
              kdt trace syscount
              kdt trace syscount -P --top 5 -d 10
              kdt trace syscount -L -p 1234 -i 1
              kdt trace syscount -x -e ENOENT
            """),
        ["tcpconnect"] = ("[-T]",
            """
            Prints each active TCP open (a socket moving from CLOSE to SYN_SENT in the
            connecting process), IPv4 and IPv6: PID, comm, IP version, addresses, port.
            Columns: [TIME] PID COMM IP SADDR DADDR DPORT
            """,
            """
              -T              TIME column (HH:MM:SS)
            """,
            """
              kdt trace tcpconnect
              kdt trace tcpconnect -c curl -T
              kdt trace tcpconnect --json
            """),
        ["tcplife"] = ("[-T]",
            """
            Prints one line per TCP session when it closes: the owning process (the last one
            seen connecting or closing it), both ends, the bytes sent (acknowledged) and
            received in KiB, and the session's lifetime in milliseconds. -p/-c select the
            owner.
            Columns: [TIME] PID COMM LADDR LPORT RADDR RPORT TX_KB RX_KB MS
            """,
            """
              -T              TIME column (HH:MM:SS)
            """,
            """
              kdt trace tcplife
              kdt trace tcplife -p 1234
              kdt trace tcplife --json -d 60
            """),
        ["tcpstates"] = ("[-T]",
            """
            Prints every TCP state change: the socket's address, the process that changed it
            (often the softirq's current task), both ends, old and new state and the
            milliseconds spent in the old state.
            Columns: [TIME] SKADDR C-PID C-COMM LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS
            """,
            """
              -T              TIME column (HH:MM:SS)
            """,
            """
              kdt trace tcpstates
              kdt trace tcpstates -T --json
            """),
        ["tcpdrop"] = ("",
            """
            Prints each TCP packet the kernel frees as dropped (skb:kfree_skb), with its
            addresses, ports and TCP flags, the drop reason (the kernel's enum
            skb_drop_reason, named from BTF) and the function that dropped it (kallsyms).
            -p/-c select the task that was current when the packet was dropped.
            Columns: TIME PID IP SADDR:SPORT > DADDR:DPORT FLAGS REASON LOCATION
            """,
            "",
            """
              kdt trace tcpdrop
              kdt trace tcpdrop --json -d 30
            """),
        ["tcpretrans"] = ("[-l] [--count] [-T] [-i SECONDS]",
            """
            Prints each TCP segment the kernel retransmits (tcp:tcp_retransmit_skb) with the
            connection's local and remote address and port and its TCP state; T is "R>" for
            a retransmission and "L>" for a tail loss probe (shown only with -l: no tracepoint
            marks probes, so kdt tells them by the congestion state, Open or CWR, in which
            only a probe is retransmitted). Retransmissions are sent from timers and softirqs,
            so PID is whichever task was running (often 0) and -p/-t/-c do not apply.
            With --count, counts retransmissions per connection and prints them at the end.
            Columns: TIME PID IP LADDR:LPORT T> RADDR:RPORT STATE
            """,
            """
              -l              also show tail loss probes (T is "L>")
              --count         count per connection instead of a line each (bcc's -c)
              -T              --count: time of day above each summary
              -i SECONDS      --count: print and reset every SECONDS
            """,
            """
              kdt trace tcpretrans
              kdt trace tcpretrans -l --json
              kdt trace tcpretrans --count -d 60
              kdt trace tcpretrans --count -i 10
            """),
        ["runqlat"] = ("[-m] [-P | -L] [--heatmap FILE.svg] [-i SECONDS] [INTERVAL [COUNT]]",
            """
            Measures how long runnable tasks wait on a CPU's run queue, from wakeup (or
            preemption) until they run, and prints a log2 histogram as bcc draws it. -p/-t/-c
            select the task that waited.
            """,
            """
              -m              milliseconds instead of microseconds
              -P              one histogram per process
              -L              one histogram per thread
              -T              time of day above each interval's histograms
              -i SECONDS      print and reset every SECONDS (or give INTERVAL [COUNT])
              --heatmap FILE  also write latency over time (one column per interval,
                              per second without -i) as an SVG heatmap
            """,
            """
              kdt trace runqlat
              kdt trace runqlat -m 5 1
              kdt trace runqlat -P -d 10
              kdt trace runqlat --heatmap runq.svg -d 60
            """),
        ["cpudist"] = ("[-O] [-m] [-P | -L] [--heatmap FILE.svg] [-i SECONDS] [INTERVAL [COUNT]]",
            """
            Measures how long tasks run on a CPU each time they are scheduled (from switch-in
            to switch-out), or with -O how long they stay off it, and prints a log2 histogram
            as bcc draws it. -p/-t/-c select the task.
            """,
            """
              -O              off-CPU time instead of on-CPU time
              -m              milliseconds instead of microseconds
              -P              one histogram per process
              -L              one histogram per thread
              -T              time of day above each interval's histograms
              -i SECONDS      print and reset every SECONDS (or give INTERVAL [COUNT])
              --heatmap FILE  also write the distribution over time as an SVG heatmap
            """,
            """
              kdt trace cpudist
              kdt trace cpudist -O -p 1234 -d 10
              kdt trace cpudist -m -P 5 3
            """),
        ["offcputime"] = ("[-f] [--min-block USECS] [--max-block USECS] [-T]",
            """
            Sums the time tasks spend off-CPU (blocked, or runnable but waiting) per task and
            kernel stack, from sched_switch: the stack is where the task left the CPU (bcc's
            offcputime -K; user stacks are not collected). Printed at the end, least time
            first: the frames innermost first, then "-  COMM (TID)" and the total in µs; with
            -f as folded lines for flamegraph.pl ("COMM;outermost;...;innermost USECS").
            -p/-t/-c select the task that was off-CPU.
            """,
            """
              -f              folded stacks, one line each, for flame graphs
              --min-block N   count only stretches off-CPU of at least N µs (default 1)
              --max-block N   count only stretches off-CPU of at most N µs
              -T              time of day above the summary
            """,
            """
              kdt trace offcputime -d 10
              kdt trace offcputime -p 1234 -f -d 30 > out.folded
              kdt trace offcputime -c nginx --min-block 1000 -d 5
            """),
        ["biolatency"] = ("[-m] [-D | -F] [-Q] [--heatmap FILE.svg] [-i SECONDS] [INTERVAL [COUNT]]",
            """
            Measures block device I/O latency, from the request's issue to the device
            (block_rq_issue) to its completion (block_rq_complete), or with -Q from its
            insertion into the queue (block_rq_insert), and prints a log2 histogram as bcc
            draws it. Requests complete in interrupt context, so -p/-t/-c do not apply.
            """,
            """
              -m              milliseconds instead of microseconds
              -D              one histogram per disk
              -F              one histogram per request flags ("Sync-Write", as bcc names them)
              -Q              include the time queued in the kernel (from insertion)
              -T              time of day above each interval's histograms
              -i SECONDS      print and reset every SECONDS (or give INTERVAL [COUNT])
              --heatmap FILE  also write the latency over time as an SVG heatmap
            """,
            """
              kdt trace biolatency
              kdt trace biolatency -D -m 5 1
              kdt trace biolatency -F -Q -d 10
              kdt trace biolatency --heatmap io.svg -d 60
            """),
        ["softirqs"] = ("[--dist | --count] [-N] [-i SECONDS] [INTERVAL [COUNT]]",
            """
            Measures the time spent in each softirq vector (softirq_entry to softirq_exit) and
            prints the totals per vector (bcc's softirqs), the number of runs with --count, or
            a log2 histogram per vector with --dist (bcc's -d).
            Columns: SOFTIRQ TOTAL_usecs (TOTAL_nsecs with -N, TOTAL_count with --count)
            """,
            """
              --dist          a histogram per vector instead of the totals
              --count         how often each vector ran instead of the time
              -N              nanoseconds instead of microseconds
              -T              time of day above each interval's table
              -i SECONDS      print and reset every SECONDS (or give INTERVAL [COUNT])
            """,
            """
              kdt trace softirqs
              kdt trace softirqs --dist -d 10
              kdt trace softirqs --count 1 5
            """),
        ["hardirqs"] = ("[--dist | --count] [-N] [-i SECONDS] [INTERVAL [COUNT]]",
            """
            Measures the time spent in each hard interrupt handler (irq_handler_entry to
            irq_handler_exit) and prints the totals per handler, named as /proc/interrupts
            names it (bcc's hardirqs), the number of interrupts with --count (bcc's -C), or a
            log2 histogram per handler with --dist (bcc's -d). Rows are per irq line: handlers
            sharing a line are counted together under the first one seen. Interrupts are
            nobody's, so -p/-t/-c do not apply.
            Columns: HARDIRQ TOTAL_usecs (TOTAL_nsecs with -N, TOTAL_count with --count)
            """,
            """
              --dist          a histogram per handler instead of the totals
              --count         how many interrupts each handler took instead of the time
              -N              nanoseconds instead of microseconds
              -T              time of day above each interval's table
              -i SECONDS      print and reset every SECONDS (or give INTERVAL [COUNT])
            """,
            """
              kdt trace hardirqs
              kdt trace hardirqs --count 1 5
              kdt trace hardirqs --dist -N -d 10
            """),
        ["lockstat"] = ("[-m] [--top N] [--heatmap FILE.svg] [-i SECONDS] [INTERVAL [COUNT]]",
            """
            Measures kernel lock contention (lock:contention_begin to contention_end): a log2
            histogram of the waits, then per lock and calling function (the first frame of the
            waiter's stack outside the locking code, from /proc/kallsyms) how often it was
            contended and the total, longest and average wait, busiest first (as perf lock
            contention). -p/-t/-c select the waiting task.
            Columns: contended, total wait, max wait, avg wait, type, lock, caller
            """,
            """
              -m              milliseconds instead of microseconds in the histogram
              --top N         print the N locks waited on longest (default 10)
              -T              time of day above each interval's summary
              -i SECONDS      print and reset every SECONDS (or give INTERVAL [COUNT])
              --heatmap FILE  also write the waits over time as an SVG heatmap
            """,
            """
              kdt trace lockstat
              kdt trace lockstat -p 1234 -d 5
              kdt trace lockstat --top 20 --heatmap locks.svg -d 60
            """),
        ["oomkill"] = ("",
            """
            Prints each OOM kill (oom:mark_victim) as bcc's oomkill does: the task that ran the
            OOM killer because its allocation failed, the victim, the victim's size in pages
            (its address space, total_vm: bcc prints the OOM's page budget, which no tracepoint
            carries) and /proc/loadavg. Every OOM kill is shown: -p/-t/-c do not apply.
            Line: TIME Triggered by PID N ("COMM"), OOM kill of PID N ("COMM"), N pages, loadavg: ...
            """,
            "",
            """
              kdt trace oomkill
              kdt trace oomkill --json -d 3600
            """),
        ["drsnoop"] = ("[-T]",
            """
            Prints each reclaim a task had to do itself before its allocation could go on, with
            how long it took and how many pages it reclaimed: direct reclaim when the system
            ran low (vmscan:mm_vmscan_direct_reclaim_begin/end, bcc's drsnoop) and reclaim
            when the task's memory cgroup reached its limit (mm_vmscan_memcg_reclaim_begin/end),
            told apart in KIND. -p/-t/-c select the reclaiming task.
            Columns: [TIME] COMM PID TID LAT(ms) PAGES KIND
            """,
            """
              -T              TIME column (HH:MM:SS)
            """,
            """
              kdt trace drsnoop
              kdt trace drsnoop -T -c postgres
              kdt trace drsnoop -p 1234 --json -d 60
            """),
    };

    public static string For(TraceTool tool)
    {
        if (!Tools.TryGetValue(tool.Name, out var h))
            throw new InvalidOperationException($"no help for trace tool '{tool.Name}'");
        var text = new StringBuilder();
        text.Append("kdt trace ").Append(tool.Name).Append(": ").Append(tool.Summary).Append("\n\n");
        text.Append("Usage: kdt trace ").Append(tool.Name).Append(tool.SelectsProcesses ? " [-p PID] [-t TID] [-c COMM]" : "").Append(" [-d SECONDS] [-j]")
            .Append(h.Usage.Length > 0 ? " " + h.Usage : "").Append("\n\n");
        text.Append(h.About).Append("\n\n");
        text.Append("Options:\n");
        if (tool.SelectsProcesses)
            text.Append(ProcessOptions);
        text.Append(Common);
        if (h.Options.Length > 0)
            text.Append(h.Options).Append('\n');
        text.Append("\nExamples:\n").Append(h.Examples).Append("\n\n");
        return text.ToString();
    }
}
