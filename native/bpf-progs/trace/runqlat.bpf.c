/* runqlat: run queue latency (wakeup or preemption to running) as log2 histograms, one for
 * everyone or one per process/thread (per = 1 by tgid, 2 by tid). */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

volatile const __u32 per = 0;
volatile const bool milliseconds = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} enqueued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct kdt_hist_key);
	__type(value, __u64);
} hist SEC(".maps");

static __always_inline void enqueue(struct task_struct *p)
{
	__u32 tid = p->pid;
	__u64 ts;

	if (!tid || !kdt_task_wanted(p->tgid, tid, p->comm))
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&enqueued, &tid, &ts, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int runqlat_wakeup(u64 *ctx)
{
	enqueue((struct task_struct *)ctx[0]);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int runqlat_wakeup_new(u64 *ctx)
{
	enqueue((struct task_struct *)ctx[0]);
	return 0;
}

SEC("tp_btf/sched_switch")
int runqlat_switch(u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	struct task_struct *next = (struct task_struct *)ctx[2];
	unsigned int prev_state = (unsigned int)ctx[3];
	struct kdt_hist_key key = {};
	__u64 *start, delta;
	__u32 tid;

	/* A task preempted while runnable goes straight back on the run queue. */
	if (prev_state == TASK_RUNNING)
		enqueue(prev);
	tid = next->pid;
	start = bpf_map_lookup_elem(&enqueued, &tid);
	if (!start)
		return 0;
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&enqueued, &tid);
	delta /= milliseconds ? 1000000 : 1000;
	key.slot = kdt_log2_slot(delta);
	if (key.slot >= KDT_MAX_SLOTS)
		key.slot = KDT_MAX_SLOTS - 1;
	key.id = per == 1 ? (__u32)next->tgid : per == 2 ? tid : 0;
	kdt_map_add(&hist, &key, 1);
	return 0;
}
