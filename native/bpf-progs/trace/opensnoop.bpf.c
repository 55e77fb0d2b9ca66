/* opensnoop: open/openat/openat2 with the path, flags and result. The path pointer and
 * flags are kept at entry; the path is read at exit, as bcc does. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

#define NR_open 2
#define NR_openat 257
#define NR_openat2 437
#define PATH_SIZE 256

volatile const bool failed_only = false;

struct open_start {
	const char *path;
	__u64 flags;
};

struct open_event {
	__u64 ts;
	__u64 flags;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;
	char comm[TASK_COMM_LEN];
	char path[PATH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct open_start);
} starts SEC(".maps");

SEC("tp_btf/sys_enter")
int opensnoop_enter(u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long id = (long)ctx[1];
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_start s = {};

	if (id == NR_open) {
		s.path = (const char *)regs->di;
		s.flags = regs->si;
	} else if (id == NR_openat) {
		s.path = (const char *)regs->si;
		s.flags = regs->dx;
	} else if (id == NR_openat2) {
		s.path = (const char *)regs->si;
		/* struct open_how starts with the __u64 flags */
		bpf_probe_read_user(&s.flags, sizeof(s.flags), (const void *)regs->dx);
	} else {
		return 0;
	}
	if (!kdt_current_wanted())
		return 0;
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

SEC("tp_btf/sys_exit")
int opensnoop_exit(u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long ret = (long)ctx[1];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct open_event e = {};
	struct open_start *s;
	long id = regs->orig_ax;

	if (id != NR_open && id != NR_openat && id != NR_openat2)
		return 0;
	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	if (!failed_only || ret < 0) {
		e.ts = bpf_ktime_get_ns();
		e.flags = s->flags;
		e.pid = pid_tgid >> 32;
		e.tid = tid;
		e.uid = (__u32)bpf_get_current_uid_gid();
		e.ret = ret;
		bpf_get_current_comm(e.comm, sizeof(e.comm));
		bpf_probe_read_user_str(e.path, sizeof(e.path), s->path);
		kdt_emit(&e, sizeof(e));
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}
