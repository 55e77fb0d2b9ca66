// SPDX-License-Identifier: GPL-2.0
/*
 * A plain module for kdt's tests (not a livepatch): reading /proc/kdt_hotfix_sleeper sleeps in
 * kdt_sleeper_wait() until a signal comes (or two minutes pass). kdt_hotfix_stall.ko patches that
 * function, so a reader asleep in it holds the patch's transition: the stalled task kdt reports.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/sched/signal.h>

noinline int kdt_sleeper_wait(void)
{
	int i;

	for (i = 0; i < 1200; i++) {
		if (msleep_interruptible(100))
			return -EINTR;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(kdt_sleeper_wait);

static ssize_t kdt_sleeper_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	return kdt_sleeper_wait();
}

static const struct proc_ops kdt_sleeper_ops = {
	.proc_read = kdt_sleeper_read,
};

static int __init kdt_sleeper_init(void)
{
	return proc_create("kdt_hotfix_sleeper", 0444, NULL, &kdt_sleeper_ops) ? 0 : -ENOMEM;
}

static void __exit kdt_sleeper_exit(void)
{
	remove_proc_entry("kdt_hotfix_sleeper", NULL);
}

module_init(kdt_sleeper_init);
module_exit(kdt_sleeper_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdt test module: a /proc file whose read sleeps in kdt_sleeper_wait");
