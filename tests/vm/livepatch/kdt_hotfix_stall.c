// SPDX-License-Identifier: GPL-2.0
/*
 * A livepatch for kdt's tests that patches a module, not vmlinux: kdt_sleeper_wait() of
 * kdt_hotfix_sleeper.ko. While a task sleeps in the old function the transition cannot finish,
 * which is how the tests make a stalled transition (and kdt's rollback) on purpose.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

static int kdt_sleeper_wait_patched(void)
{
	return 0;
}

static struct klp_func kdt_sleeper_funcs[] = {
	{ .old_name = "kdt_sleeper_wait", .new_func = kdt_sleeper_wait_patched },
	{}
};

static struct klp_object kdt_stall_objects[] = {
	{ .name = "kdt_hotfix_sleeper", .funcs = kdt_sleeper_funcs },
	{}
};

static struct klp_patch kdt_stall_patch = {
	.mod = THIS_MODULE,
	.objs = kdt_stall_objects,
};

static int __init kdt_hotfix_stall_init(void)
{
	return klp_enable_patch(&kdt_stall_patch);
}

static void __exit kdt_hotfix_stall_exit(void)
{
}

module_init(kdt_hotfix_stall_init);
module_exit(kdt_hotfix_stall_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kdt test livepatch: replaces kdt_hotfix_sleeper's kdt_sleeper_wait");
MODULE_INFO(livepatch, "Y");
