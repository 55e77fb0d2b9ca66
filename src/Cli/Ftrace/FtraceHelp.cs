namespace KdtCapture.Cli.Ftrace;

internal static class FtraceHelp
{
    public const string Text =
        """
        kdt ftrace: trace-cmd's workflow on tracefs

        Usage: kdt ftrace list [-e [GLOB]] [-t] [-f [GLOB]]
               kdt ftrace record [-e EVENT [-f FILTER]]... [-p TRACER] [-l FUNC] [-n FUNC]
                                 [-g FUNC] [-P PID]... [-F] [-b KB] [-B NAME] [-o FILE]
                                 [COMMAND [ARGS...]]
               kdt ftrace report [-i FILE | FILE]
               kdt ftrace start [record's options, no -o and no COMMAND]
               kdt ftrace stop | show | stat | reset [-B NAME]
               kdt ftrace extract [-B NAME] [-o FILE]
               kdt ftrace stream [record's options] [COMMAND [ARGS...]]

        Verbs:
          list      events (-e, the default), tracers (-t) or traceable functions (-f)
          record    traces into a tracefs instance of its own (so others' tracing is
                    left alone) until COMMAND exits or Ctrl-C, reading the per-CPU
                    binary buffers, and writes a trace.dat that 'trace-cmd report'
                    reads; the instance is removed at the end
          report    prints a trace.dat (ours, or trace-cmd's: version 6, or 7 when
                    uncompressed) as 'trace-cmd report' does
          start     sets up tracing like record and leaves it running (in the top
                    buffer, or instance -B NAME); stop pauses it; extract writes its
                    buffers to a trace.dat; show prints its text buffer; reset turns
                    everything off (and removes instance -B NAME)
          stream    prints events as they come (trace_pipe) until COMMAND exits or Ctrl-C
          stat      what is set up: tracer, events, filters, pids, buffer size

        Options:
          -e EVENT   SYSTEM:EVENT, SYSTEM (all its events) or a glob ('sched:sched_*')
          -f FILTER  event filter for the -e before it ('prev_pid == 1')
          -p TRACER  function, function_graph, ... (see 'kdt ftrace list -t')
          -l FUNC    trace only functions matching FUNC (set_ftrace_filter)
          -n FUNC    do not trace functions matching FUNC (set_ftrace_notrace)
          -g FUNC    function_graph: graph from FUNC (set_graph_function)
          -P PID     only this process's events (repeatable)
          -F         only COMMAND's events (and its children's)
          -b KB      per-CPU ring buffer size in KiB
          -B NAME    the tracefs instance to use (record: made and removed)
          -o FILE    output trace.dat (default trace.dat, mode 0600)
          -i FILE    report: input trace.dat (default trace.dat)
          -h, --help this text

        Where the kernel refuses the function tracer (as in some VMs), -p function
        says so: trace events instead.

        Examples:
          kdt ftrace list -e 'sched:*'
          kdt ftrace record -e sched:sched_switch -e syscalls:sys_enter_openat -- ls /
          kdt ftrace record -e sched:sched_process_exec -F -o exec.dat make
          kdt ftrace record -p function -l 'tcp_*' sleep 1
          kdt ftrace report exec.dat
          kdt ftrace start -e irq; kdt ftrace stop; kdt ftrace extract -o irq.dat; kdt ftrace reset

        """;
}
