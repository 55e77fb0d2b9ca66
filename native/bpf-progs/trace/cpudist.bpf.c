/* cpudist: how long tasks run on a CPU before switching out (or, with offcpu, how long
 * they stay off it), as log2 histograms; per = 1 by process, 2 by thread. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

volatile const __u32 per = 0;
volatile const bool milliseconds = false;
volatile const bool offcpu = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} since SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct kdt_hist_key);
	__type(value, __u64);
} hist SEC(".maps");

static __always_inline void count(struct task_struct *task, __u64 now)
{
	__u32 tid = task->pid;
	struct kdt_hist_key key = {};
	__u64 *start, delta;

	start = bpf_map_lookup_elem(&since, &tid);
	if (!start)
		return;
	delta = now - *start;
	bpf_map_delete_elem(&since, &tid);
	key.slot = kdt_log2_slot(delta / (milliseconds ? 1000000 : 1000));
	key.id = per == 1 ? (__u32)task->tgid : per == 2 ? tid : 0;
	kdt_map_add(&hist, &key, 1);
}

SEC("tp_btf/sched_switch")
int cpudist_switch(u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	struct task_struct *next = (struct task_struct *)ctx[2];
	__u64 now = bpf_ktime_get_ns();
	/* on-CPU: the interval ends when prev leaves and starts when next arrives;
	 * off-CPU: the other way round */
	struct task_struct *ends = offcpu ? next : prev;
	struct task_struct *starts = offcpu ? prev : next;
	__u32 tid;

	if (ends->pid && kdt_task_wanted(ends->tgid, ends->pid, ends->comm))
		count(ends, now);
	tid = starts->pid;
	if (tid && kdt_task_wanted(starts->tgid, tid, starts->comm))
		bpf_map_update_elem(&since, &tid, &now, BPF_ANY);
	return 0;
}
