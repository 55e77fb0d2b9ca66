/* oomkill: OOM kills (oom:mark_victim): the victim from the tracepoint's task, the task that
 * ran the OOM killer (the one whose allocation failed) as the current task, and the victim's
 * address space size in pages. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

struct mm_struct {
	unsigned long total_vm;
} __attribute__((preserve_access_index));

struct oom_event {
	__u64 ts;
	__u64 total_vm;
	__u32 trigger_pid;
	__u32 trigger_tid;
	__u32 victim_pid;
	__u32 uid;
	char trigger_comm[TASK_COMM_LEN];
	char victim_comm[TASK_COMM_LEN];
};

SEC("tp_btf/mark_victim")
int oomkill_mark_victim(u64 *ctx)
{
	struct task_struct *victim = (struct task_struct *)ctx[0];
	struct mm_struct *mm = victim->mm;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct oom_event e = {};

	e.ts = bpf_ktime_get_ns();
	e.trigger_pid = pid_tgid >> 32;
	e.trigger_tid = (__u32)pid_tgid;
	e.victim_pid = victim->tgid;
	e.uid = (__u32)ctx[1];
	if (mm)
		e.total_vm = mm->total_vm;
	bpf_get_current_comm(e.trigger_comm, sizeof(e.trigger_comm));
	__builtin_memcpy(e.victim_comm, victim->comm, sizeof(e.victim_comm));
	kdt_emit(&e, sizeof(e));
	return 0;
}
