/* drsnoop: reclaim that a task does itself because memory ran short, from begin to end:
 * direct reclaim (vmscan:mm_vmscan_direct_reclaim_begin/end, the system ran low) and memory
 * cgroup reclaim (mm_vmscan_memcg_reclaim_begin/end, the task's cgroup reached its limit),
 * with the latency and the pages reclaimed. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

#define KIND_DIRECT 1
#define KIND_MEMCG 2

struct reclaim_start {
	__u64 ts;
	__u32 kind;
	__u32 order;
};

struct reclaim_event {
	__u64 ts;
	__u64 delta_ns;
	__u64 pages;
	__u32 pid;
	__u32 tid;
	__u32 kind;
	__u32 order;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct reclaim_start);
} start SEC(".maps");

static __always_inline int reclaim_begin(__u32 kind, __u32 order)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct reclaim_start s = { .ts = bpf_ktime_get_ns(), .kind = kind, .order = order };

	if (!kdt_current_wanted())
		return 0;
	bpf_map_update_elem(&start, &tid, &s, BPF_ANY);
	return 0;
}

static __always_inline int reclaim_end(__u64 pages)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct reclaim_start *s = bpf_map_lookup_elem(&start, &tid);
	struct reclaim_event e = {};

	if (!s)
		return 0;
	e.ts = bpf_ktime_get_ns();
	e.delta_ns = e.ts - s->ts;
	e.kind = s->kind;
	e.order = s->order;
	bpf_map_delete_elem(&start, &tid);
	e.pages = pages;
	e.pid = pid_tgid >> 32;
	e.tid = tid;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	kdt_emit(&e, sizeof(e));
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int drsnoop_direct_begin(u64 *ctx)
{
	return reclaim_begin(KIND_DIRECT, (__u32)ctx[0]);
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int drsnoop_direct_end(u64 *ctx)
{
	return reclaim_end(ctx[0]);
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int drsnoop_memcg_begin(u64 *ctx)
{
	return reclaim_begin(KIND_MEMCG, (__u32)ctx[0]);
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int drsnoop_memcg_end(u64 *ctx)
{
	return reclaim_end(ctx[0]);
}
