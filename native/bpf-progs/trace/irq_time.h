/* What softirqs and hardirqs share: the time an interrupt kind (a softirq vector, an irq
 * line) ran, from its entry to its exit on the same CPU, added to a count and total per kind
 * (`totals`) and to a log2 histogram per kind (`hist`). Neither kind nests on a CPU, so one
 * start time per CPU (`entered`) is enough. */
#ifndef KDT_IRQ_TIME_H
#define KDT_IRQ_TIME_H

#include "kdt_trace.h"

volatile const bool nanoseconds = false;

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
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct irq_total);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct kdt_hist_key);
	__type(value, __u64);
} hist SEC(".maps");

static __always_inline void irq_time_enter(void)
{
	__u32 zero = 0;
	__u64 *ts = bpf_map_lookup_elem(&entered, &zero);

	if (ts)
		*ts = bpf_ktime_get_ns();
}

/* Ends the interrupt that entered on this CPU and counts it for id. */
static __always_inline void irq_time_exit(__u32 id)
{
	__u32 zero = 0;
	__u64 *ts = bpf_map_lookup_elem(&entered, &zero), delta;
	struct irq_total *t, fresh = {};
	struct kdt_hist_key key = {};

	if (!ts || !*ts)
		return;
	delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	t = bpf_map_lookup_elem(&totals, &id);
	if (!t) {
		bpf_map_update_elem(&totals, &id, &fresh, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&totals, &id);
		if (!t)
			return;
	}
	__sync_fetch_and_add(&t->count, 1);
	__sync_fetch_and_add(&t->total_ns, delta);
	key.id = id;
	key.slot = kdt_log2_slot(nanoseconds ? delta : delta / 1000);
	kdt_map_add(&hist, &key, 1);
}

#endif
