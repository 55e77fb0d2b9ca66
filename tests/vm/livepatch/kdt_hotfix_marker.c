// SPDX-License-Identifier: GPL-2.0
/*
 * A livepatch for kdt's tests (tests/vm/build-livepatch builds it against the guest kernel's
 * headers): /proc/cmdline prints a marker line instead of the command line, and /proc/version
 * gets the marker appended, so a test sees the patch take effect and go away again.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

#define KDT_MARKER "kdt-hotfix-marker"

static int kdt_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_puts(m, KDT_MARKER " cmdline\n");
	return 0;
}

static int kdt_version_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s version %s (%s) " KDT_MARKER "\n",
		   utsname()->sysname, utsname()->release, utsname()->version);
	return 0;
}

static struct klp_func kdt_vmlinux_funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = kdt_cmdline_proc_show },
	{ .old_name = "version_proc_show", .new_func = kdt_version_proc_show },
	{}
};

static struct klp_object kdt_objects[] = {
	/* A NULL name is vmlinux. */
	{ .funcs = kdt_vmlinux_funcs },
	{}
};

static struct klp_patch kdt_patch = {
	.mod = THIS_MODULE,
	.objs = kdt_objects,
};

static int __init kdt_hotfix_marker_init(void)
{
	return klp_enable_patch(&kdt_patch);
}

static void __exit kdt_hotfix_marker_exit(void)
{
}

module_init(kdt_hotfix_marker_init);
module_exit(kdt_hotfix_marker_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdt test livepatch: marks /proc/cmdline and /proc/version");
MODULE_INFO(livepatch, "Y");
