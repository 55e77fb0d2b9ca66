/* exitsnoop: every process exit (thread group leaders; all threads with per_thread) with
 * its age and exit status. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

volatile const bool per_thread = false;

struct exit_event {
	__u64 ts;
	__u64 start_ns;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__s32 exit_code;
	char comm[TASK_COMM_LEN];
};

SEC("tp_btf/sched_process_exit")
int exitsnoop_exit(u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	struct exit_event e = {};

	if (!per_thread && task->pid != task->tgid)
		return 0;
	if (!kdt_task_wanted(task->tgid, task->pid, task->comm))
		return 0;
	e.ts = bpf_ktime_get_ns();
	e.start_ns = task->start_time;
	e.pid = task->tgid;
	e.tid = task->pid;
	e.ppid = task->real_parent->tgid;
	e.exit_code = task->exit_code;
	bpf_probe_read_kernel_str(e.comm, sizeof(e.comm), task->comm);
	kdt_emit(&e, sizeof(e));
	return 0;
}
