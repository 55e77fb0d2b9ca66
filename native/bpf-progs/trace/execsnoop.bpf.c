/* execsnoop: every execve/execveat with its arguments and result. The arguments are read
 * at syscall entry (the old image's memory), the record is sent at exit with the return
 * value and the comm the new image got. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

#define NR_execve 59
#define NR_execveat 322
#define ARG_SIZE 128
#define MAX_ARGS 20
#define ARGS_BUF (ARG_SIZE * MAX_ARGS)

struct exec_event {
	__u64 ts;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__s32 ret;
	__u32 args_count;
	__u32 args_size;
	__u32 truncated;
	char comm[TASK_COMM_LEN];
	char args[ARGS_BUF];
};

#define EXEC_HEADER_SIZE 56

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct exec_event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} scratch SEC(".maps");

SEC("tp_btf/sys_enter")
int execsnoop_enter(u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long id = (long)ctx[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, zero = 0;
	struct task_struct *task;
	const char *const *argv;
	const char *filename;
	struct exec_event *e;
	long n;
	int i;

	if (id != NR_execve && id != NR_execveat)
		return 0;
	if (targ_tgid && (__u32)(pid_tgid >> 32) != targ_tgid)
		return 0;
	if (targ_tid && tid != targ_tid)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	task = bpf_get_current_task_btf();
	e->ts = 0;
	e->pid = pid_tgid >> 32;
	e->tid = tid;
	e->ppid = task->real_parent->tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = 0;
	e->args_count = 0;
	e->args_size = 0;
	e->truncated = 0;
	if (id == NR_execve) {
		filename = (const char *)regs->di;
		argv = (const char *const *)regs->si;
	} else {
		filename = (const char *)regs->si;
		argv = (const char *const *)regs->dx;
	}
	n = bpf_probe_read_user_str(e->args, ARG_SIZE, filename);
	if (n <= 0)
		n = 0;
	else
		e->args_count = 1;
	e->args_size = n;
	for (i = 1; i < MAX_ARGS; i++) {
		const char *arg = NULL;
		__u32 off = e->args_size;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (off > ARGS_BUF - ARG_SIZE) {
			e->truncated = 1;
			break;
		}
		n = bpf_probe_read_user_str(&e->args[off], ARG_SIZE, arg);
		if (n <= 0)
			break;
		e->args_size = off + n;
		e->args_count++;
	}
	if (i == MAX_ARGS) {
		const char *arg = NULL;

		if (!bpf_probe_read_user(&arg, sizeof(arg), &argv[MAX_ARGS]) && arg)
			e->truncated = 1;
	}
	bpf_map_update_elem(&execs, &tid, e, BPF_ANY);
	return 0;
}

SEC("tp_btf/sys_exit")
int execsnoop_exit(u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long ret = (long)ctx[1];
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_event *e;
	__u64 size;
	long id = regs->orig_ax;

	if (id != NR_execve && id != NR_execveat)
		return 0;
	e = bpf_map_lookup_elem(&execs, &tid);
	if (!e)
		return 0;
	e->ret = ret;
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (kdt_comm_matches(e->comm)) {
		size = e->args_size;
		if (size > ARGS_BUF)
			size = ARGS_BUF;
		kdt_emit(e, EXEC_HEADER_SIZE + size);
	}
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}
