namespace KdtCapture.Cli.Hotfix;

internal static class HotfixHelp
{
    public const string Text =
        """
        kdt hotfix: kpatch's workflow on the kernel's livepatch

        Usage: kdt hotfix load [--timeout SECONDS] FILE.ko...
               kdt hotfix load --all [--root DIR]
               kdt hotfix unload [--timeout SECONDS] NAME... | --all
               kdt hotfix install [-k RELEASE] [--root DIR] FILE.ko
               kdt hotfix uninstall [-k RELEASE] [--root DIR] NAME
               kdt hotfix list [--root DIR]
               kdt hotfix info FILE.ko
               kdt hotfix signal [NAME]
               kdt hotfix force NAME

        A livepatch is a kernel module (built against the running kernel's headers, with
        MODULE_INFO(livepatch, "Y"), by kpatch-build or the kernel's Makefile) that
        replaces kernel functions while the system runs. Its transition switches each
        task to the new functions once none of the replaced ones is on its stack.

        Verbs:
          load       checks the module's vermagic against the running kernel, loads it
                     (finit_module), waits for the transition with progress, signals
                     the tasks that stall it after 15 s, and rolls the patch back
                     (disable, wait, remove) when it has not finished by --timeout;
                     --all loads every patch installed for the running kernel
          unload     disables the patch, waits for the transition back, removes the
                     module (delete_module); --all unloads every loaded patch
          install    copies the module to /var/lib/kdt/hotfix/RELEASE/ and enables
                     kdt-hotfix.service (/etc/systemd/system), which runs
                     'kdt hotfix load --all' at boot
          uninstall  removes an installed patch (the unit too when none is left)
          list       loaded patches (/sys/kernel/livepatch: enabled, enabling...,
                     disabling..., their functions, the stalled tasks of a transition)
                     and the installed ones per kernel release
          info       the module's .modinfo (as modinfo prints it) and the objects and
                     functions it patches, read from its klp_patch data; needs no
                     livepatch, so it works on any machine
          signal     wakes the tasks that stall the current transition (the patch's
                     sysfs signal file, else SIGSTOP and SIGCONT to each)
          force      ends a stalled transition without checking stacks (warns first:
                     unsafe, and the module can then never be removed)

        Options:
          --timeout S        how long load/unload wait for a transition (default 75,
                             as kpatch: 15 s, a signal, 60 s more)
          -k, --kernel-version RELEASE
                             install/uninstall for another kernel release than the
                             running one (uname -r)
          --root DIR         the install directories under DIR instead of / (a system
                             image, or a scratch directory)
          --all              load: the installed patches; unload: the loaded ones
          -h, --help         this text

        Examples:
          kdt hotfix info livepatch-fix.ko
          kdt hotfix load livepatch-fix.ko
          kdt hotfix list
          kdt hotfix unload livepatch_fix
          kdt hotfix install livepatch-fix.ko && kdt hotfix list
          kdt hotfix load --timeout 300 big-fix.ko
          kdt hotfix signal && kdt hotfix list

        """;
}
