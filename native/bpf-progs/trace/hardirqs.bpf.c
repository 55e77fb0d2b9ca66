/* hardirqs: time spent in each hard interrupt handler (irq:irq_handler_entry/exit), as totals
 * and counts per irq line (id = irq number, the handler's name kept in `names`) and, for
 * --dist, log2 histograms per line. Handlers do not nest (they run with interrupts off), so
 * one start time per CPU is enough. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

volatile const bool nanoseconds = false;

#define IRQ_NAME_LEN 32

struct irqaction {
	const char *name;
} __attribute__((preserve_access_index));

struct hist_key {
	__u32 id;
	__u32 slot;
};

struct irq_total {
	__u64 count;
	__u64 total_ns;
};

struct irq_name {
	char name[IRQ_NAME_LEN];
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
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct irq_name);
} names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hist_key);
	__type(value, __u64);
} hist SEC(".maps");

SEC("tp_btf/irq_handler_entry")
int hardirqs_entry(u64 *ctx)
{
	__u32 zero = 0;
	__u64 *ts = bpf_map_lookup_elem(&entered, &zero);

	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int hardirqs_exit(u64 *ctx)
{
	__u32 irq = (__u32)ctx[0], zero = 0;
	struct irqaction *action = (struct irqaction *)ctx[1];
	__u64 *ts = bpf_map_lookup_elem(&entered, &zero), delta, one = 1, *n;
	struct irq_total *t, fresh = {};
	struct hist_key key = {};

	if (!ts || !*ts)
		return 0;
	delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	t = bpf_map_lookup_elem(&totals, &irq);
	if (!t) {
		struct irq_name name = {};

		bpf_probe_read_kernel_str(name.name, sizeof(name.name), action->name);
		bpf_map_update_elem(&names, &irq, &name, BPF_NOEXIST);
		bpf_map_update_elem(&totals, &irq, &fresh, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&totals, &irq);
		if (!t)
			return 0;
	}
	__sync_fetch_and_add(&t->count, 1);
	__sync_fetch_and_add(&t->total_ns, delta);
	key.id = irq;
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
