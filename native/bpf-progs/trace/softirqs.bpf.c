/* softirqs: time spent in each softirq vector (softirq_entry/exit), as totals and counts
 * per vector (id = vector) and, with dist, log2 histograms per vector. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

volatile const bool nanoseconds = false;

struct hist_key {
	__u32 id;
	__u32 slot;
};

struct irq_total {
	__u64 count;
	__u64 total_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} entered SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct irq_total);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct hist_key);
	__type(value, __u64);
} hist SEC(".maps");

SEC("tp_btf/softirq_entry")
int softirqs_entry(u64 *ctx)
{
	__u32 zero = 0;
	__u64 *ts = bpf_map_lookup_elem(&entered, &zero);

	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/softirq_exit")
int softirqs_exit(u64 *ctx)
{
	__u32 vec = (__u32)ctx[0], zero = 0;
	__u64 *ts = bpf_map_lookup_elem(&entered, &zero), delta, one = 1, *n;
	struct irq_total *t, fresh = {};
	struct hist_key key = {};

	if (!ts || !*ts)
		return 0;
	delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	t = bpf_map_lookup_elem(&totals, &vec);
	if (!t) {
		bpf_map_update_elem(&totals, &vec, &fresh, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&totals, &vec);
		if (!t)
			return 0;
	}
	__sync_fetch_and_add(&t->count, 1);
	__sync_fetch_and_add(&t->total_ns, delta);
	key.id = vec;
	key.slot = kdt_log2_slot(nanoseconds ? delta : delta / 1000);
	n = bpf_map_lookup_elem(&hist, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&hist, &key, &one, BPF_NOEXIST)) {
		n = bpf_map_lookup_elem(&hist, &key);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return 0;
}
