namespace KdtCapture.Cli.Psi;

internal static class PsiHelp
{
    public const string Text =
        """
        kdt psi: pressure stall information (cpu, memory, io, irq)

        Usage: kdt psi [--cgroup DIR] [-i SECONDS [-c COUNT]] [-j]
               kdt psi --trigger 'RESOURCE some|full THRESHOLD WINDOW' [--trigger ...]
                       [--cgroup DIR] [--exec COMMAND] [-c COUNT] [-j]

        Shows the share of time tasks stalled waiting for a resource over the last 10,
        60 and 300 seconds (avg10/avg60/avg300, percent) and the total stall time in
        microseconds: 'some' = at least one task stalled, 'full' = all non-idle tasks
        stalled at once. Read from /proc/pressure, or from a cgroup v2 directory's
        *.pressure files with --cgroup.

        With --trigger, registers a PSI trigger (Documentation/accounting/psi.rst) and
        prints one line with a timestamp each time the stall time within WINDOW
        reaches THRESHOLD. Durations take us, ms or s; the window must be 500ms..10s.
        The kernel reports a trigger at most once per window; without CAP_SYS_RESOURCE
        it accepts only windows that are multiples of 2s.

        Options:
          --cgroup DIR       a cgroup v2 directory (e.g. /sys/fs/cgroup/system.slice;
                             on hybrid systems under /sys/fs/cgroup/unified)
          -i, --interval S   refresh every S seconds (fractions allowed) until Ctrl-C
          -c, --count N      stop after N refreshes, or after N trigger events
          --trigger SPEC     watch SPEC (repeatable), e.g. 'memory some 150ms 1s'
          --exec COMMAND     run COMMAND with /bin/sh -c at each trigger event, with
                             KDT_PSI_TRIGGER set to the trigger that fired
          -j, --json         one JSON object a line instead of the table
          -h, --help         this text

        Examples:
          kdt psi
          kdt psi -i 1 --cgroup /sys/fs/cgroup/system.slice
          kdt psi --trigger 'memory some 150ms 2s' --trigger 'cpu some 500ms 2s'
          kdt psi --trigger 'io full 100ms 2s' --exec 'logger io stall' -c 10

        """;
}
