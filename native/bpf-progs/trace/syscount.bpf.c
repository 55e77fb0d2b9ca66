/* syscount: system calls counted per syscall (or per process with by_process), with their
 * total latency when latency is set; failed_only / only_errno keep failed calls only. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

volatile const bool by_process = false;
volatile const bool latency = false;
volatile const bool failed_only = false;
volatile const __s32 only_errno = 0;

struct syscall_stat {
	__u64 count;
	__u64 total_ns;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct syscall_stat);
} stats SEC(".maps");

SEC("tp_btf/sys_enter")
int syscount_enter(u64 *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts;

	if (!latency || !kdt_current_wanted())
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tp_btf/sys_exit")
int syscount_exit(u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long ret = (long)ctx[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, key;
	struct syscall_stat *st, zero = {};
	__u64 delta = 0, *start;
	long id = regs->orig_ax;

	if (id < 0)
		return 0;
	if (latency) {
		start = bpf_map_lookup_elem(&starts, &tid);
		if (!start)
			return 0;
		delta = bpf_ktime_get_ns() - *start;
		bpf_map_delete_elem(&starts, &tid);
	} else if (!kdt_current_wanted()) {
		return 0;
	}
	if (failed_only && ret >= 0)
		return 0;
	if (only_errno && ret != -only_errno)
		return 0;
	key = by_process ? (__u32)(pid_tgid >> 32) : (__u32)id;
	st = bpf_map_lookup_elem(&stats, &key);
	if (!st) {
		bpf_map_update_elem(&stats, &key, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&stats, &key);
		if (!st)
			return 0;
		/* the process's name is its leader's comm, whichever thread called first */
		if (by_process) {
			struct task_struct *task = bpf_get_current_task_btf();

			bpf_probe_read_kernel_str(st->comm, sizeof(st->comm), task->group_leader->comm);
		}
	}
	__sync_fetch_and_add(&st->count, 1);
	if (latency)
		__sync_fetch_and_add(&st->total_ns, delta);
	return 0;
}
