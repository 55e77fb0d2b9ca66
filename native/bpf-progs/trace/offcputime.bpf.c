/* offcputime: time tasks spend off-CPU (blocked or waiting to run) summed per task and the
 * kernel stack it left the CPU from, as bcc's offcputime: at sched_switch the task leaving
 * records the time and its stack (it is still current, so the stack is where it blocked);
 * when it is switched back in, the time away is added to that {task, stack}. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_STACK 127

/* Off-CPU stretches shorter or longer than these (µs) are not counted (bcc's -m/-M). */
volatile const __u64 min_block_us = 1;
volatile const __u64 max_block_us = ~0ULL;

struct offcpu_key {
	__u32 pid;
	__u32 tid;
	__s32 kernel_stack;
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

struct offcpu_start {
	__u64 ts;
	struct offcpu_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct offcpu_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tp_btf/sched_switch")
int offcputime_switch(u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	struct task_struct *next = (struct task_struct *)ctx[2];
	__u64 now = bpf_ktime_get_ns(), delta;
	struct offcpu_start *s, fresh = {};
	__u32 tid = prev->pid;

	if (tid && kdt_task_wanted(prev->tgid, tid, prev->comm)) {
		fresh.ts = now;
		fresh.key.pid = prev->tgid;
		fresh.key.tid = tid;
		fresh.key.kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
		__builtin_memcpy(fresh.key.comm, prev->comm, sizeof(fresh.key.comm));
		bpf_map_update_elem(&start, &tid, &fresh, BPF_ANY);
	}
	tid = next->pid;
	s = bpf_map_lookup_elem(&start, &tid);
	if (!s)
		return 0;
	delta = (now - s->ts) / 1000;
	if (delta >= min_block_us && delta <= max_block_us)
		kdt_map_add(&counts, &s->key, delta);
	bpf_map_delete_elem(&start, &tid);
	return 0;
}
